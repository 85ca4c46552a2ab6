"""The CRA question parser on the kinds of wording CRAs write (no model, no store: fast)."""

from __future__ import annotations

import datetime as dt

import pytest

from labs.observation import Sex
from retrieval.question import parse_question


def test_patient_synonym_uln_and_date():
    q = parse_question("pt 1003: SGPT 65 (ULN 40) on 2024-03-02")
    [o] = q.observations
    assert (q.patient_id, q.date) == ("1003", dt.date(2024, 3, 2))
    assert (o.analyte, o.value, o.unit, o.uln, o.patient_id, o.date, o.raw_test) == (
        "ALT", 65, None, 40, "1003", dt.date(2024, 3, 2), "SGPT")
    # no unit is never assumed: it stays None and the user is told
    assert any("SGPT 65: no unit given" in p for p in q.problems)


def test_sentence_with_unit():
    q = parse_question("Patient 1003 has ALT of 65 U/L")
    [o] = q.observations
    assert (q.patient_id, o.analyte, o.value, o.unit) == ("1003", "ALT", 65, "U/L") and q.problems == []


def test_demographics_for_derived_values():
    q = parse_question("serum creatinine 1.8 mg/dL, 67 y, 72 kg, male")
    [o] = q.observations
    assert (o.analyte, o.value, o.unit) == ("CREAT", 1.8, "mg/dL")
    d = q.demographics
    assert (d.age_years, d.weight_kg, d.sex) == (67, 72, Sex.MALE)
    assert o.demographics == d


@pytest.mark.parametrize(
    "text, analyte, value, unit",
    [
        ("platelets 90,000/mm3", "PLAT", 90000, "1/mm^3"),
        ("Hb 8.9", "HGB", 8.9, None),
        ("HbA1c 58 mmol/mol", "HBA1C", 58, "mmol/mol"),
        ("HIV-1 RNA 5000 copies/mL", "HIV1RNA", 5000, "copy/mL"),
        ("eGFR 38 mL/min/1.73m2", "EGFR", 38, "mL/min/bsa_1_73"),
        ("glycated haemoglobin of 6.8% at visit 1", "HBA1C", 6.8, "%"),
    ],
)
def test_single_values(text, analyte, value, unit):
    q = parse_question(text)
    assert [(o.analyte, o.value, o.unit) for o in q.observations] == [(analyte, value, unit)]
    assert (unit is None) == any("no unit given" in p for p in q.problems)


def test_two_values_joined_by_and():
    q = parse_question("ANC 1.2 x10^9/L and platelets 80 x 10^9/L")
    assert [(o.analyte, o.value, o.unit) for o in q.observations] == [("NEUT", 1.2, "10^9/L"), ("PLAT", 80, "10^9/L")]


def test_conditions_and_negation():
    q = parse_question("female 54 years with liver metastases")
    assert q.demographics.conditions == {"liver metastases": True}
    assert (q.demographics.sex, q.demographics.age_years) == (Sex.FEMALE, 54)
    assert q.observations == [] and any("no lab value found" in p for p in q.problems)
    negated = parse_question("bilirubin 2.1 mg/dL (ULN 1.2 mg/dL) on 3 Mar 2024, no liver metastases")
    assert negated.demographics.conditions == {"liver metastases": False}
    assert negated.date == dt.date(2024, 3, 3) and negated.observations[0].uln == 1.2
    assert negated.observations[0].range_unit is None  # same unit as the value


def test_unknown_analyte_names_close_matches():
    q = parse_question("Glorbin 45 U/L")
    assert q.observations == []
    [problem] = q.problems
    assert "'Glorbin'" in problem and "not a known lab test" in problem and "HGB" in problem


def test_uln_multiple_is_not_a_value_in_units():
    q = parse_question("ALT 3.2 x ULN")
    [o] = q.observations
    assert (o.value, o.uln, o.unit) == (3.2, 1.0, None)
    assert any("3.2 × ULN" in p for p in q.problems)


def test_number_without_a_test_name_is_reported():
    q = parse_question("WBC 2.9 x 10^9/L with 40% neutrophils")
    assert [o.analyte for o in q.observations] == ["WBC"]
    assert any("'40%' has no test name" in p for p in q.problems)


def test_several_dates_are_reported():
    q = parse_question("ALT 65 U/L on 2024-03-02 and AST 70 U/L on 2024-04-01")
    assert q.date == dt.date(2024, 3, 2) and any("several dates" in p for p in q.problems)
