"""Runs every gold set under eval/ and checks each metric against its floor.

Suites are named "module:function" entries, each `run(fast: bool) -> SuiteResult`, so adding a gold set is one
line here. A required suite that cannot run fails the floors it owns: a number that was not measured is not a pass.
"""

from __future__ import annotations

import importlib
import time
import traceback
from pathlib import Path

from pydantic import BaseModel

from eval.floors import FloorCheck, check_floors, load_floors
from eval.report import write_report
from eval.result import SuiteResult

SUITES: dict[str, str] = {
    "conversion": "eval.conversion_eval:run",
    "rule_extraction": "eval.suites:rule_extraction",
    "retrieval": "eval.retrieval_eval:run",
    "verdicts": "eval.verdict_eval:run",
    "screening": "eval.screening_eval:run",
    "corpus_fast": "eval.corpus_eval:run_subset",  # the real parser on a few real protocols (eval/corpus.yaml)
    "corpus": "eval.corpus_eval:run",  # the real parser on all 50 real protocols; not under --fast
    "overrides": "eval.suites:overrides",
    "llm": "eval.suites:llm",  # runs only when TRIALGUARD_LLM_URL is set
}
OPTIONAL = {"llm", "overrides"}
# Too slow for --fast (make test): skipped there, so their floors are not checked; a cheaper suite covers a subset.
FULL_ONLY = {"corpus"}


class EvalRun(BaseModel):
    results: list[SuiteResult]
    checks: list[FloorCheck]
    report: Path
    seconds: dict[str, float]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def _run_suite(name: str, target: str, fast: bool) -> SuiteResult:
    module_name, function_name = target.split(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        return SuiteResult(suite=name, skipped=f"{target} is not available: {exc}")
    try:
        result = function(fast=fast)
    except Exception as exc:  # a crashing suite is reported with its traceback, and fails its floors
        return SuiteResult(suite=name, skipped=f"crashed: {exc!r}", misses=traceback.format_exc().splitlines())
    return result if result.suite == name else result.model_copy(update={"suite": name})


def run_all(out: Path, fast: bool = False, only: list[str] | None = None, progress=None) -> EvalRun:
    results, seconds = [], {}
    for name, target in SUITES.items():
        if only and name not in only:
            continue
        if progress:
            progress(name)
        started = time.perf_counter()
        results.append(_run_suite(name, target, fast))
        seconds[name] = round(time.perf_counter() - started, 2)
    metrics = {r.suite: r.metrics for r in results if not r.skipped}
    optional = OPTIONAL | (FULL_ONLY if fast else set())
    attempted = {r.suite for r in results if not r.skipped or r.suite not in optional}
    skipped = {r.suite: r.skipped for r in results if r.skipped}
    checks = [  # a required suite that did not run: its floors fail with the reason it gave
        c.model_copy(update={"reason": skipped[suite]})
        if c.reason == "metric missing" and (suite := c.key.split(".")[0]) in skipped
        else c
        for c in check_floors(load_floors(), metrics, ran=attempted)
    ]
    return EvalRun(results=results, checks=checks, report=write_report(results, checks, out), seconds=seconds)
