"""A reference limit that is not a positive finite number is refused where it enters (issue #19): the lab
manual reader names the row, the models refuse it, so a ULN of inf or -40 never scales a criterion's multiple."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from labs.observation import LabObservation
from labs.reference_range import ReferenceRange


@pytest.mark.parametrize("uln", [float("inf"), float("nan"), -12.0, 0.0])
def test_reference_range_refuses_a_uln_that_cannot_scale(uln):
    with pytest.raises(ValidationError, match="positive finite"):
        ReferenceRange(analyte="GGT", uln=uln, unit="U/L")


def test_reference_range_keeps_lln_zero_meaning_no_lower_limit():
    assert ReferenceRange(analyte="EOS", lln=0, uln=0.5, unit="10^9/L").lln == 0


@pytest.mark.parametrize("fields, words", [
    ({"value": float("inf")}, "not a finite number"),
    ({"value": float("nan")}, "not a finite number"),
    ({"value": -3.0}, "negative"),
    ({"value": 3.0, "uln": float("inf")}, "positive finite"),
    ({"value": 3.0, "uln": -8.0}, "positive finite"),
    ({"value": 3.0, "lln": 0.0}, "positive finite"),
    ({"value": 3.0, "lln": 9.0, "uln": 8.0}, "not below ULN"),
])
def test_observation_refuses_impossible_values_and_limits(fields, words):
    with pytest.raises(ValidationError, match=words):
        LabObservation(analyte="GGT", unit="U/L", **fields)


def test_lab_manual_row_with_an_impossible_limit_is_a_problem_not_a_range(tmp_path):
    from ingest.lab_manual import read_lab_manual

    path = tmp_path / "manual.csv"
    path.write_text("analyte,lln,uln,unit\nGGT,,inf,U/L\nALP,,-30,U/L\nAST,,42,U/L\nEOS,0,0.5,10^9/L\n", encoding="utf-8")
    manual = read_lab_manual(path)
    assert {r.analyte for r in manual.ranges} == {"AST", "EOS"}
    assert any("GGT" in p and "positive finite" in p for p in manual.problems)
    assert any("ALP" in p and "ULN -30" in p for p in manual.problems)
