"""The same ProtocolIndex against a Qdrant server or cluster (runs only when TRIALGUARD_QDRANT_URL is set)."""

from __future__ import annotations

import os
import uuid

import pytest

from labs.observation import LabObservation
from retrieval_handmade import hand_protocol

URL = os.environ.get("TRIALGUARD_QDRANT_URL")

pytestmark = pytest.mark.skipif(
    not URL, reason="no Qdrant server: set TRIALGUARD_QDRANT_URL (e.g. http://127.0.0.1:6333) to run server mode"
)


def test_server_mode_ingest_and_search(embedder):
    from retrieval.index import ProtocolIndex
    from retrieval.store import make_client

    client = make_client(url=URL, api_key=os.environ.get("TRIALGUARD_QDRANT_API_KEY"))
    collection = f"trialguard_test_{uuid.uuid4().hex[:8]}"
    try:
        index = ProtocolIndex(
            client, embedder, collection=collection,
            shards=int(os.environ.get("TRIALGUARD_QDRANT_SHARDS", "1")),
            replicas=int(os.environ.get("TRIALGUARD_QDRANT_REPLICAS", "1")),
        )
        protocol = hand_protocol()
        assert not index.ingest(protocol).skipped and index.ingest(protocol).skipped
        hits = index.search([LabObservation(analyte="ALT", value=65, unit="U/L")], "TG-TEST")
        assert any(c.criterion.label == "1" and "rule on ALT" in c.why for c in hits)
        assert index.protocol("TG-TEST") == protocol
    finally:
        for name in (collection, f"{collection}_versions"):
            if client.collection_exists(name):
                client.delete_collection(name)
        client.close()
