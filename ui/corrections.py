"""Reviewer corrections of a criterion's parsed rules: versioned, audited, applied to every later assessment.

A correction replaces the whole rule list of one criterion of one protocol version. It is written to the
append-only audit store as a RULE_CORRECTED record (before = the rules it replaced, after = the new rules and
the correction's version number), so the latest record per criterion is the rule set in force and every
earlier one stays readable. Corrected rules carry `source="reviewer"`, which findings report as their
`rule_source`.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from ingest.models import Criterion, LabRule, Protocol
from ui.audit import Action, AuditError, AuditRecord, AuditStore, ItemKind, open_store


class RuleCorrection(BaseModel):
    """One reviewer correction, as read back from the audit store."""

    model_config = ConfigDict(extra="forbid")

    record_id: int
    criterion_id: str
    protocol_id: str
    protocol_version: str
    correction_version: int = Field(description="1 for the first correction of this criterion, then 2, 3, ...")
    rules: list[LabRule]
    replaced: list[LabRule]
    actor: str
    reason: str
    created_at: dt.datetime


def _as_reviewer_rule(rule: LabRule, criterion: Criterion) -> LabRule:
    """A corrected rule must still cite the criterion verbatim; its offsets are recomputed from the quote."""
    quote = rule.quote.strip()
    start = criterion.text.find(quote) if quote else -1
    if start < 0:
        raise AuditError(
            f"criterion {criterion.id}: the quote {quote!r} is not a verbatim span of the criterion text; "
            "a corrected rule must cite the words it is read from"
        )
    return rule.model_copy(update={"quote": quote, "start": start, "end": start + len(quote), "source": "reviewer"})


def record_correction(
    store: AuditStore,
    criterion: Criterion,
    rules: list[LabRule],
    *,
    actor: str,
    reason: str,
    protocol_sha256: str | None = None,
    actor_verified: bool = False,
) -> RuleCorrection:
    """Store a new version of `criterion`'s rules; the reason is required, like an override's."""
    if not (actor or "").strip():
        raise AuditError("a reviewer name is required")
    if not (reason or "").strip():
        raise AuditError("a rule correction needs a reason")
    corrected = [_as_reviewer_rule(rule, criterion) for rule in rules]
    previous = corrections_of(store, criterion.id)
    replaced = previous[-1].rules if previous else criterion.rules
    record = store.append(
        AuditRecord(
            item_id=criterion.id,
            item_kind=ItemKind.RULE,
            action=Action.RULE_CORRECTED,
            actor=actor,
            actor_verified=actor_verified,
            created_at=dt.datetime.now(dt.UTC),
            reason=reason.strip(),
            before={"rules": [r.model_dump(mode="json") for r in replaced]},
            after={
                "rules": [r.model_dump(mode="json") for r in corrected],
                "correction_version": len(previous) + 1,
            },
            protocol_id=criterion.protocol_id,
            protocol_version=criterion.version,
            protocol_sha256=protocol_sha256,
        )
    )
    return _correction_of(record)


def _correction_of(record: AuditRecord) -> RuleCorrection:
    after = record.after or {}
    return RuleCorrection(
        record_id=record.id or 0,
        criterion_id=record.item_id,
        protocol_id=record.protocol_id or "",
        protocol_version=record.protocol_version or "",
        correction_version=int(after.get("correction_version", 1)),
        rules=[LabRule.model_validate(r) for r in after.get("rules", [])],
        replaced=[LabRule.model_validate(r) for r in (record.before or {}).get("rules", [])],
        actor=record.actor,
        reason=record.reason or "",
        created_at=record.created_at,
    )


def corrections_of(store: AuditStore, criterion_id: str) -> list[RuleCorrection]:
    """Every correction of one criterion, oldest first."""
    records = store.records(item_id=criterion_id, actions=[Action.RULE_CORRECTED], item_kinds=[ItemKind.RULE])
    return [_correction_of(r) for r in records]


def corrections_in_force(
    store: AuditStore, protocol_id: str | None = None, version: str | None = None
) -> dict[str, RuleCorrection]:
    """The latest correction per criterion id (optionally of one protocol version)."""
    latest: dict[str, RuleCorrection] = {}
    for record in store.records(actions=[Action.RULE_CORRECTED], item_kinds=[ItemKind.RULE]):
        if protocol_id is not None and record.protocol_id != protocol_id:
            continue
        if version is not None and record.protocol_version != version:
            continue
        latest[record.item_id] = _correction_of(record)  # records come oldest first: the last one wins
    return latest


def apply_to_criterion(criterion: Criterion, corrections: dict[str, RuleCorrection]) -> Criterion:
    correction = corrections.get(criterion.id)
    if correction is None:
        return criterion
    return criterion.model_copy(update={"rules": [r.model_copy() for r in correction.rules]})


def apply_corrections(protocol: Protocol, store: AuditStore | None = None) -> Protocol:
    """The protocol with every criterion's rules replaced by its latest reviewer correction, if any."""
    store = store or open_store()
    corrections = corrections_in_force(store, protocol.protocol_id, protocol.version)
    if not corrections:
        return protocol
    return protocol.model_copy(update={"criteria": [apply_to_criterion(c, corrections) for c in protocol.criteria]})


class CorrectedIndex:
    """A ProtocolIndex seen through the reviewers' corrections: what the Assessor should be given.

    `protocol()` returns protocols with corrected rules, and `search()` returns candidates whose criteria carry
    the corrected rules; a criterion a reviewer gave a rule on an analyte the parser missed becomes a
    candidate for that analyte too (the index itself only knows the parsed rules). Everything else is the
    wrapped index's own behaviour.
    """

    def __init__(self, index, store: AuditStore | None = None, *, pinned_version: str | None = None):
        self._index = index
        self._store = store or open_store()
        # a version the user chose explicitly (Ask page): judged against it whatever the lab date
        self._pinned = pinned_version
        # read once per view: build_assessor makes a view per request, and a batch must not query per row
        self._by_protocol: dict[str, dict[str, RuleCorrection]] = {}

    def _corrections(self, protocol_id: str) -> dict[str, RuleCorrection]:
        if protocol_id not in self._by_protocol:
            self._by_protocol[protocol_id] = corrections_in_force(self._store, protocol_id)
        return self._by_protocol[protocol_id]

    def __getattr__(self, name: str):  # version_in_force, protocols, versions, ingest, ...
        return getattr(self._index, name)

    @property
    def wrapped(self):
        return self._index

    def version_in_force(self, protocol_id: str, on_date=None) -> str:
        if self._pinned is not None:
            self._index.protocol(protocol_id, self._pinned)  # raises the index's own error for an unknown version
            return self._pinned
        return self._index.version_in_force(protocol_id, on_date)

    def protocol(self, protocol_id: str, version: str | None = None) -> Protocol:
        protocol = self._index.protocol(protocol_id, version or self._pinned)
        corrections = {
            cid: c for cid, c in self._corrections(protocol_id).items() if c.protocol_version == protocol.version
        }
        if not corrections:
            return protocol
        return protocol.model_copy(update={"criteria": [apply_to_criterion(c, corrections) for c in protocol.criteria]})

    def search(self, observations, protocol_id: str, on_date=None, top_k: int = 5, kinds=None):
        observations = list(observations)
        if self._pinned is not None:
            # search the pinned version: the index picks the version in force on its effective date
            info = next(v for v in self._index.versions(protocol_id) if v.version == self._pinned)
            if info.effective_date is not None:
                on_date = info.effective_date
            candidates = [
                c for c in self._index.search(observations, protocol_id, on_date, top_k, kinds)
                if c.criterion.version == self._pinned
            ]
        else:
            candidates = self._index.search(observations, protocol_id, on_date, top_k, kinds)
        corrections = self._corrections(protocol_id)
        if not corrections:
            return candidates
        from retrieval.models import Candidate

        corrected = [
            c.model_copy(update={"criterion": apply_to_criterion(c.criterion, corrections)}) for c in candidates
        ]
        seen = {c.criterion.id for c in corrected}
        for observation in observations:
            version = self.version_in_force(protocol_id, on_date or observation.date)
            related = set(self._index.related_analytes(observation.analyte))
            for criterion in self.protocol(protocol_id, version).criteria:
                if criterion.id in seen or criterion.id not in corrections:
                    continue
                if kinds is not None and criterion.kind not in kinds:
                    continue
                if related & {rule.analyte for rule in criterion.rules}:
                    seen.add(criterion.id)
                    corrected.append(
                        Candidate(
                            criterion=criterion,
                            score=1.0,
                            why=[f"reviewer-corrected rule on {observation.analyte}"],
                            analytes=[observation.analyte],
                        )
                    )
        return sorted(corrected, key=lambda c: -c.score)

    def search_many(self, observations, protocol_id: str, on_date=None, top_k: int = 5, kinds=None):
        return [self.search([o], protocol_id, on_date, top_k, kinds) for o in observations]
