"""Chia: rule extraction against the corpus's lab-like Measurement/Value pairs (eval/rule_extraction.py).

The floors are what the grammar reaches today (P 0.970, R 0.937 when written); the issue's goal is P >= 0.95,
R >= 0.90 and the floor may never go below 0.90 / 0.85.
"""

from __future__ import annotations

import pytest

from eval.rule_extraction import CHIA_DIR, Tuple_, evaluate, parse_gold_value

PRECISION_FLOOR = 0.96
RECALL_FLOOR = 0.93

pytestmark = pytest.mark.skipif(not (CHIA_DIR / "chia_without_scope.zip").is_file(), reason="Chia not present")


@pytest.fixture(scope="module")
def result() -> dict:
    return evaluate()


def test_precision_and_recall_floor(result: dict) -> None:
    assert result["scored_gold"] >= 400  # the lab-like pairs with a stated comparator
    assert result["lines_not_in_brat_text"] == 0  # every criterion line is read back from the brat .txt
    assert result["precision"] >= PRECISION_FLOOR, result["false_alarms"][:10]
    assert result["recall"] >= RECALL_FLOOR, result["misses"][:10]


def test_exclusions_are_few_and_explained(result: dict) -> None:
    excluded = result["excluded_gold"]
    assert sum(excluded.values()) <= 0.2 * result["lab_like_pairs"]
    lost_glyph = sum(n for reason, n in excluded.items() if "lost in encoding" in reason)
    assert lost_glyph >= 0.5 * sum(excluded.values())  # mostly the corpus's bare "=" for >= / <=


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<2.5X ULN", Tuple_("ALT", "<", (2.5,), "xULN")),
        ("less than or equal to 2x the institutional upper limit of normal", Tuple_("ALT", "<=", (2.0,), "xULN")),
        ("greater than or equal to 50,000/mm3", Tuple_("ALT", ">=", (50000.0,), "1/mm^3")),
        ("between 15 and 59 mL/min/1.73 m2", Tuple_("ALT", "between", (15.0, 59.0), "mL/min/bsa_1_73")),
        ("140 mg/dL or greater", Tuple_("ALT", ">=", (140.0,), "mg/dL")),
    ],
)
def test_gold_value_parser(value: str, expected: Tuple_) -> None:
    assert parse_gold_value("ALT", value) == expected


def test_gold_value_parser_reports_what_it_cannot_score() -> None:
    assert "lost in encoding" in parse_gold_value("NEUT", "=1.5×109/L")
    assert parse_gold_value("ALT", "190 IU/L") == "no comparator"
