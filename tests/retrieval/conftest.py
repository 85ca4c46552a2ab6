"""Retrieval fixtures: the real embedding model (loaded once) and real embedded Qdrant stores in tmp dirs."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embedding import get_embedder

    return get_embedder(None)


@pytest.fixture
def make_index(tmp_path, embedder):
    """A fresh ProtocolIndex on its own embedded Qdrant store."""
    from retrieval.index import ProtocolIndex
    from retrieval.store import make_client

    clients = []

    def build(name: str = "store", collection: str = "criteria"):
        client = make_client(path=tmp_path / name)
        clients.append(client)
        return ProtocolIndex(client, embedder, collection=collection)

    yield build
    for client in clients:
        client.close()


