"""Protocols: ingest a version, read its criteria and parsed rules, compare two versions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from ingest.models import CriterionKind, Protocol
from ui.demo_protocols import ingest_document_result
from ui.ingest_report import IngestReport, Level, ingest_report
from ui.protocol_diff import ChangeKind, diff_protocols
from ui.views import common

CORRECTIONS_PAGE = str(Path(__file__).resolve().parent / "corrections.py")
DOCUMENT_TYPES = ["pdf", "docx", "html", "htm", "txt", "md", "json"]


def save_upload(name: str, data: bytes) -> Path:
    """Keep the uploaded file in the data dir: citations point at its pages later."""
    digest = hashlib.sha256(data).hexdigest()
    folder = common.settings().data_dir / "uploads" / digest[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(name).name
    path.write_bytes(data)
    return path.resolve()


def ingest_form() -> None:
    with st.form("protocol_ingest_form", clear_on_submit=False):
        upload = st.file_uploader("Protocol document", type=DOCUMENT_TYPES, key="proto_upload")
        c1, c2, c3 = st.columns(3)
        protocol_id = c1.text_input("Protocol id (blank: read from the document)", key="proto_id")
        version = c2.text_input("Version (blank: read from the document)", key="proto_version")
        effective = c3.date_input("Effective date", value=None, key="proto_effective")
        allow_empty = st.checkbox("Ingest without eligibility criteria", key="proto_allow_empty",
                                  help="only if this document really has no inclusion or exclusion criteria")
        submitted = st.form_submit_button("Ingest")
    if not submitted:
        return
    if upload is None:
        st.error("Choose a document to ingest.")
        return
    path = save_upload(upload.name, upload.getvalue())
    try:
        with st.spinner(f"Parsing and indexing {upload.name}…"):
            protocol, result = ingest_document_result(
                common.index(), path, protocol_id=protocol_id.strip() or None, version=version.strip() or None,
                effective_date=effective, allow_empty=allow_empty,
            )
    except Exception as exc:  # noqa: BLE001 - shown to the user, the app stays up
        common.show_error(exc)
        return
    report = ingest_report(protocol, already_ingested=result.skipped, given_version=version.strip() or None,
                           given_date=effective)
    if result.skipped:
        st.info(f"{protocol.protocol_id} version {protocol.version} was already ingested from this same file: "
                f"nothing changed. {report.count.sentence()}.")
    else:
        st.success(f"Ingested {protocol.protocol_id} version {protocol.version}: {report.count.sentence()}.")
    show_checklist(report)


_MARK = {Level.OK: "✅", Level.CHECK: "⚠️", Level.ERROR: "⛔"}


def show_checklist(report: IngestReport) -> None:
    """The ingest report as a checklist; an item about one criterion links to it on the Corrections page."""
    st.markdown("**Ingest checklist**")
    for item in report.items:
        line = f"{_MARK[item.level]} {common.md(item.text)}"
        if item.level is Level.ERROR:
            st.error(line)
        else:
            st.markdown(line)
        if item.criterion_id:
            # The Corrections page reads ?criterion= and opens on that criterion.
            st.page_link(CORRECTIONS_PAGE, label=f"Correct {item.criterion_label} on the Corrections page",
                         icon="✏️", query_params={"criterion": item.criterion_id})


def versions_table(infos) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "protocol": i.protocol_id,
                "version": i.version,
                "effective": i.effective_date,
                "title": i.title or "",
                "criteria": i.criteria_count,
                "rules": i.rules_count,
                "file": Path(i.source_file).name,
                "sha256": i.sha256[:12],
            }
            for i in infos
        ]
    )


def criteria_table(protocol: Protocol, show_context: bool) -> pd.DataFrame:
    rows = []
    for c in protocol.criteria:
        if c.kind is CriterionKind.CONTEXT and not show_context:
            continue
        rows.append(
            {
                "label": c.label,
                "kind": c.kind.value,
                "set": c.criteria_set,
                "section": " ".join(x for x in (c.section_number, c.section_title) if x),
                "page": str(c.page_start) if c.page_start == c.page_end else f"{c.page_start}-{c.page_end}",
                "text": c.text,
                "parsed rules": "\n".join(common.describe_rule(r) for r in c.rules),
            }
        )
    return pd.DataFrame(rows)


def diff_view(protocol_id: str, versions: list[str]) -> None:
    if len(versions) < 2:
        st.info("Only one version is ingested; ingest another to compare.")
        return
    c1, c2 = st.columns(2)
    old_v = c1.selectbox("From version", versions, index=len(versions) - 2, key="diff_old")
    new_v = c2.selectbox("To version", versions, index=len(versions) - 1, key="diff_new")
    if old_v == new_v:
        st.info("Pick two different versions.")
        return
    index = common.index()
    changes = diff_protocols(index.protocol(protocol_id, old_v), index.protocol(protocol_id, new_v))
    counts = {k: sum(c.change is k for c in changes) for k in ChangeKind}
    thresholds = sum(c.thresholds_changed for c in changes if c.change is ChangeKind.CHANGED)
    st.markdown(
        f"**{counts[ChangeKind.ADDED]} added · {counts[ChangeKind.REMOVED]} removed · "
        f"{counts[ChangeKind.CHANGED]} changed ({thresholds} with changed thresholds) · "
        f"{counts[ChangeKind.RENUMBERED]} renumbered**"
    )
    if not changes:
        st.success("No criterion differs.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "change": c.change.value,
                    "kind": c.kind.value,
                    f"label v{old_v}": c.old_label or "",
                    f"label v{new_v}": c.new_label or "",
                    "text changed": "yes" if c.text_changed else "",
                    "thresholds changed": "yes" if c.thresholds_changed else "",
                    f"only in v{old_v}": "; ".join(c.thresholds_removed),
                    f"only in v{new_v}": "; ".join(c.thresholds_added),
                    f"text v{old_v}": c.old_text or "",
                    f"text v{new_v}": c.new_text or "",
                }
                for c in changes
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def render() -> None:
    st.title("Protocols")
    with st.expander("Ingest a protocol version", expanded=False):
        ingest_form()
    infos = common.index().protocols()
    if not infos:
        st.info("No protocol ingested yet.")
        return
    st.dataframe(versions_table(infos), hide_index=True, width="stretch")
    ids = sorted({i.protocol_id for i in infos})
    protocol_id = st.selectbox("Protocol", ids, key="proto_browse_id")
    versions = [i.version for i in infos if i.protocol_id == protocol_id]
    criteria_tab, diff_tab = st.tabs(["Criteria and rules", "Differences between versions"])
    with criteria_tab:
        version = st.selectbox("Version", versions, index=len(versions) - 1, key="proto_browse_version")
        show_context = st.checkbox("Show context segments (tables, definitions)", key="proto_context")
        protocol = common.corrected_protocol(protocol_id, version)
        st.caption("Rules marked 'reviewer correction' replace the parsed ones (see Corrections).")
        st.dataframe(criteria_table(protocol, show_context), hide_index=True, width="stretch")
        show_checklist(ingest_report(protocol, at_ingest=False))
    with diff_tab:
        diff_view(protocol_id, versions)


if __name__ == "__main__":
    render()
