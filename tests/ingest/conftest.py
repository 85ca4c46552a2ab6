"""Fixtures for the ingest tests: the real protocols beside the repo, each parsed once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROTOCOLS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "protocols"

REAL_PROTOCOLS = {
    "NCT02151981": PROTOCOLS / "astrazeneca_osimertinib" / "NCT02151981_Prot_000.pdf",  # AURA3
    "NCT02296125": PROTOCOLS / "astrazeneca_osimertinib" / "NCT02296125_Prot_000.pdf",  # FLAURA
    "NCT02511106": PROTOCOLS / "astrazeneca_osimertinib" / "NCT02511106_Prot_002.pdf",  # ADAURA
    "NCT03861052": PROTOCOLS / "lilly_tirzepatide" / "NCT03861052_I8F-JE-GPGO_Tirzepatide_Protocol.pdf",
    "NCT06158269": PROTOCOLS / "nih_docugami" / "NCT06158269_Prot_000.pdf",
    "NCT06157684": PROTOCOLS / "nih_docugami" / "NCT06157684_Prot_000.pdf",  # negative control
    "NCT06149832": PROTOCOLS / "nih_docugami" / "NCT06149832_Prot_000.pdf",  # negative control
    "NCT06154122": PROTOCOLS / "nih_docugami" / "NCT06154122_Prot_000.pdf",  # negative control
}

_CACHE: dict[Path, object] = {}


@pytest.fixture(scope="session")
def parsed_file():
    """parsed_file(path) -> Protocol, each real protocol parsed once per test session (a long PDF takes seconds)."""
    from ingest.protocol import parse_protocol

    def get(path: Path):
        key = Path(path).resolve()
        if key not in _CACHE:
            _CACHE[key] = parse_protocol(path)
        return _CACHE[key]

    return get


@pytest.fixture(scope="session")
def parsed_protocol(parsed_file):
    """parsed_protocol("NCT02296125") -> Protocol, parsed once per test session."""

    def get(nct: str):
        path = REAL_PROTOCOLS[nct]
        if not path.is_file():
            pytest.fail(f"real protocol missing: {path} (../shared must sit beside the repo)")
        return parsed_file(path)

    return get
