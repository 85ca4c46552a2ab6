"""Adapters from each gold set's own evaluator to the harness's `run(fast) -> SuiteResult` shape."""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
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


def _normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _judge_cases(cases) -> SuiteResult:
    """Every case through the exact engine: verdicts, the unsafe miss, and whether each citation is verbatim."""
    from reasoning.evaluate import judge_criterion
    from reasoning.models import Verdict

    confusion: dict[str, Counter] = defaultdict(Counter)
    per_analyte: dict[str, list[bool]] = defaultdict(list)
    misses, missed_violations = [], 0
    citations = verbatim = cited_right = decided = decided_cited = 0
    for case in cases:
        criterion = case.criterion()
        finding = judge_criterion(criterion, case.observations, case.demographics, case.reference_ranges,
                                  case.on_date)
        ok = finding.verdict is case.expected
        confusion[case.expected.value][finding.verdict.value] += 1
        for analyte in {o.analyte for o in case.observations}:
            per_analyte[analyte].append(ok)
        if not ok:
            missed_violations += case.expected is Verdict.VIOLATES
            misses.append(f"{case.id}: expected {case.expected.value}, got {finding.verdict.value} — "
                          f"{finding.rationale}")
        for citation in finding.citations:
            citations += 1
            verbatim += _normalized(citation.quote) in _normalized(criterion.text)
            cited_right += citation.criterion_id == criterion.id
        if finding.verdict in (Verdict.MEETS, Verdict.VIOLATES):
            decided += 1
            decided_cited += any(c.criterion_id == criterion.id for c in finding.citations)
    n = len(cases)
    correct = sum(confusion[e][e] for e in confusion)
    return SuiteResult(
        suite="verdicts",
        metrics={
            "accuracy": correct / n if n else 0.0,
            "missed_violations": missed_violations,
            "citation_verbatim_rate": verbatim / citations if citations else 0.0,
            "citation_precision": cited_right / citations if citations else 0.0,
            "citation_recall": decided_cited / decided if decided else 0.0,
        },
        counts={"cases": n, "correct": correct, "citations": citations,
                "violations_in_gold": sum(c.expected is Verdict.VIOLATES for c in cases)},
        misses=misses,
        confusion={e: dict(g) for e, g in confusion.items()},
        per_analyte={a: sum(v) / len(v) for a, v in per_analyte.items()},
    )


def verdicts(fast: bool = False) -> SuiteResult:
    from eval.verdict_eval import load_cases

    return _judge_cases(load_cases())


def overrides(fast: bool = False) -> SuiteResult:
    """Reviewer overrides exported with `trialguard feedback export --as-eval` become regression cases."""
    from eval.verdict_eval import GoldCase

    if not OVERRIDE_CASES.exists() or not OVERRIDE_CASES.read_text().strip():
        return SuiteResult(suite="overrides", skipped=f"no exported reviewer overrides in {OVERRIDE_CASES.name} yet")
    cases = [GoldCase.model_validate(json.loads(line)) for line in OVERRIDE_CASES.read_text().splitlines() if line]
    result = _judge_cases(cases)
    return result.model_copy(update={"suite": "overrides"})


def llm(fast: bool = False) -> SuiteResult:
    if not os.environ.get("TRIALGUARD_LLM_URL"):
        return SuiteResult(suite="llm", skipped="TRIALGUARD_LLM_URL is not set (the LLM path is optional)")
    from eval.llm_eval import run

    return run(fast=fast)
