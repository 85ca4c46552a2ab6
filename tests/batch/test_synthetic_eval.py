"""The seeded synthetic CSV (>= 500 patients, mixed units, values around every TG-ONC-001 threshold): batch
screening agrees 100 % with the answer key computed independently from eval/gold/demo_thresholds.csv."""

from __future__ import annotations

import csv

import pytest

from eval.tools.make_screening_csv import generate


def test_generator_is_seeded_and_covers_units_and_thresholds(tmp_path):
    first, key = generate(tmp_path / "a", patients=500, seed=3)
    again, _ = generate(tmp_path / "b", patients=500, seed=3)
    assert first.read_bytes() == again.read_bytes()
    rows = list(csv.DictReader(first.open(encoding="utf-8")))
    assert len({r["patient_id"] for r in rows}) == 500
    units = {}
    for r in rows:
        units.setdefault(r["test"], set()).add(r["unit"])
    assert len(units["PLAT"]) >= 3 and len(units["HGB"]) == 3 and len(units["creatinine"]) == 2
    expected = list(csv.DictReader(key.open(encoding="utf-8")))
    assert {e["expected"] for e in expected} == {"MEETS", "VIOLATES", "INDETERMINATE"}
    assert {(e["version"], e["kind"], e["label"]) for e in expected} >= {
        ("1.0", "inclusion", "5"), ("2.0", "inclusion", "5"), ("1.0", "exclusion", "2"), ("2.0", "exclusion", "5(b)"),
        ("1.0", "discontinuation", "2"), ("2.0", "discontinuation", "2")}


@pytest.mark.slow
def test_screening_agrees_100_percent_with_known_answers():
    from eval.screening_eval import compare

    report = compare(mode="gold", patients=600, seed=7)
    assert report["pairs"] > 4000 and report["rows_judged"] == report["rows_in"]
    assert report["disagreements"] == [], report["disagreement_kinds"]
    assert report["agreement"] == 1.0 and report["missed_violations"] == 0
    assert report["expected_verdicts"]["VIOLATES"] > 1000 and report["expected_verdicts"]["INDETERMINATE"] > 100
