"""Nothing the model says is taken without a check.

The LLM's answer is merged into the engine's Assessment under these guardrails, each counted in
`Assessment.guardrails` so the evaluation can report how often they fire:

- llm_fallback: the server was down, timed out or answered garbage (non-JSON, schema-invalid) → the exact
  engine's assessment stands, with a visible note.
- unknown_criterion: the answer cites a criterion that was not retrieved → shown in the notes, never used.
- quote_not_verbatim: the quote is not a (whitespace-normalized) span of the cited criterion's text.
- verdict_disagreement: on a criterion with parsed rules, the LLM's verdict differs from the engine's.
- duplicate_criterion: several answers for one criterion (each is checked; any failure flags the finding).
- llm_silent: a criterion shown to the model that it did not address (the engine's verdict stands).

A flagged finding becomes NEEDS_REVIEW showing both sides (engine_verdict, llm_verdict, notes), except that an
engine VIOLATES is never downgraded: the deviation stands and the disagreement is noted (deviation_kept). So the
model can add review work but never remove a deviation, and an instruction planted in protocol text can change
no verdict the engine decides. On criteria without parsed rules the engine's INDETERMINATE stands; the model's
reading is only shown as a note.
"""

from __future__ import annotations

from collections import Counter

from pydantic import ValidationError

from ingest.models import Criterion, Protocol
from reasoning.assess import summarize
from reasoning.evaluate import citation_for, find_quote
from reasoning.llm import LLMClient, LLMError
from reasoning.models import Assessment, OverallVerdict, Verdict
from reasoning.prompts import LLMAnswer, answer_schema, build_messages, max_tokens_for, select_for_llm

GUARDRAILS = (
    "llm_fallback",
    "unknown_criterion",
    "quote_not_verbatim",
    "verdict_disagreement",
    "duplicate_criterion",
    "llm_silent",
    "deviation_kept",
)


def _fallback(assessment: Assessment, reason: str, model: str | None) -> Assessment:
    counts = Counter(assessment.guardrails)
    counts["llm_fallback"] += 1
    note = f"LLM not used ({reason}); the exact engine's assessment is shown"
    return assessment.model_copy(
        update={
            "notes": [*assessment.notes, note],
            "guardrails": dict(counts),
            "provenance": assessment.provenance.model_copy(update={"model": model, "llm_used": False}),
        }
    )


def apply_llm_answer(assessment: Assessment, answer: LLMAnswer, criteria: dict[str, Criterion], shown: list[str],
                     model: str | None = None) -> Assessment:
    """Merge a parsed LLM answer into the engine's assessment under the guardrails above (pure function)."""
    counts: Counter[str] = Counter({k: 0 for k in GUARDRAILS})
    counts.update(assessment.guardrails)
    notes = list(assessment.notes)
    findings = {f.criterion_id: f.model_copy(deep=True) for f in assessment.findings}
    engine = {f.criterion_id: f.verdict for f in assessment.findings}
    flagged: dict[str, list[str]] = {}
    addressed: Counter[str] = Counter()

    for item in answer.findings:
        if item.criterion_id not in findings or item.criterion_id not in shown or item.criterion_id not in criteria:
            counts["unknown_criterion"] += 1
            notes.append(
                f"LLM cited {item.criterion_id!r}, which was not among the retrieved criteria: not used"
                f" (its verdict {item.verdict}, quote {item.quote[:80]!r})"
            )
            continue
        addressed[item.criterion_id] += 1
        if addressed[item.criterion_id] == 2:
            counts["duplicate_criterion"] += 1
        finding, criterion = findings[item.criterion_id], criteria[item.criterion_id]
        llm_verdict = Verdict(item.verdict)
        problems: list[str] = []
        if find_quote(item.quote, criterion.text) is None:
            counts["quote_not_verbatim"] += 1
            problems.append(f"LLM quote is not verbatim in {criterion.label}: {item.quote[:120]!r}")
        has_rules = finding.rule_source != "none"
        if has_rules and llm_verdict is not engine[item.criterion_id]:
            counts["verdict_disagreement"] += 1
            problems.append(
                f"LLM verdict {llm_verdict.value} differs from the exact engine's {engine[item.criterion_id].value}"
            )
        if finding.llm_verdict is not None and finding.llm_verdict is not llm_verdict:
            problems.append(f"LLM gave two verdicts for this criterion ({finding.llm_verdict.value}, {llm_verdict.value})")
        finding.llm_verdict = llm_verdict
        if item.rationale:
            finding.notes.append(f"LLM rationale (unverified): {item.rationale[:200]}")
        if problems:
            flagged.setdefault(item.criterion_id, []).extend(problems)
            continue
        if not has_rules:
            finding.notes.append(f"LLM reading {llm_verdict.value} (no parsed rule to check it against; verdict unchanged)")
        else:
            finding.notes.append("LLM agrees with the exact engine; its quote is verbatim")
        if all(c.quote != item.quote for c in finding.citations):
            finding.citations.append(citation_for(criterion, item.quote))

    for criterion_id, problems in flagged.items():
        finding = findings[criterion_id]
        finding.engine_verdict = engine[criterion_id]
        finding.notes.extend(problems)
        if engine[criterion_id] is Verdict.VIOLATES:
            counts["deviation_kept"] += 1
            finding.notes.append("the exact engine's VIOLATES stands: an LLM answer never removes a deviation")
        else:
            finding.verdict = Verdict.NEEDS_REVIEW
    silent = [cid for cid in shown if cid in findings and not addressed[cid]]
    counts["llm_silent"] += len(silent)

    ordered = [findings[f.criterion_id] for f in assessment.findings]
    overall = Assessment.overall_of(ordered)
    if assessment.overall is OverallVerdict.NEEDS_REVIEW and overall is OverallVerdict.NO_DEVIATION:
        overall = OverallVerdict.NEEDS_REVIEW  # a review forced before the LLM (question problems) stays
    fired = {k: v for k, v in counts.items() if v and k != "llm_silent"}
    if fired:
        notes.append("LLM guardrails fired: " + ", ".join(f"{k} × {v}" for k, v in sorted(fired.items())))
    return assessment.model_copy(
        update={
            "findings": ordered,
            "overall": overall,
            "summary": summarize(assessment.protocol_id, assessment.version, overall, ordered),
            "notes": notes,
            "guardrails": dict(counts),
            "provenance": assessment.provenance.model_copy(update={"model": model, "llm_used": True}),
        }
    )


def review_with_llm(assessment: Assessment, protocol: Protocol, llm: LLMClient) -> Assessment:
    """Ask the LLM for a cited reading of the engine's findings and merge it under the guardrails."""
    by_id = {c.id: c for c in protocol.criteria}
    shown = [cid for cid in select_for_llm(assessment) if cid in by_id]
    if not shown:
        return _fallback(assessment, "no retrieved criterion to show it", llm.model)
    criteria = [by_id[cid] for cid in shown]
    try:
        data = llm.chat_json(
            build_messages(assessment, criteria), answer_schema(shown), max_tokens=max_tokens_for(len(shown))
        )
        answer = LLMAnswer.model_validate(data)
    except LLMError as exc:
        return _fallback(assessment, str(exc), llm.model)
    except ValidationError as exc:
        return _fallback(assessment, f"answer does not match the schema: {exc.errors()[0]['msg']}", llm.model)
    return apply_llm_answer(assessment, answer, {cid: by_id[cid] for cid in shown}, shown, llm.model)

