"""Fixtures for the app, audit and corrections tests: a tmp data dir per session, built assessments."""

from __future__ import annotations

import datetime as dt
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

import pytest

from ingest.models import CriterionKind
from labs.observation import LabObservation
from reasoning.models import (
    Assessment,
    Citation,
    Finding,
    OverallVerdict,
    Provenance,
    Verdict,
)


def make_assessment(overall: OverallVerdict = OverallVerdict.DEVIATION, value: float = 150.0) -> Assessment:
    """A hand-built assessment, for store tests that must not depend on the engine."""
    obs = LabObservation(patient_id="1003", analyte="ALT", value=value, unit="U/L", uln=40, date=dt.date(2024, 3, 2))
    verdict = Verdict.VIOLATES if overall is OverallVerdict.DEVIATION else Verdict.MEETS
    finding = Finding(
        criterion_id="TG-ONC-001:1.0:exclusion:4",
        criterion_kind=CriterionKind.EXCLUSION,
        label="4",
        verdict=verdict,
        rationale="ALT above 2.5 x ULN",
        arithmetic=[f"{value} U/L = {value / 40:.2f} x ULN 40 U/L; limit > 2.5 x ULN"],
        citations=[
            Citation(
                criterion_id="TG-ONC-001:1.0:exclusion:4",
                protocol_id="TG-ONC-001",
                version="1.0",
                label="4",
                section="5.2 Exclusion criteria",
                page=7,
                quote="ALT > 2.5 x ULN",
                verified=True,
            )
        ],
        observations=[obs],
    )
    return Assessment(
        question=f"Patient 1003 ALT {value} U/L (ULN 40) on 2024-03-02",
        protocol_id="TG-ONC-001",
        version="1.0",
        overall=overall,
        summary="test assessment",
        findings=[finding],
        observations=[obs],
        provenance=Provenance(
            engine_version="0.1.0", model=None, protocol_sha256="ab" * 32, created_at=dt.datetime.now(dt.UTC)
        ),
    )


def make_criterion():
    """The criterion the hand-built assessment's finding cites, with its rule."""
    from ingest.models import Comparator, Criterion, LabRule

    text = "4. ALT > 2.5 x ULN or AST > 2.5 x ULN."
    rule = LabRule(analyte="ALT", comparator=Comparator.GT, value=2.5, multiple_of="ULN", quote="ALT > 2.5 x ULN",
                   start=3, end=18)
    return Criterion(
        id="TG-ONC-001:1.0:exclusion:4", protocol_id="TG-ONC-001", version="1.0", kind=CriterionKind.EXCLUSION,
        label="4", page_start=7, page_end=7, text=text, char_start=0, char_end=len(text), rules=[rule],
    )


@pytest.fixture
def assessment() -> Assessment:
    return make_assessment()


@pytest.fixture
def store(tmp_path):
    from ui.audit import AuditStore

    return AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")


REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
DEMO_PROTOCOL = ("TG-ONC-001", "1.0", "2024-01-15", "TG-ONC-001_v1.0.pdf")


@pytest.fixture(scope="session")
def app_env(tmp_path_factory):
    """A data dir and a one-protocol manifest for the whole session; the app ingests it on first start.

    Tests that write to the audit store get their own database (`app_db`), so they do not see each other.
    """
    root = tmp_path_factory.mktemp("trialguard-app")
    protocols = root / "protocols"
    protocols.mkdir()
    pid, version, effective, file = DEMO_PROTOCOL
    (protocols / "manifest.yaml").write_text(
        "protocols:\n"
        f"  - protocol_id: {pid}\n    version: \"{version}\"\n    effective_date: {effective}\n"
        f"    file: {REPO / 'protocols' / file}\n"
    )
    saved = {k: os.environ.get(k) for k in ("TRIALGUARD_DATA_DIR", "TRIALGUARD_PROTOCOLS_DIR", "TRIALGUARD_DB_URL")}
    os.environ["TRIALGUARD_DATA_DIR"] = str(root / "data")
    os.environ["TRIALGUARD_PROTOCOLS_DIR"] = str(protocols)
    os.environ.pop("TRIALGUARD_DB_URL", None)
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def app_db(app_env, tmp_path, monkeypatch):
    """This test's own audit store, which the app under test opens through TRIALGUARD_DB_URL."""
    from ui.audit import open_store
    from ui.settings import Settings

    monkeypatch.setenv("TRIALGUARD_DB_URL", f"sqlite:///{tmp_path / 'audit.db'}")
    return open_store(Settings())


@pytest.fixture
def app(app_env):
    """A fresh AppTest of the whole app (entry script + st.navigation)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def ask(app_env):
    """Ask the real engine (with reviewer corrections applied) a question about the demo protocol."""
    from ui.services import build_assessor
    from ui.settings import Settings

    def _ask(question: str, protocol_id: str = DEMO_PROTOCOL[0]):
        return build_assessor(Settings()).ask(question, protocol_id)

    return _ask


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the session (tests/ui/postgres_server.py)."""
    import tempfile

    from postgres_server import PostgresServer

    server = PostgresServer(__import__("pathlib").Path(tempfile.mkdtemp(prefix="tg-pg-"))).start()
    yield server
    server.stop()


@pytest.fixture
def pg_store(postgres, request):
    """A fresh database whose schema the owner made; the store opened as the app's role with only its grants."""
    import re

    from sqlalchemy import text

    from postgres_server import APP
    from ui.audit import AuditStore, app_role_grants

    name = "tg_" + re.sub(r"\W", "_", request.node.name.lower())[:40] + "_" + __import__("uuid").uuid4().hex[:8]
    postgres.new_database(name)
    owner = AuditStore(postgres.url(database=name))
    with owner.engine.begin() as conn:
        for statement in app_role_grants(APP):
            conn.execute(text(statement))
    owner.engine.dispose()
    return AuditStore(postgres.url(role=APP, database=name))
