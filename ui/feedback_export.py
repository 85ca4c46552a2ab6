"""Reviewer feedback out of the audit store: every record as JSONL, or overrides as eval regression cases.

An override says "the engine answered X, the right answer is Y" for a fully recorded input: the submission
keeps the observations, the protocol version and the criteria with the rules as applied. Each overridden
criterion verdict becomes one case in the format of eval/gold/verdict_cases.yaml (eval.verdict_eval.GoldCase:
id, source, family, protocol_id, version, label, kind, text, rules, observations, demographics, on_date,
expected, why), so `eval/` can run reviewer overrides as regression cases (eval/gold/override_cases.jsonl).

Only items whose latest decision is an override count: a later confirm or flag supersedes it. A whole-assessment
override counts for the criteria the reviewer gave a verdict for; one without per-criterion verdicts, or a
submission without its criteria, cannot be a per-criterion case and is reported as skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reasoning.models import Finding
from ui.audit import AuditRecord, AuditStore, ItemKind, ItemStatus


class EvalExport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cases: list[dict[str, Any]] = Field(default_factory=list, description="GoldCase-shaped dicts")
    skipped: list[str] = Field(default_factory=list, description="overrides that could not become a case, and why")


def all_records(store: AuditStore) -> Iterator[dict[str, Any]]:
    for record in store.records():
        yield record.model_dump(mode="json")


def _case(record: AuditRecord, submitted: AuditRecord, finding: Finding, expected: str) -> dict[str, Any] | str:
    criterion = ((submitted.before or {}).get("criteria") or {}).get(finding.criterion_id)
    if criterion is None:
        return f"item {record.item_id}: criterion {finding.criterion_id} was submitted without its rules"
    demographics = next((o.demographics for o in finding.observations if o.demographics), None)
    dates = sorted(o.date for o in finding.observations if o.date)
    assessment = submitted.assessment
    return {
        "id": f"override-{record.item_id}-{finding.label}-{record.id}",
        "source": "reviewer_override",
        "family": "override",
        "protocol_id": assessment.protocol_id,
        "version": assessment.version,
        "label": criterion["label"],
        "kind": criterion["kind"],
        "text": criterion["text"],
        "rules": criterion["rules"],
        "observations": [
            o.model_dump(mode="json", exclude={"demographics"}, exclude_none=True) for o in finding.observations
        ],
        "demographics": demographics.model_dump(mode="json", exclude_none=True) if demographics else {},
        "on_date": dates[-1].isoformat() if dates else None,
        "expected": expected,
        "why": f"{record.actor} overrode {finding.verdict.value}: {record.reason or ''}".strip(),
    }


def eval_cases(store: AuditStore) -> EvalExport:
    export = EvalExport()
    # one read of the trail: an item's state holds its submission and its latest decision
    overridden = [s for s in store.items() if s.status is ItemStatus.OVERRIDDEN]
    for state in sorted(overridden, key=lambda s: s.latest.id or 0):
        record, submitted = state.latest, state.submitted
        assessment = submitted.assessment
        if assessment is None:
            export.skipped.append(f"item {record.item_id}: no assessment snapshot")
            continue
        after = record.after or {}
        by_id = {f.criterion_id: f for f in assessment.findings}
        if record.item_kind is ItemKind.FINDING:
            wanted = {(submitted.before or {}).get("criterion_id"): after.get("verdict")}
        else:
            wanted = dict(after.get("findings") or {})
            if not wanted:
                export.skipped.append(
                    f"item {record.item_id}: overall verdict overridden without a verdict per criterion"
                )
                continue
        for criterion_id, expected in wanted.items():
            finding = by_id.get(criterion_id)
            if finding is None or not expected or expected == finding.verdict.value:
                continue
            case = _case(record, submitted, finding, expected)
            if isinstance(case, str):
                export.skipped.append(case)
            else:
                export.cases.append(case)
    return export


def export_lines(store: AuditStore, as_eval: bool) -> tuple[list[str], list[str]]:
    """(JSON lines, notes about what was skipped)."""
    if as_eval:
        export = eval_cases(store)
        return [json.dumps(case, ensure_ascii=False) for case in export.cases], export.skipped
    return [json.dumps(row, sort_keys=True, ensure_ascii=False) for row in all_records(store)], []
