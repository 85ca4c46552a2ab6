"""ingest.rules.extract_rules: the threshold grammar on criterion phrasings seen in real protocols."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.models import Comparator, LabRule
from ingest.rules import extract_rules
from labs.observation import Sex


def rules_of(text: str, **kwargs) -> list[LabRule]:
    rules = extract_rules(text, **kwargs)
    for rule in rules:
        assert text[rule.start:rule.end] == rule.quote, rule
    return rules


def brief(rule: LabRule) -> tuple:
    number = (rule.low, rule.high) if rule.comparator is Comparator.BETWEEN else rule.value
    return rule.analyte, rule.comparator.value, number, rule.multiple_of or rule.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ALT ≤ 2.5 × ULN", [("ALT", "<=", 2.5, "ULN")]),
        ("Total bilirubin > 1.5 x the upper limit of normal", [("BILI", ">", 1.5, "ULN")]),
        ("AST <=3 times ULN", [("AST", "<=", 3.0, "ULN")]),
        ("ALT 2.5xULN or less", [("ALT", "<=", 2.5, "ULN")]),
        ("serum creatinine =< 1.5 x institutional upper limit of normal", [("CREAT", "<=", 1.5, "ULN")]),
        ("Absolute neutrophil count ≥ 1.5 x 10^9/L", [("NEUT", ">=", 1.5, "10^9/L")]),
        ("ANC >= 1.5 x109/L", [("NEUT", ">=", 1.5, "10^9/L")]),
        ("Platelets ≥ 100 × 10⁹/L", [("PLAT", ">=", 100.0, "10^9/L")]),
        ("Platelet count < 100 x 109/L", [("PLAT", "<", 100.0, "10^9/L")]),
        ("Platelets > 100 109/l", [("PLAT", ">", 100.0, "10^9/l")]),
        ("platelet count <100 x 10 9/L.", [("PLAT", "<", 100.0, "10^9/L")]),
        ("platelets at least 100,000/mm3", [("PLAT", ">=", 100000.0, "/mm3")]),
        ("hemoglobin greater than or equal to 9 g/dL", [("HGB", ">=", 9.0, "g/dL")]),
        ("Haemoglobin no less than 90 g/L", [("HGB", ">=", 90.0, "g/L")]),
        ("potassium below 3.5 mmol/L", [("K", "<", 3.5, "mmol/L")]),
        ("INR exceeding 1.5", [("INR", ">", 1.5, None)]),
        ("eGFR ≧ 45 mL/min/1.73 m2", [("EGFR", ">=", 45.0, "mL/min/1.73 m2")]),
        ("creatinine clearance ⩾ 60 mL/min", [("CRCL", ">=", 60.0, "mL/min")]),
        ("fasting glucose 126 mg/dL or greater", [("GLUC", ">=", 126.0, "mg/dL")]),
        ("HbA1c no more than 10.5%", [("HBA1C", "<=", 10.5, "%")]),
        ("QTcF > 470 msec", [("QTCF", ">", 470.0, "msec")]),
    ],
)
def test_comparators_numbers_units_and_multiples(text: str, expected: list[tuple]) -> None:
    assert [brief(rule) for rule in rules_of(text)] == expected


@pytest.mark.parametrize(
    "text",
    ["HbA1c 7.0–10.5 %", "HbA1c between 7.0% and 10.5%", "HbA1c ≥7.0% and ≤10.5%", "HbA1c of 7.0% to 10.5%"],
)
def test_ranges_are_one_between_rule(text: str) -> None:
    assert [brief(rule) for rule in rules_of(text)] == [("HBA1C", "between", (7.0, 10.5), "%")]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("ALT or AST ≤ 3 × ULN", ["ALT", "AST"]),
        ("AST/ALT ≤ 3 × ULN", ["AST", "ALT"]),
        ("ALT and AST ≤ 3 × ULN", ["ALT", "AST"]),
        ("aspartate aminotransferase (AST) and alanine aminotransferase (ALT) ≤ 3 × ULN", ["AST", "ALT"]),
        ("SGOT, SGPT ≤ 3 × ULN", ["AST", "ALT"]),
    ],
)
def test_analyte_lists_give_one_rule_each(text: str, codes: list[str]) -> None:
    rules = rules_of(text)
    assert [rule.analyte for rule in rules] == codes
    assert all((rule.comparator, rule.value, rule.multiple_of) == (Comparator.LE, 3.0, "ULN") for rule in rules)


def test_alternative_unit_in_brackets() -> None:
    for text in ("serum creatinine > 2.5 mg/dL [221 µmol/L]", "serum creatinine > 2.5 mg/dL (221 µmol/L)"):
        (rule,) = rules_of(text)
        assert brief(rule) == ("CREAT", ">", 2.5, "mg/dL")
        assert [(alt.value, alt.unit) for alt in rule.alternatives] == [(221.0, "µmol/L")]
        assert rule.quote == text


def test_range_with_alternative_range() -> None:
    (rule,) = rules_of("HbA1c 7.0–10.5% (53–91 mmol/mol)")
    assert brief(rule) == ("HBA1C", "between", (7.0, 10.5), "%")
    assert [(a.low, a.high, a.unit) for a in rule.alternatives] == [(53.0, 91.0, "mmol/mol")]


def test_condition_in_brackets_gives_default_and_conditional_rule() -> None:
    default, conditional = rules_of("ALT ≤ 2.5 × ULN (≤ 5 × ULN with liver metastases)")
    # the default holds unless the exception's condition does: a patient with metastases is judged on 5 x ULN
    assert (default.value, default.condition, default.condition_type) == (2.5, "liver metastases", "unless")
    assert (conditional.value, conditional.condition, conditional.condition_type) == (5.0, "liver metastases", "if")


def test_bracketed_exception_names_its_case_before_the_analyte() -> None:
    default, exception = rules_of("total bilirubin ≤ 1.5 x ULN (patients with Gilbert's syndrome total bilirubin "
                                  "≤2.5 x ULN)")
    assert (default.value, default.condition_type, default.condition) == (1.5, "unless", "Gilbert's syndrome")
    assert (exception.value, exception.condition_type, exception.condition) == (2.5, "if", "Gilbert's syndrome")


def test_if_no_condition_is_unless() -> None:
    text = ("Alanine aminotransferase (ALT) > 2.5 times the upper limit of normal (ULN) if no demonstrable liver "
            "metastases or > 5 times ULN in the presence of liver metastases")
    first, second = rules_of(text)
    assert (first.value, first.condition_type, first.condition) == (2.5, "unless", "liver metastases")
    assert (second.value, second.condition_type, second.condition) == (5.0, "if", "liver metastases")


@pytest.mark.parametrize(
    ("text", "kind", "condition"),
    [
        ("total bilirubin ≤ 1.5 × ULN unless Gilbert's syndrome", "unless", "Gilbert's syndrome"),
        ("total bilirubin ≤ 3 × ULN in patients with Gilbert's syndrome", "if", "Gilbert's syndrome"),
        ("ALT ≤ 5 × ULN if liver metastases are present", "if", "liver metastases"),
        ("total bilirubin in patients with Gilbert's syndrome will be broaden to <3 × ULN", "if",
         "Gilbert's syndrome"),
        ("TBL ≥ 2 × ULN (except for cases of known Gilbert's syndrome) with elevation of ALP", "unless",
         "Gilbert's syndrome"),
    ],
)
def test_condition_cues(text: str, kind: str, condition: str) -> None:
    (rule,) = rules_of(text)
    assert (rule.condition_type, rule.condition) == (kind, condition)


def test_sex_specific_limits() -> None:
    female, male = rules_of("Hb ≥ 12 g/dL for females, ≥ 13 for males")
    assert (female.value, female.unit, female.sex) == (12.0, "g/dL", Sex.FEMALE)
    assert (male.value, male.unit, male.sex) == (13.0, "g/dL", Sex.MALE)  # unit carried over from the first
    male, female = rules_of("Mean QTcF > 450 ms for males or > 470 ms for\nfemales, or a history of long QT syndrome")
    assert [(r.value, r.sex) for r in (male, female)] == [(450.0, Sex.MALE), (470.0, Sex.FEMALE)]
    assert female.quote.endswith("> 470 ms for\nfemales")


def test_normal_range_phrases() -> None:
    low, high = rules_of("Thyroid-stimulating hormone (TSH) outside the normal range of the central laboratory")
    assert [(r.analyte, r.comparator.value, r.value, r.multiple_of) for r in (low, high)] == [
        ("TSH", "<", 1.0, "LLN"), ("TSH", ">", 1.0, "ULN")]
    assert rules_of("restart when potassium is within the normal range") == []  # an instruction, not a limit


def test_time_window() -> None:
    rules = rules_of("ANC ≥ 1.5 × 10^9/L and platelets ≥ 100 × 10^9/L within 14 days before randomization")
    assert [(r.analyte, r.window_days, r.window_anchor) for r in rules] == [
        ("NEUT", 14, "randomization"), ("PLAT", 14, "randomization")]
    (rule,) = rules_of("HbA1c ≥ 7% within 4 weeks prior to the first dose")
    assert (rule.window_days, rule.window_anchor) == (28, "first dose")


def test_context_supplies_the_analyte_of_a_sub_item() -> None:
    parent = "[3] Have HbA1c meeting the following criteria:\n[3a] for patients who are OAM-naïve, ≥7.0% to ≤10.0%"
    child = "[3a] for patients who are OAM-naïve, ≥7.0% to ≤10.0%"
    assert rules_of(child) == []
    (rule,) = rules_of(child, context=parent)
    assert brief(rule) == ("HBA1C", "between", (7.0, 10.0), "%")
    assert (rule.condition_type, rule.condition) == ("if", "OAM-naïve")


@pytest.mark.parametrize(
    "text",
    [
        "Age ≥ 18 years",
        "ECOG performance status 0-1",
        "Life expectancy of at least 12 weeks",
        "Body mass index ≥ 23 kg/m2",
        "Systolic blood pressure > 160 mmHg",
        "Osimertinib 80 mg once daily for 2 years",
        "Mean resting PR interval >250 msec",
        "HbA1c measured at least 2 weeks apart",  # a lab named, but the number is not a limit on it
        "ALT was assessed 3 times",
        "no restriction on creatinine > 1.5 mg/dL",
        "Isolated ALT > 3 × ULN is not exclusionary",
        "A potassium < 3.5 mmol/L does not apply to patients on dialysis",
        "",
        "   ",
    ],
)
def test_no_lab_rule_without_a_lab_threshold(text: str) -> None:
    assert rules_of(text) == []


def test_not_more_than_inverts_correctly() -> None:
    (rule,) = rules_of("bilirubin not more than 1.5 x ULN")
    assert (rule.comparator, rule.value) == (Comparator.LE, 1.5)
    (rule,) = rules_of("platelets not less than 75 x 10^9/L")
    assert (rule.comparator, rule.value) == (Comparator.GE, 75.0)


def test_creatinine_clearance_is_not_creatinine() -> None:
    text = "Creatinine >1.5xULN concurrent with creatinine clearance <50 mL/min"
    assert [brief(r) for r in rules_of(text)] == [("CREAT", ">", 1.5, "ULN"), ("CRCL", "<", 50.0, "mL/min")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("ALTASThbHbA1c<>=≤≥×x 0123456789.,%/()[]-–ULNmgdLµ^ifnoror\n")) ,
               max_size=120))
def test_never_crashes_on_lab_flavoured_noise(text: str) -> None:
    for rule in extract_rules(text):
        assert text[rule.start:rule.end] == rule.quote


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_never_crashes_on_arbitrary_text(text: str) -> None:
    for rule in extract_rules(text):
        assert text[rule.start:rule.end] == rule.quote


def test_rule_patterns_are_validated_on_load(tmp_path) -> None:
    from ingest.rule_patterns import PATTERNS_FILE, load_patterns
    from labs.errors import ConfigError

    assert load_patterns().comparators["<="]  # the shipped file loads
    broken = tmp_path / "patterns.yaml"
    broken.write_text(PATTERNS_FILE.read_text(encoding="utf-8").replace("comparators:", "comparatorz:", 1),
                      encoding="utf-8")
    with pytest.raises(ConfigError, match=r"(?s)patterns.yaml.*comparatorz"):
        load_patterns(broken)
    empty_phrase = tmp_path / "empty.yaml"
    empty_phrase.write_text(PATTERNS_FILE.read_text(encoding="utf-8").replace('uln_phrases: ["ULN",',
                                                                              'uln_phrases: ["",', 1),
                            encoding="utf-8")
    with pytest.raises(ConfigError, match=r"(?s)empty.yaml.*uln_phrases"):
        load_patterns(empty_phrase)
