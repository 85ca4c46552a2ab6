"""Reasoning fixtures: the demo protocols parsed and indexed in a real embedded Qdrant store (once per session)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

for _key, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "1"}.items():
    os.environ.setdefault(_key, _value)

REPO = Path(__file__).resolve().parents[2]
PROTOCOLS = REPO / "protocols"


def demo_protocols():
    """Every demo protocol of the manifest, parsed, with its lab manual's reference ranges attached."""
    from ingest import parse_protocol
    from ingest.lab_manual import read_lab_manual

    manifest = yaml.safe_load((PROTOCOLS / "manifest.yaml").read_text())
    out = []
    for entry in manifest["protocols"]:
        protocol = parse_protocol(PROTOCOLS / entry["file"], protocol_id=entry["protocol_id"],
                                  version=str(entry["version"]), effective_date=entry["effective_date"])
        if entry.get("lab_manual") and not protocol.reference_ranges:
            ranges = read_lab_manual(PROTOCOLS / entry["lab_manual"]).ranges
            protocol = protocol.model_copy(update={"reference_ranges": ranges})
        out.append(protocol)
    return out


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory):
    from retrieval.embedding import get_embedder
    from retrieval.index import ProtocolIndex
    from retrieval.store import make_client

    client = make_client(path=tmp_path_factory.mktemp("qdrant") / "store")
    index = ProtocolIndex(client, get_embedder(None), collection="reasoning_tests")
    for protocol in demo_protocols():
        index.ingest(protocol)
    yield index
    client.close()


@pytest.fixture(scope="session")
def assessor(demo_index):
    from reasoning.assess import Assessor

    return Assessor(demo_index)
