"""The audit store: append-only at the database level, no lost records under concurrent writers."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from ui.audit import Action, AuditError, AuditStore, FlagKind, ItemKind, ItemStatus

WRITES_PER_WRITER = 50


def _write_many(url: str, writer: str, n: int, store: AuditStore | None = None) -> None:
    """One writer: processes open their own engine; threads share one store, as app sessions do."""
    from conftest import make_assessment

    store = store or AuditStore(url)
    assessment = make_assessment()
    for i in range(n):
        store.submit(assessment, actor=writer, comment=f"{writer}#{i}")


def test_submit_then_review_derives_queue_state(store, assessment):
    submitted = store.submit(assessment, actor="Dr Ada")
    assert [s.item_id for s in store.queue()] == [submitted.item_id]
    assert submitted.snapshot["overall"] == "DEVIATION"
    assert submitted.protocol_sha256 == "ab" * 32 and submitted.engine_version == "0.1.0"

    store.review(submitted.item_id, Action.CONFIRMED, actor="Dr Ada", comment="agree")
    state = store.item(submitted.item_id)
    assert state.status is ItemStatus.CONFIRMED
    assert [r.action for r in state.history] == [Action.SUBMITTED, Action.CONFIRMED]
    assert store.queue() == []
    # the earlier record is untouched: history is a list of records, not a mutable row
    assert state.history[0].action is Action.SUBMITTED and state.history[0].comment is None


def test_override_needs_reason_and_keeps_before_after(store, assessment):
    item = store.submit(assessment, actor="rev").item_id
    with pytest.raises(AuditError, match="reason"):
        store.review(item, Action.OVERRIDDEN, actor="rev", new_verdict="NO_DEVIATION")
    with pytest.raises(AuditError, match="reviewer name"):
        store.review(item, Action.CONFIRMED, actor="  ")
    record = store.review(item, Action.OVERRIDDEN, actor="rev", reason="lab repeated, normal", new_verdict="NO_DEVIATION")
    assert record.before == {"overall": "DEVIATION"} and record.after == {"overall": "NO_DEVIATION"}
    assert store.item(item).status is ItemStatus.OVERRIDDEN


def test_flag_needs_kind_and_comment_and_finding_items(store, assessment):
    finding = assessment.findings[0]
    item = store.submit(assessment, actor="rev", finding=finding).item_id
    assert store.item(item).item_kind is ItemKind.FINDING
    with pytest.raises(AuditError, match="comment"):
        store.review(item, Action.FLAGGED, actor="rev", flag_kind=FlagKind.WRONG_CITATION)
    rec = store.review(item, Action.FLAGGED, actor="rev", flag_kind=FlagKind.WRONG_PARSE, comment="threshold is 3x")
    assert rec.flag_kind is FlagKind.WRONG_PARSE and rec.before["criterion_id"] == finding.criterion_id
    assert store.item(item).status is ItemStatus.FLAGGED


def test_update_and_delete_are_refused_by_the_database(store, assessment):
    record = store.submit(assessment, actor="rev")
    with store.engine.begin() as conn, pytest.raises((OperationalError, IntegrityError), match="append-only"):
        conn.execute(text("UPDATE audit_records SET actor='mallory' WHERE id=:id"), {"id": record.id})
    with store.engine.begin() as conn, pytest.raises((OperationalError, IntegrityError), match="append-only"):
        conn.execute(text("DELETE FROM audit_records WHERE id=:id"), {"id": record.id})
    # and through a raw sqlite3 connection, bypassing our code entirely
    raw = sqlite3.connect(store.url.removeprefix("sqlite:///"))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE audit_records SET reason='edited'")
    raw.close()
    assert store.records()[0].actor == "rev" and store.count() == 1
    assert not any(hasattr(store, name) for name in ("update", "delete", "edit", "remove"))


@pytest.mark.slow
def test_eight_concurrent_writers_threads_and_processes_lose_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'concurrent.db'}"
    shared = AuditStore(url)  # schema first, as the app does at start
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=_write_many, args=(url, f"proc{i}", WRITES_PER_WRITER)) for i in range(4)]
    threads = [threading.Thread(target=_write_many, args=(url, f"thread{i}", WRITES_PER_WRITER, shared)) for i in range(4)]
    for worker in processes + threads:
        worker.start()
    for worker in processes + threads:
        worker.join(timeout=120)
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]

    records = AuditStore(url).records()
    assert len(records) == 8 * WRITES_PER_WRITER
    written = {r.comment for r in records}
    expected = {f"{kind}{i}#{n}" for kind in ("proc", "thread") for i in range(4) for n in range(WRITES_PER_WRITER)}
    assert written == expected
    assert len({r.id for r in records}) == len(records)
    report = AuditStore(url).verify_chain()
    assert report.intact and report.sealed == 8 * WRITES_PER_WRITER, report.problems


def test_bad_db_url_is_a_config_error():
    from labs.errors import ConfigError

    with pytest.raises(ConfigError, match="TRIALGUARD_DB_URL"):
        AuditStore("not-a-url")

LOCK_SHA = hashlib.sha256((Path(__file__).resolve().parents[2] / "requirements" / "app.lock").read_bytes()).hexdigest()


def test_audit_records_carry_the_lock_and_an_older_store_gains_the_column(tmp_path):
    from conftest import make_assessment
    from ui.audit import AuditStore

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:  # a store made before the column existed, with one record in it
        conn.execute("CREATE TABLE audit_records (id INTEGER PRIMARY KEY AUTOINCREMENT, item_id VARCHAR(200) NOT NULL,"
                     " item_kind VARCHAR(16) NOT NULL, action VARCHAR(32) NOT NULL, actor VARCHAR(200) NOT NULL,"
                     " actor_verified INTEGER NOT NULL, created_at DATETIME NOT NULL, reason TEXT, comment TEXT,"
                     " flag_kind VARCHAR(32), before_json TEXT, after_json TEXT, snapshot_json TEXT,"
                     " protocol_id VARCHAR(200), protocol_version VARCHAR(100), protocol_sha256 VARCHAR(64),"
                     " engine_version VARCHAR(100), model VARCHAR(200))")
        conn.execute("INSERT INTO audit_records (item_id, item_kind, action, actor, actor_verified, created_at)"
                     " VALUES ('old-1', 'assessment', 'submitted', 'Dr Old', 0, '2026-01-01 00:00:00')")
    store = AuditStore(f"sqlite:///{db}")
    record = store.submit(make_assessment(), actor="Dr Ada")
    assert record.environment_lock_sha256 == LOCK_SHA
    assert store.item(record.item_id).history[0].environment_lock_sha256 == LOCK_SHA
    assert store.item("old-1").history[0].environment_lock_sha256 is None  # unknown, not claimed
