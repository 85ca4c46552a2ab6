"""Threshold forms that real protocols use beyond "<analyte> <comparator> <number> <unit>" (issue 12, item 3):
column-flattened tables, limits at the normal range, factors in words, offsets from the ULN/LLN, footnote marks,
glued forms, changes from baseline; and numbers that are not lab limits. Every phrase is written for this test."""

from __future__ import annotations

import pytest

from ingest.models import Comparator, LabRule
from ingest.rules import extract_rules


def rules_of(text: str) -> list[LabRule]:
    rules = extract_rules(text)
    for rule in rules:
        assert text[rule.start:rule.end] == rule.quote, rule  # quotes stay verbatim spans
    return rules


def brief(rule: LabRule) -> tuple:
    number = (rule.low, rule.high) if rule.comparator is Comparator.BETWEEN else rule.value
    return (rule.analyte, rule.comparator.value, number, rule.multiple_of or rule.unit,
            rule.offset_from, rule.measure)


# ------------------------------------------------------------------------------------------ flattened tables
def test_two_column_table_flattened_column_by_column_pairs_rows_in_order():
    text = ("3. Bone marrow reserve, as follows:\nParameter Minimum value\nLeukocytes\nAbsolute neutrophil count\n"
            "Thrombocytes\n≥ 3.0 × 10^9/L\n≥ 1.2 × 10^9/L\n≥ 90 × 10^9/L")
    assert [brief(r)[:4] for r in rules_of(text)] == [
        ("WBC", ">=", 3.0, "10^9/L"), ("NEUT", ">=", 1.2, "10^9/L"), ("PLAT", ">=", 90.0, "10^9/L")]


def test_flattened_table_of_uln_multiples_gives_each_row_its_own_limit():
    # every value is a multiple of ULN, so units cannot tell the rows apart: only the order can
    text = "Liver tests\nGGT\nAlkaline phosphatase\nBilirubin\n< 5 x ULN\n< 2.5 x ULN\n≤ 1.25 x ULN"
    assert [brief(r)[:4] for r in rules_of(text)] == [
        ("GGT", "<", 5.0, "ULN"), ("ALP", "<", 2.5, "ULN"), ("BILI", "<=", 1.25, "ULN")]


def test_flattened_table_whose_columns_do_not_pair_up_gives_no_guess():
    text = "Liver tests\nGGT\nAlkaline phosphatase\nBilirubin\n< 5 x ULN\n< 2.5 x ULN"
    assert rules_of(text) == []


def test_one_row_per_line_is_not_taken_for_a_column_table():
    text = "Renal panel:\nCreatinine ≤ 1.4 mg/dL\nPotassium 3.5 - 5.2 mmol/L"
    assert [brief(r)[:4] for r in rules_of(text)] == [
        ("CREAT", "<=", 1.4, "mg/dL"), ("K", "between", (3.5, 5.2), "mmol/L")]


# ------------------------------------------------------------------------------------------ normal range limits
@pytest.mark.parametrize(("text", "expected"), [
    ("Free T4 below the LLN", ("T4FR", "<", 1.0, "LLN")),
    ("serum phosphate <LLN at screening", ("PHOS", "<", 1.0, "LLN")),
    ("Lipase above the upper limit of normal", ("LIPASE", ">", 1.0, "ULN")),
    ("amylase above the normal range", ("AMYLASE", ">", 1.0, "ULN")),
    ("Serum sodium below the reference range", ("SODIUM", "<", 1.0, "LLN")),
])
def test_limits_at_the_normal_range_are_one_times_uln_or_lln(text, expected):
    assert [brief(r)[:4] for r in rules_of(text)] == [expected]


# ------------------------------------------------------------------------------------------ factors in words
@pytest.mark.parametrize(("text", "expected"), [
    ("gamma-GT greater than four times the ULN", [("GGT", ">", 4.0, "ULN")]),
    ("Creatine kinase no more than twice the upper limit of normal", [("CK", "<=", 2.0, "ULN")]),
    ("ALP exceeding two and a half times ULN", [("ALP", ">", 2.5, "ULN")]),
    ("transaminases more than five times the ULN", [("ALT", ">", 5.0, "ULN"), ("AST", ">", 5.0, "ULN")]),
])
def test_factors_written_in_words(text, expected):
    assert [brief(r)[:4] for r in rules_of(text)] == expected


def test_number_words_that_count_things_are_not_limits():
    assert rules_of("platelet transfusions on more than two occasions in the past month") == []
    assert rules_of("hemoglobin measured at least three times before dosing") == []


# ------------------------------------------------------------------------------------------ offsets
@pytest.mark.parametrize(("text", "expected"), [
    ("PTT ≥ 4 seconds above the ULN", ("APTT", ">=", 4.0, "seconds", "ULN", "level")),
    ("Prothrombin time more than 3 s over the upper limit of normal", ("PT", ">", 3.0, "s", "ULN", "level")),
    # "more than 2 g/dL below the LLN" is Hb < LLN - 2: the distance below is what exceeds 2
    ("hemoglobin > 2 g/dL below the LLN", ("HGB", "<", -2.0, "g/dL", "LLN", "level")),
    ("albumin < LLN minus 5 g/L", ("ALB", "<", -5.0, "g/L", "LLN", "level")),
    ("partial thromboplastin time > ULN + 8 sec", ("APTT", ">", 8.0, "sec", "ULN", "level")),
])
def test_offsets_from_the_uln_or_lln_are_not_multiples(text, expected):
    rules = rules_of(text)
    assert [brief(r) for r in rules] == [expected]
    assert rules[0].multiple_of is None and any(w in rules[0].quote for w in ("ULN", "normal", "LLN"))


def test_an_offset_beside_a_multiple_keeps_each_form():
    text = "INR > 1.5 x ULN or aPTT > 10 seconds above ULN"
    assert [brief(r) for r in rules_of(text)] == [
        ("INR", ">", 1.5, "ULN", None, "level"), ("APTT", ">", 10.0, "seconds", "ULN", "level")]


# ------------------------------------------------------------------------------------------ footnotes, glued forms
@pytest.mark.parametrize(("text", "expected"), [
    ("Hemoglobin ≥ 95 g/L* (transfusion allowed)", ("HGB", ">=", 95.0, "g/L")),
    ("Albumin ≥ 3.0 g/dL†", ("ALB", ">=", 3.0, "g/dL")),
    ("ALT ≤ 3.0 x ULNc, AST alike", ("ALT", "<=", 3.0, "ULN")),
    ("total bilirubin ≤ 2 × ULN‡", ("BILI", "<=", 2.0, "ULN")),
    ("GGT >10xULN", ("GGT", ">", 10.0, "ULN")),
    ("Bilirubin ≤1.25xULN", ("BILI", "<=", 1.25, "ULN")),
    ("Leukocytes ≥ 3.5 x 109/L*", ("WBC", ">=", 3.5, "10^9/L")),
    ("Neutrophils >= 2.0x109/L", ("NEUT", ">=", 2.0, "10^9/L")),
    ("Haemoglobin ≥ 105 g/L¹", ("HGB", ">=", 105.0, "g/L")),
])
def test_footnote_marks_and_glued_forms(text, expected):
    rules = rules_of(text)
    assert [brief(r)[:4] for r in rules] == [expected]


def test_a_superscript_that_belongs_to_the_unit_is_kept():
    assert [brief(r)[:4] for r in rules_of("CrCl ≥ 50 mL/min/1.73m²")] == [("CRCL", ">=", 50.0, "mL/min/1.73m2")]


def test_a_footnote_letter_is_not_read_after_a_lower_case_unit():
    # "mg/dl" ends in a lower-case letter: nothing may be stripped from it
    assert [brief(r)[:4] for r in rules_of("creatinine < 1.6 mg/dl")] == [("CREAT", "<", 1.6, "mg/dl")]


# ------------------------------------------------------------------------------------------ changes
@pytest.mark.parametrize(("text", "expected"), [
    ("a rise in creatinine... ", None),
    ("serum creatinine rise of ≥ 0.4 mg/dL from baseline", ("CREAT", ">=", 0.4, "mg/dL", None, "change")),
    ("platelets falling by more than 40% compared with baseline", ("PLAT", ">", 40.0, "%", None, "change")),
    ("a > 30% reduction in hemoglobin", ("HGB", ">", 30.0, "%", None, "change")),
    ("a decline by more than 25% in the neutrophil count", ("NEUT", ">", 25.0, "%", None, "change")),
    ("Potassium increase between Day 1 and Day 8 greater than 1.0 mmol/L",
     ("K", ">", 1.0, "mmol/L", None, "change")),
])
def test_changes_between_visits_are_marked_as_changes(text, expected):
    rules = rules_of(text)
    assert [brief(r) for r in rules] == ([expected] if expected else [])


def test_a_change_word_inside_an_aside_is_not_a_change_of_the_lab():
    rules = rules_of("haemoglobin (with no change in epoetin dose) ≥ 10 g/dL")
    assert [brief(r) for r in rules] == [("HGB", ">=", 10.0, "g/dL", None, "level")]


@pytest.mark.parametrize(("text", "expected"), [
    ("magnesium falls below 0.5 mmol/L", ("MG", "<", 0.5, "mmol/L", None, "level")),
    ("platelets decreased to < 25 x 10^9/L", ("PLAT", "<", 25.0, "10^9/L", None, "level")),
    ("an increase in lipase to > 2 x ULN", ("LIPASE", ">", 2.0, "ULN", None, "level")),
    ("a decrease in neutrophil count to below 0.5 x 10^9/L", ("NEUT", "<", 0.5, "10^9/L", None, "level")),
])
def test_a_change_to_a_level_is_a_level(text, expected):
    # the limit is the value reached, which one value decides
    assert [brief(r) for r in rules_of(text)] == [expected]


def test_a_change_then_the_level_reached():
    rules = rules_of("a decrease of hemoglobin by more than 15 g/L or to less than 80 g/L")
    assert [brief(r) for r in rules] == [("HGB", ">", 15.0, "g/L", None, "change"),
                                         ("HGB", "<", 80.0, "g/L", None, "level")]


def test_ctcae_range_from_the_lln_is_not_an_offset():
    # "<LLN - 1.5 x 10^9/L" is CTCAE's "from the LLN down to 1.5": never LLN minus 1.5
    assert all(r.offset_from is None for r in rules_of("Neutrophils <LLN - 1.5 x 10^9/L"))


def test_a_change_word_before_the_name():
    rules = rules_of("an increase in serum potassium of more than 0.8 mmol/L")
    assert [brief(r) for r in rules] == [("K", ">", 0.8, "mmol/L", None, "change")]


def test_a_uln_multiple_after_a_change_word_stays_a_level():
    # "an increase of ALT to > 3 x ULN" is about the ALT level reached, which one value decides
    rules = rules_of("ALT increase > 3 x ULN")
    assert [brief(r) for r in rules] == [("ALT", ">", 3.0, "ULN", None, "level")]


def test_a_change_quote_includes_what_it_is_from():
    rules = rules_of("creatinine increase ≥ 0.3 mg/dL from baseline; ANC ≥ 1.5 x 10^9/L")
    assert rules[0].measure == "change" and rules[0].quote.endswith("from baseline")
    assert rules[1].measure == "level"


# ------------------------------------------------------------------------------------------ not lab limits
@pytest.mark.parametrize("text", [
    "Men and women aged ≥ 21 years",
    "Body mass index between 19 and 32 kg/m2",
    "diastolic blood pressure ≥ 95 mmHg despite treatment",
    "Karnofsky performance status ≥ 70%",
    "ECOG 0-1",
    "body weight < 45 kg",
    "prednisone at doses above 10 mg per day",
    "chemotherapy within 21 days before the first dose",
    "life expectancy of at least 12 weeks",
    "urine pregnancy test with a detection limit of 20 mIU/mL",
    "up to two (0-2) prior regimens containing insulin",
])
def test_non_lab_numbers_give_no_rule(text):
    assert rules_of(text) == []


# ------------------------------------------------------------------------------------------ bracketed cases
def test_a_bracketed_multiple_for_a_named_case_keeps_the_direction_and_excepts_the_default():
    rules = rules_of("AST ≤ 3 x ULN (six times ULN where bone metastases are documented)")
    assert [(brief(r)[:4], r.condition_type) for r in rules] == [
        (("AST", "<=", 3.0, "ULN"), "unless"), (("AST", "<=", 6.0, "ULN"), "if")]
    assert rules[0].condition == rules[1].condition and "bone metastases" in rules[1].condition


def test_a_bracketed_multiple_without_a_case_is_not_a_second_limit():
    assert [brief(r)[:4] for r in rules_of("GGT < 4 x ULN (2 x ULN)")] == [("GGT", "<", 4.0, "ULN")]


@pytest.mark.parametrize(("text", "expected"), [
    ("WBC ≥ 4 x 103/µL", ("WBC", ">=", 4.0, "10^3/µL")),
    ("neutrophils ≥ 1.2 x 109 /L", ("NEUT", ">=", 1.2, "10^9/L")),
    ("red blood cells > 3.8 x 1012/L", ("RBC", ">", 3.8, "10^12/L")),
    ("Thrombocytes ≥ 75 109/L", ("PLAT", ">=", 75.0, "10^9/L")),
])
def test_flattened_powers_of_ten(text, expected):
    # pypdf drops the superscript: "109/L" is 10^9/L, "103/µL" is 10^3/µL
    assert [brief(r)[:4] for r in rules_of(text)] == [expected]


def test_a_unit_heading_the_row_in_brackets_is_the_range_unit():
    assert [brief(r)[:4] for r in rules_of("Serum calcium (mg/dL) 8.4 - 10.6")] == [
        ("CA", "between", (8.4, 10.6), "mg/dL")]


def test_a_bare_range_after_other_words_is_not_a_lab_range():
    assert rules_of("platelet transfusions: received in 1-3 cycles") == []
