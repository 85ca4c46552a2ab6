"""`screen --llm`: only what the exact engine could not decide goes to the LLM, concurrently.

A finding is sent when it is INDETERMINATE or comes from a criterion without parsed rules; VIOLATES and
NEEDS_REVIEW findings, and every MEETS, stay on the exact engine. Findings are grouped per (patient, version) into
one Assessment each, reviewed by reasoning.verify.review_with_llm (schema-bound answer, citations verified, LLM
verdicts on parsed rules must equal the engine's; a server failure falls back to the engine with a note), and the
requests run through LLMClient.map, i.e. at most settings.llm_concurrency at a time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from ingest.models import Protocol
from reasoning.batch import PatientFinding, summarize
from reasoning.environment import lock_stamp
from reasoning.evaluate import ENGINE_VERSION
from reasoning.models import Assessment, Provenance, Verdict
from reasoning.verify import review_with_llm


def wants_llm(finding) -> bool:
    return finding.verdict is Verdict.INDETERMINATE or finding.rule_source == "none"


def review_findings(result, versions: list[Protocol], llm):
    by_version = {p.version: p for p in versions}
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position, pf in enumerate(result.findings):
        if wants_llm(pf.finding):
            groups[(pf.patient_id, pf.version)].append(position)
    if not groups:
        return result.model_copy(update={"notes": [*result.notes, "--llm: nothing undecided to send to the LLM"]})

    def review(key: tuple[str, str]) -> Assessment:
        patient_id, version = key
        findings = [result.findings[i].finding for i in groups[key]]
        protocol = by_version[version]
        assessment = Assessment(
            question=f"batch screening of patient {patient_id}", protocol_id=protocol.protocol_id, version=version,
            overall=Assessment.overall_of(findings), summary="", findings=findings,
            observations=[o for f in findings for o in f.observations],
            provenance=Provenance(engine_version=ENGINE_VERSION, protocol_sha256=protocol.sha256,
                                  created_at=dt.datetime.now(dt.timezone.utc),
                                  environment_lock_sha256=lock_stamp()),
        )
        return review_with_llm(assessment, protocol, llm)

    keys = list(groups)
    reviewed = llm.map(review, keys)
    findings = list(result.findings)
    fallbacks = 0
    reasons: set[str] = set()
    for key, assessment in zip(keys, reviewed):
        fallbacks += not assessment.provenance.llm_used
        reasons.update(n for n in assessment.notes if n.startswith("LLM not used"))
        by_id = {f.criterion_id: f for f in assessment.findings}
        for position in groups[key]:
            old = findings[position]
            new = by_id.get(old.finding.criterion_id)
            if new is not None:
                findings[position] = PatientFinding(**{**old.model_dump(exclude={"finding"}), "finding": new})
    notes = [*result.notes, f"--llm: {len(keys)} patient(s) with undecided findings sent to {llm.model}"
             + (f"; {fallbacks} fell back to the exact engine" if fallbacks else ""), *sorted(reasons)[:3]]
    # the LLM may move a finding (e.g. to NEEDS_REVIEW): recount criteria and patients from the new verdicts
    new = {(pf.patient_id, pf.version, pf.finding.criterion_id): pf.finding.verdict.value for pf in findings}
    pair_verdicts = [(p, v, c, new.get((p, v, c), verdict)) for p, v, c, verdict in result.pair_verdicts]
    counts, overall = summarize(pair_verdicts, versions, list(result.patients))
    return result.model_copy(update={"findings": findings, "notes": notes, "llm_used": fallbacks < len(keys),
                                     "pair_verdicts": pair_verdicts, "criteria": counts, "patients": overall})
