"""The engine on the two threshold forms that are not a plain limit: an offset from the ULN/LLN ("≥ 5 seconds
above ULN" is ULN + 5 s) and a change between visits (one value cannot decide it)."""

from __future__ import annotations

import pytest

from labs.observation import Demographics
from labs.reference_range import ReferenceRange
from reasoning.evaluate import judge_criterion
from reasoning.models import Verdict
from reasoning_handmade import criterion, obs, rule

PTT_EXCL = "Partial thromboplastin time at least 4 seconds longer than the upper limit of normal"


def ptt_exclusion(value: float = 4, unit: str | None = "s", offset_from: str = "ULN"):
    return criterion(PTT_EXCL, [rule(PTT_EXCL, PTT_EXCL, "APTT", ">=", value=value, unit=unit,
                                     offset_from=offset_from)])


@pytest.mark.parametrize("seconds,expected", [(37.9, Verdict.MEETS), (38.0, Verdict.VIOLATES),
                                              (41.5, Verdict.VIOLATES)])
def test_offset_is_added_to_the_uln_not_multiplied(seconds, expected):
    # ULN 34 s + 4 s = 38 s; as a multiple (4 × 34 = 136 s) none of these would exclude
    finding = judge_criterion(ptt_exclusion(), [obs("APTT", seconds, "s", uln=34)])
    assert finding.verdict is expected
    assert "ULN 34 s" in finding.arithmetic[0] and "(38 s)" in finding.arithmetic[0]


def test_offset_in_another_unit_than_the_value_is_converted():
    # the offset is written in milliseconds, the lab reports seconds: 34 s + 4000 ms = 38 s
    finding = judge_criterion(ptt_exclusion(value=4000, unit="ms"), [obs("APTT", 39, "s", uln=34)])
    assert finding.verdict is Verdict.VIOLATES


def test_offset_below_the_lln_is_subtracted():
    text = "Hemoglobin more than 2 g/dL under the lower limit of normal"
    c = criterion(text, [rule(text, text, "HGB", "<", value=-2, unit="g/dL", offset_from="LLN")])
    assert judge_criterion(c, [obs("HGB", 9.9, "g/dL", lln=12)]).verdict is Verdict.VIOLATES
    assert judge_criterion(c, [obs("HGB", 10.0, "g/dL", lln=12)]).verdict is Verdict.MEETS


def test_offset_without_uln_or_unit_is_indeterminate_and_says_why():
    no_uln = judge_criterion(ptt_exclusion(), [obs("APTT", 50, "s")])
    assert no_uln.verdict is Verdict.INDETERMINATE and "ULN" in no_uln.rationale
    no_unit = judge_criterion(ptt_exclusion(unit=None), [obs("APTT", 50, "s", uln=34)])
    assert no_unit.verdict is Verdict.INDETERMINATE and "no unit" in no_unit.rationale


def test_offset_uses_the_lab_manual_uln():
    ranges = [ReferenceRange(analyte="APTT", uln=35, unit="s", source="lab manual p.9")]
    finding = judge_criterion(ptt_exclusion(), [obs("APTT", 39.5, "s")], Demographics(), ranges)
    assert finding.verdict is Verdict.VIOLATES and "lab manual p.9" in finding.arithmetic[0]


@pytest.mark.parametrize("value", [0.9, 5.0])
def test_change_from_baseline_is_indeterminate_whatever_the_value(value):
    text = "a rise in serum creatinine of 0.4 mg/dL or more since the screening visit"
    c = criterion(text, [rule(text, text, "CREAT", ">=", value=0.4, unit="mg/dL", measure="change")])
    finding = judge_criterion(c, [obs("CREAT", value, "mg/dL", uln=1.2)])
    assert finding.verdict is Verdict.INDETERMINATE
    assert "baseline" in finding.rationale and "change" in finding.rationale
