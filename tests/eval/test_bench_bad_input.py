"""The bad-input benchmark (issue #19) runs and reports what it tried: no crash, no row unaccounted, no VIOLATES on an
impossible value, every tamper attempt detected (a small seeded sample here; `make bench` runs the full one)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_bad_input_bench_counts_and_its_goals():
    from eval.bench.bad_input import run

    figures = run(seed=1, lab_files=16, questions=16)
    assert figures["inputs_tried"] == 16 + 16 + 10
    assert figures["inputs_tried"] == figures["read"] + figures["clear_errors"] + figures["crashes"]
    assert figures["crashes"] == 0, figures["first_crashes"]
    assert figures["rows_unaccounted"] == 0 and figures["violates_on_impossible_values"] == 0
    assert figures["tamper_attempts"] == figures["tamper_detected"] > 0
    assert figures["documents_refused"] >= 8  # garbage, truncated, empty, NUL, shifted, cover letter ...
    assert figures["goals_met"] is True
