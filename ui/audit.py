"""The append-only feedback and audit store: every reviewer action is a new record, nothing is edited in place.

SQLite in the data dir by default (WAL, busy timeout, retries, so eight concurrent writers lose nothing);
PostgreSQL for a team (TRIALGUARD_DB_URL=postgresql+psycopg://...). On both, triggers refuse UPDATE and DELETE
(and TRUNCATE on PostgreSQL) at the database level; on PostgreSQL the owner creates the schema and the app's role
gets only `app_role_grants`. Other databases get no such enforcement: the store offers no update or delete API.

Every record is sealed into a hash chain (ui/audit_chain.py), so an edit that gets past the database (a REPLACE, a
dropped trigger, the file edited) is still found by `verify_chain`.

Queue state is never stored: it is derived from the latest record of each item.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
import uuid
from collections.abc import Iterable
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from ingest.models import Criterion
from labs.errors import ConfigError, TrialGuardError
from reasoning.environment import lock_stamp
from ui.audit_chain import GENESIS, ChainReport, record_hash, verify
from reasoning.models import Assessment, Finding
from ui.settings import Settings


class AuditError(TrialGuardError):
    """A reviewer action that cannot be recorded as asked (missing reviewer, missing reason, unknown item)."""


class Action(str, Enum):
    SUBMITTED = "submitted"  # an assessment (or one finding of it) was sent to review
    CONFIRMED = "confirmed"
    OVERRIDDEN = "overridden"  # the reviewer replaced the verdict; `reason` required, `after` holds the new one
    FLAGGED = "flagged"  # wrong citation / wrong parse / missing criterion; comment required
    RULE_CORRECTED = "rule_corrected"  # a criterion's parsed rules replaced by a reviewer (ui/corrections.py)


class FlagKind(str, Enum):
    WRONG_CITATION = "wrong_citation"
    WRONG_PARSE = "wrong_parse"
    MISSING_CRITERION = "missing_criterion"


class ItemKind(str, Enum):
    ASSESSMENT = "assessment"
    FINDING = "finding"
    RULE = "rule"


class ItemStatus(str, Enum):
    AWAITING_REVIEW = "awaiting_review"
    CONFIRMED = "confirmed"
    OVERRIDDEN = "overridden"
    FLAGGED = "flagged"
    CORRECTED = "corrected"


_STATUS_OF_ACTION = {
    Action.SUBMITTED: ItemStatus.AWAITING_REVIEW,
    Action.CONFIRMED: ItemStatus.CONFIRMED,
    Action.OVERRIDDEN: ItemStatus.OVERRIDDEN,
    Action.FLAGGED: ItemStatus.FLAGGED,
    Action.RULE_CORRECTED: ItemStatus.CORRECTED,
}


class AuditRecord(BaseModel):
    """One row of the store as read back; `id` grows with every write."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    item_id: str
    item_kind: ItemKind
    action: Action
    actor: str = Field(description="the reviewer name as typed, or the proxy-authenticated user")
    actor_verified: bool = Field(default=False, description="actor came from a trusted SSO proxy header")
    created_at: dt.datetime
    reason: str | None = None
    comment: str | None = None
    flag_kind: FlagKind | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = Field(default=None, description="the assessment as it was shown (JSON)")
    protocol_id: str | None = None
    protocol_version: str | None = None
    protocol_sha256: str | None = None
    engine_version: str | None = None
    model: str | None = None
    environment_lock_sha256: str | None = Field(
        default=None, description="the lock of the environment that wrote the record (reasoning.environment)"
    )

    @field_validator("actor")
    @classmethod
    def _actor_named(cls, value: str) -> str:
        value = (value or "").strip()
        if not value:
            raise ValueError("a reviewer name is required")
        return value

    @property
    def assessment(self) -> Assessment | None:
        return Assessment.model_validate(self.snapshot) if self.snapshot else None


class ItemState(BaseModel):
    """An item's queue state, derived from its records: the latest one decides."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    item_kind: ItemKind
    status: ItemStatus
    submitted: AuditRecord
    latest: AuditRecord
    history: list[AuditRecord]


metadata = MetaData()

audit_records = Table(
    "audit_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(200), nullable=False, index=True),
    Column("item_kind", String(16), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_verified", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text),
    Column("comment", Text),
    Column("flag_kind", String(32)),
    Column("before_json", Text),
    Column("after_json", Text),
    Column("snapshot_json", Text),
    Column("protocol_id", String(200)),
    Column("protocol_version", String(100)),
    Column("protocol_sha256", String(64)),
    Column("engine_version", String(100)),
    Column("model", String(200)),
    Column("environment_lock_sha256", String(80)),
    Column("prev_hash", String(64)),  # ui/audit_chain.py: the record before this one, sealed
    Column("record_hash", String(64)),
)

# One row whose update every writer makes first: it serialises writers (SQLite's write lock, PostgreSQL's row lock)
# so each new record chains to the true last one. It holds no audit data.
audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("writes", Integer, nullable=False),
)

# The database itself refuses edits, so no code path (ours or an ad-hoc sqlite3 shell) can rewrite history.
_SQLITE_APPEND_ONLY = {
    "audit_records_no_update": """CREATE TRIGGER IF NOT EXISTS audit_records_no_update BEFORE UPDATE ON audit_records
       BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: UPDATE refused'); END""",
    "audit_records_no_delete": """CREATE TRIGGER IF NOT EXISTS audit_records_no_delete BEFORE DELETE ON audit_records
       BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: DELETE refused'); END""",
}

# PostgreSQL: the same refusal by triggers (TRUNCATE too), made by the owner role; the app's role is granted only
# what `app_role_grants` lists, so it can neither edit rows nor drop the triggers. Order matters: function first.
_POSTGRES_APPEND_ONLY = {
    "audit_records_append_only_fn": """CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_records is append-only: % refused', TG_OP; END $$""",
    "audit_records_no_update": """CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
       FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()""",
    "audit_records_no_delete": """CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
       FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()""",
    "audit_records_no_truncate": """CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
       FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only()""",
}


def app_role_grants(role: str) -> list[str]:
    """What the owner of a PostgreSQL audit store runs so that the app's role can append and read, and nothing
    more: no UPDATE, DELETE or TRUNCATE of records, no DDL (so no dropped trigger). The head row is the writers'
    lock (see audit_chain_head) and holds no audit data."""
    if not role.replace("_", "").isalnum():
        raise ConfigError(f"role name {role!r}: letters, digits and _ only")
    return [
        f"REVOKE ALL ON audit_records, audit_chain_head FROM {role}",
        f"GRANT SELECT, INSERT ON audit_records TO {role}",
        f"GRANT SELECT, UPDATE ON audit_chain_head TO {role}",
    ]


_BUSY_TIMEOUT_MS = 30_000
_WRITE_RETRIES = 12


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _load(value: str | None) -> dict[str, Any] | None:
    return None if value is None else json.loads(value)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone; we only write UTC


class AuditStore:
    """Append and read audit records. There is deliberately no update or delete method."""

    def __init__(self, url: str):
        if not url or "://" not in url:
            raise ConfigError(f"TRIALGUARD_DB_URL must be a SQLAlchemy URL such as sqlite:///path.db, got {url!r}")
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgres = url.startswith("postgresql")
        connect_args: dict[str, Any] = {}
        if self.is_sqlite:
            connect_args = {"timeout": _BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        try:
            self.engine: Engine = create_engine(url, connect_args=connect_args, future=True)
        except Exception as exc:  # bad driver name, malformed URL
            raise ConfigError(f"TRIALGUARD_DB_URL {url!r} cannot be used: {exc}") from exc
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.unreadable: list[str] = []  # records that could not be read back, each named by id and why
        self.tamper_signs: list[str] = []  # found when the store was opened (e.g. a dropped trigger)
        try:
            self._retry_write(self._create_schema)
        except DatabaseError as exc:
            raise AuditError(
                f"audit store {self.location} cannot be opened ({exc.orig or exc}). It is not re-created: restore it "
                "from a backup, or move it aside to start a new one."
            ) from exc

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> AuditStore:
        settings = settings or Settings()
        if not settings.db_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.resolved_db_url)

    @property
    def location(self) -> str:
        return self.engine.url.database if self.is_sqlite and self.engine.url.database else self.engine.url.render_as_string()

    def _create_schema(self) -> None:
        metadata.create_all(self.engine)
        self._add_new_columns()
        with self.engine.begin() as conn:
            if conn.execute(select(audit_chain_head.c.id)).first() is None:
                conn.execute(insert(audit_chain_head).values(id=1, writes=0))
        triggers = _SQLITE_APPEND_ONLY if self.is_sqlite else _POSTGRES_APPEND_ONLY if self.is_postgres else {}
        with self.engine.begin() as conn:
            present = self._trigger_names(conn)
            has_records = conn.execute(select(audit_records.c.id).limit(1)).first() is not None
            for name, ddl in triggers.items():
                if name in present:
                    continue
                if has_records:  # made with records already in: it was dropped
                    self.tamper_signs.append(f"trigger {name} was missing when the store was opened (re-created)")
                conn.execute(text(ddl))

    def _trigger_names(self, conn) -> set[str]:
        if self.is_sqlite:
            return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        if self.is_postgres:
            return set(conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_records'::regclass AND NOT tgisinternal"
            )).scalars()) | ({"audit_records_append_only_fn"} if conn.execute(text(
                "SELECT 1 FROM pg_proc WHERE proname = 'audit_records_append_only'")).first() else set())
        return set()

    def _add_new_columns(self) -> None:
        """A store made by an older TrialGuard lacks the columns added since; adding one rewrites no record (those
        written before read NULL there: unknown, which is the truth)."""
        present = {column["name"] for column in inspect(self.engine).get_columns(audit_records.name)}
        missing = [column for column in audit_records.columns if column.name not in present]
        for column in missing:
            ddl = f"ALTER TABLE {audit_records.name} ADD COLUMN {column.name} {column.type.compile(self.engine.dialect)}"
            try:
                with self.engine.begin() as conn:
                    conn.execute(text(ddl))
            except OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise
                if "duplicate column" in str(exc):  # another process added it first
                    continue
                raise AuditError(f"audit store {self.url}: cannot add column {column.name} ({exc})") from exc

    def _retry_write(self, fn, *args):
        """SQLite serialises writers; under contention a writer may still see 'database is locked'."""
        for attempt in range(_WRITE_RETRIES):
            try:
                return fn(*args)
            except OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if attempt == _WRITE_RETRIES - 1:
                    raise AuditError(f"audit store {self.url} stayed locked; record not written: {exc}") from exc
                time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))

    # -- writing -------------------------------------------------------------------------------------------

    def append(self, record: AuditRecord) -> AuditRecord:
        """Write one new record and return it with its id."""
        if record.environment_lock_sha256 is None:
            record = record.model_copy(update={"environment_lock_sha256": lock_stamp()})
        row = {
            "item_id": record.item_id,
            "item_kind": record.item_kind.value,
            "action": record.action.value,
            "actor": record.actor,
            "actor_verified": int(record.actor_verified),
            "created_at": record.created_at,
            "reason": record.reason,
            "comment": record.comment,
            "flag_kind": record.flag_kind.value if record.flag_kind else None,
            "before_json": _dump(record.before),
            "after_json": _dump(record.after),
            "snapshot_json": _dump(record.snapshot),
            "protocol_id": record.protocol_id,
            "protocol_version": record.protocol_version,
            "protocol_sha256": record.protocol_sha256,
            "engine_version": record.engine_version,
            "model": record.model,
            "environment_lock_sha256": record.environment_lock_sha256,
        }

        def _write() -> int:
            with self.engine.begin() as conn:
                # the write lock first, then the true last record: no other writer can slip in between
                conn.execute(update(audit_chain_head).where(audit_chain_head.c.id == 1)
                             .values(writes=audit_chain_head.c.writes + 1))
                last = conn.execute(select(audit_records.c.id, audit_records.c.record_hash, audit_records.c.created_at)
                                    .order_by(audit_records.c.id.desc()).limit(1)).first()
                # stamped under the lock, so the trail's times never run backwards (a back-dated record is a sign
                # of tampering); a system clock stepped back is held at the last record's time
                created = _now()
                if last is not None and last.created_at is not None:
                    created = max(created, _aware(last.created_at))
                sealed = {**row, "id": (last.id if last else 0) + 1, "created_at": created}
                sealed["prev_hash"] = (last.record_hash if last else None) or GENESIS
                sealed["record_hash"] = record_hash(sealed["prev_hash"], sealed)
                conn.execute(insert(audit_records).values(**sealed))
                return sealed["id"], created

        new_id, created = self._retry_write(_write)
        return record.model_copy(update={"id": new_id, "created_at": created})

    def submit(
        self,
        assessment: Assessment,
        *,
        actor: str,
        finding: Finding | None = None,
        comment: str | None = None,
        actor_verified: bool = False,
        criteria: list[Criterion] | None = None,
    ) -> AuditRecord:
        """Send an assessment (or one of its findings) to the review queue; returns the SUBMITTED record.

        `criteria`: the judged criteria as the engine applied them (rules after reviewer corrections); kept
        with the submission so the audit shows which rule decided, and an override can become an eval case.
        """
        before: dict[str, Any] = {"overall": assessment.overall.value}
        kind = ItemKind.ASSESSMENT
        if finding is not None:
            kind = ItemKind.FINDING
            before = {"verdict": finding.verdict.value, "criterion_id": finding.criterion_id, "label": finding.label}
        judged = {f.criterion_id for f in ([finding] if finding is not None else assessment.findings)}
        if criteria:
            before["criteria"] = {
                c.id: {"label": c.label, "kind": c.kind.value, "text": c.text,
                       "rules": [r.model_dump(mode="json", exclude={"start", "end"}) for r in c.rules]}
                for c in criteria
                if c.id in judged
            }
        return self.append(
            AuditRecord(
                item_id=uuid.uuid4().hex[:16],
                item_kind=kind,
                action=Action.SUBMITTED,
                actor=actor,
                actor_verified=actor_verified,
                created_at=_now(),
                comment=comment,
                before=before,
                snapshot=_snapshot(assessment, finding),
                **_provenance(assessment),
            )
        )

    def review(
        self,
        item_id: str,
        action: Action,
        *,
        actor: str,
        reason: str | None = None,
        comment: str | None = None,
        flag_kind: FlagKind | None = None,
        new_verdict: str | None = None,
        finding_verdicts: dict[str, str] | None = None,
        actor_verified: bool = False,
    ) -> AuditRecord:
        """Record a reviewer's Confirm / Override / Flag on a queued item, as a new record.

        An override of a whole assessment may also give the reviewer's verdict per criterion
        (`finding_verdicts`, criterion id -> verdict): those become eval cases on export.
        """
        if not (actor or "").strip():
            raise AuditError("a reviewer name is required")
        state = self.item(item_id)
        if state is None:
            raise AuditError(f"no review item {item_id!r} in {self.url}")
        reason = (reason or "").strip() or None
        comment = (comment or "").strip() or None
        if action is Action.OVERRIDDEN:
            if not reason:
                raise AuditError("an override needs a reason")
            if not new_verdict:
                raise AuditError("an override needs the reviewer's verdict")
        elif action is Action.FLAGGED:
            if flag_kind is None:
                raise AuditError("a flag needs its kind: wrong citation, wrong parse or missing criterion")
            if not comment:
                raise AuditError("a flag needs a comment saying what is wrong")
        elif action is not Action.CONFIRMED:
            raise AuditError(f"{action.value!r} is not a review action (confirm, override, flag)")
        # before is the item's state as the reviewer found it (after an earlier override, the overridden verdict);
        # the judged criteria stay in the submission record only
        current = state.latest.after if state.latest.after is not None else state.submitted.before
        before = {k: v for k, v in (current or {}).items() if k != "criteria"}
        verdict_key = "verdict" if state.item_kind is ItemKind.FINDING else "overall"
        after = dict(before)
        if action is Action.OVERRIDDEN:
            after[verdict_key] = new_verdict
            if finding_verdicts:
                after["findings"] = dict(finding_verdicts)
        first = state.submitted
        return self.append(
            AuditRecord(
                item_id=item_id,
                item_kind=state.item_kind,
                action=action,
                actor=actor,
                actor_verified=actor_verified,
                created_at=_now(),
                reason=reason,
                comment=comment,
                flag_kind=flag_kind,
                before=before,
                after=after,
                snapshot=first.snapshot,
                protocol_id=first.protocol_id,
                protocol_version=first.protocol_version,
                protocol_sha256=first.protocol_sha256,
                engine_version=first.engine_version,
                model=first.model,
            )
        )

    # -- reading -------------------------------------------------------------------------------------------

    def records(
        self,
        *,
        item_id: str | None = None,
        actions: Iterable[Action] | None = None,
        item_kinds: Iterable[ItemKind] | None = None,
    ) -> list[AuditRecord]:
        query = select(audit_records).order_by(audit_records.c.id)
        if item_id is not None:
            query = query.where(audit_records.c.item_id == item_id)
        if actions is not None:
            query = query.where(audit_records.c.action.in_([a.value for a in actions]))
        if item_kinds is not None:
            query = query.where(audit_records.c.item_kind.in_([k.value for k in item_kinds]))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        records = []
        for row in rows:
            try:
                records.append(_record_of(row))
            except (ValueError, TypeError, KeyError) as exc:  # bad JSON, an unknown action: that record only
                note = f"record {row['id']} of {self.location} cannot be read: {str(exc).splitlines()[0]}"
                if note not in self.unreadable:
                    self.unreadable.append(note)
        return records

    def verify_chain(self) -> ChainReport:
        """Recompute the hash chain over every record (ui/audit_chain.py) and add what opening the store found."""
        with self.engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(select(audit_records)).mappings()]
        report = verify(rows)
        if self.tamper_signs:
            report = report.model_copy(update={"problems": [*report.problems, *self.tamper_signs]})
        return report

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM audit_records")).scalar_one()

    def items(self, kinds: Iterable[ItemKind] = (ItemKind.ASSESSMENT, ItemKind.FINDING)) -> list[ItemState]:
        """Every reviewable item with its state; newest submissions first."""
        grouped: dict[str, list[AuditRecord]] = {}
        for record in self.records(item_kinds=kinds):
            grouped.setdefault(record.item_id, []).append(record)
        states = [_state_of(history) for history in grouped.values()]
        states = [s for s in states if s is not None]
        return sorted(states, key=lambda s: s.submitted.id or 0, reverse=True)

    def item(self, item_id: str) -> ItemState | None:
        return _state_of(self.records(item_id=item_id))

    def queue(self) -> list[ItemState]:
        """Items awaiting review: their latest record is the submission."""
        return [s for s in self.items() if s.status is ItemStatus.AWAITING_REVIEW]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; the busy timeout makes writers wait instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _record_of(row: Any) -> AuditRecord:
    created = row["created_at"]
    if created.tzinfo is None:  # SQLite drops the zone; we only ever write UTC
        created = created.replace(tzinfo=dt.UTC)
    return AuditRecord(
        id=row["id"],
        item_id=row["item_id"],
        item_kind=ItemKind(row["item_kind"]),
        action=Action(row["action"]),
        actor=row["actor"],
        actor_verified=bool(row["actor_verified"]),
        created_at=created,
        reason=row["reason"],
        comment=row["comment"],
        flag_kind=FlagKind(row["flag_kind"]) if row["flag_kind"] else None,
        before=_load(row["before_json"]),
        after=_load(row["after_json"]),
        snapshot=_load(row["snapshot_json"]),
        protocol_id=row["protocol_id"],
        protocol_version=row["protocol_version"],
        protocol_sha256=row["protocol_sha256"],
        engine_version=row["engine_version"],
        model=row["model"],
        environment_lock_sha256=row["environment_lock_sha256"],
    )


def _state_of(history: list[AuditRecord]) -> ItemState | None:
    if not history:
        return None
    submitted = next((r for r in history if r.action is Action.SUBMITTED), history[0])
    latest = history[-1]
    return ItemState(
        item_id=latest.item_id,
        item_kind=latest.item_kind,
        status=_STATUS_OF_ACTION[latest.action],
        submitted=submitted,
        latest=latest,
        history=history,
    )


def _snapshot(assessment: Assessment, finding: Finding | None) -> dict[str, Any]:
    # The whole assessment, even for one finding: the reviewer judged it in that context. `before` names the finding.
    return assessment.model_dump(mode="json")


def _provenance(assessment: Assessment) -> dict[str, Any]:
    return {
        "protocol_id": assessment.protocol_id,
        "protocol_version": assessment.version,
        "protocol_sha256": assessment.provenance.protocol_sha256,
        "engine_version": assessment.provenance.engine_version,
        "model": assessment.provenance.model,
    }


_stores: dict[str, AuditStore] = {}
_stores_lock = threading.Lock()


def open_store(settings: Settings | None = None) -> AuditStore:
    """One store (engine, connection pool) per URL per process."""
    settings = settings or Settings()
    url = settings.resolved_db_url
    with _stores_lock:
        if url not in _stores:
            _stores[url] = AuditStore.from_settings(settings)
        return _stores[url]
