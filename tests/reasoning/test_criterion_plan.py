"""CriterionPlan is only a precomputation: judging with one gives exactly what judging without one gives."""

from __future__ import annotations

from eval.verdict_eval import load_cases
from labs.observation import LabObservation
from reasoning.evaluate import _dedupe, judge_criterion, plan_criterion


def test_a_plan_changes_no_finding_of_any_gold_case():
    cases = load_cases()
    assert len(cases) >= 200
    for case in cases:
        criterion = case.criterion()
        plan = plan_criterion(criterion)
        args = (criterion, case.observations, case.demographics, case.reference_ranges, case.on_date)
        assert judge_criterion(*args, plan=plan) == judge_criterion(*args), case.id


def test_a_plan_for_another_criterion_or_protocol_is_not_used():
    first, second = [c for c in load_cases() if c.expected.value == "VIOLATES" and c.family == "uln-multiple"][:2]
    wrong = plan_criterion(second.criterion())
    criterion = first.criterion()
    args = (criterion, first.observations, first.demographics, first.reference_ranges, first.on_date)
    finding = judge_criterion(*args, plan=wrong)
    assert finding == judge_criterion(*args)
    assert all(c.criterion_id == criterion.id for c in finding.citations)
    assert not plan_criterion(criterion).fits(criterion, protocol=object())  # same criterion, other protocol


def test_dedupe_keeps_each_observation_once_in_order():
    a = LabObservation(analyte="ALT", value=65, unit="U/L", uln=40, source="labs.csv row 2")
    same_as_a = LabObservation(analyte="ALT", value=65, unit="U/L", uln=40, source="labs.csv row 2")
    b = LabObservation(analyte="ALT", value=65, unit="U/L", uln=40, source="labs.csv row 3")
    assert _dedupe([a, b, a, same_as_a]) == [a, b]
    assert _dedupe([b, a])[0] is b
