"""The screening benchmark measures what it says: every CDISC LB row placed, in a process of its own."""

from __future__ import annotations

import pytest

from eval.bench import screening


def test_screening_benchmark_runs_the_whole_file_and_reports_times_ratio_and_goals():
    figures = screening.run(runs=1)
    assert figures["rows"] == figures["rows_accounted"] == 59580
    assert figures["rows_judged"] > 1000 and figures["findings_reported"] > 0
    assert figures["pandas_read_s"] > 0 and figures["screen_s"] > 0
    # the ratio is of unrounded times; the times shown are rounded to ms
    assert figures["ratio_vs_pandas_read"] == pytest.approx(figures["screen_s"] / figures["pandas_read_s"], rel=0.05)
    assert 0 < figures["peak_rss_mb"] < 4096 and figures["vector_queries"] == 0
    assert isinstance(figures["goals_met"], bool)  # a figure, not a timed assertion: speed lives in `make bench`
