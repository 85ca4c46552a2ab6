"""Review: the queue of assessments awaiting review; Confirm, Override (reason) or Flag (kind + comment)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from reasoning.models import OverallVerdict, Verdict
from ui.audit import Action, AuditError, FlagKind, ItemKind, ItemState, ItemStatus
from ui.units_display import with_unit
from ui.views import common
from reasoning.verdict_words import kind_name, words
from ui.views.card import render_assessment

STATUS_FILTERS = {
    "Awaiting review": [ItemStatus.AWAITING_REVIEW],
    "Flagged": [ItemStatus.FLAGGED],
    "Reviewed": [ItemStatus.CONFIRMED, ItemStatus.OVERRIDDEN],
    "All": list(ItemStatus),
}
DECISIONS = {"Confirm": Action.CONFIRMED, "Override": Action.OVERRIDDEN, "Flag": Action.FLAGGED}
FLAG_LABELS = {
    FlagKind.WRONG_CITATION: "wrong citation",
    FlagKind.WRONG_PARSE: "wrong parse (threshold / rule)",
    FlagKind.MISSING_CRITERION: "missing criterion",
}


def item_label(state: ItemState) -> str:
    first = state.submitted
    what = first.before or {}
    verdict = what.get("overall") or what.get("verdict") or "?"
    scope = f"criterion {what.get('label')}" if state.item_kind is ItemKind.FINDING else "assessment"
    snapshot = first.snapshot or {}
    # whose value, and which: a queue of bare ids and verdicts cannot be worked from
    observations = snapshot.get("observations") or []
    patient = next((o.get("patient_id") for o in observations if o.get("patient_id")), None)
    values = ", ".join(
        with_unit(f"{o.get('analyte')} {o.get('value')}", o.get("unit")) for o in observations[:2]
    )
    question = snapshot.get("question") or ""
    current = state.latest.after.get(verdict_key(state)) if state.latest.after else None
    status = f"{verdict} → {current}" if current and current != verdict else verdict
    parts = [state.item_id, f"patient {patient}" if patient else None, values or None,
             f"{first.protocol_id} v{first.protocol_version}", scope, status, state.status.value.replace("_", " "),
             question[:50] or None]
    return " · ".join(p for p in parts if p)


def verdict_key(state: ItemState) -> str:
    return "verdict" if state.item_kind is ItemKind.FINDING else "overall"


def history_table(state: ItemState) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "#": r.id,
                "when (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "who": r.actor + (" (SSO)" if r.actor_verified else ""),
                "action": r.action.value,
                "before": _verdict(r.before),
                "after": _verdict(r.after),
                "reason": r.reason or "",
                "flag": FLAG_LABELS.get(r.flag_kind, "") if r.flag_kind else "",
                "comment": r.comment or "",
            }
            for r in state.history
        ]
    )


def _verdict(value: dict | None) -> str:
    if not value:
        return ""
    return str(value.get("overall") or value.get("verdict") or "")


def decision_form(state: ItemState) -> None:
    name, verified = common.reviewer()
    verdicts = (
        [v.value for v in Verdict] if state.item_kind is ItemKind.FINDING else [v.value for v in OverallVerdict]
    )
    current = _verdict(state.latest.after or state.submitted.before)
    # outside the form, so choosing an action reruns the page and shows that action's fields alone
    decision = st.radio("Decision", list(DECISIONS), horizontal=True, key="review_decision")
    action = DECISIONS[decision]
    new_verdict = reason = flag = None
    finding_verdicts: dict[str, str] = {}
    with st.form(f"decide-{state.item_id}"):
        if action is Action.OVERRIDDEN:
            new_verdict = st.selectbox(
                "Reviewer's verdict", [v for v in verdicts if v != current], key="review_new_verdict",
            )
            reason = st.text_input("Reason (required)", key="review_reason")
            assessment = state.submitted.assessment
            if state.item_kind is ItemKind.ASSESSMENT and assessment is not None and assessment.findings:
                st.caption("Your verdict per criterion (a changed one becomes an eval regression case)")
                for i, finding in enumerate(assessment.findings):
                    options = [v.value for v in Verdict]
                    finding_verdicts[finding.criterion_id] = st.selectbox(
                        f"Criterion {finding.label} ({kind_name(finding.criterion_kind)})",
                        options,
                        index=options.index(finding.verdict.value),
                        format_func=lambda v, k=finding.criterion_kind: f"{words(Verdict(v), k)} ({v})",
                        key=f"review_fv_{state.item_id}_{i}",
                    )
        elif action is Action.FLAGGED:
            flag = st.selectbox("What is wrong", list(FLAG_LABELS), format_func=FLAG_LABELS.get, key="review_flag")
        comment = st.text_area("Comment (required for a flag)" if action is Action.FLAGGED else "Comment (optional)",
                               key="review_comment")
        submitted = st.form_submit_button("Record decision", type="primary")
    if not submitted:
        return
    if not name:
        st.error("Enter your name in the sidebar (Reviewer name) first: every decision is signed.")
        return
    try:
        record = common.store().review(
            state.item_id,
            action,
            actor=name,
            actor_verified=verified,
            reason=reason if action is Action.OVERRIDDEN else None,
            comment=comment,
            flag_kind=flag if action is Action.FLAGGED else None,
            new_verdict=new_verdict if action is Action.OVERRIDDEN else None,
            finding_verdicts=finding_verdicts if action is Action.OVERRIDDEN else None,
        )
    except AuditError as exc:
        st.error(str(exc))
        return
    st.session_state["review_last"] = (f"Recorded: {record.action.value} by {common.md(record.actor)} "
                                       f"(record #{record.id}).")
    st.rerun()


def render() -> None:
    st.title("Review")
    st.caption("Every decision is a new record in the append-only audit trail; nothing is edited in place.")
    last = st.session_state.pop("review_last", None)
    if last:
        st.success(last)
    store = common.store()
    show = st.radio("Show", list(STATUS_FILTERS), horizontal=True, key="review_filter")
    every = store.items()  # one read of the trail per run; the queue is the items awaiting review
    states = [s for s in every if s.status in STATUS_FILTERS[show]]
    st.metric("Awaiting review", sum(s.status is ItemStatus.AWAITING_REVIEW for s in every))
    with st.expander("Audit trail, all items (filter by action, reviewer, date)"):
        audit_view(every)
    if not states:
        st.info("Nothing here. Send an assessment to review from the Ask or Batch page.")
    else:
        queue_item(states)


def audit_rows(states: list[ItemState]) -> list[dict[str, object]]:
    """Every record of every item, newest first: the trail a monitor or auditor reads across the queue."""
    rows = []
    for state in states:
        for r in state.history:
            rows.append({
                "when (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M:%S"), "date": r.created_at.date(),
                "item": state.item_id, "who": r.actor + (" (SSO)" if r.actor_verified else ""), "actor": r.actor,
                "action": r.action.value, "before": _verdict(r.before), "after": _verdict(r.after),
                "reason": r.reason or "", "flag": FLAG_LABELS.get(r.flag_kind, "") if r.flag_kind else "",
                "comment": r.comment or "", "#": r.id,
            })
    return sorted(rows, key=lambda row: (row["when (UTC)"], row["#"]), reverse=True)


def audit_view(states: list[ItemState]) -> None:
    """The audit trail across all items, filtered by action, reviewer and date (filters narrow; empty = all)."""
    rows = audit_rows(states)
    if not rows:
        st.caption("No record yet.")
        return
    c1, c2, c3 = st.columns(3)
    actions = c1.multiselect("Action", sorted({r["action"] for r in rows}), key="audit_actions")
    actors = c2.multiselect("Reviewer", sorted({r["actor"] for r in rows}), key="audit_actors")
    first, last = min(r["date"] for r in rows), max(r["date"] for r in rows)
    span = c3.date_input("Dates", value=(first, last), key="audit_dates")
    start, end = (span[0], span[-1]) if isinstance(span, (tuple, list)) and span else (first, last)
    shown = [r for r in rows if (not actions or r["action"] in actions) and (not actors or r["actor"] in actors)
             and start <= r["date"] <= end]
    st.caption(f"{len(shown)} of {len(rows)} records")
    st.dataframe(pd.DataFrame(shown, columns=["when (UTC)", "item", "who", "action", "before", "after", "reason",
                                              "flag", "comment", "#"]),
                 hide_index=True, width="stretch", key="audit_table")


def queue_item(states: list[ItemState]) -> None:
    """One item of the queue: its card, the decision form and its own history."""
    labels = {item_label(s): s for s in states}
    chosen = st.selectbox("Item", list(labels), key="review_item")
    state = labels[chosen]
    st.markdown(f"Status: **{state.status.value.replace('_', ' ')}**")
    if state.latest.after and state.latest.after.get(verdict_key(state)):
        st.info(f"Current verdict: {state.latest.after[verdict_key(state)]}, by {common.md(state.latest.actor)} "
                f"({state.latest.action.value}); the card below is the assessment as submitted.")
    assessment = state.submitted.assessment
    if state.item_kind is ItemKind.FINDING:
        st.markdown(f"Reviewing **criterion {common.md(state.submitted.before.get('label'))}** of this assessment.")
    if assessment is not None:
        render_assessment(assessment, key=f"review-{state.item_id}")
    st.subheader("Decision")
    decision_form(state)
    st.subheader("History")
    st.dataframe(history_table(state), hide_index=True, width="stretch")


if __name__ == "__main__":
    render()
