"""`trialguard screen` through typer's CliRunner: summary, files, exit codes 0 / 1 / 3 / 2."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from ui.cli import app

runner = CliRunner()
CLEAN = "patient_id,test,value,unit,uln,date\nP1,ALT,30,U/L,40,2024-03-01\nP1,PLT,150,10^9/L,,2024-03-01\n"


def _screen(*args):
    return runner.invoke(app, ["screen", *map(str, args)])


def test_clean_file_exits_0(write_csv, tiny_ti):
    result = _screen(write_csv(CLEAN), "--protocol", tiny_ti)
    assert result.exit_code == 0, result.output
    assert "rows read" in result.output and "patients judged" in result.output and "INCL01" in result.output


def test_deviation_exits_1_and_writes_files(write_csv, tiny_ti, tmp_path):
    labs = write_csv(CLEAN + "P2,ALT,150,U/L,40,2024-03-01\nP2,creatinine,300,umol/L,,2024-03-01\nP3,ALT,bad,U/L,40,2024-03-01\n")
    out, dv, errors = tmp_path / "dev.csv", tmp_path / "dv.csv", tmp_path / "errors.csv"
    result = _screen(labs, "--protocol", tiny_ti, "--out", out, "--dv", dv, "--errors", errors)
    assert result.exit_code == 1, result.output  # deviations win over row errors
    assert "DEVIATION P2" in result.output
    dv_rows = list(csv.DictReader(dv.open(encoding="utf-8")))
    assert {(r["USUBJID"], r["DVCRITLB"]) for r in dv_rows} == {("P2", "INCL01"), ("P2", "EXCL01")}
    assert all(r["STUDYID"] == "TINY01" and r["DOMAIN"] == "DV" for r in dv_rows)
    assert list(csv.DictReader(errors.open(encoding="utf-8")))[0]["row"] == "5"
    assert {r["verdict"] for r in csv.DictReader(out.open(encoding="utf-8"))} == {"VIOLATES"}


def test_row_errors_without_deviation_exit_3(write_csv, tiny_ti):
    result = _screen(write_csv(CLEAN + "P3,ALT,bad,U/L,40,2024-03-01\n"), "--protocol", tiny_ti)
    assert result.exit_code == 3, result.output
    assert "non-numeric value 'bad'" in result.output


@pytest.mark.parametrize("text, message", [
    ("patient_id,test,value\nP1,ALT,3\n", "missing column(s): unit"),
    ("", "empty file"),
])
def test_bad_input_exits_2_with_a_clear_message(write_csv, tiny_ti, text, message):
    result = _screen(write_csv(text or "\n"), "--protocol", tiny_ti)
    assert result.exit_code == 2
    assert message in result.output


def test_unknown_format_is_a_usage_error(write_csv, tiny_ti):
    assert _screen(write_csv(CLEAN), "--protocol", tiny_ti, "--format", "xml").exit_code == 2


@pytest.mark.slow
def test_cdisc_pilot_through_the_cli(cdisc, tmp_path):
    out = tmp_path / "findings.json"
    result = _screen(cdisc / "sdtm_lb.csv", "--protocol", cdisc / "sdtm_ti.csv", "--out", out, "--visits", "all")
    assert result.exit_code == 1, result.output  # one exclusion deviation (EXCL28) in the real data
    assert "59580" in result.output and "rows judged" in result.output
    assert "on-study lab: CDISCPILOT01 has no discontinuation criteria" in result.output
    import json

    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["rows_in"] == 59580 and data["visits"] == "all"
    assert any("Lilly Reference Range III" in f["finding"]["rationale"] for f in data["findings"])


@pytest.mark.slow
def test_fhir_us_core_examples_through_the_cli(tmp_path):
    from tests.batch.conftest import FHIR

    ti = tmp_path / "ti.csv"
    ti.write_text("STUDYID,IETESTCD,IETEST,IECAT\nFHIRDEMO,INCL01,Hemoglobin >= 9.0 g/dL.,INCLUSION\n"
                  "FHIRDEMO,EXCL01,Serum creatinine > 1.5 x ULN.,EXCLUSION\n"
                  "FHIRDEMO,EXCL02,Hematocrit > 1 x ULN.,EXCLUSION\n", encoding="utf-8")
    files = sorted(FHIR.glob("*.json"))
    errors = tmp_path / "errors.csv"
    result = _screen(*files, "--protocol", ti, "--errors", errors)
    assert result.exit_code == 1, result.output  # creatinine 1.0 mg/dL with ULN 0.6: > 1.5 × ULN
    assert "DEVIATION example exclusion EXCL01" in result.output
    warned = {r["file"] for r in csv.DictReader(errors.open(encoding="utf-8")) if r["severity"] == "warning"}
    assert warned == {"observation-cbc-hematocrit.json", "observation-cbc-mch.json", "observation-cbc-mcv.json"}


@pytest.mark.slow
def test_protocol_id_from_the_demo_manifest_with_versions_in_force(tmp_path, monkeypatch, repo_root):
    """No index in the data dir: the id is read from protocols/manifest.yaml, both versions, each lab judged
    against the version in force on its date (platelets 80: fails v1.0's >= 100, meets v2.0's >= 75)."""
    monkeypatch.setenv("TRIALGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIALGUARD_PROTOCOLS_DIR", str(repo_root / "protocols"))
    labs = tmp_path / "labs.csv"
    labs.write_text("patient_id,test,value,unit,date,reference_start\n"
                    "EARLY,platelets,80,10^9/L,2024-03-01,2024-03-05\n"
                    "LATE,platelets,80,10^9/L,2024-07-01,2024-07-05\n", encoding="utf-8")
    out = tmp_path / "f.csv"
    result = _screen(labs, "--protocol", "TG-ONC-001", "--out", out)
    assert result.exit_code == 1, result.output
    rows = {(r["patient_id"], r["version"], r["label"]): r["verdict"] for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert rows == {("EARLY", "1.0", "5"): "VIOLATES"}


@pytest.mark.slow
def test_external_range_supplied_with_ranges(cdisc, tmp_path):
    """EXCL27 names the 'Lilly Reference Range III': INDETERMINATE until a file with that lab's ranges is given."""
    ranges = tmp_path / "lilly.csv"
    ranges.write_text("analyte,sex,age_min,age_max,lln,uln,unit,lab\n"
                      "ALT,,,,,60,U/L,Lilly Reference Range III\nAST,,,,,60,U/L,Lilly Reference Range III\n"
                      "CREAT,,,,,160,umol/L,Lilly Reference Range III\nBILI,,,,,30,umol/L,Lilly Reference Range III\n",
                      encoding="utf-8")
    out = tmp_path / "f.json"
    result = _screen(cdisc / "sdtm_lb.csv", "--protocol", cdisc / "sdtm_ti.csv", "--ranges", ranges, "--out", out)
    assert result.exit_code in (0, 1), result.output
    import json

    data = json.loads(out.read_text(encoding="utf-8"))
    counts = next(c["counts"] for c in data["criteria"] if c["label"] == "EXCL27")
    assert "INDETERMINATE" not in counts and sum(counts.values()) == 254
    deviations = [f for f in data["findings"] if f["finding"]["label"] == "EXCL27"]
    assert len(deviations) == counts.get("VIOLATES", 0)
    assert all(any("Lilly Reference Range III" in n for n in f["finding"]["notes"]) for f in deviations)
    assert "criteria no lab value decides (not judged)" in result.output


def test_llm_without_a_configured_server_is_a_clear_error(write_csv, tiny_ti, monkeypatch):
    monkeypatch.delenv("TRIALGUARD_LLM_URL", raising=False)
    result = _screen(write_csv(CLEAN), "--protocol", tiny_ti, "--llm")
    assert result.exit_code == 2 and "TRIALGUARD_LLM_URL" in result.output
