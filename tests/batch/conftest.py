"""Fixtures for batch screening: the real CDISC Pilot 01 files, small lab files written per test, a tiny TI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for _key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "DO_NOT_TRACK"):
    os.environ.setdefault(_key, "1")

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CDISC = SHARED / "labs" / "cdisc_pilot01" / "csv"
FHIR = SHARED / "reference" / "fhir_uscore_lab_observations" / "json"

TINY_TI = """STUDYID,DOMAIN,IETESTCD,IETEST,IECAT
TINY01,TI,INCL01,Adequate liver function: ALT <= 2.5 x ULN.,INCLUSION
TINY01,TI,INCL02,Platelet count >= 100 x 10^9/L.,INCLUSION
TINY01,TI,EXCL01,Serum creatinine > 2.5 mg/dL.,EXCLUSION
TINY01,TI,EXCL02,History of syncope within the last 5 years.,EXCLUSION
"""


@pytest.fixture(scope="session")
def cdisc() -> Path:
    if not (CDISC / "sdtm_lb.csv").is_file():
        pytest.fail(f"CDISC Pilot 01 data not found at {CDISC}")
    return CDISC


@pytest.fixture(scope="session")
def cdisc_ti(cdisc):
    from ingest.patients.sdtm_ti import read_ti

    return read_ti(cdisc / "sdtm_ti.csv")


@pytest.fixture(scope="session")
def cdisc_lab_file(cdisc):
    from ingest.patients import read_lab_file

    return read_lab_file(cdisc / "sdtm_lb.csv")


@pytest.fixture()
def tiny_ti(tmp_path) -> Path:
    path = tmp_path / "tiny_ti.csv"
    path.write_text(TINY_TI, encoding="utf-8")
    return path


@pytest.fixture()
def write_csv(tmp_path):
    def write(text: str, name: str = "labs.csv") -> Path:
        path = tmp_path / name
        path.write_text(text.lstrip("\n"), encoding="utf-8")
        return path

    return write


def make_protocol(version: str, effective: str | None, criteria: list[tuple[str, str, str]], protocol_id: str = "MINI"):
    """A one-page Protocol whose criteria (kind, label, text) get their rules from ingest.rules.extract_rules."""
    import datetime as dt
    import hashlib

    from ingest.models import Criterion, CriterionKind, Page, Protocol
    from ingest.rules import extract_rules

    text, built = "", []
    for kind, label, sentence in criteria:
        start = len(text) + len(label) + 2
        text += f"{label}. {sentence}\n"
        built.append(Criterion(
            id=f"{protocol_id}:{version}:{kind}:{label}", protocol_id=protocol_id, version=version,
            kind=CriterionKind(kind), label=label, page_start=1, page_end=1, text=sentence, char_start=start,
            char_end=start + len(sentence), rules=extract_rules(sentence)))
    return Protocol(protocol_id=protocol_id, version=version,
                    effective_date=dt.date.fromisoformat(effective) if effective else None,
                    source_file="mini.txt", sha256=hashlib.sha256(text.encode()).hexdigest(),
                    pages=[Page(number=1, text=text, char_start=0)], criteria=built)
