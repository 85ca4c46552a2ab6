"""Ask: one patient's lab value(s) against one protocol, as a free-text question or a structured entry."""

from __future__ import annotations

import streamlit as st

from labs.observation import Demographics, LabObservation, Sex
from reasoning.models import Assessment
from ui.views import common
from ui.views.card import render_assessment

AUTO_VERSION = "in force on the lab date"


def analyte_codes() -> list[str]:
    import labs

    return sorted(a.code for a in labs.catalog())


def parse_conditions(text: str) -> dict[str, bool]:
    """'liver metastases: yes' / 'Gilbert's syndrome: no', one a line; a bare name means present."""
    conditions: dict[str, bool] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, _, status = line.partition(":")
        status = status.strip().lower()
        if status and status not in {"yes", "y", "true", "present", "no", "n", "false", "absent"}:
            raise ValueError(f"condition line {line!r}: write 'name: yes' or 'name: no'")
        conditions[name.strip()] = status not in {"no", "n", "false", "absent"}
    return conditions


def protocol_picker() -> tuple[str | None, str | None]:
    infos = common.index().protocols()
    if not infos:
        st.warning("No protocol is ingested yet: add one on the Protocols page.")
        return None, None
    ids = sorted({i.protocol_id for i in infos})
    left, right = st.columns(2)
    protocol_id = left.selectbox("Protocol", ids, key="ask_protocol")
    versions = [i for i in infos if i.protocol_id == protocol_id]
    labels = [AUTO_VERSION] + [
        f"{i.version}" + (f" (effective {i.effective_date})" if i.effective_date else "") for i in versions
    ]
    choice = right.selectbox("Version", labels, key="ask_version")
    version = None if choice == AUTO_VERSION else versions[labels.index(choice) - 1].version
    return protocol_id, version


def _run(action, version: str | None) -> None:
    try:
        with st.spinner("Assessing…"):
            assessment: Assessment = action()
    except Exception as exc:  # noqa: BLE001 - shown to the user; nothing is half-written
        clear_result()  # an answer left under an error would read as the answer to this question
        common.show_error(exc)
        return
    st.session_state["ask_assessment"] = assessment.model_dump_json()
    st.session_state["ask_picked_version"] = version
    st.session_state["ask_for"] = [assessment.protocol_id, version]
    st.session_state.pop("ask_sent_item", None)


def clear_result() -> None:
    for key in ("ask_assessment", "ask_picked_version", "ask_for", "ask_sent_item"):
        st.session_state.pop(key, None)


def question_tab(protocol_id: str, version: str | None) -> None:
    with st.form("ask_question_form"):
        question = st.text_area(
            "Question",
            key="ask_question",
            placeholder="Patient 1003 ALT 150 U/L (ULN 40) on 2024-03-02",
            help="Name the analyte, value, unit, the ULN/LLN if known, and the date.",
        )
        submitted = st.form_submit_button("Assess question")
    if submitted:
        if not question.strip():
            st.error("Write a question first.")
            return
        _run(lambda: common.assessor(version).ask(question.strip(), protocol_id), version)


def structured_tab(protocol_id: str, version: str | None) -> None:
    codes = analyte_codes()
    with st.form("ask_structured_form"):
        c1, c2, c3 = st.columns(3)
        patient = c1.text_input("Patient id", key="f_patient")
        analyte = c2.selectbox("Analyte", codes, key="f_analyte", index=codes.index("ALT"))
        on_date = c3.date_input("Lab date", key="f_date", value=None)
        c1, c2, c3, c4 = st.columns(4)
        value = c1.number_input("Value", key="f_value", value=None, format="%g")
        unit = c2.text_input("Unit", key="f_unit", placeholder="as on the report; empty if none",
                             help="e.g. U/L, mg/dL, 10^9/L; leave empty for a ratio such as INR")
        uln = c3.number_input("ULN", key="f_uln", value=None, format="%g")
        lln = c4.number_input("LLN", key="f_lln", value=None, format="%g")
        c1, c2, c3 = st.columns(3)
        age = c1.number_input("Age (years)", key="f_age", value=None, min_value=0.0, max_value=130.0, format="%g")
        sex = c2.selectbox("Sex", ["unknown", "F", "M"], key="f_sex")
        weight = c3.number_input("Weight (kg)", key="f_weight", value=None, min_value=0.0, format="%g")
        conditions = st.text_area(
            "Known conditions", key="f_conditions", placeholder="liver metastases: yes\nGilbert's syndrome: no"
        )
        submitted = st.form_submit_button("Assess values")
    if not submitted:
        return
    if value is None or not str(analyte).strip():
        st.error("Analyte and value are required.")
        return
    try:
        demographics = Demographics(
            age_years=age,
            sex=Sex(sex) if sex != "unknown" else None,
            weight_kg=weight or None,
            conditions=parse_conditions(conditions),
        )
        observation = LabObservation(
            patient_id=patient.strip() or None,
            analyte=str(analyte).strip(),
            value=value,
            unit=unit.strip() or None,
            uln=uln,
            lln=lln,
            date=on_date,
            source="structured entry",
            demographics=demographics,
        )
    except ValueError as exc:
        common.show_error(exc)
        return
    _run(
        lambda: common.assessor(version).assess([observation], protocol_id, on_date=on_date, demographics=demographics),
        version,
    )


def _version_in_force(assessment: Assessment) -> str | None:
    dates = [o.date for o in assessment.observations if o.date]
    try:
        return common.index().version_in_force(assessment.protocol_id, max(dates) if dates else None)
    except Exception:  # noqa: BLE001 - a date before the first version: nothing to compare with
        return None


def send_to_review(assessment: Assessment) -> None:
    name, verified = common.reviewer()
    sent = st.session_state.get("ask_sent_item")
    if sent:
        st.success(f"Sent to review as item {sent}.")
        return
    comment = st.text_input("Comment for the reviewer (optional)", key="ask_review_comment")
    if st.button("Send to review", key="ask_send", type="primary"):
        if not name:
            st.error("Enter your name in the sidebar (Reviewer name) first.")
            return
        record = common.store().submit(
            assessment, actor=name, comment=comment, actor_verified=verified,
            criteria=common.judged_criteria(assessment),
        )
        st.session_state["ask_sent_item"] = record.item_id
        st.success(f"Sent to review as item {record.item_id}.")


def render() -> None:
    st.title("Ask")
    st.caption("One patient's lab value against the protocol version in force; every verdict cites the protocol.")
    protocol_id, version = protocol_picker()
    if protocol_id is None:
        return
    question, structured = st.tabs(["Free-text question", "Structured entry"])
    with question:
        question_tab(protocol_id, version)
    with structured:
        structured_tab(protocol_id, version)

    raw = st.session_state.get("ask_assessment")
    if not raw:
        return
    if st.session_state.get("ask_for") != [protocol_id, version]:
        clear_result()  # the protocol or version changed since: that answer is not about what is chosen now
        return
    assessment = Assessment.model_validate_json(raw)
    picked = st.session_state.get("ask_picked_version")
    if picked:
        in_force = _version_in_force(assessment)
        if in_force and in_force != picked:
            st.warning(
                f"Judged against version {picked}, as chosen; the version in force on the lab date is {in_force}."
            )
    render_assessment(assessment, key="ask")
    send_to_review(assessment)


if __name__ == "__main__":  # AppTest / direct `streamlit run` of this page
    render()
