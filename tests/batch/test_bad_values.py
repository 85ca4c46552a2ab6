"""Bad values in lab files (issue #19): a clear row error or warning naming file, row, field and value, never a
crash and never a verdict on an impossible value; the other rows are still screened and every row is accounted.

The files are written here, one per format (plain CSV, SDTM LB + DM, FHIR Bundle), with the same kinds of fault.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ingest.patients import read_lab_file
from ingest.patients.dates import DateError, parse_date
from reasoning.batch import screen
from reasoning.models import OverallVerdict, Verdict
from tests.batch.conftest import make_protocol

RULES = [("inclusion", "I1", "ALT ≤ 2.5 × ULN."), ("exclusion", "E1", "Serum creatinine > 2.0 mg/dL.")]


def _protocol():
    return [make_protocol("1.0", "2023-01-01", RULES)]


def _by_patient(items):
    return {e.patient_id: e for e in items}


CSV = """
patient_id,test,value,unit,uln,lln,date
K01,ALT,Inf,U/L,35,,2023-05-10
K02,ALT,2e999,U/L,35,,2023-05-10
K03,ALT,-infinity,U/L,35,,2023-05-10
K04,ALT,410,U/L,INF,,2023-05-10
K05,ALT,20,U/L,-35,,2023-05-10
K06,ALT,20,U/L,0,,2023-05-10
K07,ALT,20,U/L,n.a.,,2023-05-10
K08,ALT,150,U/L,35,,2923-05-10
K09,ALT,150,U/L,35,,2023-05-10xyz
K10,ALT,150,U/L,35,,Today
K11,ALT,150,U/L,35,,07/08/2023
K12,ALT,150,U/L,35,,27/08/2023
K13,ALT,150,U/L,35,,2023-05-10T14:05:00+02:00
K14,creatinine,-1.1,mg/dL,,,2023-05-10
K15,ALT,150,U/L,35,40,2023-05-10
"""


def test_csv_faults_are_named_and_the_rest_is_screened(write_csv):
    lab = read_lab_file(write_csv(CSV))
    errors, warnings = _by_patient(lab.errors), _by_patient(lab.warnings)
    for pid in ("K01", "K02", "K03"):
        assert errors[pid].field == "value" and "not a finite number" in errors[pid].reason and errors[pid].value
    assert errors["K14"].field == "value" and "negative" in errors["K14"].reason and errors["K14"].value == "-1.1"
    for pid, field in (("K04", "uln"), ("K05", "uln"), ("K06", "uln"), ("K07", "uln")):
        assert warnings[pid].field == field and warnings[pid].value and "not used" in warnings[pid].reason, pid
    assert "positive finite number" in warnings["K04"].reason and "unreadable ULN 'n.a.'" in warnings["K07"].reason
    assert "outside 1900–2100" in errors["K08"].reason and errors["K08"].field == "date"
    assert "unreadable date '2023-05-10xyz'" in errors["K09"].reason
    assert "not a date" in errors["K10"].reason
    assert "ambiguous" in errors["K11"].reason and "07/08/2023" in errors["K11"].reason
    assert "K12" not in errors and "K13" not in errors  # unambiguous day-first; ISO with time and zone
    assert "reference_range" == warnings["K15"].field  # LLN 40 above ULN 35
    for e in lab.errors + lab.warnings:
        assert e.file == "labs.csv" and e.row == int(e.patient_id[1:])  # data row numbers match the patient here

    result = screen(lab, _protocol())
    assert result.rows_in == 15 == result.accounted()
    # nothing judged on an impossible value or limit
    judged = {pid for pid, *_ in result.pair_verdicts}
    assert judged == {"K04", "K05", "K06", "K07", "K12", "K13", "K15"}
    verdicts = {(pid, cid.rsplit(":", 1)[-1]): v for pid, _, cid, v in result.pair_verdicts}
    for pid in ("K04", "K05", "K06", "K07", "K15"):  # no usable ULN: never decided on the refused one
        assert result.patients[pid] is OverallVerdict.NEEDS_REVIEW, (pid, verdicts)
    assert result.patients["K12"] is OverallVerdict.DEVIATION and result.patients["K13"] is OverallVerdict.DEVIATION


SDTM_LB = """STUDYID,USUBJID,LBTESTCD,LBTEST,LBORRES,LBORRESU,LBSTRESN,LBSTRESU,LBSTNRHI,LBDTC
ST,ST-1,ALT,Alanine Aminotransferase,Infinity,U/L,Infinity,U/L,35,2023-05-10
ST,ST-2,ALT,Alanine Aminotransferase,410,U/L,410,U/L,-35,2023-05-10
ST,ST-3,ALT,Alanine Aminotransferase,150,U/L,150,U/L,35,2023-05-10T08:00
ST,ST-4,ALT,Alanine Aminotransferase,150,U/L,150,U/L,35,2023-05
ST,ST-5,ALT,Alanine Aminotransferase,150,U/L,150,U/L,35,2023-05-10
ST,ST-6,ALT,Alanine Aminotransferase,150,U/L,150,U/L,<5,2023-05-10
"""
SDTM_DM = """STUDYID,USUBJID,AGE,AGEU,SEX,RFSTDTC
ST,ST-3,51,YEARS,F,2023-05-20
ST,ST-5,44,YEARS,M,2023-05-20
ST,ST-5,67,YEARS,F,2023-05-20
ST,ST-1,70,YEARS,M,now
"""


def test_sdtm_faults_and_duplicate_subject(tmp_path):
    (tmp_path / "lb.csv").write_text(SDTM_LB, encoding="utf-8")
    (tmp_path / "dm.csv").write_text(SDTM_DM, encoding="utf-8")
    lab = read_lab_file(tmp_path / "lb.csv", format="sdtm", dm_path=tmp_path / "dm.csv")
    errors, warnings = _by_patient(lab.errors), {(w.patient_id, w.field): w for w in lab.warnings}
    assert "not a finite number" in errors["ST-1"].reason
    assert "positive finite number" in warnings[("ST-2", "uln")].reason and warnings[("ST-2", "uln")].value == "-35"
    assert errors["ST-4"].field == "date" and "partial date" in errors["ST-4"].reason
    dup = warnings[("ST-5", "USUBJID")]
    assert dup.file == "dm.csv" and "rows 2 and 3" in dup.reason and "ST-5" in dup.reason
    assert lab.demographics["ST-5"].sex is None and lab.demographics["ST-5"].age_years is None
    assert lab.demographics["ST-3"].age_years == 51
    assert "not a date" in warnings[("ST-1", "RFSTDTC")].reason
    assert "unreadable ULN '<5'" in warnings[("ST-6", "uln")].reason  # said, not silently replaced
    result = screen(lab, _protocol())
    assert result.accounted() == result.rows_in == 6
    assert result.patients["ST-6"] is OverallVerdict.NEEDS_REVIEW
    assert result.patients["ST-3"] is OverallVerdict.DEVIATION and "ST-1" not in result.patients


def _observation(pid, value=None, high=None, when="2023-05-10"):
    resource = {"resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{pid}"},
                "effectiveDateTime": when,
                "code": {"coding": [{"system": "http://loinc.org", "code": "1742-6"}]},
                "valueQuantity": {"value": value, "unit": "U/L", "system": "http://unitsofmeasure.org", "code": "U/L"}}
    if high is not None:
        resource["referenceRange"] = [{"high": {"value": high, "unit": "U/L"}}]
    return {"resource": resource}


def test_fhir_faults(tmp_path):
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        _observation("f1", float("inf"), 35), _observation("f2", float("nan"), 35),
        _observation("f3", 410, float("inf")), _observation("f4", 150, 35, when="3023-05-10T09:00:00Z"),
        _observation("f5", 150, 35, when="2023-05-10T09:00:00Z"),
    ]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")  # json writes Infinity and NaN, as some exporters do
    lab = read_lab_file(path)
    errors, warnings = _by_patient(lab.errors), _by_patient(lab.warnings)
    assert "not a finite number" in errors["f1"].reason and errors["f2"].field == "value"
    assert warnings["f3"].field == "uln" and "not used" in warnings["f3"].reason
    assert "outside 1900–2100" in errors["f4"].reason
    result = screen(lab, _protocol())
    assert result.accounted() == result.rows_in == 5
    assert result.patients["f3"] is OverallVerdict.NEEDS_REVIEW and result.patients["f5"] is OverallVerdict.DEVIATION


def test_screen_cli_reports_bad_values_without_a_traceback(write_csv, tiny_ti):
    from ui.cli import app

    labs = write_csv("patient_id,test,value,unit,uln,date\nQ1,ALT,1e999,U/L,40,2024-03-01\n"
                     "Q2,ALT,300,U/L,40,2024-03-01\nQ3,ALT,50,U/L,40,today\n")
    result = CliRunner().invoke(app, ["screen", str(labs), "--protocol", str(tiny_ti)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output  # Q2's deviation; Q1 and Q3 are row errors
    assert "not a finite number" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("text", ["2023-13-01", "31/02/2023", "1850-01-01", "2023-05", "yesterday", "5/6/2023"])
def test_date_reader_refuses(text):
    with pytest.raises(DateError):
        parse_date(text)


@pytest.mark.parametrize("text, iso", [("2023-05-10", "2023-05-10"), ("2023-05-10 23:59", "2023-05-10"),
                                       ("13.05.2023", "2023-05-13"), ("05/13/2023", "2023-05-13"),
                                       ("06/06/2023", "2023-06-06"), ("2023-5-7", "2023-05-07")])
def test_date_reader_accepts(text, iso):
    assert parse_date(text).isoformat() == iso


def test_violates_from_the_exact_engine_is_never_turned_into_review(write_csv):
    """A value within 1 % of its limit (87.6 against 2.5 × 35 = 87.5) is decided by the exact engine: VIOLATES."""
    lab = read_lab_file(write_csv("patient_id,test,value,unit,uln,date\nN1,ALT,87.6,U/L,35,2023-05-10\n"))
    result = screen(lab, _protocol())
    [finding] = [f for f in result.findings if f.patient_id == "N1"]
    assert finding.finding.verdict is Verdict.VIOLATES and result.patients["N1"] is OverallVerdict.DEVIATION


MALFORMED = (
    "patient_id,test,value,unit,uln,date\n"
    "R1,ALT,95,U/L,35,2023-05-10\n"  # 2.7 x ULN: a deviation, read
    "R2,ALT,20,U/L,35,2023-05-10,surplus\n"  # an extra field
    'R3,ALT,"20,U/L,35,2023-05-10\n'  # a quote never closed
    "R4,ALT,99,U/L,35,2023-05-10\n"  # swallowed by R3's quote in a plain reader: must still be read
    "\n"
    "R5,ALT,99,U/L\n"  # missing uln and date
    "R6,ALT,99,U/L,35,2023-05-10,,\n"  # empty trailing cells, as spreadsheets save them: fine
    'R7,"ALT","99","U/L",35,2023-05-10\n'  # properly quoted fields
)


def test_malformed_lines_are_row_errors_and_the_rest_is_screened(write_csv):
    lab = read_lab_file(write_csv(MALFORMED))
    errors = {e.row: e for e in lab.errors}
    assert errors[2].field == "row" and "extra field" in errors[2].reason and "surplus" in errors[2].value
    assert "unclosed quote" in errors[3].reason
    assert "missing uln, date" in errors[6].reason  # line 7 of the file: data row 6 (the blank line counts)
    assert sorted(lab.table["patient_id"].astype(str)) == ["R1", "R4", "R6", "R7"]
    assert lab.rows_in == 7 == lab.accounted()
    result = screen(lab, _protocol())
    assert {p for p, v in result.patients.items() if v is OverallVerdict.DEVIATION} == {"R1", "R4", "R6", "R7"}
    assert result.accounted() == result.rows_in


def test_well_formed_file_keeps_its_row_numbers(write_csv):
    lab = read_lab_file(write_csv("patient_id,test,value,unit,date\nW1,AST,20,U/L,2023-05-10\n\n"
                                  "W2,AST,bad,U/L,2023-05-10\n"))
    assert [(e.row, e.patient_id) for e in lab.errors] == [(3, "W2")] and lab.rows_in == 2


@pytest.mark.parametrize("element, value, named", [
    ("subject", "Patient/x", "Observation.subject"),
    ("code", [{"text": "ALT"}], "Observation.code"),
    ("referenceRange", ["10-35"], "Observation.referenceRange"),
    ("valueQuantity", {"value": [410], "unit": "U/L"}, "Observation.valueQuantity.value"),
    ("effectiveDateTime", {"date": "2023-05-10"}, "Observation.effectiveDateTime"),
])
def test_fhir_element_of_the_wrong_shape_is_a_row_error(tmp_path, element, value, named):
    broken = _observation("s1", 410, 35)
    broken["resource"][element] = value
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [broken, _observation("s2", 150, 35)]}
    path = tmp_path / "shapes.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    lab = read_lab_file(path)
    [error] = lab.errors
    assert error.row == 1 and error.field == named and "expected" in error.reason
    assert list(lab.table["patient_id"].astype(str)) == ["s2"] and lab.accounted() == 2


def test_fhir_file_of_the_wrong_shape_is_a_clear_document_error(tmp_path):
    from labs.errors import DocumentError

    entry_object = tmp_path / "entry.json"
    entry_object.write_text(json.dumps({"resourceType": "Bundle", "entry": _observation("s1", 1, 2)}), encoding="utf-8")
    deep = tmp_path / "deep.json"
    deep.write_text('{"resourceType": "Bundle", "entry": ' + "[" * 50000 + "]" * 50000 + "}", encoding="utf-8")
    with pytest.raises(DocumentError, match="Bundle.entry: expected a list"):
        read_lab_file(entry_object)
    with pytest.raises(DocumentError, match="nested too deeply"):
        read_lab_file(deep, format="fhir")
