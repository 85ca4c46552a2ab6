"""Quality: reviewer agreement and override rate over time, and the latest eval metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from ui.audit import Action, AuditRecord, ItemKind
from ui.views import common

REVIEW_ACTIONS = (Action.CONFIRMED, Action.OVERRIDDEN, Action.FLAGGED)


def review_rates(records: list[AuditRecord], freq: str = "D") -> pd.DataFrame:
    """Per period: decisions, agreement (confirmed / (confirmed + overridden)) and override rate (of all).

    Only the latest decision of an item in a period counts, so a reviewer correcting their own click does
    not count twice.
    """
    decisions = [r for r in records if r.action in REVIEW_ACTIONS]
    if not decisions:
        return pd.DataFrame(columns=["period", "decisions", "confirmed", "overridden", "flagged", "agreement", "override rate"])
    frame = pd.DataFrame(
        [{"when": r.created_at, "item": r.item_id, "action": r.action.value, "id": r.id} for r in decisions]
    )
    frame["period"] = frame["when"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period(freq).dt.start_time
    frame = frame.sort_values("id").groupby(["period", "item"], as_index=False).last()
    counts = frame.pivot_table(index="period", columns="action", values="item", aggfunc="count", fill_value=0)
    for action in REVIEW_ACTIONS:
        if action.value not in counts:
            counts[action.value] = 0
    out = pd.DataFrame(index=counts.index)
    out["confirmed"] = counts[Action.CONFIRMED.value]
    out["overridden"] = counts[Action.OVERRIDDEN.value]
    out["flagged"] = counts[Action.FLAGGED.value]
    out["decisions"] = out[["confirmed", "overridden", "flagged"]].sum(axis=1)
    judged = out["confirmed"] + out["overridden"]
    out["agreement"] = (out["confirmed"] / judged.where(judged > 0)).round(3)
    out["override rate"] = (out["overridden"] / out["decisions"].where(out["decisions"] > 0)).round(3)
    return out.reset_index()[["period", "decisions", "confirmed", "overridden", "flagged", "agreement", "override rate"]]


def eval_metrics_path() -> Path:
    return common.REPO_ROOT / "eval" / "reports" / "latest" / "metrics.json"


def eval_metrics_table(data: dict) -> pd.DataFrame:
    rows = []
    for suite, metrics in (data.get("metrics") or {}).items():
        for name, value in (metrics or {}).items():
            rows.append({"suite": suite, "metric": name, "value": value})
    # floors: FloorCheck dicts from eval/floors.py, keyed "suite.metric"
    floors = {f.get("key"): f for f in data.get("floors") or [] if isinstance(f, dict)}
    for row in rows:
        floor = floors.get(f"{row['suite']}.{row['metric']}")
        if floor:
            row["floor"] = floor.get("bound")
            row["meets floor"] = "yes" if floor.get("ok") else "NO"
    return pd.DataFrame(rows)


def render() -> None:
    st.title("Quality")
    store = common.store()
    chain = store.verify_chain()
    records = store.records(item_kinds=[ItemKind.ASSESSMENT, ItemKind.FINDING])
    st.subheader("Audit trail")
    if chain.intact and not store.unreadable:
        st.success(chain.summary)
    else:
        st.error(chain.summary if not chain.intact else f"{len(store.unreadable)} audit record(s) cannot be read")
        st.text("\n".join(f"- {problem}" for problem in [*chain.problems, *store.unreadable]))
    st.subheader("Reviewer agreement over time")
    freq = st.radio("Per", ["day", "week"], horizontal=True, key="quality_freq")
    rates = review_rates(records, "D" if freq == "day" else "W")
    if rates.empty:
        st.info("No reviewer decisions yet.")
    else:
        total = rates[["confirmed", "overridden", "flagged"]].sum()
        judged = total["confirmed"] + total["overridden"]
        c1, c2, c3 = st.columns(3)
        c1.metric("Decisions", int(total.sum()))
        c2.metric("Agreement (confirmed / judged)", f"{total['confirmed'] / judged:.0%}" if judged else "—")
        c3.metric("Override rate", f"{total['overridden'] / total.sum():.0%}")
        st.line_chart(rates.set_index("period")[["agreement", "override rate"]], y_label="rate")
        st.dataframe(rates, hide_index=True, width="stretch")

    st.subheader("Latest evaluation")
    path = eval_metrics_path()
    if not path.is_file():
        st.info(f"No eval report yet ({path.relative_to(common.REPO_ROOT)}): run `make eval`.")
        return
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        st.error(f"{path}: cannot be read: {exc}")
        return
    st.caption(f"From {path.relative_to(common.REPO_ROOT)}")
    table = eval_metrics_table(data)
    if table.empty:
        st.json(data, expanded=False)
    else:
        st.dataframe(table, hide_index=True, width="stretch")
    for suite, why in (data.get("skipped") or {}).items():
        st.warning(f"{suite} was skipped: {why}")


if __name__ == "__main__":
    render()
