"""Question parsing where a wrong reading could hide or invent a deviation (issues #19, #20).

Every question here was written for this test, in the style of CRA e-mails and monitoring notes. What is checked:
a part that becomes no observation is in `unread` (so a clean answer is impossible), a value without its unit is
a caveat but not unread, and nothing impossible (negative, non-finite, a ULN of inf or below zero, an ambiguous or
out-of-range date) ever reaches an observation.
"""

from __future__ import annotations

import datetime as dt

import pytest

import labs
from retrieval.question import parse_question


def _unitless_codes() -> list[str]:
    return [a.code for a in labs.catalog() if a.canonical_unit == "1" and a.quantitative]


@pytest.mark.parametrize("text, code", [
    ("INR 2.7 drawn 2023-11-14", "INR"),
    ("inr of 1.3", "INR"),
])
def test_unitless_analyte_needs_no_unit(text, code):
    q = parse_question(text)
    [o] = q.observations
    assert (o.analyte, o.unit) == (code, None)
    assert q.problems == [] and q.unread == []


def test_every_unitless_catalog_analyte_is_read_without_a_unit_problem():
    codes = _unitless_codes()
    assert "INR" in codes
    for code in codes:
        q = parse_question(f"{code} 1.02")
        if [o.analyte for o in q.observations] != [code]:
            continue  # a code the question parser reads as another word (not this test's subject)
        assert not any("no unit given" in p for p in q.problems), (code, q.problems)


@pytest.mark.parametrize("text, kind, value, limit", [
    ("subj 2207 - SGOT 118 (ULN 35) seen 2023-06-19", "uln", 118, 35),
    ("GGT came back at 212, ULN is 61", "uln", 212, 61),
    ("haemoglobin 7.4 (LLN 12)", "lln", 7.4, 12),
])
def test_value_with_its_limit_in_one_unstated_unit_is_a_caveat_not_unread(text, kind, value, limit):
    q = parse_question(text)
    [o] = q.observations
    assert (o.value, getattr(o, kind), o.unit, o.range_unit) == (value, limit, None, None)
    [problem] = q.problems
    assert "one unstated unit" in problem and "multiples" in problem and "limits in units need the unit" in problem
    assert q.unread == []


def test_value_without_unit_or_limit_is_still_a_caveat():
    q = parse_question("Hgb 9.6 at screening")
    assert [o.unit for o in q.observations] == [None]
    assert any("no unit given" in p for p in q.problems) and q.unread == []


@pytest.mark.parametrize("text, code, value", [
    ("plts 64,000/µl", "PLAT", 64000),
    ("absolute neutrophils 950/ul", "NEUT", 950),
    ("WBC 3,100/µL", "WBC", 3100),
    ("platelet count 120000 /μl", "PLAT", 120000),
])
def test_per_microlitre_in_any_case_is_read(text, code, value):
    q = parse_question(text)
    [o] = q.observations
    assert (o.analyte, o.value, o.unit) == (code, value, "1/uL") and q.unread == []


@pytest.mark.parametrize("text, patient", [
    ("pt 7: AST 51 U/L", "7"),
    ("Patient #42 bilirubin 1.1 mg/dL", "42"),
    ("subject 3 - creatinine 88 umol/L", "3"),
    ("participant 0112-05: ALT 40 U/L", "0112-05"),
])
def test_patient_ids_of_any_length(text, patient):
    q = parse_question(text)
    assert q.patient_id == patient
    assert len(q.observations) == 1 and q.unread == []


def test_patient_word_without_an_id_is_not_an_id():
    q = parse_question("patient has ALT of 70 U/L")
    assert q.patient_id is None and [o.value for o in q.observations] == [70]


@pytest.mark.parametrize("text", ["ALT -12 U/L", "creatinine: −0.9 mg/dL", "AST = -30 U/L"])
def test_negative_value_is_refused_not_read_without_its_sign(text):
    q = parse_question(text)
    assert q.observations == []
    assert any("negative value is impossible" in p for p in q.unread)


def test_hyphen_inside_a_test_name_is_not_a_sign():
    q = parse_question("HIV-1 RNA 12000 copies/mL")
    assert [(o.analyte, o.value) for o in q.observations] == [("HIV1RNA", 12000)] and q.unread == []


@pytest.mark.parametrize("token", ["inf", "Infinity", "-inf", "NaN", "2e500", "1E+309"])
def test_non_finite_values_are_named_and_never_read(token):
    q = parse_question(f"bilirubin {token} mg/dL on 2023-02-02")
    assert q.observations == []
    assert any(repr(token) in p and "not a lab value" in p for p in q.unread), q.problems


@pytest.mark.parametrize("qualifier", ["ULN inf", "ULN -55", "ULN 0", "upper limit of normal −3", "LLN nan"])
def test_limit_that_is_not_a_positive_finite_number_is_refused(qualifier):
    q = parse_question(f"ALT 95 U/L ({qualifier}) on 2023-09-09")
    [o] = q.observations
    assert o.uln is None and o.lln is None
    assert any("positive finite number" in p for p in q.unread), q.problems


def test_inverted_range_is_refused():
    q = parse_question("potassium 5.9 mmol/L (ref 5.1-3.5)")
    [o] = q.observations
    assert (o.uln, o.lln) == (None, None) and any("not below" in p for p in q.unread)


@pytest.mark.parametrize("text, expected", [
    ("ALT 88 U/L on 27/04/2023", dt.date(2023, 4, 27)),  # day > 12: day first
    ("ALT 88 U/L on 04/27/2023", dt.date(2023, 4, 27)),  # second part > 12: month first
    ("ALT 88 U/L on 2023-04-27", dt.date(2023, 4, 27)),
    ("ALT 88 U/L on 05.05.2023", dt.date(2023, 5, 5)),  # both readings agree
])
def test_unambiguous_dates(text, expected):
    q = parse_question(text)
    assert q.date == expected and q.unread == []


@pytest.mark.parametrize("written", ["06/11/2023", "11.06.2023"])
def test_ambiguous_day_month_order_is_refused(written):
    q = parse_question(f"ALT 88 U/L on {written}")
    assert q.date is None
    [problem] = q.unread
    assert "ambiguous" in problem and written in problem and "YYYY-MM-DD" in problem
    assert [o.value for o in q.observations] == [88]  # the date's numbers are not read as values


@pytest.mark.parametrize("written", ["3023-05-01", "1023-05-01", "1 May 2230"])
def test_years_outside_a_trial_range_are_refused(written):
    q = parse_question(f"AST 44 U/L on {written}")
    assert q.date is None and any("outside 1900–2100" in p for p in q.unread)


def test_separate_lln_and_uln_that_contradict_are_not_judged():
    q = parse_question("sodium 140 mmol/L, LLN 150 ULN 145")
    assert q.observations == [] and any("not below ULN" in p for p in q.unread), q.problems
