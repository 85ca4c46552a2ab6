"""The eval harness itself: floors are validated data, a missing or low metric fails, the report is written."""

from __future__ import annotations

import json

import pytest

from eval.floors import Floors, check_floors, load_floors
from eval.report import write_report
from eval.result import SuiteResult
from labs.errors import ConfigError


def test_shipped_floors_load_and_cover_the_unsafe_error():
    floors = load_floors()
    assert floors.root["verdicts.missed_violations"].max == 0
    assert floors.root["verdicts.accuracy"].min == 1.0


@pytest.mark.parametrize("text", ["a.b: {min: 1, max: 2}", "nodot: {min: 1}", "a.b: {least: 1}", "a.b: [1]"])
def test_bad_floor_files_are_refused_with_the_file_named(tmp_path, text):
    path = tmp_path / "floors.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="floors.yaml"):
        load_floors(path)


def test_floor_checks_fail_low_missing_and_high_values():
    floors = Floors.model_validate({"s.acc": {"min": 0.9}, "s.missed": {"max": 0}, "s.gone": {"min": 0.5},
                                    "other.acc": {"min": 1}})
    checks = {c.key: c for c in check_floors(floors, {"s": {"acc": 0.89, "missed": 1}}, ran={"s"})}
    assert not checks["s.acc"].ok
    assert not checks["s.missed"].ok
    assert not checks["s.gone"].ok and checks["s.gone"].reason == "metric missing"
    assert checks["other.acc"].ok and checks["other.acc"].reason == "suite not run"
    passing = {c.key: c.ok for c in check_floors(floors, {"s": {"acc": 0.9, "missed": 0, "gone": 0.5}}, ran={"s"})}
    assert passing == {"s.acc": True, "s.missed": True, "s.gone": True, "other.acc": True}


def test_report_has_metrics_plots_and_json(tmp_path):
    result = SuiteResult(
        suite="verdicts", metrics={"accuracy": 0.5}, counts={"cases": 2}, misses=["case 7: expected VIOLATES"],
        confusion={"MEETS": {"MEETS": 1}, "VIOLATES": {"MEETS": 1}}, per_analyte={"ALT": 0.5},
        recall_at_k={1: 0.5, 5: 1.0}, latencies_ms=[1.0, 2.0, 3.0],
    )
    checks = check_floors(Floors.model_validate({"verdicts.accuracy": {"min": 1.0}}), {"verdicts": result.metrics},
                          ran={"verdicts"})
    report = write_report([result], checks, tmp_path)
    text = report.read_text()
    assert "BELOW FLOOR" in text and "case 7: expected VIOLATES" in text
    for png in ("verdicts_confusion.png", "verdicts_per_analyte.png", "verdicts_recall_at_k.png",
                "verdicts_latency.png"):
        assert (tmp_path / png).stat().st_size > 1000
    assert json.loads((tmp_path / "metrics.json").read_text())["metrics"]["verdicts"]["accuracy"] == 0.5


def test_every_suite_entry_resolves_to_a_run_fast_function():
    import importlib
    import inspect

    from eval.harness import SUITES

    for name, target in SUITES.items():
        module_name, function_name = target.split(":")
        function = getattr(importlib.import_module(module_name), function_name)
        assert "fast" in inspect.signature(function).parameters, f"{name}: {target} must accept fast="


def test_a_full_only_suite_is_skipped_by_fast_but_fails_its_floors_when_it_crashes_in_a_full_run(tmp_path, monkeypatch):
    import eval.harness as harness
    from eval.floors import Floors

    monkeypatch.setattr(harness, "SUITES", {"corpus": "eval.corpus_eval:run"})
    monkeypatch.setattr(harness, "load_floors", lambda: Floors.model_validate({"corpus.label_recall": {"min": 0.4}}))
    fast = harness.run_all(tmp_path / "fast", fast=True)
    assert fast.ok and fast.results[0].skipped and fast.checks[0].reason == "suite not run"

    def boom(fast: bool = False):
        raise RuntimeError("parser exploded")

    monkeypatch.setattr("eval.corpus_eval.run", boom)
    full = harness.run_all(tmp_path / "full", fast=False)
    assert not full.ok and "parser exploded" in full.checks[0].reason
