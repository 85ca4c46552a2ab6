"""Batch: screen a whole lab export (plain CSV, SDTM LB, FHIR) against every version of a protocol."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from reasoning.environment import lock_stamp
from reasoning.models import Assessment, OverallVerdict, Provenance, Verdict
from ui.views import common

LAB_TYPES = ["csv", "xpt", "json", "ndjson"]
FORMATS = ["auto", "csv", "sdtm", "fhir"]


def _save(upload) -> Path:
    from ui.views.protocols import save_upload

    return save_upload(upload.name, upload.getvalue())


def run_screen(protocol_id: str, lab_path: Path, fmt: str, dm_path: Path | None, visits: str):
    from ingest.patients import read_lab_file
    from reasoning.batch import screen

    lab_file = read_lab_file(lab_path, fmt, dm_path)
    index = common.index()
    # the versions as assessments see them: reviewers' rule corrections applied
    versions = [common.corrected_protocol(protocol_id, info.version) for info in index.versions(protocol_id)]
    bar = st.progress(0.0, text="Screening…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(1.0, done / total) if total else 1.0, text=f"Screening… {done}/{total}")

    result = screen(lab_file, versions, visits=visits, progress=progress)
    bar.progress(1.0, text=f"Done: {result.rows_judged} of {result.rows_in} rows judged")
    return result


def findings_frame(result) -> pd.DataFrame:
    from ui.reports import finding_row

    rows = []
    for i, pf in enumerate(result.findings):
        row = finding_row(pf)
        row["#"] = i
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame[["#", "patient_id", "reads_as", "verdict", "kind", "label", "version", "phase", "lab_date", "arithmetic",
                  "observations", "section", "page", "quote", "rationale"]]


def errors_frame(result) -> pd.DataFrame:
    """Every row not judged (error) or judged with a caveat (warning), numbered as the spreadsheet shows them."""
    from ui.reports import spreadsheet_row

    rows = sorted([*result.errors, *result.warnings], key=lambda e: (e.file, e.row, e.severity))
    return pd.DataFrame([{"file": e.file, "spreadsheet row": spreadsheet_row(e), "data row": e.row,
                          "severity": e.severity, "field": e.field, "patient": e.patient_id or "",
                          "value": e.value or "", "reason": e.reason} for e in rows])


def download_files(result) -> dict[str, tuple[str, bytes]]:
    """label -> (file name, content) of the report files; written once per screen, not on every rerun."""
    from ui.reports import write_dv, write_errors, write_findings

    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "Findings CSV": write_findings(result, Path(tmp) / "findings.csv"),
            "Findings JSON": write_findings(result, Path(tmp) / "findings.json"),
            "SDTM DV (CSV)": write_dv(result, Path(tmp) / "dv.csv"),
        }
        if result.errors or result.warnings:
            files["Row errors CSV"] = write_errors(result, Path(tmp) / "errors.csv")
        return {label: (path.name, path.read_bytes()) for label, path in files.items()}


def downloads(protocol_id: str, files: dict[str, tuple[str, bytes]]) -> None:
    columns = st.columns(len(files))
    for column, (label, (name, data)) in zip(columns, files.items()):
        column.download_button(label, data, file_name=f"{protocol_id}_{name}", key=f"dl-{name}")


def finding_assessment(pf, protocol) -> Assessment:
    """One batch finding as a single-finding assessment: what the review queue and audit trail hold."""
    from reasoning.evaluate import ENGINE_VERSION

    finding = pf.finding
    overall = Assessment.overall_of([finding])
    return Assessment(
        question=None,
        protocol_id=pf.protocol_id,
        version=pf.version,
        overall=overall,
        summary=f"Batch screening: patient {pf.patient_id}, {finding.criterion_kind.value} {finding.label}: "
        f"{finding.verdict.value} ({pf.phase} lab of {pf.lab_date or 'unknown date'})",
        findings=[finding],
        observations=list(finding.observations),
        provenance=Provenance(
            engine_version=ENGINE_VERSION,
            protocol_sha256=protocol.sha256 if protocol else None,
            created_at=dt.datetime.now(dt.UTC),
            environment_lock_sha256=lock_stamp(),
            llm_used=finding.llm_verdict is not None,
        ),
    )


def send_chosen(result, chosen: list[int]) -> None:
    name, verified = common.reviewer()
    if not name:
        st.error("Enter your name in the sidebar (Reviewer name) first.")
        return
    if not chosen:
        st.error("Choose the findings to send.")
        return
    store = common.store()
    protocols = {}
    ids = []
    for i in chosen:
        pf = result.findings[i]
        if pf.version not in protocols:
            protocols[pf.version] = common.corrected_protocol(pf.protocol_id, pf.version)
        protocol = protocols[pf.version]
        assessment = finding_assessment(pf, protocol)
        criteria = [c for c in protocol.criteria if c.id == pf.finding.criterion_id]
        record = store.submit(
            assessment, actor=name, actor_verified=verified, finding=pf.finding, criteria=criteria,
            comment=f"batch: patient {pf.patient_id}",
        )
        ids.append(record.item_id)
    st.session_state["batch_sent"] = ids


def render() -> None:
    st.title("Batch")
    st.caption("Screen a lab export; each row is judged against the protocol version in force on its date.")
    infos = common.index().protocols()
    if not infos:
        st.warning("No protocol is ingested yet: add one on the Protocols page.")
        return
    with st.form("batch_form"):
        c1, c2, c3 = st.columns(3)
        protocol_id = c1.selectbox("Protocol", sorted({i.protocol_id for i in infos}), key="batch_protocol")
        fmt = c2.selectbox("Format", FORMATS, key="batch_format")
        visits = c3.radio(
            "Visits", ["screening", "all"], key="batch_visits", horizontal=True,
            help="screening: labs up to the first dose vs eligibility; all: also on-study labs vs stopping rules",
        )
        lab = st.file_uploader("Lab file (plain CSV, SDTM LB .csv/.xpt, FHIR .json/.ndjson)", type=LAB_TYPES,
                               key="batch_file")
        dm = st.file_uploader("SDTM DM file (optional: ages, sex, first dose)", type=["csv", "xpt"], key="batch_dm")
        submitted = st.form_submit_button("Screen", type="primary")
    if submitted:
        if lab is None:
            st.error("Choose a lab file.")
        else:
            try:
                result = run_screen(protocol_id, _save(lab), fmt, _save(dm) if dm is not None else None, visits)
            except Exception as exc:  # noqa: BLE001 - shown to the user, the app stays up
                common.show_error(exc)
                result = None
            if result is not None:
                st.session_state["batch_downloads"] = download_files(result)
                st.session_state["batch_result"] = result
                st.session_state.pop("batch_sent", None)

    result = st.session_state.get("batch_result")
    if result is None:
        return
    overall = list(result.patients.values())
    c = st.columns(5)
    c[0].metric("Rows read", result.rows_in)
    c[1].metric("Rows judged", result.rows_judged)
    c[2].metric("Rows with errors", len(result.errors))
    c[3].metric("Patients with a deviation", sum(v is OverallVerdict.DEVIATION for v in overall))
    c[4].metric("Patients needing review", sum(v is OverallVerdict.NEEDS_REVIEW for v in overall))
    for note in result.notes:
        st.caption(f"note: {common.md(note)}")
    downloads(result.protocol_id, st.session_state["batch_downloads"])
    if result.errors or result.warnings:
        with st.expander(f"Row problems: {len(result.errors)} error(s), {len(result.warnings)} warning(s)",
                         expanded=bool(result.errors)):
            st.dataframe(errors_frame(result), hide_index=True, width="stretch")

    frame = findings_frame(result)
    if frame.empty:
        st.success("No finding to report: every judged row meets the protocol.")
        return
    st.subheader("Findings")
    f1, f2, f3 = st.columns(3)
    verdicts = f1.multiselect(
        "Verdict", [v.value for v in (Verdict.VIOLATES, Verdict.NEEDS_REVIEW, Verdict.INDETERMINATE)],
        default=[Verdict.VIOLATES.value], key="batch_filter_verdict",
    )
    criteria = f2.multiselect("Criterion", sorted(set(frame["kind"] + " " + frame["label"])), key="batch_filter_crit")
    patient = f3.text_input("Patient id contains", key="batch_filter_patient")
    shown = frame[frame["verdict"].isin(verdicts)] if verdicts else frame
    if criteria:
        shown = shown[(shown["kind"] + " " + shown["label"]).isin(criteria)]
    if patient.strip():
        shown = shown[shown["patient_id"].astype(str).str.contains(patient.strip(), case=False, regex=False)]
    st.caption(f"{len(shown)} of {len(frame)} findings")
    st.dataframe(shown, hide_index=True, width="stretch")

    st.subheader("Send to review")
    sent = st.session_state.get("batch_sent")
    if sent:
        st.success(f"Sent {len(sent)} finding(s) to review.")
    labels = {
        f"#{r['#']} · {r['patient_id']} · {r['kind']} {r['label']} · {r['reads_as']}": int(r["#"])
        for _, r in shown.iterrows()
    }
    chosen = st.multiselect("Findings to send", list(labels), key="batch_chosen")
    if st.button("Send chosen findings to review", key="batch_send"):
        send_chosen(result, [labels[c] for c in chosen if c in labels])
        if st.session_state.get("batch_sent"):
            st.rerun()


if __name__ == "__main__":
    render()
