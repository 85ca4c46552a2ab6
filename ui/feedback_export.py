"""Reviewer feedback out of the audit store: every record as JSONL, or overrides as eval regression cases.

An override says "the engine answered X, the right answer is Y" for a fully recorded input (the assessment
snapshot holds the question, observations, protocol version and engine version), which is exactly an eval
case. Only items whose latest decision is an override are exported: a later confirm or flag supersedes it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field

from labs.observation import Demographics, LabObservation
from ui.audit import Action, AuditRecord, AuditStore, ItemKind

DECISIONS = (Action.CONFIRMED, Action.OVERRIDDEN, Action.FLAGGED)


class OverrideCase(BaseModel):
    """One eval case from a reviewer override (eval/gold/override_cases.jsonl format)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    source: str = "reviewer_override"
    question: str | None = None
    protocol_id: str
    version: str
    on_date: dt.date | None = None
    observations: list[LabObservation]
    demographics: Demographics | None = None
    criterion_id: str | None = Field(default=None, description="set when one finding was overridden")
    expected_overall: str | None = Field(default=None, description="the reviewer's overall verdict")
    expected_verdict: str | None = Field(default=None, description="the reviewer's verdict of criterion_id")
    engine_answer: str = Field(description="what the engine said, which the reviewer rejected")
    reason: str
    reviewer: str
    reviewed_at: dt.datetime
    engine_version: str | None = None
    model: str | None = None
    protocol_sha256: str | None = None
    audit_record_id: int


def all_records(store: AuditStore) -> Iterator[dict[str, Any]]:
    for record in store.records():
        yield record.model_dump(mode="json")


def _latest_decisions(store: AuditStore) -> list[AuditRecord]:
    latest: dict[str, AuditRecord] = {}
    for record in store.records(actions=DECISIONS, item_kinds=[ItemKind.ASSESSMENT, ItemKind.FINDING]):
        latest[record.item_id] = record
    return list(latest.values())


def override_case(record: AuditRecord) -> OverrideCase | None:
    assessment = record.assessment
    if assessment is None or record.action is not Action.OVERRIDDEN:
        return None
    before, after = record.before or {}, record.after or {}
    finding = record.item_kind is ItemKind.FINDING
    dates = sorted(o.date for o in assessment.observations if o.date)
    demographics = next((o.demographics for o in assessment.observations if o.demographics), None)
    return OverrideCase(
        id=f"override-{record.item_id}-{record.id}",
        question=assessment.question,
        protocol_id=assessment.protocol_id,
        version=assessment.version,
        on_date=dates[-1] if dates else None,
        observations=[o.model_copy(update={"demographics": None}) for o in assessment.observations],
        demographics=demographics,
        criterion_id=before.get("criterion_id") if finding else None,
        expected_overall=None if finding else after.get("overall"),
        expected_verdict=after.get("verdict") if finding else None,
        engine_answer=str(before.get("verdict") if finding else before.get("overall")),
        reason=record.reason or "",
        reviewer=record.actor,
        reviewed_at=record.created_at,
        engine_version=record.engine_version,
        model=record.model,
        protocol_sha256=record.protocol_sha256,
        audit_record_id=record.id or 0,
    )


def override_cases(store: AuditStore) -> list[OverrideCase]:
    cases = [override_case(r) for r in _latest_decisions(store)]
    return sorted((c for c in cases if c is not None), key=lambda c: c.audit_record_id)


def export_lines(store: AuditStore, as_eval: bool) -> Iterator[str]:
    if as_eval:
        for case in override_cases(store):
            yield case.model_dump_json()
    else:
        for row in all_records(store):
            yield json.dumps(row, sort_keys=True)
