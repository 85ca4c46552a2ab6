"""The answer a CRA acts on: per-criterion findings with citations and arithmetic, and an overall verdict."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from ingest.models import CriterionKind
from labs.observation import LabObservation


class Verdict(str, Enum):
    MEETS = "MEETS"  # the criterion is satisfied (inclusion met / exclusion condition absent)
    VIOLATES = "VIOLATES"  # inclusion requirement not met, or exclusion condition holds
    INDETERMINATE = "INDETERMINATE"  # data missing or a condition unknown: the reason says which
    NOT_APPLICABLE = "NOT_APPLICABLE"
    # a person must look: a guardrail fired (LLM disagreed, citation not verbatim, ...), or a dose-modification
    # threshold is reached and whether the required action was taken is not in the lab data
    NEEDS_REVIEW = "NEEDS_REVIEW"


class OverallVerdict(str, Enum):
    DEVIATION = "DEVIATION"
    NO_DEVIATION = "NO_DEVIATION"
    NEEDS_REVIEW = "NEEDS_REVIEW"


class Citation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion_id: str
    protocol_id: str
    version: str
    label: str
    section: str | None = None
    page: int
    quote: str = Field(description="verbatim span of the criterion text")
    start: int | None = Field(default=None, description="offset of the quote in the criterion text")
    end: int | None = None
    verified: bool = Field(default=False, description="the quote was found verbatim in the cited criterion")


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion_id: str
    criterion_kind: CriterionKind
    label: str
    verdict: Verdict
    rationale: str
    arithmetic: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    observations: list[LabObservation] = Field(default_factory=list)
    rule_source: str = Field(default="parsed", description="parsed | reviewer | none (no parsed rule)")
    selected_because: list[str] = Field(default_factory=list)
    engine_verdict: Verdict | None = Field(default=None, description="the exact engine's verdict, when the LLM gave another")
    llm_verdict: Verdict | None = None
    notes: list[str] = Field(default_factory=list)
    waits_on: list[str] = Field(
        default_factory=list,
        description="INDETERMINATE: the facts the verdict hangs on (a condition, the sex, a missing value)",
    )


class Provenance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine_version: str
    model: str | None = None
    protocol_sha256: str | None = None
    created_at: dt.datetime
    llm_used: bool = False
    # Set where an assessment is made (reasoning.environment.lock_stamp()), never defaulted: a stored snapshot
    # read back must keep the environment that made it, not take on today's.
    environment_lock_sha256: str | None = Field(
        default=None, description="sha256 of requirements/app.lock the venv was installed from ('+drift': it differs)"
    )


class Assessment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str | None = None
    protocol_id: str
    version: str
    overall: OverallVerdict
    summary: str
    findings: list[Finding] = Field(default_factory=list)
    observations: list[LabObservation] = Field(default_factory=list)
    provenance: Provenance
    notes: list[str] = Field(default_factory=list, description="visible notes, e.g. an LLM fallback")
    guardrails: dict[str, int] = Field(
        default_factory=dict,
        description="how often each verification guardrail fired (llm_fallback, quote_not_verbatim, "
        "unknown_criterion, verdict_disagreement, ...); empty when no LLM was asked",
    )

    @staticmethod
    def overall_of(findings: list[Finding]) -> OverallVerdict:
        return Assessment.overall_of_verdicts(f.verdict for f in findings)

    @staticmethod
    def overall_of_verdicts(verdicts: Iterable[Verdict]) -> OverallVerdict:
        """Any violation is a deviation; otherwise anything unresolved (or nothing judged) needs review; never guess."""
        verdicts = set(verdicts)
        if Verdict.VIOLATES in verdicts:
            return OverallVerdict.DEVIATION
        if not verdicts or verdicts & {Verdict.INDETERMINATE, Verdict.NEEDS_REVIEW}:
            return OverallVerdict.NEEDS_REVIEW
        return OverallVerdict.NO_DEVIATION
