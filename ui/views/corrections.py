"""Corrections: a reviewer fixes a criterion's parsed rule; every later assessment uses the correction."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ingest.models import Comparator, Criterion, CriterionKind, LabRule
from ui.audit import AuditError
from ui.corrections import corrections_of, record_correction
from ui.views import common

NEW_RULE = "(add a new rule)"
NONE = "(none)"


def _linked_target(infos) -> str | None:
    """A link from the ingest checklist opens this page with ?criterion=<criterion id>: choose its protocol and
    version before the widgets are drawn. The parameter is used once, then removed, so the reviewer can pick
    another criterion. Relies on criterion ids starting with 'protocol_id:version:' (Criterion.id)."""
    target = st.query_params.get("criterion")
    if not target:
        return None
    del st.query_params["criterion"]
    info = next((i for i in infos if target.startswith(f"{i.protocol_id}:{i.version}:")), None)
    if info is None:
        st.warning(f"The linked criterion {target} is not in any ingested protocol version.")
        return None
    st.session_state["corr_protocol"] = info.protocol_id
    st.session_state["corr_version"] = info.version
    return target


def pick_criterion() -> tuple[Criterion | None, str | None]:
    infos = common.index().protocols()
    if not infos:
        st.info("No protocol ingested yet.")
        return None, None
    target = _linked_target(infos)
    c1, c2 = st.columns(2)
    protocol_id = c1.selectbox("Protocol", sorted({i.protocol_id for i in infos}), key="corr_protocol")
    versions = [i for i in infos if i.protocol_id == protocol_id]
    version = c2.selectbox("Version", [i.version for i in versions], index=len(versions) - 1, key="corr_version")
    sha = next(i.sha256 for i in versions if i.version == version)
    protocol = common.corrected_protocol(protocol_id, version)
    criteria = [c for c in protocol.criteria if c.kind is not CriterionKind.CONTEXT]
    if not criteria:
        st.info("This version has no criteria.")
        return None, None
    labels = {
        f"{c.kind.value} {c.label} · {len(c.rules)} rule(s) · {c.text[:70]}": c for c in criteria
    }
    if target:
        st.session_state["corr_criterion"] = next((k for k, c in labels.items() if c.id == target), None) or (
            st.session_state.get("corr_criterion"))
    chosen = st.selectbox("Criterion", list(labels), key="corr_criterion")
    return labels[chosen], sha


def rule_form(criterion: Criterion, sha: str | None) -> None:
    options = [common.describe_rule(r) for r in criterion.rules] + [NEW_RULE]
    which = st.selectbox("Rule to correct", options, key="corr_rule")
    position = options.index(which)
    base = criterion.rules[position] if position < len(criterion.rules) else None
    suffix = f"{criterion.id}-{position}"  # fresh widgets per rule: their defaults come from it
    with st.form(f"corr-form-{suffix}"):
        c1, c2, c3, c4 = st.columns(4)
        analyte = c1.text_input("Analyte", value=base.analyte if base else "", key=f"corr_analyte-{suffix}")
        comparators = [c.value for c in Comparator]
        comparator = c2.selectbox(
            "Comparator", comparators, index=comparators.index(base.comparator.value) if base else 0, key=f"corr_cmp-{suffix}"
        )
        value = c3.number_input("Value", value=base.value if base else None, format="%g", key=f"corr_value-{suffix}")
        multiples = [NONE, "ULN", "LLN"]
        multiple_of = c4.selectbox(
            "Multiple of", multiples, index=multiples.index(base.multiple_of) if base and base.multiple_of else 0,
            key=f"corr_multiple-{suffix}",
        )
        c1, c2, c3 = st.columns(3)
        low = c1.number_input("Low (between)", value=base.low if base else None, format="%g", key=f"corr_low-{suffix}")
        high = c2.number_input("High (between)", value=base.high if base else None, format="%g", key=f"corr_high-{suffix}")
        unit = c3.text_input("Unit (blank for multiples)", value=(base.unit or "") if base else "", key=f"corr_unit-{suffix}")
        c1, c2 = st.columns(2)
        condition = c1.text_input(
            "Condition (e.g. liver metastases)", value=(base.condition or "") if base else "", key=f"corr_condition-{suffix}"
        )
        types = [NONE, "if", "unless"]
        condition_type = c2.selectbox(
            "Condition applies", types,
            index=types.index(base.condition_type) if base and base.condition_type else 0, key=f"corr_ctype-{suffix}",
        )
        quote = st.text_input(
            "Quote: the words of the criterion this rule is read from (verbatim)",
            value=base.quote if base else "",
            key=f"corr_quote-{suffix}",
        )
        remove = st.checkbox("Remove this rule instead (the criterion has no such threshold)", key=f"corr_remove-{suffix}")
        reason = st.text_input("Reason (required)", key=f"corr_reason-{suffix}")
        submitted = st.form_submit_button("Save correction", type="primary")
    if not submitted:
        return
    name, verified = common.reviewer()
    if not name:
        st.error("Enter your name in the sidebar (Reviewer name) first: every correction is signed.")
        return
    rules = list(criterion.rules)
    try:
        if remove:
            if base is None:
                st.error("There is no rule to remove; pick an existing one.")
                return
            rules.pop(position)
        else:
            new = LabRule(
                analyte=analyte.strip(),
                comparator=Comparator(comparator),
                value=value,
                low=low,
                high=high,
                unit=unit.strip() or None,
                multiple_of=None if multiple_of == NONE else multiple_of,
                condition=condition.strip() or None,
                condition_type=None if condition_type == NONE else condition_type,
                sex=base.sex if base else None,
                window_days=base.window_days if base else None,
                window_anchor=base.window_anchor if base else None,
                alternatives=base.alternatives if base else [],
                quote=quote,
            )
            if not new.analyte:
                raise AuditError("the analyte is required")
            if new.comparator is Comparator.BETWEEN and (new.low is None or new.high is None):
                raise AuditError("a 'between' rule needs low and high")
            if new.comparator is not Comparator.BETWEEN and new.value is None:
                raise AuditError("the value is required")
            if base is None:
                rules.append(new)
            else:
                rules[position] = new
        correction = record_correction(
            common.store(), criterion, rules, actor=name, reason=reason, protocol_sha256=sha, actor_verified=verified
        )
    except (AuditError, ValueError) as exc:
        st.error(str(exc))
        return
    st.session_state["corr_saved"] = (
        f"Saved correction version {correction.correction_version} of criterion {common.md(criterion.label)}: "
        + common.md("; ".join(common.describe_rule(r) for r in correction.rules) or "no rules")
    )
    st.rerun()


def history(criterion: Criterion) -> None:
    corrections = corrections_of(common.store(), criterion.id)
    if not corrections:
        st.caption("No reviewer correction of this criterion yet: its rules are as parsed.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "version": c.correction_version,
                    "when (UTC)": c.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    "who": c.actor,
                    "reason": c.reason,
                    "before": "; ".join(common.describe_rule(r) for r in c.replaced),
                    "after": "; ".join(common.describe_rule(r) for r in c.rules),
                }
                for c in corrections
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def render() -> None:
    st.title("Corrections")
    st.caption(
        "Correct a criterion's parsed rule (wrong threshold, missing condition). The correction is a new, "
        "audited version; every later assessment uses it and says the rule came from a reviewer."
    )
    saved = st.session_state.pop("corr_saved", None)
    if saved:
        st.success(saved)
    criterion, sha = pick_criterion()
    if criterion is None:
        return
    st.markdown(f"**Criterion {common.md(criterion.label)}** ({criterion.kind.value}, page {criterion.page_start})")
    st.markdown(f"> {common.md(criterion.text)}")
    st.markdown(
        "Rules in force: "
        + ("; ".join(common.describe_rule(r) for r in criterion.rules) or "none")
    )
    rule_form(criterion, sha)
    st.subheader("History of corrections")
    history(criterion)


if __name__ == "__main__":
    render()
