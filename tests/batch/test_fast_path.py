"""The numpy fast path decides exactly like the exact engine (reasoning.evaluate) on random values around limits."""

from __future__ import annotations

import random

from ingest.patients import read_lab_file
from reasoning.batch import screen
from tests.batch.conftest import make_protocol

CRITERIA = [
    ("inclusion", "I1", "ALT ≤ 2.5 × ULN."),
    ("inclusion", "I2", "Platelet count ≥ 100 × 10^9/L and hemoglobin ≥ 9.0 g/dL."),
    ("exclusion", "E1", "Serum creatinine > 1.5 mg/dL."),
    ("exclusion", "E2", "Total bilirubin > 1.5 × ULN."),
    ("exclusion", "E3", "Potassium < 3.5 mmol/L."),
]
# (test, unit, ULN or None, limit in that unit) - units that need conversion, and the limit's own unit
CHOICES = [
    ("ALT", "U/L", 40.0, 100.0), ("ALT", "ukat/L", 0.68, 1.7),
    ("platelets", "10^9/L", None, 100.0), ("platelets", "10^3/uL", None, 100.0), ("platelets", "cells/uL", None, 1e5),
    ("hemoglobin", "g/dL", None, 9.0), ("hemoglobin", "g/L", None, 90.0), ("hemoglobin", "mmol/L", None, 5.585),
    ("creatinine", "mg/dL", None, 1.5), ("creatinine", "umol/L", None, 132.6),
    ("bilirubin", "mg/dL", 1.2, 1.8), ("bilirubin", "umol/L", 21.0, 31.5),
    ("potassium", "mmol/L", None, 3.5), ("potassium", "mEq/L", None, 3.5),
]


def test_fast_path_equals_exact_engine(write_csv):
    rng = random.Random(11)
    lines = ["patient_id,test,value,unit,uln,date"]
    for n in range(400):
        for test, unit, uln, limit in rng.sample(CHOICES, 5):
            value = limit * rng.choice([0.5, 0.9, 0.99, 0.999, 1.0, 1.001, 1.01, 1.1, 2.0])
            value = float(f"{value:.4g}")
            lines.append(f"P{n},{test},{value},{unit},{uln if uln else ''},2024-03-01")
    lab = read_lab_file(write_csv("\n".join(lines) + "\n"))
    protocol = make_protocol("1", None, CRITERIA)
    fast = screen(lab, [protocol])
    exact = screen(lab, [protocol], exact_only=True)
    assert fast.exact_engine_pairs < exact.exact_engine_pairs  # the fast path did decide pairs
    assert sorted(fast.pair_verdicts) == sorted(exact.pair_verdicts)
    assert all(v != "NEEDS_REVIEW" for *_, v in fast.pair_verdicts)  # no disagreement surfaced as review either
    assert {v for *_, v in fast.pair_verdicts} >= {"MEETS", "VIOLATES"}


def test_offsets_and_changes_are_left_to_the_exact_engine(write_csv):
    # "≥ 4 seconds above the ULN" is ULN + 4 s (not an absolute 4 s), and a rise from baseline cannot be judged on
    # one value: the fast path must not decide either as a plain limit
    criteria = [("exclusion", "E1", "Activated partial thromboplastin time ≥ 4 seconds above the ULN."),
                ("exclusion", "E2", "Serum creatinine rise of more than 0.4 mg/dL from baseline.")]
    lab = read_lab_file(write_csv("patient_id,test,value,unit,uln,date\n"
                                  "P1,aPTT,36,s,34,2024-03-01\nP2,aPTT,39,s,34,2024-03-01\n"
                                  "P1,creatinine,2.0,mg/dL,1.2,2024-03-01\n"))
    protocol = make_protocol("1", None, criteria)
    fast = screen(lab, [protocol])
    assert sorted(fast.pair_verdicts) == sorted(screen(lab, [protocol], exact_only=True).pair_verdicts)
    verdicts = {(patient, criterion.rsplit(":", 1)[-1]): verdict for patient, _, criterion, verdict in fast.pair_verdicts}
    assert verdicts[("P1", "E1")] == "MEETS"  # 36 s < ULN 34 s + 4 s
    assert verdicts[("P2", "E1")] == "VIOLATES"  # 39 s >= 38 s
    assert verdicts[("P1", "E2")] == "INDETERMINATE"  # one creatinine value is no change
