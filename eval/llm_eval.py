"""The verdict gold cases through the LLM path: how often the guarded answer agrees with the exact engine, and how
often each guardrail fired. Runs only when TRIALGUARD_LLM_URL is set (a vLLM or other OpenAI-compatible server).

Each case becomes a one-criterion assessment by the exact engine, which the LLM then reviews under the verifier;
agreement is measured on the merged verdicts, so a guardrail that turns a finding into NEEDS_REVIEW counts as a
disagreement (the reviewer has work to do), while an engine VIOLATES that the guardrails kept counts as agreement.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter

from eval.result import SuiteResult
from eval.verdict_eval import load_cases
from ingest.models import Page, Protocol
from reasoning.assess import summarize
from reasoning.environment import lock_stamp
from reasoning.evaluate import ENGINE_VERSION, judge_criterion
from reasoning.llm import LLMClient
from reasoning.models import Assessment, Provenance, Verdict
from reasoning.verify import review_with_llm
from ui.settings import Settings

FAST_CASES, FULL_CASES = 8, 60


def _engine_assessment(case) -> tuple[Assessment, Protocol]:
    criterion = case.criterion()
    finding = judge_criterion(criterion, case.observations, case.demographics, case.reference_ranges, case.on_date)
    overall = Assessment.overall_of([finding])
    assessment = Assessment(
        protocol_id=case.protocol_id, version=case.version, overall=overall,
        summary=summarize(case.protocol_id, case.version, overall, [finding]), findings=[finding],
        observations=case.observations,
        provenance=Provenance(engine_version=ENGINE_VERSION, created_at=dt.datetime.now(dt.timezone.utc),
                              environment_lock_sha256=lock_stamp()),
    )
    protocol = Protocol(protocol_id=case.protocol_id, version=case.version, source_file="eval/gold/verdict_cases.yaml",
                        sha256="-", pages=[Page(number=1, text=criterion.text, char_start=0)], criteria=[criterion])
    return assessment, protocol


def run(fast: bool = False) -> SuiteResult:
    cases = load_cases()
    sample = random.Random(11).sample(cases, min(len(cases), FAST_CASES if fast else FULL_CASES))
    llm = LLMClient.from_settings(Settings())
    guardrails: Counter = Counter()
    latencies, misses, agree, violations_lost = [], [], 0, 0

    def review(case):
        assessment, protocol = _engine_assessment(case)
        started = time.perf_counter()
        reviewed = review_with_llm(assessment, protocol, llm)
        return case, assessment, reviewed, (time.perf_counter() - started) * 1000

    try:
        for case, engine, reviewed, ms in llm.map(review, sample):
            latencies.append(ms)
            guardrails.update(reviewed.guardrails)
            same = [f.verdict for f in reviewed.findings] == [f.verdict for f in engine.findings]
            agree += same
            violations_lost += any(e.verdict is Verdict.VIOLATES and r.verdict is not Verdict.VIOLATES
                                   for e, r in zip(engine.findings, reviewed.findings))
            if not same:
                misses.append(f"{case.id}: engine {engine.findings[0].verdict.value}, after LLM review "
                              f"{[f.verdict.value for f in reviewed.findings]} ({'; '.join(reviewed.notes)[:200]})")
    finally:
        llm.close()
    n = len(sample)
    return SuiteResult(
        suite="llm",
        metrics={"agreement_with_engine": agree / n if n else 0.0, "violations_lost": violations_lost,
                 **{f"guardrail_{name}_per_case": count / n for name, count in guardrails.items()}},
        counts={"cases": n, **{f"guardrail_{name}": count for name, count in guardrails.items()}},
        misses=misses,
        latencies_ms=latencies,
    )
