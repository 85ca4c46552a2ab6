"""The Assessor on the demo protocols, indexed in a real embedded Qdrant store with the real embedding model."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from labs.observation import Demographics, LabObservation
from reasoning.models import Assessment, OverallVerdict, Verdict

pytestmark = pytest.mark.slow


def _finding(assessment, label_suffix):
    return next(f for f in assessment.findings if f.criterion_id.endswith(label_suffix))


def test_question_in_force_version_and_cited_arithmetic(assessor, demo_index):
    a = assessor.ask("Patient 1003 has ALT of 65 U/L (ULN 40) on 2024-03-02", "TG-ONC-001")
    assert a.version == "1.0" and a.overall is OverallVerdict.NO_DEVIATION
    inclusion = _finding(a, "inclusion:5")
    assert inclusion.verdict is Verdict.MEETS
    assert any("65 U/L = 1.63 × ULN 40 U/L" in line for line in inclusion.arithmetic)
    cite = inclusion.citations[0]
    assert cite.verified and cite.quote in demo_index.protocol("TG-ONC-001", "1.0").text
    assert cite.page >= 1 and cite.protocol_id == "TG-ONC-001" and cite.version == "1.0"
    assert a.provenance.protocol_sha256 == demo_index.protocol("TG-ONC-001", "1.0").sha256
    assert a.observations[0].patient_id == "1003"


def test_amendment_in_force_changes_the_verdict(assessor):
    before = assessor.ask("ANC 1.2 x10^9/L on 2024-03-02", "TG-ONC-001")
    after = assessor.ask("ANC 1.2 x10^9/L on 2024-07-01", "TG-ONC-001")
    assert (before.version, after.version) == ("1.0", "2.0")
    assert _finding(before, "inclusion:5").verdict is Verdict.VIOLATES and before.overall is OverallVerdict.DEVIATION
    assert _finding(after, "inclusion:5").verdict is Verdict.MEETS
    assert "violated" in before.summary


def test_unknown_condition_is_named_not_guessed(assessor):
    a = assessor.ask("ALT 130 U/L (ULN 40) on 2024-07-01", "TG-ONC-001")  # 3.25 × ULN: ≤ 5 only with liver mets
    f = _finding(a, "inclusion:5")
    assert f.verdict is Verdict.INDETERMINATE and "liver metastases" in f.rationale
    assert "Gilbert" not in f.rationale  # no bilirubin given: that condition cannot matter
    assert a.overall is not OverallVerdict.NO_DEVIATION


def test_parse_problems_force_review_and_stay_visible(assessor):
    a = assessor.ask("ALT 65 on 2024-03-02", "TG-ONC-001")
    assert a.overall is OverallVerdict.NEEDS_REVIEW
    assert any("unit" in note for note in a.notes)
    empty = assessor.ask("is this patient fine?", "TG-ONC-001")
    assert empty.overall is OverallVerdict.NEEDS_REVIEW and empty.notes


def test_lab_manual_supplies_uln_by_sex(assessor):
    obs = [LabObservation(analyte="ALT", value=150, unit="U/L", date=dt.date(2024, 3, 1))]
    a = assessor.assess(obs, "TG-HEP-003", demographics=Demographics(sex="M", age_years=50))
    assert any("lab manual" in line for f in a.findings for line in f.arithmetic)


def test_planted_instruction_changes_no_engine_verdict(assessor, demo_index):
    protocol = demo_index.protocol("TG-HEP-003", "1.0")
    assert "ignore" in protocol.text.lower()  # the planted sentence is really there
    a = assessor.ask("ALT 500 U/L (ULN 40) on 2024-03-01", "TG-HEP-003")
    assert a.overall is OverallVerdict.DEVIATION
    assert _finding(a, "exclusion:11").verdict is Verdict.VIOLATES


def test_assessment_json_round_trip_and_schema(assessor):
    a = assessor.ask("creatinine 1.4 mg/dL, 72 year old female 60 kg, 2024-04-01", "TG-T2D-002")
    again = Assessment.model_validate_json(a.model_dump_json())
    assert again == a
    schema = Assessment.model_json_schema()
    assert "overall" in schema["properties"] and "guardrails" in schema["properties"]
    assert a.findings and all(f.citations for f in a.findings)

LOCK_SHA = hashlib.sha256((Path(__file__).resolve().parents[2] / "requirements" / "app.lock").read_bytes()).hexdigest()


@pytest.mark.slow
def test_an_assessment_carries_the_lock_of_its_environment(assessor):
    assessment = assessor.ask("ALT 230 U/L (ULN 40) on 2024-07-01", "TG-ONC-001", use_llm=False)
    assert assessment.provenance.environment_lock_sha256 == LOCK_SHA
    # a stored snapshot read back keeps its own environment, it does not take on today's
    old = assessment.model_dump(mode="json")
    del old["provenance"]["environment_lock_sha256"]
    assert type(assessment).model_validate(old).provenance.environment_lock_sha256 is None


def test_an_undecided_headline_names_the_fact_it_waits_on(assessor):
    assessment = assessor.ask("ALT 120 U/L (ULN 40) on 2024-03-02", "TG-ONC-001", use_llm=False)
    (undecided,) = [f for f in assessment.findings if f.verdict is Verdict.INDETERMINATE]
    assert undecided.waits_on == ["liver metastases"]
    assert assessment.overall is OverallVerdict.NEEDS_REVIEW
    assert f"inclusion {undecided.label} waits on liver metastases" in assessment.summary
