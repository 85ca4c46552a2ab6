"""The exact engine on hand-built criteria: every kind of threshold, boundary, unit and missing datum."""

from __future__ import annotations

import datetime as dt

import pytest

from labs.observation import Demographics, Sex
from labs.reference_range import ReferenceRange
from reasoning.evaluate import judge_criterion
from reasoning.models import Verdict
from reasoning_handmade import criterion, obs, rule

ALT_EXCL = "ALT > 3 × ULN (> 5 × ULN for subjects with liver metastases)"


def alt_exclusion():
    return criterion(ALT_EXCL, [
        rule(ALT_EXCL, "ALT > 3 × ULN", "ALT", ">", value=3, multiple_of="ULN", condition="liver metastases",
             condition_type="unless"),
        rule(ALT_EXCL, "> 5 × ULN for subjects with liver metastases", "ALT", ">", value=5, multiple_of="ULN",
             condition="liver metastases", condition_type="if"),
    ])


def test_uln_multiple_arithmetic_and_citation():
    text = "AST and ALT ≤ 2.5 × ULN"
    c = criterion(text, [rule(text, text, "ALT", "<=", value=2.5, multiple_of="ULN")], kind="inclusion")
    f = judge_criterion(c, [obs("ALT", 65, "U/L", uln=40)])
    assert f.verdict is Verdict.MEETS
    assert "65 U/L = 1.63 × ULN 40 U/L" in f.arithmetic[0] and "≤ 2.5 × ULN (100 U/L)" in f.arithmetic[0]
    assert f.citations[0].verified and f.citations[0].quote == text and f.citations[0].page == 12
    assert f.observations[0].value == 65


@pytest.mark.parametrize("value,expected", [(100, Verdict.MEETS), (100.01, Verdict.VIOLATES), (99.99, Verdict.MEETS)])
def test_boundary_of_le_is_exact(value, expected):
    text = "ALT ≤ 2.5 × ULN"
    c = criterion(text, [rule(text, text, "ALT", "<=", value=2.5, multiple_of="ULN")], kind="inclusion")
    assert judge_criterion(c, [obs("ALT", value, "U/L", uln=40)]).verdict is expected


def test_no_floating_point_drift():
    # 3 × 0.1 is 0.30000000000000004 in binary floating point; in the protocol's arithmetic it is 0.3
    text = "bilirubin ≥ 3 × ULN"
    c = criterion(text, [rule(text, text, "BILI", ">=", value=3, multiple_of="ULN")], kind="exclusion")
    assert judge_criterion(c, [obs("BILI", 0.3, "mg/dL", uln=0.1)]).verdict is Verdict.VIOLATES


def test_exclusion_condition_known_and_unknown():
    c = alt_exclusion()
    value = [obs("ALT", 160, "U/L", uln=40)]  # 4 × ULN
    assert judge_criterion(c, value, Demographics(conditions={"liver metastases": False})).verdict is Verdict.VIOLATES
    assert judge_criterion(c, value, Demographics(conditions={"Liver metastases": True})).verdict is Verdict.MEETS
    unknown = judge_criterion(c, value, Demographics())
    assert unknown.verdict is Verdict.INDETERMINATE and "liver metastases" in unknown.rationale
    # both branches agree: no need to know
    assert judge_criterion(c, [obs("ALT", 240, "U/L", uln=40)]).verdict is Verdict.VIOLATES
    assert judge_criterion(c, [obs("ALT", 80, "U/L", uln=40)]).verdict is Verdict.MEETS


def test_missing_uln_names_what_is_missing_and_lab_manual_fills_it():
    c = alt_exclusion()
    f = judge_criterion(c, [obs("ALT", 300, "U/L")])
    assert f.verdict is Verdict.INDETERMINATE and "ULN" in f.rationale
    ranges = [ReferenceRange(analyte="ALT", uln=33, unit="U/L", sex=Sex.FEMALE, source="lab manual p.3"),
              ReferenceRange(analyte="ALT", uln=41, unit="U/L", sex=Sex.MALE, source="lab manual p.3")]
    no_lm = {"liver metastases": False}
    female = judge_criterion(c, [obs("ALT", 110, "U/L")], Demographics(sex=Sex.FEMALE, conditions=no_lm), ranges)
    assert female.verdict is Verdict.VIOLATES and "lab manual p.3" in female.arithmetic[0]  # 3.33 × ULN 33
    male = judge_criterion(c, [obs("ALT", 110, "U/L")], Demographics(sex=Sex.MALE, conditions=no_lm), ranges)
    assert male.verdict is Verdict.MEETS  # 2.68 × ULN 41
    ambiguous = judge_criterion(c, [obs("ALT", 110, "U/L")], Demographics(conditions=no_lm), ranges)
    assert ambiguous.verdict is Verdict.INDETERMINATE and "sex" in ambiguous.rationale


def test_unit_conversion_and_missing_unit():
    text = "Serum creatinine > 1.5 mg/dL"
    c = criterion(text, [rule(text, text, "CREAT", ">", value=1.5, unit="mg/dL")])
    assert judge_criterion(c, [obs("CREAT", 150, "umol/L")]).verdict is Verdict.VIOLATES  # 1.70 mg/dL
    low = judge_criterion(c, [obs("CREAT", 110, "umol/L")])
    assert low.verdict is Verdict.MEETS and "significant digits" in low.arithmetic[0]
    none = judge_criterion(c, [obs("CREAT", 1.7, None)])
    assert none.verdict is Verdict.INDETERMINATE and "no unit" in none.rationale


def test_alternative_unit_stated_by_protocol_is_used_as_is():
    text = "creatinine > 1.5 mg/dL [133 µmol/L]"
    c = criterion(text, [rule(text, text, "CREAT", ">", value=1.5, unit="mg/dL",
                              alternatives=[{"value": 133, "unit": "umol/L"}])])
    f = judge_criterion(c, [obs("CREAT", 133, "umol/L")])
    assert f.verdict is Verdict.MEETS and "protocol's own limit" in f.arithmetic[0]


@pytest.mark.parametrize("value,unit,expected", [
    (1.5, "10^9/L", Verdict.MEETS), (1.49, "10^9/L", Verdict.VIOLATES), (1500, "/mm3", Verdict.MEETS),
    (1.2, "10^3/uL", Verdict.VIOLATES), (1499, "cells/uL", Verdict.VIOLATES),
])
def test_count_units_are_exact(value, unit, expected):
    text = "ANC ≥ 1.5 × 10^9/L"
    c = criterion(text, [rule(text, text, "NEUT", ">=", value=1.5, unit="10^9/L")], kind="inclusion")
    assert judge_criterion(c, [obs("NEUT", value, unit)]).verdict is expected


def test_between_range_and_alt_or_ast():
    text = "potassium within 3.5–5.0 mmol/L"
    c = criterion(text, [rule(text, "3.5–5.0 mmol/L", "K", "between", low=3.5, high=5.0, unit="mmol/L")],
                  kind="inclusion")
    assert judge_criterion(c, [obs("K", 5.0, "mmol/L")]).verdict is Verdict.MEETS
    assert judge_criterion(c, [obs("K", 5.1, "mEq/L")]).verdict is Verdict.VIOLATES
    text = "ALT or AST > 3 × ULN"
    c = criterion(text, [rule(text, text, "ALT", ">", value=3, multiple_of="ULN"),
                         rule(text, text, "AST", ">", value=3, multiple_of="ULN")])
    both = [obs("ALT", 50, "U/L", uln=40), obs("AST", 130, "U/L", uln=40)]
    assert judge_criterion(c, both).verdict is Verdict.VIOLATES
    assert judge_criterion(c, both[:1]).verdict is Verdict.MEETS


def test_sex_specific_rules():
    text = "Hemoglobin ≥ 13 g/dL (men) or ≥ 12 g/dL (women)"
    c = criterion(text, [rule(text, "Hemoglobin ≥ 13 g/dL (men)", "HGB", ">=", value=13, unit="g/dL", sex="M"),
                         rule(text, "≥ 12 g/dL (women)", "HGB", ">=", value=12, unit="g/dL", sex="F")],
                  kind="inclusion")
    hb = [obs("HGB", 125, "g/L")]
    assert judge_criterion(c, hb, Demographics(sex=Sex.FEMALE)).verdict is Verdict.MEETS
    assert judge_criterion(c, hb, Demographics(sex=Sex.MALE)).verdict is Verdict.VIOLATES
    f = judge_criterion(c, hb)
    assert f.verdict is Verdict.INDETERMINATE and "sex" in f.rationale
    assert judge_criterion(c, [obs("HGB", 14, "g/dL")]).verdict is Verdict.MEETS  # both branches agree


def test_derived_crcl_and_anc():
    text = "Creatinine clearance ≥ 60 mL/min (Cockcroft-Gault)"
    c = criterion(text, [rule(text, "Creatinine clearance ≥ 60 mL/min", "CRCL", ">=", value=60, unit="mL/min")],
                  kind="inclusion")
    creat = [obs("CREAT", 1.0, "mg/dL")]
    # (140-40) × 70 / (72 × 1.0) = 97.2
    f = judge_criterion(c, creat, Demographics(age_years=40, weight_kg=70, sex=Sex.MALE))
    assert f.verdict is Verdict.MEETS and "Cockcroft-Gault" in f.arithmetic[0] and "97.2" in f.arithmetic[0]
    # (140-80) × 50 / (72 × 1.2) × 0.85 = 29.5
    assert judge_criterion(c, [obs("CREAT", 1.2, "mg/dL")],
                           Demographics(age_years=80, weight_kg=50, sex=Sex.FEMALE)).verdict is Verdict.VIOLATES
    missing = judge_criterion(c, creat, Demographics(age_years=40, sex=Sex.MALE))
    assert missing.verdict is Verdict.INDETERMINATE and "weight" in missing.rationale
    text = "ANC < 1.0 × 10^9/L"
    c = criterion(text, [rule(text, text, "NEUT", "<", value=1.0, unit="10^9/L")], kind="discontinuation")
    f = judge_criterion(c, [obs("WBC", 2.5, "10^9/L"), obs("NEUTLE", 40, "%")])
    assert f.verdict is Verdict.MEETS and "= 1 10^9/L" in f.arithmetic[0]  # 2.5 × 40 % = 1.0, not < 1.0


def test_windows_and_study_phase():
    text = "ALT ≤ 2.5 × ULN within 14 days before first dose"
    r = rule(text, "ALT ≤ 2.5 × ULN", "ALT", "<=", value=2.5, multiple_of="ULN", window_days=14,
             window_anchor="first dose")
    c = criterion(text, [r], kind="inclusion")
    start = dt.date(2024, 3, 20)
    demo = Demographics(reference_start=start)
    assert judge_criterion(c, [obs("ALT", 60, "U/L", uln=40, date=dt.date(2024, 3, 10))], demo).verdict is Verdict.MEETS
    old = judge_criterion(c, [obs("ALT", 60, "U/L", uln=40, date=dt.date(2024, 2, 1))], demo)
    assert old.verdict is Verdict.INDETERMINATE and "14 days" in old.rationale
    later = judge_criterion(c, [obs("ALT", 60, "U/L", uln=40, date=dt.date(2024, 4, 1))], demo)
    assert later.verdict is Verdict.NOT_APPLICABLE and "on-study" in later.rationale
    unchecked = judge_criterion(c, [obs("ALT", 60, "U/L", uln=40)])
    assert unchecked.verdict is Verdict.MEETS and any("not checked" in n for n in unchecked.notes)


def test_inclusion_alternatives_joined_by_or():
    text = "Creatinine clearance ≥ 50 mL/min or serum creatinine ≤ 1.5 × ULN"
    c = criterion(text, [rule(text, "Creatinine clearance ≥ 50 mL/min", "CRCL", ">=", value=50, unit="mL/min"),
                         rule(text, "serum creatinine ≤ 1.5 × ULN", "CREAT", "<=", value=1.5, multiple_of="ULN")],
                  kind="inclusion")
    high = [obs("CREAT", 1.8, "mg/dL", uln=1.1)]  # 1.64 × ULN fails; CrCl unknown could still satisfy it
    assert judge_criterion(c, high).verdict is Verdict.INDETERMINATE
    demo = Demographics(age_years=30, weight_kg=90, sex=Sex.MALE)  # CrCl = 110 × 90 / (72 × 1.8) = 76.4
    assert judge_criterion(c, high, demo).verdict is Verdict.MEETS
    assert judge_criterion(c, [obs("CREAT", 1.0, "mg/dL", uln=1.1)]).verdict is Verdict.MEETS


def test_unrelated_and_ruleless_criteria():
    text = "ALT > 3 × ULN"
    c = criterion(text, [rule(text, text, "ALT", ">", value=3, multiple_of="ULN")])
    assert judge_criterion(c, [obs("HGB", 9, "g/dL")]).verdict is Verdict.NOT_APPLICABLE
    bare = criterion("Known hepatic impairment as judged by the investigator", [])
    f = judge_criterion(bare, [obs("ALT", 100, "U/L")])
    assert f.verdict is Verdict.INDETERMINATE and "reviewer must read" in f.rationale and f.rule_source == "none"
    assert f.citations[0].verified


def test_rules_joined_by_and_in_a_stopping_rule():
    text = "ALT > 3 × ULN together with total bilirubin > 2 × ULN or an INR > 1.5, without another explanation."
    c = criterion(text, [rule(text, "ALT > 3 × ULN", "ALT", ">", value=3, multiple_of="ULN"),
                         rule(text, "total bilirubin > 2 × ULN", "BILI", ">", value=2, multiple_of="ULN"),
                         rule(text, "INR > 1.5", "INR", ">", value=1.5)], kind="discontinuation")
    alt = obs("ALT", 200, "U/L", uln=40)
    alone = judge_criterion(c, [alt])
    assert alone.verdict is Verdict.INDETERMINATE  # ALT alone does not meet the rule; bilirubin/INR decide
    assert judge_criterion(c, [alt, obs("BILI", 1.0, "mg/dL", uln=1.2), obs("INR", 1.1)]).verdict is Verdict.MEETS
    assert judge_criterion(c, [alt, obs("BILI", 1.0, "mg/dL", uln=1.2), obs("INR", 1.6)]).verdict is Verdict.VIOLATES
    assert judge_criterion(c, [obs("ALT", 100, "U/L", uln=40), obs("BILI", 3.0, "mg/dL", uln=1.2)]).verdict is Verdict.MEETS


def test_parenthetical_exception_makes_the_plain_limit_the_default_branch():
    text = "ALT and AST ≤ 2.5 × ULN (≤ 5 × ULN if liver metastases are present)"
    c = criterion(text, [rule(text, "ALT and AST ≤ 2.5 × ULN", "ALT", "<=", value=2.5, multiple_of="ULN"),
                         rule(text, text, "ALT", "<=", value=5, multiple_of="ULN", condition="liver metastases",
                              condition_type="if")], kind="inclusion")
    alt = [obs("ALT", 150, "U/L", uln=40)]  # 3.75 × ULN
    assert judge_criterion(c, alt, Demographics(conditions={"liver metastases": True})).verdict is Verdict.MEETS
    assert judge_criterion(c, alt, Demographics(conditions={"liver metastases": False})).verdict is Verdict.VIOLATES
    f = judge_criterion(c, alt)
    assert f.verdict is Verdict.INDETERMINATE and "liver metastases" in f.rationale


def test_anc_is_derived_only_from_one_blood_draw():
    text = "ANC ≥ 1.5 × 10^9/L"
    c = criterion(text, [rule(text, text, "NEUT", ">=", value=1.5, unit="10^9/L")], kind="inclusion")
    march, january = dt.date(2024, 3, 10), dt.date(2024, 1, 5)
    mixed = judge_criterion(c, [obs("WBC", 5.0, "10^9/L", date=march), obs("NEUTLE", 60, "%", date=january)])
    assert mixed.verdict is Verdict.INDETERMINATE and "same blood draw" in mixed.rationale
    # a later WBC without a differential does not pair with the older count's neutrophils %
    paired = judge_criterion(c, [obs("WBC", 2.0, "10^9/L", date=january), obs("NEUTLE", 60, "%", date=january),
                                 obs("WBC", 5.0, "10^9/L", date=march)])
    assert paired.verdict is Verdict.VIOLATES and "WBC 2 10^9/L × neutrophils 60 %" in paired.arithmetic[0]


def test_a_rule_without_unit_is_judged_only_on_a_unitless_analyte():
    text = "Platelets ≥ 100"
    c = criterion(text, [rule(text, text, "PLAT", ">=", value=100)], kind="inclusion")
    for value, unit in ((150, "10^9/L"), (150000, "/uL"), (150, None)):
        f = judge_criterion(c, [obs("PLAT", value, unit)])
        assert f.verdict is Verdict.INDETERMINATE and "no unit" in f.rationale
    text = "INR ≤ 1.5"
    c = criterion(text, [rule(text, text, "INR", "<=", value=1.5)], kind="inclusion")
    assert judge_criterion(c, [obs("INR", 1.2)]).verdict is Verdict.MEETS
    assert judge_criterion(c, [obs("INR", 1.6)]).verdict is Verdict.VIOLATES


def test_derived_value_of_a_screening_criterion_comes_from_a_screening_lab():
    text = "Creatinine clearance ≥ 60 mL/min"
    c = criterion(text, [rule(text, text, "CRCL", ">=", value=60, unit="mL/min")], kind="inclusion")
    demo = Demographics(age_years=70, weight_kg=60, sex=Sex.MALE, reference_start=dt.date(2024, 3, 10))
    screening, on_study = obs("CREAT", 2.0, "mg/dL", date=dt.date(2024, 3, 1)), obs("CREAT", 1.0, "mg/dL",
                                                                                   date=dt.date(2024, 4, 1))
    # CrCl 29.2 at screening: a later on-study creatinine must not turn the violation into NOT_APPLICABLE
    f = judge_criterion(c, [screening, on_study], demo)
    assert f.verdict is Verdict.VIOLATES and f.observations == [screening]
    assert judge_criterion(c, [on_study], demo).verdict is Verdict.NOT_APPLICABLE


def test_a_vaguer_stated_condition_does_not_choose_the_lenient_branch():
    from labs.observation import Demographics
    from reasoning.evaluate import condition_status

    assert condition_status("liver metastases", Demographics(conditions={"metastases": True})) is None
    assert condition_status("liver metastases are present",
                            Demographics(conditions={"liver metastases": True})) is True
    assert condition_status("participant has documented Gilbert's syndrome",
                            Demographics(conditions={"Gilbert's syndrome": False})) is False
    assert condition_status("Gilbert's syndrome", Demographics(conditions={"liver metastases": True})) is None
