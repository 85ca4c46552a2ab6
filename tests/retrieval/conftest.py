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




@pytest.fixture(scope="session")
def gold():
    from eval.retrieval_eval import load_gold

    return load_gold()


@pytest.fixture(scope="session")
def gold_store(tmp_path_factory, shared_data, gold):
    """Every gold protocol ingested once per session into one embedded store, the demo ones through the CLI.

    Yields (settings, index, cli_output). The store sits in TRIALGUARD_DATA_DIR for the session so that the
    CLI run in-process (typer's runner) and the tests share the one cached ProtocolIndex of ui.services.
    """
    import os

    from typer.testing import CliRunner

    from eval.retrieval_eval import ingest_documents
    from ui.cli import app
    from ui.services import build_index
    from ui.settings import Settings

    data_dir = tmp_path_factory.mktemp("gold-data")
    saved = os.environ.get("TRIALGUARD_DATA_DIR")
    os.environ["TRIALGUARD_DATA_DIR"] = str(data_dir)
    try:
        settings = Settings()
        result = CliRunner().invoke(app, ["ingest", "protocols/manifest.yaml"])
        assert result.exit_code == 0, result.output
        index = build_index(settings)
        real = {q.protocol_id for q in gold.questions if not q.protocol_id.startswith("TG-")}
        ingest_documents(index, gold, real)
        yield settings, index, result.output
    finally:
        if saved is None:
            os.environ.pop("TRIALGUARD_DATA_DIR", None)
        else:
            os.environ["TRIALGUARD_DATA_DIR"] = saved
