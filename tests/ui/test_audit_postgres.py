"""The audit store on a real PostgreSQL server: append-only enforced by the database (triggers, and an app role
without UPDATE/DELETE/TRUNCATE or DDL rights), the hash chain, and concurrent writers that lose nothing."""

from __future__ import annotations

import multiprocessing
import threading

import psycopg
import pytest
from conftest import make_assessment
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ui.audit import Action, AuditStore

pytestmark = pytest.mark.slow


def owner_sql(store: AuditStore, postgres, sql: str) -> None:
    """As the owner, who made the schema (an operator, or an attacker holding the owner's password)."""
    with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=tg_owner dbname={store.engine.url.database}",
                         autocommit=True) as conn:
        conn.execute(sql)


def test_review_flow_and_an_intact_chain(pg_store):
    submitted = pg_store.submit(make_assessment(), actor="Dr Ada")
    pg_store.review(submitted.item_id, Action.OVERRIDDEN, actor="Dr Bo", reason="lab ULN", new_verdict="NO_DEVIATION")
    assert [r.action for r in pg_store.item(submitted.item_id).history] == [Action.SUBMITTED, Action.OVERRIDDEN]
    report = pg_store.verify_chain()
    assert report.intact and report.sealed == 2, report.problems


@pytest.mark.parametrize("statement", [
    "UPDATE audit_records SET actor = 'mallory'", "DELETE FROM audit_records", "TRUNCATE audit_records",
    "DROP TRIGGER audit_records_no_update ON audit_records", "ALTER TABLE audit_records DISABLE TRIGGER USER",
])
def test_the_app_role_cannot_edit_delete_truncate_or_drop_the_triggers(pg_store, statement):
    pg_store.submit(make_assessment(), actor="Dr Ada")
    with pytest.raises(DBAPIError, match="permission denied|must be owner"), pg_store.engine.begin() as conn:
        conn.execute(text(statement))
    assert pg_store.count() == 1 and pg_store.verify_chain().intact


@pytest.mark.parametrize("statement", ["UPDATE audit_records SET actor = 'mallory'", "DELETE FROM audit_records",
                                       "TRUNCATE audit_records"])
def test_even_the_owner_is_refused_by_the_triggers(pg_store, postgres, statement):
    pg_store.submit(make_assessment(), actor="Dr Ada")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        owner_sql(pg_store, postgres, statement)
    assert pg_store.count() == 1


def test_an_owner_who_disables_the_triggers_is_caught_by_the_chain(pg_store, postgres):
    for name in ("Ada", "Bo", "Cy"):
        pg_store.submit(make_assessment(), actor=f"Dr {name}")
    owner_sql(pg_store, postgres, "ALTER TABLE audit_records DISABLE TRIGGER USER")
    owner_sql(pg_store, postgres, "UPDATE audit_records SET comment = 'nothing happened' WHERE id = 2")
    report = pg_store.verify_chain()
    assert report.first_break_id == 2 and "does not match its hash" in report.problems[0]
    owner_sql(pg_store, postgres, "DELETE FROM audit_records WHERE id = 2")
    report = pg_store.verify_chain()
    assert report.first_break_id == 3 and "does not follow" in report.problems[0]


def _write_many(url: str, writer: str, n: int, store: AuditStore | None = None) -> None:
    store = store or AuditStore(url)
    assessment = make_assessment()
    for i in range(n):
        store.submit(assessment, actor=writer, comment=f"{writer}#{i}")


def test_eight_concurrent_writers_lose_nothing_and_keep_one_chain(pg_store):
    url, per_writer = pg_store.url, 25
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=_write_many, args=(url, f"proc{i}", per_writer)) for i in range(4)]
    threads = [threading.Thread(target=_write_many, args=(url, f"thread{i}", per_writer, pg_store)) for i in range(4)]
    for worker in processes + threads:
        worker.start()
    for worker in processes + threads:
        worker.join(timeout=180)
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    records = pg_store.records()
    assert {r.comment for r in records} == {f"{k}{i}#{n}" for k in ("proc", "thread") for i in range(4)
                                            for n in range(per_writer)}
    report = pg_store.verify_chain()
    assert report.intact and report.sealed == 8 * per_writer, report.problems
