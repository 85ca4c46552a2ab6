"""Adapters from each gold set's own evaluator to the harness's `run(fast) -> SuiteResult` shape."""

from __future__ import annotations

import json
import os
from pathlib import Path

from eval.result import SuiteResult

OVERRIDE_CASES = Path(__file__).resolve().parent / "gold" / "override_cases.jsonl"


def rule_extraction(fast: bool = False) -> SuiteResult:
    from eval.rule_extraction import evaluate

    result = evaluate(show_misses=True)
    precision, recall = result["precision"], result["recall"]
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SuiteResult(
        suite="rule_extraction",
        metrics={"precision": precision, "recall": recall, "f1": f1, "strict_precision": result["strict_precision"]},
        counts={"lab_like_pairs": result["lab_like_pairs"], "scored_gold": result["scored_gold"],
                "extracted": result["extracted"]},
        misses=[str(m) for m in result.get("misses", [])] + [f"false alarm: {f}" for f in result.get("false_alarms", [])],
    )


def overrides(fast: bool = False) -> SuiteResult:
    """Reviewer overrides exported with `trialguard feedback export --as-eval` become regression cases."""
    from eval.verdict_eval import GoldCase, judge_cases

    if not OVERRIDE_CASES.exists() or not OVERRIDE_CASES.read_text().strip():
        return SuiteResult(suite="overrides", skipped=f"no exported reviewer overrides in {OVERRIDE_CASES.name} yet")
    cases = [GoldCase.model_validate(json.loads(line)) for line in OVERRIDE_CASES.read_text().splitlines() if line]
    return judge_cases(cases, suite="overrides")


def llm(fast: bool = False) -> SuiteResult:
    if not os.environ.get("TRIALGUARD_LLM_URL"):
        return SuiteResult(suite="llm", skipped="TRIALGUARD_LLM_URL is not set (the LLM path is optional)")
    from eval.llm_eval import run

    return run(fast=fast)
