"""The audit trail's hash chain: each record seals its own content and the record before it.

A regulated audit trail must show that nothing was changed after the fact, even by someone with write access to the
database file. SQLite's triggers refuse UPDATE and DELETE through SQL, but not `INSERT OR REPLACE`, a dropped
trigger, or an edit of the file itself. So every record carries

    record_hash = sha256(prev_hash + canonical JSON of the record, its id included)

and `verify` walks the records in id order, recomputing each hash. A changed, replaced, deleted or inserted record
breaks the chain at that record; a record dated before the one it follows is named as back-dated. Records written
before the chain existed (NULL hash) are accepted only at the start, and counted as unprotected.

What it relies on: nobody rewrites the whole chain from the tampered record to the end. Against that, keep the head
hash (`trialguard audit verify` prints it) somewhere the database's writers cannot reach.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict

GENESIS = "0" * 64
# The fields a record's hash seals, in the store's column names; a new column is added here with its migration.
SEALED = (
    "id", "item_id", "item_kind", "action", "actor", "actor_verified", "created_at", "reason", "comment", "flag_kind",
    "before_json", "after_json", "snapshot_json", "protocol_id", "protocol_version", "protocol_sha256",
    "engine_version", "model", "environment_lock_sha256",
)


def _utc_iso(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone; we write UTC
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def canonical(row: dict[str, Any]) -> str:
    """The record as the chain sees it: sealed fields only, sorted keys, times in UTC, no whitespace."""
    return json.dumps({key: _utc_iso(row.get(key)) for key in SEALED}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)


def record_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(row)).encode("utf-8")).hexdigest()


class ChainReport(BaseModel):
    """What `verify` found; `intact` only when every hashed record checks and nothing follows a break."""

    model_config = ConfigDict(extra="forbid")

    records: int
    sealed: int
    unprotected: int = 0
    head_hash: str | None = None
    first_break_id: int | None = None
    problems: list[str] = []

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        if self.intact:
            head = f"; head {self.head_hash}" if self.head_hash else ""
            older = f"; {self.unprotected} older record(s) predate the chain" if self.unprotected else ""
            return f"audit chain intact: {self.sealed} of {self.records} record(s) sealed{older}{head}"
        where = f" at record {self.first_break_id}" if self.first_break_id is not None else ""
        more = f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 else ""
        return f"audit trail NOT intact{where}: {self.problems[0]}{more}"


def verify(rows: list[dict[str, Any]]) -> ChainReport:
    """Walk the rows (dicts of the store's columns, any order) and say where the chain breaks, if it does."""
    rows = sorted(rows, key=lambda r: r["id"])
    problems: list[str] = []
    first_break: int | None = None
    prev_hash, prev_time, unprotected, sealed, chain_started = GENESIS, None, 0, 0, False

    def broken(row_id: int, why: str) -> None:
        nonlocal first_break
        problems.append(f"record {row_id}: {why}")
        first_break = row_id if first_break is None else first_break

    for row in rows:
        stored, stored_prev = row.get("record_hash"), row.get("prev_hash")
        if stored is None and not chain_started:
            unprotected += 1
            prev_time = row.get("created_at") or prev_time
            continue
        chain_started = True
        if stored is None:
            broken(row["id"], "has no hash inside the chain (inserted around the store)")
            continue
        if stored_prev != prev_hash:
            broken(row["id"], "does not follow the record before it (a record was deleted, replaced or inserted)")
        elif record_hash(stored_prev, row) != stored:
            broken(row["id"], "its content does not match its hash (changed after it was written)")
        else:
            sealed += 1
        created = _utc_iso(row.get("created_at"))
        if prev_time is not None and created is not None and created < _utc_iso(prev_time):
            broken(row["id"], f"is dated {created}, before the record it follows ({_utc_iso(prev_time)}): back-dated")
        prev_hash, prev_time = stored, row.get("created_at")
    return ChainReport(records=len(rows), sealed=sealed, unprotected=unprotected,
                       head_hash=prev_hash if chain_started else None, first_break_id=first_break, problems=problems)
