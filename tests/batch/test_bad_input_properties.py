"""Property-based bad input (issue #19): generated malformed lab files and questions never raise anything but a
TrialGuard error, lose no row (rows in = judged + errors + out of scope), and no VIOLATES rests on an impossible
value (not finite, negative, a ULN that is not positive, a date out of range)."""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.patients import read_lab_file
from labs.errors import TrialGuardError
from reasoning.batch import screen
from reasoning.models import Verdict
from tests.batch.conftest import make_protocol

RULES = [("inclusion", "I1", "ALT ≤ 2.5 × ULN."), ("exclusion", "E1", "Serum creatinine > 2.0 mg/dL."),
         ("inclusion", "I2", "Platelet count ≥ 100 × 10^9/L.")]
HOSTILE_NUMBERS = ["inf", "-inf", "Infinity", "NaN", "nan", "1e400", "-1e400", "-5", "0", "", "abc", "1,200",
                   "=1+1", "<5", "5..2", "٣", "1e-400", "0x10", "  7 ", "12.5.1"]
HOSTILE_DATES = ["today", "now", "2024-03-02junk", "10/03/2024", "3024-01-01", "1600-01-01", "2024-02-30", "",
                 "2024-13-01", "31/12/2023", "2023-06-01T10:00:00Z", "20240301"]
TESTS = ["ALT", "SGPT", "creatinine", "platelets", "Alanine aminotransferase", "", "???", "=HYPERLINK(\"x\")"]
UNITS = ["U/L", "IU/L", "mg/dL", "umol/L", "10^9/L", "/uL", "", "furlongs", "mg/dl"]

cell_number = st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.decimals(allow_nan=True, allow_infinity=True,
                                                                      places=2).map(str))
row = st.fixed_dictionaries({
    "patient_id": st.one_of(st.sampled_from(["P1", "P2", "=cmd", ""]), st.text(max_size=6)),
    "test": st.sampled_from(TESTS), "value": cell_number, "unit": st.sampled_from(UNITS),
    "uln": cell_number, "lln": cell_number, "date": st.one_of(st.sampled_from(HOSTILE_DATES),
                                                               st.dates().map(str)),
})
COLUMNS = ["patient_id", "test", "value", "unit", "uln", "lln", "date"]


def _csv(rows: list[dict], mangle: list[int]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for i, r in enumerate(rows):
        cells = [r[c] for c in COLUMNS]
        if i in mangle:  # an extra field, a missing trailing field, or an unclosed quote
            cells = [cells + ["extra"], cells[:-2], cells[:3] + ['"open' + cells[3]] + cells[4:]][i % 3]
        writer.writerow(cells)
    return buffer.getvalue()


def _impossible(finding) -> list[str]:
    """Why a finding's observations could not support a verdict, if they could not."""
    bad = []
    for o in finding.observations:
        for name in ("value", "uln", "lln"):
            v = getattr(o, name, None)
            if v is None:
                continue
            v = float(v) if not isinstance(v, Decimal) else float(v)
            if not math.isfinite(v) or v < 0 or (name != "value" and v <= 0 and name == "uln"):
                bad.append(f"{name}={v}")
        if o.date is not None and not (1900 <= o.date.year <= 2100):
            bad.append(f"date={o.date}")
    return bad


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=1, max_size=12), mangle=st.lists(st.integers(0, 11), max_size=3))
def test_malformed_csv_lab_files_lose_no_row_and_judge_no_impossible_value(tmp_path, rows, mangle):
    path = tmp_path / "labs.csv"
    path.write_text(_csv(rows, mangle), encoding="utf-8")
    try:
        lab_file = read_lab_file(path)
    except TrialGuardError as exc:  # a whole-file problem is allowed only as our own, named error
        assert str(path.name) in str(exc)
        return
    result = screen(lab_file, [make_protocol("1.0", "2000-01-01", RULES)])
    # every record written is accounted for; a stray CR inside a mangled record may make the reader see one more
    # physical row than was written, never fewer
    assert result.accounted() == result.rows_in >= len(rows)
    for pf in result.findings:
        if pf.finding.verdict is Verdict.VIOLATES:
            assert not _impossible(pf.finding), (pf.patient_id, _impossible(pf.finding))


observation = st.fixed_dictionaries({
    "code": st.sampled_from(["ALT", "CREAT", "", None, 5, ["x"]]),
    "value": st.one_of(st.sampled_from([float("inf"), "inf", -5, 0, None, "1e400", {"x": 1}]), st.floats()),
    "unit": st.sampled_from(["U/L", "mg/dL", "", None, 7]),
    "date": st.sampled_from(HOSTILE_DATES + [None, 12]),
    "subject": st.sampled_from(["Patient/P1", "P2", None, {"reference": 5}, ["Patient/x"]]),
    "high": st.one_of(st.sampled_from([float("inf"), -40, 0, "abc", None]), st.floats(0.1, 1e6)),
})


def _fhir(items: list[dict]) -> dict:
    entries = []
    for o in items:
        resource = {"resourceType": "Observation", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": o["code"], "display": o["code"]}]}
                    if isinstance(o["code"], str) else o["code"],
                    "subject": {"reference": o["subject"]} if isinstance(o["subject"], str) else o["subject"],
                    "effectiveDateTime": o["date"],
                    "valueQuantity": {"value": o["value"], "unit": o["unit"]},
                    "referenceRange": [{"high": {"value": o["high"], "unit": o["unit"]}}]}
        entries.append({"resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(observation, min_size=1, max_size=8))
def test_malformed_fhir_bundles_lose_no_entry_and_judge_no_impossible_value(tmp_path, items):
    path = tmp_path / "labs.json"
    path.write_text(json.dumps(_fhir(items), allow_nan=True, default=str), encoding="utf-8")
    try:
        lab_file = read_lab_file(path)
    except TrialGuardError as exc:
        assert path.name in str(exc)
        return
    result = screen(lab_file, [make_protocol("1.0", "2000-01-01", RULES)])
    assert result.accounted() == result.rows_in
    for pf in result.findings:
        if pf.finding.verdict is Verdict.VIOLATES:
            assert not _impossible(pf.finding), (pf.patient_id, _impossible(pf.finding))


@pytest.mark.parametrize("question", [
    "ALT inf U/L (ULN 40) on 2024-03-02", "ALT 1e400 U/L", "ALT -5 U/L (ULN 40)", "ALT 65 U/L (ULN -40)",
    "ALT 65 U/L (ULN inf)", "ALT 65 U/L on today", "ALT 65 U/L on 3024-01-01", "ALT NaN U/L",
    "ALT 65 U/L (ULN 40) on 10/03/2024",
])
def test_malformed_questions_are_read_or_refused_never_judged_on_impossible_values(question):
    from retrieval.question import parse_question

    try:
        parsed = parse_question(question)
    except TrialGuardError:
        return
    for o in parsed.observations:
        assert math.isfinite(float(o.value)) and float(o.value) >= 0, (question, o.value)
        assert o.uln is None or (math.isfinite(float(o.uln)) and float(o.uln) > 0), (question, o.uln)
        assert o.date is None or 1900 <= o.date.year <= 2100, (question, o.date)
    if "10/03/2024" in question:
        assert all(o.date is None for o in parsed.observations), "a day/month-ambiguous date was guessed"


sdtm_row = st.fixed_dictionaries({
    "USUBJID": st.sampled_from(["ST-1", "ST-2", "=cmd", ""]),
    "LBTESTCD": st.sampled_from(["ALT", "CREAT", "PLAT", "", "XYZ"]),
    "LBORRES": cell_number, "LBORRESU": st.sampled_from(UNITS), "LBSTRESN": cell_number,
    "LBSTRESU": st.sampled_from(UNITS), "LBSTNRHI": cell_number, "LBSTNRLO": cell_number,
    "LBDTC": st.one_of(st.sampled_from(HOSTILE_DATES), st.dates().map(str)),
})
SDTM_COLUMNS = ["STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBORRES", "LBORRESU", "LBSTRESN",
                "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBDTC"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(sdtm_row, min_size=1, max_size=10))
def test_malformed_sdtm_lb_files_lose_no_row_and_judge_no_impossible_value(tmp_path, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SDTM_COLUMNS)
    for i, r in enumerate(rows, start=1):
        writer.writerow(["ST", "LB", r["USUBJID"], i, r["LBTESTCD"], r["LBTESTCD"], r["LBORRES"], r["LBORRESU"],
                         r["LBSTRESN"], r["LBSTRESU"], r["LBSTNRLO"], r["LBSTNRHI"], r["LBDTC"]])
    path = tmp_path / "lb.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    try:
        lab_file = read_lab_file(path)
    except TrialGuardError as exc:
        assert path.name in str(exc)
        return
    assert lab_file.format == "sdtm"  # read as SDTM LB, not as a plain CSV
    result = screen(lab_file, [make_protocol("1.0", "2000-01-01", RULES)])
    assert result.accounted() == result.rows_in >= len(rows)
    for pf in result.findings:
        if pf.finding.verdict is Verdict.VIOLATES:
            assert not _impossible(pf.finding), (pf.patient_id, _impossible(pf.finding))
