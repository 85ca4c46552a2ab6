"""The audit trail is tamper-evident: each record seals its content and the record before it, so a changed,
replaced, deleted, inserted or back-dated record is named by `verify`, even where SQLite cannot refuse the edit."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from typer.testing import CliRunner

from ui.audit import Action, AuditError, AuditStore


@pytest.fixture
def filled(tmp_path, assessment):
    db = tmp_path / "audit.db"
    store = AuditStore(f"sqlite:///{db}")
    items = [store.submit(assessment, actor=f"Dr {name}") for name in ("Ada", "Bo", "Cy")]
    store.review(items[0].item_id, Action.CONFIRMED, actor="Dr Ada")
    store.review(items[1].item_id, Action.OVERRIDDEN, actor="Dr Bo", reason="ULN was the lab's", new_verdict="NO_DEVIATION")
    return db, store


def reopen(db) -> AuditStore:
    return AuditStore(f"sqlite:///{db}")


def raw(db, sql: str, *params) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(sql, params)


def test_an_untouched_trail_is_intact_and_every_record_is_sealed(filled):
    db, store = filled
    report = store.verify_chain()
    assert report.intact, report.problems
    assert report.records == report.sealed == 5 and report.head_hash and len(report.head_hash) == 64


def test_insert_or_replace_of_a_record_breaks_the_chain_at_that_record(filled):
    db, _ = filled
    # SQLite's UPDATE trigger does not fire on REPLACE: the row is deleted and re-inserted with new content
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT * FROM audit_records WHERE id = 2").fetchone()
        names = [d[0] for d in conn.execute("SELECT * FROM audit_records LIMIT 0").description]
        changed = dict(zip(names, row)) | {"actor": "Dr Mallory"}
        conn.execute(f"REPLACE INTO audit_records ({', '.join(changed)}) VALUES ({', '.join('?' * len(changed))})",
                     list(changed.values()))
    report = reopen(db).verify_chain()
    assert not report.intact and report.first_break_id == 2
    assert "content does not match its hash" in report.problems[0]


def test_a_deleted_record_with_its_trigger_dropped_is_found(filled):
    db, _ = filled
    raw(db, "DROP TRIGGER audit_records_no_delete")
    raw(db, "DELETE FROM audit_records WHERE id = 3")
    report = reopen(db).verify_chain()
    assert report.first_break_id == 4 and "does not follow the record before it" in report.problems[0]
    assert any("audit_records_no_delete was missing" in p for p in report.problems)


def test_a_row_inserted_around_the_store_is_found(filled):
    db, _ = filled
    raw(db, "INSERT INTO audit_records (item_id, item_kind, action, actor, actor_verified, created_at) "
            "VALUES ('forged', 'assessment', 'confirmed', 'Dr Mallory', 0, '2026-12-01 00:00:00.000000')")
    report = reopen(db).verify_chain()
    assert report.first_break_id == 6 and "no hash inside the chain" in report.problems[0]


def test_a_back_dated_record_is_named_even_with_a_recomputed_hash(filled):
    db, store = filled
    from ui.audit_chain import record_hash

    with sqlite3.connect(db) as conn:  # a forger who knows the scheme appends a sealed record dated last year
        conn.row_factory = sqlite3.Row
        last = dict(conn.execute("SELECT * FROM audit_records ORDER BY id DESC LIMIT 1").fetchone())
        forged = last | {"id": last["id"] + 1, "created_at": "2025-01-01 00:00:00.000000", "actor": "Dr Mallory",
                         "prev_hash": last["record_hash"]}
        forged["record_hash"] = record_hash(forged["prev_hash"], forged | {"created_at": dt.datetime(2025, 1, 1)})
        conn.execute(f"INSERT INTO audit_records ({', '.join(forged)}) VALUES ({', '.join('?' * len(forged))})",
                     list(forged.values()))
    report = reopen(db).verify_chain()
    assert not report.intact and "back-dated" in report.problems[0] and report.first_break_id == 6


def test_before_is_the_items_current_state_not_the_submissions(filled, assessment):
    _, store = filled
    item = store.submit(assessment, actor="Dr Ada")
    store.review(item.item_id, Action.OVERRIDDEN, actor="Dr Bo", reason="wrong ULN", new_verdict="NO_DEVIATION")
    second = store.review(item.item_id, Action.OVERRIDDEN, actor="Dr Cy", reason="ULN right after all",
                          new_verdict="DEVIATION")
    assert second.before["overall"] == "NO_DEVIATION" and second.after["overall"] == "DEVIATION"


def test_one_unreadable_record_is_reported_and_the_rest_are_read(filled):
    db, _ = filled
    raw(db, "DROP TRIGGER audit_records_no_update")
    raw(db, "UPDATE audit_records SET snapshot_json = '{not json' WHERE id = 2")
    store = reopen(db)
    records = store.records()
    assert [r.id for r in records] == [1, 3, 4, 5]
    assert len(store.unreadable) == 1 and "record 2" in store.unreadable[0] and str(db) in store.unreadable[0]
    assert not store.verify_chain().intact


def test_a_corrupt_database_is_a_clear_error_and_is_not_recreated(tmp_path):
    db = tmp_path / "audit.db"
    db.write_bytes(b"this is not a database, it is a tax return" * 100)
    with pytest.raises(AuditError, match="cannot be opened") as caught:
        AuditStore(f"sqlite:///{db}")
    assert str(db) in str(caught.value)
    assert db.read_bytes().startswith(b"this is not a database")


def test_audit_verify_command(filled, monkeypatch):
    db, _ = filled
    from ui import audit as audit_module
    from ui.cli import app

    monkeypatch.setenv("TRIALGUARD_DB_URL", f"sqlite:///{db}")
    monkeypatch.setattr(audit_module, "_stores", {})
    ok = CliRunner().invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output, ok.output
    raw(db, "DROP TRIGGER audit_records_no_update")
    raw(db, "UPDATE audit_records SET reason = 'nothing to see' WHERE id = 5")
    monkeypatch.setattr(audit_module, "_stores", {})
    broken = CliRunner().invoke(app, ["audit", "verify"])
    assert broken.exit_code == 4 and "record 5" in broken.output, broken.output
