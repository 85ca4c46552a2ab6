"""Thresholds on specialty analytes (issue 12): the rule grammar reads them through the catalog and their units
(Bethesda units, cells/mm3, mm/h, % activity, ug/g, ng/L); a titre written as a dilution is never half-read.
Every phrase is written for this test."""

from __future__ import annotations

import pytest

from ingest.models import LabRule
from ingest.rules import extract_rules


def rules_of(text: str) -> list[LabRule]:
    rules = extract_rules(text)
    for rule in rules:
        assert text[rule.start:rule.end] == rule.quote, rule  # quotes stay verbatim spans
    return rules


def brief(rule: LabRule) -> tuple:
    return (rule.analyte, rule.comparator.value, rule.value, rule.multiple_of or rule.unit)


@pytest.mark.parametrize(("text", "expected"), [
    ("Inhibitor-negative: factor VIII inhibitor titre below 0.5 BU/mL on two occasions",
     ("FVIIIINH", "<", 0.5, "BU/mL")),
    ("Any FVIII inhibitor ≥ 1.0 BU/ml in the past", ("FVIIIINH", ">=", 1.0, "BU/ml")),
    ("Severe haemophilia A, defined as FVIII:C < 1%", ("FVIII", "<", 1.0, "%")),
    ("moderate disease (factor VIII activity ≤ 5 %)", ("FVIII", "<=", 5.0, "%")),
    ("HIV-positive subjects must have a CD4+ T-cell count ≥ 350 cells/mm3", ("CD4", ">=", 350.0, "cells/mm3")),
    ("CD4 count below 200/µL within 3 months", ("CD4", "<", 200.0, "/µL")),
    ("Serum 25(OH)D ≥ 12 ng/mL", ("VITD25", ">=", 12.0, "ng/mL")),
    ("25-OH vitamin D level < 30 nmol/L at screening", ("VITD25", "<", 30.0, "nmol/L")),
    ("Erythrocyte sedimentation rate > 50 mm/hr", ("ESR", ">", 50.0, "mm/hr")),
    ("an ESR of at least 28 mm/h", ("ESR", ">=", 28.0, "mm/h")),
    ("Faecal calprotectin ≥ 200 µg/g", ("FCALPRO", ">=", 200.0, "µg/g")),
    ("Serum calcitonin ≥ 50 pg/mL", ("CALCTNN", ">=", 50.0, "pg/mL")),
    ("ionised calcium < 1.0 mmol/L", ("CAION", "<", 1.0, "mmol/L")),
    ("ionized calcium above the ULN", ("CAION", ">", 1.0, "ULN")),
    ("QTcB above 480 msec on the screening ECG", ("QTCB", ">", 480.0, "msec")),
    ("postmenopausal: follicle-stimulating hormone > 30 IU/L", ("FSH", ">", 30.0, "IU/L")),
    ("bone marrow blasts < 20%", ("BMBLAST", "<", 20.0, "%")),
    ("peripheral blasts ≥ 5 %", ("BLASTLE", ">=", 5.0, "%")),
])
def test_specialty_thresholds_are_read(text, expected):
    assert [brief(r) for r in rules_of(text)] == [expected]


def test_two_units_of_one_vitamin_d_limit_give_two_readings():
    rules = rules_of("Exclusion: 25-hydroxyvitamin D below 15 ng/mL or below 37 nmol/L")
    assert [brief(r) for r in rules] == [("VITD25", "<", 15.0, "ng/mL"), ("VITD25", "<", 37.0, "nmol/L")]


@pytest.mark.parametrize("text", [
    "FVIII:C ≤ 2 BU/mL",              # a Bethesda titre is not a factor activity
    "factor VIII inhibitor < 0.6 %",  # nor the other way round
    "ESR > 40 mg/L",                  # a sedimentation rate is a speed, not a concentration
    "CD4 count ≥ 350 mg/dL",
    "calcitonin > 40 mmol/L",         # no molar mass in the catalog: never assumed
])
def test_a_unit_the_analyte_is_not_measured_in_gives_no_rule(text):
    assert rules_of(text) == []


@pytest.mark.parametrize("text", [
    "anti-drug antibody titer ≥ 1:160",
    "ADA titre of 1 : 640 or more",
])
def test_a_titre_written_as_a_dilution_is_never_read_as_its_first_number(text):
    assert not [r for r in rules_of(text) if r.value in (1.0, 160.0, 640.0)]


def test_a_titre_written_as_a_reciprocal_number_is_unitless():
    assert [brief(r) for r in rules_of("ADA titer ≥ 12,800 on two occasions")] == [
        ("ADATITER", ">=", 12800.0, None)]


def test_factor_viii_treatment_history_is_not_an_activity_limit():
    # "exposure days" are a count of treatment days, not a % activity
    assert rules_of("prior treatment with FVIII for at least 150 exposure days") == []


# ------------------------------------------------------------------------------------ analyte named after the limit
@pytest.mark.parametrize(("text", "expected"), [
    ("MDS with at most 19% bone marrow blasts", ("BMBLAST", "<=", 19.0, "%")),
    ("refractory anaemia with > 5% blasts in the bone marrow", ("BMBLAST", ">", 5.0, "%")),
    ("at least 1.0 x 10^9/L neutrophils at baseline", ("NEUT", ">=", 1.0, "10^9/L")),
])
def test_a_limit_may_name_its_analyte_right_after_the_number(text, expected):
    assert [brief(r) for r in rules_of(text)] == [expected]


@pytest.mark.parametrize("text", [
    "at least 2 platelet transfusions in the last month",  # a bare number before a name counts something else
    "more than 3 hemoglobin measurements",
    "≥ 30% of neutrophils",                                 # a unit the analyte is not measured in
])
def test_a_number_before_a_name_is_not_always_its_limit(text):
    assert rules_of(text) == []


def test_a_limit_after_its_analyte_still_belongs_to_it_not_to_the_next_name():
    rules = rules_of("ALT < 2.5 x ULN bilirubin < 1.5 mg/dL")
    assert [brief(r) for r in rules] == [("ALT", "<", 2.5, "ULN"), ("BILI", "<", 1.5, "mg/dL")]
