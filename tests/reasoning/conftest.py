"""Reasoning fixtures: the demo protocols parsed and indexed in a real embedded Qdrant store (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROTOCOLS = REPO / "protocols"


def demo_protocols():
    """Every demo protocol of the manifest, parsed with its lab manual's reference ranges, as `make run` does."""
    from ingest import parse_protocol
    from retrieval.manifest import read_manifest

    return [
        parse_protocol(entry.file, protocol_id=entry.protocol_id, version=entry.version,
                       effective_date=entry.effective_date, lab_manual=entry.lab_manual)
        for entry in read_manifest(PROTOCOLS / "manifest.yaml")
    ]


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
