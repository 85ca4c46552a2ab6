"""End to end through Assessor.ask and `trialguard ask` on the demo protocols: the overall verdict follows the
findings (issue #20), and bad values in a question are refused by name, never judged (issue #19).

The questions were written for this test. Expected verdicts come from the demo protocols' thresholds as a person
reads them (eval/gold/demo_thresholds.csv): e.g. TG-HEP-003 inclusion 5(i) INR <= 1.5; TG-ONC-001 v1.0 inclusion 5
ANC >= 1.5 x 10^9/L, platelets >= 100 x 10^9/L, ALT <= 2.5 x ULN (<= 5 x ULN with liver metastases), exclusion 2
creatinine > 2.5 mg/dL, discontinuation 1 ALT > 5 x ULN.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from reasoning.models import OverallVerdict, Verdict

pytestmark = pytest.mark.slow

ONC, HEP = "TG-ONC-001", "TG-HEP-003"

# (protocol, question, expected overall, {criterion label: expected verdict}, words some note must contain)
CASES = [
    (HEP, "INR 1.9 on 2024-04-10", "DEVIATION", {"5(i)": "VIOLATES"}, None),
    (HEP, "inr of 1.2 drawn 2024-04-10", None, {"5(i)": "MEETS"}, None),
    (ONC, "pt 7: plts 64,000/µl on 2024-03-05", "DEVIATION", {"5": "VIOLATES"}, None),
    (ONC, "ANC 900/µl on 2024-03-05", "DEVIATION", {"5": "VIOLATES"}, None),
    (ONC, "subject 0112-05: SGPT 52 (ULN 40) on 2024-03-05", "NO_DEVIATION", {"5": "MEETS", "1": "MEETS"},
     "one unstated unit"),
    (ONC, "SGPT 260 (ULN 40) on 2024-03-05", "DEVIATION", {"5": "VIOLATES", "1": "VIOLATES"}, "one unstated unit"),
    (ONC, "creatinine: 2.9 mg/dL on 2024-03-05", "DEVIATION", {"2": "VIOLATES"}, None),
    # a deviation stands beside a part that could not be read
    (HEP, "INR 2.2 and Glorbin 40 on 2024-04-10", "DEVIATION", {"5(i)": "VIOLATES"}, "Glorbin"),
    (ONC, "ALT 300 U/L (ULN 40) on 3024-03-05", "DEVIATION", {"1": "VIOLATES"}, "outside 1900–2100"),
    # refused values: never judged, never a clean answer
    (ONC, "ALT 300 U/L (ULN inf) on 2024-03-05", "NEEDS_REVIEW", {}, "positive finite number"),
    (ONC, "ALT 30 U/L (ULN -40) on 2024-03-05", "NEEDS_REVIEW", {}, "positive finite number"),
    (ONC, "ALT -5 U/L on 2024-03-05", "NEEDS_REVIEW", {}, "negative value is impossible"),
    (ONC, "ALT 1e400 U/L on 2024-03-05", "NEEDS_REVIEW", {}, "not a lab value"),
    (ONC, "ALT Infinity U/L on 2024-03-05", "NEEDS_REVIEW", {}, "not a lab value"),
    (ONC, "ALT 52 U/L (ULN 40) on 06/11/2024", "NEEDS_REVIEW", {}, "ambiguous"),
]


@pytest.mark.parametrize("protocol, question, overall, verdicts, note", CASES, ids=[c[1] for c in CASES])
def test_ask_overall_follows_the_findings(assessor, protocol, question, overall, verdicts, note):
    result = assessor.ask(question, protocol, use_llm=False)
    by_label = {f.label: f.verdict.value for f in result.findings}
    for label, verdict in verdicts.items():
        assert by_label.get(label) == verdict, (label, by_label)
    if overall is not None:
        assert result.overall.value == overall, (result.summary, result.notes)
    # the invariant: an engine VIOLATES is a DEVIATION, whatever else is unsure
    assert (result.overall is OverallVerdict.DEVIATION) == any(f.verdict is Verdict.VIOLATES for f in result.findings)
    if note is not None:
        assert any(note in n for n in result.notes), result.notes
    # nothing impossible was judged
    for observation in result.observations:
        assert observation.value >= 0 and (observation.uln is None or observation.uln > 0)
    assert not any("-0." in line or "× ULN -" in line for f in result.findings for line in f.arithmetic)


def test_unitless_value_raises_no_unit_note(assessor):
    result = assessor.ask("INR 1.9 on 2024-04-10", HEP, use_llm=False)
    assert not any("no unit" in n for n in result.notes), result.notes


def test_value_and_uln_in_one_unit_says_so_in_the_arithmetic(assessor):
    result = assessor.ask("SGPT 110 (ULN 40) on 2024-03-05", ONC, use_llm=False)
    lines = [line for f in result.findings for line in f.arithmetic]
    assert any("2.75 × ULN 40" in line and "no unit given" in line for line in lines), lines


def test_patient_id_of_one_digit_is_kept(assessor):
    result = assessor.ask("pt 7: ALT 300 U/L (ULN 40) on 2024-03-05", ONC, use_llm=False)
    assert {o.patient_id for o in result.observations} == {"7"}
    assert not any("no test name" in n for n in result.notes)


@pytest.fixture
def cli(monkeypatch, demo_index):
    from ui import services

    monkeypatch.delenv("TRIALGUARD_LLM_URL", raising=False)
    monkeypatch.setattr(services, "build_index", lambda settings: demo_index)
    from ui.cli import app

    return app


def test_cli_shows_a_unitless_violation_as_deviation(cli):
    shown = CliRunner().invoke(cli, ["ask", "--protocol", HEP, "INR 1.9 on 2024-04-10"], terminal_width=160)
    assert shown.exit_code == 0, shown.output
    assert "DEVIATION" in shown.output and "NEEDS REVIEW" not in shown.output
    raw = CliRunner().invoke(cli, ["ask", "--protocol", HEP, "--json", "INR 1.9 on 2024-04-10"])
    assert json.loads(raw.output)["overall"] == "DEVIATION"


def test_cli_refuses_a_negative_value_by_name(cli):
    shown = CliRunner().invoke(cli, ["ask", "--protocol", ONC, "ALT -5 U/L on 2024-03-05"], terminal_width=200)
    assert shown.exit_code == 0 and shown.exception is None, shown.output
    assert "NEEDS REVIEW" in shown.output and "negative value is impossible" in shown.output


# ---------------------------------------------------------------------------------- the invariant over tables
REPO = Path(__file__).resolve().parents[2]
FORMS = yaml.safe_load((REPO / "tests" / "retrieval" / "question_forms.yaml").read_text(encoding="utf-8"))["forms"]
GOLD_QUESTIONS = [q for q in yaml.safe_load((REPO / "eval" / "gold" / "questions.yaml").read_text(encoding="utf-8"))
                  ["questions"] if q["protocol_id"].startswith("TG-")]


def _check_invariant(result) -> None:
    violated = [f.label for f in result.findings if f.verdict is Verdict.VIOLATES]
    assert (result.overall is OverallVerdict.DEVIATION) == bool(violated), (result.overall, violated, result.notes)


@pytest.mark.parametrize("form", FORMS, ids=[f["text"] for f in FORMS])
def test_every_question_form_overall_follows_the_findings(assessor, form):
    result = assessor.ask(form["text"], form["protocol"], use_llm=False)
    _check_invariant(result)
    if form.get("unread"):  # something was not read: never a clean answer
        assert result.overall is not OverallVerdict.NO_DEVIATION


def test_every_demo_gold_question_overall_follows_the_findings(assessor):
    assert len(GOLD_QUESTIONS) >= 30
    for question in GOLD_QUESTIONS:
        date = question.get("date")
        on_date = dt.date.fromisoformat(str(date)) if date else None
        _check_invariant(assessor.ask(question["question"], question["protocol_id"], on_date, use_llm=False))
