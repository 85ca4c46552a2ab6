"""How far a time window reaches, where its anchor stops, and which words each rule quotes (ingest.rules)."""

from __future__ import annotations

import pytest
from test_rules import rules_of

from ingest.models import LabRule
from labs.observation import Sex


def windows(rules: list[LabRule]) -> list[tuple[str, int | None, str | None]]:
    return [(r.analyte, r.window_days, r.window_anchor) for r in rules]


# --- a window covers its own clause ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # the window belongs to the kidney-injury clause, the creatinine limit stands in the next one
        "Known severe renal impairment, or an acute kidney injury in the 3 months before randomization that has "
        "not fully resolved; or a serum creatinine > 2.5 mg/dL [221 µmol/L] at screening",
        "History of hepatitis within 6 months before screening; or ALT > 3 × ULN at screening",
        "Red blood cell transfusion within 2 weeks before randomization. Hemoglobin ≥ 9 g/dL at screening.",
    ],
)
def test_a_window_in_another_clause_does_not_reach_the_rule(text: str) -> None:
    rules = rules_of(text)
    assert rules and all((r.window_days, r.window_anchor) == (None, None) for r in rules)


def test_a_window_covers_only_the_rules_of_its_clause() -> None:
    rules = rules_of("ANC ≥ 1.5 × 10^9/L within 14 days before randomization; platelets ≥ 100 × 10^9/L at screening")
    assert windows(rules) == [("NEUT", 14, "randomization"), ("PLAT", None, None)]


def test_a_lead_in_ending_in_a_colon_covers_the_items_after_it() -> None:
    text = ("Adequate organ function within 14 days before randomization:\nANC ≥ 1.5 × 10^9/L;\n"
            "platelets ≥ 100 × 10^9/L;\nhemoglobin ≥ 9 g/dL")
    assert windows(rules_of(text)) == [("NEUT", 14, "randomization"), ("PLAT", 14, "randomization"),
                                       ("HGB", 14, "randomization")]


def test_a_window_on_the_lab_values_covers_every_rule_of_the_criterion() -> None:
    text = ("Adequate organ function as defined below, with all laboratory values obtained within 7 days prior to "
            "the first dose. Laboratory tests may be repeated once.\nHemoglobin ≥ 9.0 g/dL\n"
            "Platelet count ≥ 100 × 10^9/L")
    assert windows(rules_of(text)) == [("HGB", 7, "first dose"), ("PLAT", 7, "first dose")]


def test_a_clause_of_its_own_takes_precedence_over_a_lead_in() -> None:
    text = ("Laboratory values within 14 days before randomization:\nANC ≥ 1.5 × 10^9/L;\n"
            "HbA1c ≥ 7% within 3 months before screening")
    assert windows(rules_of(text)) == [("NEUT", 14, "randomization"), ("HBA1C", 90, "screening")]


def test_a_sub_item_inherits_the_window_of_its_parents_lead_in() -> None:
    child = "a. ANC ≥ 1.5 × 10^9/L"
    assert windows(rules_of(child)) == [("NEUT", None, None)]
    head = "5. Adequate organ function within 14 days before randomization:"
    assert windows(rules_of(child, context=head)) == [("NEUT", 14, "randomization")]
    # a window in an earlier clause of the head, about something else, is not the items' window
    head = "5. No acute kidney injury within 3 months before randomization; and adequate organ function:"
    assert windows(rules_of(child, context=head)) == [("NEUT", None, None)]
    # nor is one that the head's own threshold already uses
    head = "5. Hemoglobin ≥ 9 g/dL within 7 days before randomization, and:"
    assert windows(rules_of(child, context=head)) == [("NEUT", None, None)]


# --- the anchor is the event only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tail", "anchor"),
    [
        ("within 14 days before randomization that has not fully resolved", "randomization"),
        ("within 7 days prior to randomization which must occur at the site", "randomization"),
        ("within 14 days before enrollment and after the last transfusion", "enrollment"),
        ("within 3 days before the first infusion or dose escalation", "first infusion"),
        ("within 14 days before randomization, measured by the local laboratory", "randomization"),
        ("within 28 days before C1D1 who are eligible", "C1D1"),
    ],
)
def test_the_anchor_stops_at_relative_clauses_conjunctions_and_commas(tail: str, anchor: str) -> None:
    (rule,) = rules_of(f"Hemoglobin ≥ 9 g/dL {tail}")
    assert (rule.window_days is not None, rule.window_anchor) == (True, anchor)


# --- each rule quotes its own threshold -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first_quote", "second_quote"),
    [
        ("Mean QTcF from triplicate ECGs at screening > 450 ms for males or > 470 ms for\nfemales, or a history",
         "QTcF from triplicate ECGs at screening > 450 ms for males", "> 470 ms for\nfemales"),
        ("Hb ≥ 12 g/dL for females, ≥ 13 g/dL for males", "Hb ≥ 12 g/dL for females", "≥ 13 g/dL for males"),
    ],
)
def test_a_sex_specific_limit_quotes_its_own_span(text: str, first_quote: str, second_quote: str) -> None:
    first, second = rules_of(text)
    assert {first.sex, second.sex} == {Sex.MALE, Sex.FEMALE}
    assert (first.quote, second.quote) == (first_quote, second_quote)
    assert second.analyte == first.analyte  # the analyte is still the one named before the first limit


def test_a_chained_exception_quotes_its_own_span() -> None:
    default, exception = rules_of("ALT ≤ 2.5 × ULN (≤ 5 × ULN with liver metastases)")
    assert default.quote == "ALT ≤ 2.5 × ULN"
    assert exception.quote == "≤ 5 × ULN with liver metastases"
    assert exception.condition == "liver metastases"


def test_both_limits_of_one_normal_range_phrase_keep_the_analytes_quote() -> None:
    low, high = rules_of("Thyroid-stimulating hormone (TSH) outside the normal range")
    assert low.quote == high.quote == "Thyroid-stimulating hormone (TSH) outside the normal range"
