"""Reading lab files: every row judged-ready or reported with its reason; bad files fail with a clear message."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ingest.patients import detect_format, read_lab_file
from labs.errors import DocumentError, TrialGuardError

GOOD = """
patient_id,test,value,unit,uln,lln,date,age,sex,weight_kg
P1,ALT,65,U/L,40,,2024-03-02,54,F,70
P1,SGPT,1.2,ukat/L,0.67,,2024-03-03,54,F,70
P2,platelets,150,10^9/L,,,2024-03-02,61,M,80
"""


def test_plain_csv_reads_units_ranges_and_demographics(write_csv):
    lab = read_lab_file(write_csv(GOOD))
    assert lab.format == "csv" and lab.rows_in == 3 and len(lab.table) == 3 and not lab.errors
    first = lab.observations[0]
    assert (first.patient_id, first.analyte, first.value, first.unit, first.uln) == ("P1", "ALT", 65.0, "U/L", 40.0)
    assert str(first.date) == "2024-03-02" and first.source == "labs.csv row 1"
    assert lab.demographics["P1"].age_years == 54 and lab.demographics["P1"].sex.value == "F"
    assert lab.demographics["P2"].weight_kg == 80
    # mixed units for one analyte: kept, converted when judged, and said once
    assert any(note.startswith("ALT: 2 units") for note in lab.notes)


def test_missing_columns_name_them_and_the_schema(write_csv):
    with pytest.raises(DocumentError) as err:
        read_lab_file(write_csv("patient_id,test,value\nP1,ALT,65\n"))
    message = str(err.value)
    assert "missing column(s): unit" in message and "expected schema" in message and "patient_id, test" in message


@pytest.mark.parametrize("text, reason", [("", "empty file"), ("patient_id,test,value,unit\n", "no data rows")])
def test_empty_files_fail_clearly(write_csv, text, reason):
    with pytest.raises(TrialGuardError, match=reason):
        read_lab_file(write_csv(text or "\n"))


def test_bad_rows_are_reported_and_the_rest_read(write_csv):
    lab = read_lab_file(write_csv("""
patient_id,test,value,unit,uln,date
P1,ALT,65,U/L,40,2024-03-02
P1,ALT,abc,U/L,40,2024-03-02
P1,ALT,65,zorks,40,2024-03-02
P1,NOTATEST,65,U/L,40,2024-03-02
P1,platelets,-5,10^9/L,,2024-03-02
P1,ALT,65,mg/dL,40,2024-03-02
P1,ALT,65,U/L,40,2024-03-02
,ALT,65,U/L,40,2024-03-02
P1,ALT,70,,40,2024-03-02
P1,ALT,70,U/L,40,2024-31-12
P3,ALT,12,U/L,40,2024-03-02
"""))
    by_row = {e.row: e for e in lab.errors}
    assert "non-numeric value 'abc'" in by_row[2].reason and by_row[2].field == "value"
    assert "unknown unit 'zorks'" in by_row[3].reason
    assert "unknown test 'NOTATEST'" in by_row[4].reason
    assert "impossible value -5" in by_row[5].reason
    assert "cannot express ALT" in by_row[6].reason
    assert by_row[7].reason == "duplicate of row 1: judged once"
    assert by_row[8].reason == "missing patient id"
    assert "no unit given" in by_row[9].reason
    assert "unreadable date" in by_row[10].reason
    assert sorted(lab.table["row"]) == [1, 11]
    # nothing dropped silently
    assert lab.rows_in == 11 == len(lab.table) + len(lab.errors) + sum(lab.out_of_scope.values())


def test_sdtm_lb_csv_and_xpt_with_dm_alongside(tmp_path):
    import pyreadstat

    lb = pd.DataFrame({
        "STUDYID": ["S1"] * 3, "USUBJID": ["S1-001", "S1-001", "S1-002"], "LBTESTCD": ["ALT", "CREAT", "ALT"],
        "LBTEST": ["Alanine Aminotransferase", "Creatinine", "Alanine Aminotransferase"],
        "LBORRES": ["65", "1.1", "N"], "LBORRESU": ["U/L", "mg/dL", "U/L"],
        "LBSTRESN": [65.0, 97.24, float("nan")], "LBSTRESU": ["U/L", "umol/L", ""],
        "LBSTNRLO": [6.0, 62.0, float("nan")], "LBSTNRHI": [34.0, 124.0, float("nan")],
        "LBDTC": ["2014-01-01T10:00", "2014-01-01", "2014-02-01"], "VISIT": ["SCREENING 1", "SCREENING 1", "WEEK 2"],
    })
    dm = pd.DataFrame({"USUBJID": ["S1-001", "S1-002"], "AGE": [63.0, 70.0], "AGEU": ["YEARS", "YEARS"],
                       "SEX": ["F", "M"], "RFSTDTC": ["2014-01-05", "2014-01-10"]})
    lb.to_csv(tmp_path / "lb.csv", index=False)
    dm.to_csv(tmp_path / "dm.csv", index=False)
    pyreadstat.write_xport(lb, str(tmp_path / "lb.xpt"), table_name="LB")
    pyreadstat.write_xport(dm, str(tmp_path / "dm.xpt"), table_name="DM", file_format_version=5)
    for name in ("lb.csv", "lb.xpt"):
        lab = read_lab_file(tmp_path / name)
        assert lab.format == "sdtm" and lab.study_id == "S1"
        assert lab.demographics["S1-001"].reference_start.isoformat() == "2014-01-05"
        assert lab.demographics["S1-002"].sex.value == "M"
        rows = lab.table.set_index("row")
        assert rows.loc[1, "uln"] == 34.0 and rows.loc[2, "unit"] == "umol/L" and rows.loc[2, "value"] == 97.24
        assert [e.row for e in lab.errors] == [3] and "non-numeric value 'N'" in lab.errors[0].reason


def test_sdtm_missing_columns(tmp_path):
    path = tmp_path / "lb.csv"
    path.write_text("USUBJID,LBORRES\nX,1\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="LBTESTCD") as err:
        read_lab_file(path, format="sdtm")
    assert "expected schema" in str(err.value)


def _observation(value, code="2160-0", unit="mg/dL", low=0.6, high=1.2, subject="Patient/p1"):
    return {"resourceType": "Observation", "status": "final", "subject": {"reference": subject},
            "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": "Creatinine"},
            "effectiveDateTime": "2024-03-02T08:00:00Z",
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
            "referenceRange": [{"low": {"value": low, "unit": unit}, "high": {"value": high, "unit": unit}}]}


def test_fhir_bundle_and_ndjson(tmp_path):
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-05-01"}},
        {"resource": _observation(1.4)},
        {"resource": _observation(0.9, low=1.5, high=0.5)},
        {"resource": {"resourceType": "Observation", "subject": {"reference": "Patient/p1"},
                      "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]}, "valueString": "high"}},
    ]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    lab = read_lab_file(path)
    assert lab.format == "fhir" and lab.rows_in == 4 and len(lab.table) == 2
    assert lab.table.iloc[0]["analyte"] == "CREAT" and lab.table.iloc[0]["uln"] == 1.2
    assert lab.demographics["p1"].sex.value == "F" and lab.demographics["p1"].age_years == 63
    assert [w.row for w in lab.warnings] == [3] and "low 1.5 > high 0.5" in lab.warnings[0].reason
    assert [e.row for e in lab.errors] == [4] and "valueString" in lab.errors[0].reason
    assert lab.out_of_scope == {"Patient resource (demographics, not a lab value)": 1}
    ndjson = tmp_path / "obs.ndjson"
    ndjson.write_text("\n".join(json.dumps(_observation(v)) for v in (1.0, 2.6)) + "\n{not json\n", encoding="utf-8")
    lab = read_lab_file(ndjson)
    assert lab.rows_in == 3 and len(lab.table) == 2 and lab.errors[0].row == 3


def test_fhir_us_core_examples_with_bad_reference_ranges():
    from pathlib import Path

    from ingest.patients import read_lab_files
    from tests.batch.conftest import FHIR

    files = sorted(Path(FHIR).glob("*.json"))
    lab = read_lab_files(files)
    assert lab.rows_in == 17 and len(lab.table) == 16
    assert lab.out_of_scope == {"DiagnosticReport resource (not a lab Observation)": 1}
    bad = {w.file for w in lab.warnings if w.field == "reference_range"}
    assert bad == {"observation-cbc-hematocrit.json", "observation-cbc-mch.json", "observation-cbc-mcv.json"}
    creat = lab.table.set_index("analyte").loc["CREAT"]
    assert (creat["value"], creat["unit"], creat["uln"], creat["lln"]) == (1.0, "mg/dL", 0.6, 0.2)


def test_detect_format(tmp_path, write_csv):
    assert detect_format(write_csv(GOOD)) == "csv"
    assert detect_format(write_csv("USUBJID,LBTESTCD,LBORRES,LBORRESU\nA,ALT,1,U/L\n", "x.csv")) == "sdtm"
    ndjson = tmp_path / "a.txt"
    ndjson.write_text('{"resourceType": "Observation"}\n', encoding="utf-8")
    assert detect_format(ndjson) == "fhir"


def test_sdtm_unknown_code_known_by_its_test_name(tmp_path):
    path = tmp_path / "lb.csv"
    path.write_text("USUBJID,LBTESTCD,LBTEST,LBORRES,LBORRESU\nS-1,XALT9,Alanine Aminotransferase,40,U/L\n"
                    "S-1,ZZZ,Unheard Of,1,U/L\nS-1,ALT,Alanine Aminotransferase,41,U/L\n", encoding="utf-8")
    lab = read_lab_file(path)
    assert list(lab.table["analyte"]) == ["ALT", "ALT"] and list(lab.table["row"]) == [1, 3]
    assert [e.row for e in lab.errors] == [2] and "unknown test 'ZZZ'" in lab.errors[0].reason


def test_fhir_json_array_of_resources(tmp_path):
    path = tmp_path / "array.json"
    path.write_text(json.dumps([_observation(1.1), _observation(2.0, subject="Patient/p2")]), encoding="utf-8")
    lab = read_lab_file(path)
    assert lab.format == "fhir" and list(lab.table["patient_id"]) == ["p1", "p2"]
