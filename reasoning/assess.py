"""One CRA question → one Assessment: the protocol version in force, every criterion that governs the observed
analytes decided by the exact engine, and (optionally) an LLM's cited reading checked by the verifier.

Which criteria: every criterion of the version in force whose parsed rules concern an observed analyte (or one
derivable from them, e.g. CrCl from creatinine) is judged, whether or not the semantic search ranked it: the
engine is cheap and a missed rule would be a missed deviation. Search hits without parsed rules are shown as
INDETERMINATE ("reviewer must read the clause") only when they are inclusion, exclusion or discontinuation
criteria whose text names an observed analyte: that keeps clauses the rule parser could not read in front of the
reviewer, without burying the answer under every loosely similar paragraph.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import labs
from ingest.models import Criterion, CriterionKind, Protocol
from labs.errors import ConfigError, TrialGuardError
from labs.observation import Demographics, LabObservation
from reasoning.environment import lock_stamp
from reasoning.evaluate import ENGINE_VERSION, canonical_code, derivable, judge_criterion, merge_demographics
from reasoning.models import Assessment, Finding, OverallVerdict, Provenance, Verdict
from retrieval.question import parse_question

_RULELESS_KINDS = {CriterionKind.INCLUSION, CriterionKind.EXCLUSION, CriterionKind.DISCONTINUATION}
_ORDER = {
    Verdict.VIOLATES: 0,
    Verdict.NEEDS_REVIEW: 1,
    Verdict.INDETERMINATE: 2,
    Verdict.MEETS: 3,
    Verdict.NOT_APPLICABLE: 4,
}


@lru_cache(maxsize=512)
def _name_pattern(code: str) -> re.Pattern[str] | None:
    """Words that name an analyte in free text: its code, name and synonyms (short ones case-sensitive)."""
    try:
        analyte = labs.analyte(code)
    except TrialGuardError:
        return None
    names = {analyte.code, analyte.name, *analyte.synonyms}
    parts = []
    for name in sorted(names, key=len, reverse=True):
        escaped = re.escape(name).replace(r"\ ", r"\s+")
        parts.append(escaped if len(name) <= 4 else f"(?i:{escaped})")
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(parts) + r")(?![A-Za-z0-9])")


def mentions(text: str, codes: set[str]) -> list[str]:
    return [code for code in sorted(codes) if (p := _name_pattern(code)) is not None and p.search(text)]


def _with_codes(observations: list[LabObservation]) -> tuple[list[LabObservation], list[str]]:
    """Observations with catalog codes; unknown analytes are reported, never guessed."""
    out, notes = [], []
    for obs in observations:
        try:
            code = labs.analyte(obs.analyte).code
        except TrialGuardError:
            notes.append(f"unknown analyte {obs.analyte!r}: not judged")
            continue
        out.append(obs if code == obs.analyte else obs.model_copy(update={"analyte": code}))
    return out, notes


def _merge_demographics(demographics: Demographics | None, observations: list[LabObservation]) -> Demographics:
    merged = demographics or Demographics()
    for obs in observations:
        merged = merge_demographics(merged, obs.demographics)
    return merged


def summarize(protocol_id: str, version: str, overall: OverallVerdict, findings: list[Finding]) -> str:
    """The one-line answer, templated from the findings (no model writes it)."""
    count = lambda v: sum(f.verdict is v for f in findings)  # noqa: E731
    if not findings:
        return f"No criterion of {protocol_id} v{version} concerns these values; a reviewer should confirm."
    head = {
        OverallVerdict.DEVIATION: "Deviation",
        OverallVerdict.NEEDS_REVIEW: "Needs review",
        OverallVerdict.NO_DEVIATION: "No deviation",
    }[overall]
    parts = [f"{count(v)} {v.value.lower().replace('_', ' ')}" for v in _ORDER if count(v)]
    violated = [f.label for f in findings if f.verdict is Verdict.VIOLATES]
    tail = f"; violated: {', '.join(violated)}" if violated else ""
    # the headline names what an undecided criterion waits on, so the CRA knows which fact to find
    waiting = [f"{f.criterion_kind.value} {f.label} waits on {', '.join(f.waits_on)}"
               for f in findings if f.verdict is Verdict.INDETERMINATE and f.waits_on]
    tail += f"; {'; '.join(waiting)}" if waiting else ""
    return f"{head} against {protocol_id} v{version}: {len(findings)} criteria judged ({', '.join(parts)}){tail}."


class Assessor:
    """Answers questions against an indexed protocol; `llm` (a reasoning.llm.LLMClient) is optional."""

    def __init__(self, index, llm=None, *, top_k: int = 8):
        if index is None:
            raise TypeError("Assessor needs a retrieval.index.ProtocolIndex")
        if top_k < 1:
            raise ConfigError(f"Assessor top_k must be >= 1, got {top_k}")
        self.index = index
        self.llm = llm
        self.top_k = top_k
        self._protocols: dict[tuple[str, str], Protocol] = {}

    # ------------------------------------------------------------------------------------------------ lookup
    def protocol(self, protocol_id: str, on_date: dt.date | None) -> Protocol:
        version = self.index.version_in_force(protocol_id, on_date)
        key = (protocol_id, version)
        if key not in self._protocols:
            self._protocols[key] = self.index.protocol(protocol_id, version)
        return self._protocols[key]

    def _candidates(self, observations, protocol_id, on_date) -> dict[str, object]:
        hits = self.index.search(observations, protocol_id, on_date=on_date, top_k=self.top_k)
        return {hit.criterion.id: hit for hit in hits}

    # ------------------------------------------------------------------------------------------------ deterministic
    def engine_findings(
        self,
        protocol: Protocol,
        observations: list[LabObservation],
        demographics: Demographics,
        on_date: dt.date | None,
        hits: dict[str, object],
    ) -> list[Finding]:
        observed = {canonical_code(o.analyte) for o in observations}
        findings: list[Finding] = []
        judged: set[str] = set()
        for criterion in protocol.criteria:
            if criterion.kind is CriterionKind.CONTEXT or not criterion.rules:
                continue
            targets = sorted({canonical_code(r.analyte) for r in criterion.rules if derivable(canonical_code(r.analyte), observed)})
            if not targets:
                continue
            finding = judge_criterion(
                criterion, observations, demographics, protocol.reference_ranges, on_date, protocol=protocol
            )
            hit = hits.get(criterion.id)
            why = list(getattr(hit, "why", []) or [])
            finding.selected_because = why or [f"parsed rule on {', '.join(targets)}"]
            findings.append(finding)
            judged.add(criterion.id)
        for criterion_id, hit in hits.items():
            criterion: Criterion = hit.criterion
            if criterion_id in judged or criterion.rules or criterion.kind not in _RULELESS_KINDS:
                continue
            named = mentions(criterion.text, observed)
            if not named:
                continue
            finding = judge_criterion(criterion, observations, demographics, protocol.reference_ranges, on_date, protocol=protocol)
            finding.selected_because = list(getattr(hit, "why", []) or []) + [f"text names {', '.join(named)}"]
            findings.append(finding)
        findings.sort(key=lambda f: _ORDER[f.verdict])
        return findings

    # ------------------------------------------------------------------------------------------------ public
    def assess(
        self,
        observations: list[LabObservation],
        protocol_id: str,
        on_date: dt.date | None = None,
        demographics: Demographics | None = None,
        question: str | None = None,
        *,
        use_llm: bool = True,
    ) -> Assessment:
        notes: list[str] = []
        coded, problems = _with_codes(list(observations))
        notes.extend(problems)
        demo = _merge_demographics(demographics, coded)
        if on_date is None:
            dates = [o.date for o in coded if o.date is not None]
            on_date = max(dates) if dates else None
        protocol = self.protocol(protocol_id, on_date)
        hits = self._candidates(coded, protocol_id, on_date) if coded else {}
        findings = self.engine_findings(protocol, coded, demo, on_date, hits)
        if on_date is None:
            notes.append(f"no date given: judged against the latest version ({protocol.version})")
        if not coded:
            notes.append("no observation could be judged")
        overall = Assessment.overall_of(findings)
        if problems and overall is OverallVerdict.NO_DEVIATION:
            overall = OverallVerdict.NEEDS_REVIEW
        assessment = Assessment(
            question=question,
            protocol_id=protocol.protocol_id,
            version=protocol.version,
            overall=overall,
            summary=summarize(protocol.protocol_id, protocol.version, overall, findings),
            findings=findings,
            observations=coded,
            provenance=Provenance(
                engine_version=ENGINE_VERSION,
                protocol_sha256=protocol.sha256,
                created_at=dt.datetime.now(dt.timezone.utc),
                environment_lock_sha256=lock_stamp(),
            ),
            notes=notes,
        )
        if self.llm is not None and use_llm and findings:
            from reasoning.verify import review_with_llm

            assessment = review_with_llm(assessment, protocol, self.llm)
        return assessment

    def ask(self, question_text: str, protocol_id: str, on_date: dt.date | None = None, *, use_llm: bool = True) -> Assessment:
        """Parse a free-text question and judge what it says; every parser problem is a visible note.

        The overall verdict follows the findings (Assessment.overall_of): an engine VIOLATES is a DEVIATION
        whatever else is unsure. A part of the question that was not read (ParsedQuestion.unread) only stops a
        clean answer: NO_DEVIATION becomes NEEDS_REVIEW, because no finding stands for that part. A value read
        without its unit is not unread: the engine already leaves each limit that needs the unit INDETERMINATE.
        """
        parsed = parse_question(question_text)
        date = on_date or parsed.date
        observations = list(parsed.observations)
        if parsed.patient_id:
            observations = [o if o.patient_id else o.model_copy(update={"patient_id": parsed.patient_id}) for o in observations]
        if date is not None:
            observations = [o if o.date else o.model_copy(update={"date": date}) for o in observations]
        assessment = self.assess(observations, protocol_id, date, parsed.demographics, question_text, use_llm=use_llm)
        problems = [f"question: {p}" for p in parsed.problems]
        unread = list(parsed.unread)
        if not observations:
            problems.append("question: no lab value could be read from it")
            unread = unread or ["no value"]
        if problems:
            update: dict = {"notes": problems + assessment.notes}
            if unread and assessment.overall is not OverallVerdict.DEVIATION:
                update["overall"] = OverallVerdict.NEEDS_REVIEW
                update["summary"] = (
                    f"Needs review: the question could not be read completely ({'; '.join(unread)})."
                    f" Engine: {assessment.summary}"
                )
            elif unread and assessment.overall is OverallVerdict.DEVIATION:
                # the deviation stands; what was not read is said beside it, never instead of it
                update["summary"] = f"{assessment.summary} Not read from the question: {'; '.join(unread)}."
            assessment = assessment.model_copy(update=update)
        return assessment
