"""`trialguard criteria FILE [--json]` through the real entry point: output, and failures without output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NCT06158269 = REPO / ".." / "shared" / "data" / "protocols" / "nih_docugami" / "NCT06158269_Prot_000.pdf"


def _trialguard(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", "from ui.cli import main; main()", *args],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=240,
    )


@pytest.mark.slow
def test_json_output_has_the_documented_shape():
    result = _trialguard("criteria", str(NCT06158269), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["protocol_id"] == "NCT06158269"
    assert data["version"]
    criteria = data["criteria"]
    assert sum(c["kind"] == "inclusion" for c in criteria) == 13
    assert sum(c["kind"] == "exclusion" for c in criteria) == 20
    first = criteria[0]
    assert {"label", "kind", "section", "page", "text", "rules"} <= set(first)
    assert first["label"] == "1" and first["page"] == 2 and first["section"] == "Inclusion criteria"
    for criterion in criteria:
        for rule in criterion["rules"]:
            assert {"analyte", "comparator", "value", "low", "high", "unit", "multiple_of", "condition",
                    "condition_type", "sex", "window_days", "window_anchor", "alternatives", "quote"} <= set(rule)
            assert rule["quote"] in criterion["text"]
    # "9. Blood routine test within 7 days before C1D1 meets the following criteria: ... platelet count ≥ 75×10^9/L
    # (if bone marrow plasmacyte < 50%)": the window and the condition's kind reach the JSON
    (blood,) = [c for c in criteria if c["kind"] == "inclusion" and c["label"] == "9"]
    assert {(r["analyte"], r["window_days"], r["window_anchor"]) for r in blood["rules"]} == {
        ("WBC", 7, "C1D1"), ("NEUT", 7, "C1D1"), ("HGB", 7, "C1D1"), ("PLAT", 7, "C1D1")}
    assert {(r["value"], r["condition_type"]) for r in blood["rules"] if r["analyte"] == "PLAT"} == {
        (75.0, "if"), (50.0, "if")}


@pytest.mark.slow
def test_json_rules_carry_sex_alternatives_and_scoped_windows():
    result = _trialguard("criteria", str(REPO / "protocols" / "TG-ONC-001_v1.0.pdf"), "--json")
    assert result.returncode == 0, result.stderr
    criteria = {(c["kind"], c["label"]): c for c in json.loads(result.stdout)["criteria"]}
    (creatinine,) = criteria[("exclusion", "2")]["rules"]
    assert creatinine["alternatives"] == [{"value": 221.0, "low": None, "high": None, "unit": "µmol/L"}]
    # the 3-month window of the acute-kidney-injury clause is not the creatinine's
    assert (creatinine["window_days"], creatinine["window_anchor"]) == (None, None)
    organ = criteria[("inclusion", "5")]["rules"]
    assert organ and all((r["window_days"], r["window_anchor"]) == (14, "randomization") for r in organ)
    assert all(r["sex"] is None for r in organ)

    result = _trialguard("criteria", str(REPO / "protocols" / "TG-HEP-003_v1.0.pdf"), "--json", "--kind", "exclusion")
    assert result.returncode == 0, result.stderr
    (qtc,) = [c for c in json.loads(result.stdout)["criteria"] if c["label"] == "12"]
    assert [(r["value"], r["sex"], r["quote"]) for r in qtc["rules"]] == [
        (450.0, "M", "QTcF from triplicate ECGs at screening > 450 ms for males"),
        (470.0, "F", "> 470 ms for\nfemales"),
    ]


@pytest.mark.slow
def test_table_output_and_overrides(tmp_path):
    source = tmp_path / "trial.txt"
    source.write_text("Inclusion Criteria\n1. Age ≥ 18 years.\nExclusion Criteria\n1. Pregnancy.\n", encoding="utf-8")
    result = _trialguard("criteria", str(source), "--protocol-id", "TG-9", "--version", "2")
    assert result.returncode == 0, result.stderr
    assert "TG-9 version 2" in result.stdout and "Age ≥ 18 years." in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.pdf", b"", "empty"),
        ("corrupt.pdf", b"%PDF-1.4\nnot really\n", "not a readable pdf"),
        ("notes.rtf", b"{\\rtf1 hello}", "unsupported file type"),
    ],
)
def test_unreadable_file_exits_nonzero_with_a_message_and_no_output(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    result = _trialguard("criteria", str(path), "--json")
    assert result.returncode != 0
    assert result.stdout == ""
    assert name in result.stderr and reason in result.stderr.lower()
