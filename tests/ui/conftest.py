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
from reasoning.models import Assessment, Citation, Finding, OverallVerdict, Provenance, Verdict


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
            engine_version="0.1.0", model=None, protocol_sha256="ab" * 32, created_at=dt.datetime.now(dt.timezone.utc)
        ),
    )


@pytest.fixture
def assessment() -> Assessment:
    return make_assessment()


@pytest.fixture
def store(tmp_path):
    from ui.audit import AuditStore

    return AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
