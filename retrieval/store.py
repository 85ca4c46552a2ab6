"""The Qdrant client and collections: embedded in the data dir by default, a server/cluster by URL.

Both modes go through the same `QdrantClient` API, so nothing else in the code knows which one it talks to.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from qdrant_client import QdrantClient, models

from labs.errors import ConfigError
from retrieval.shared_local import DEFAULT_WAIT_S, SharedLocalClient

DENSE = "dense"
SPARSE = "sparse"

# Fields searches filter on; a server builds indexes for them (embedded mode ignores payload indexes).
KEYWORD_FIELDS = ("version_key", "protocol_id", "version", "sha256", "kind", "analytes", "label", "refers_to")


def make_client(
    *, path: Path | str | None = None, url: str | None = None, api_key: str | None = None,
    wait_s: float = DEFAULT_WAIT_S,
) -> QdrantClient | SharedLocalClient:
    """`url` set: a Qdrant server or cluster; otherwise the embedded store at `path`, shared by every TrialGuard
    process on it: opened per operation under a file lock, waiting up to `wait_s` for a busy store
    (retrieval/shared_local.py)."""
    if url:
        return QdrantClient(url=url, api_key=api_key, timeout=60)
    if path is None:
        raise ConfigError("Qdrant: set TRIALGUARD_QDRANT_URL or give a data dir for the embedded store")
    return SharedLocalClient(path, wait_s=wait_s)


def ensure_criteria_collection(
    client: QdrantClient, name: str, dimension: int, *, shards: int = 1, replicas: int = 1
) -> None:
    if client.collection_exists(name):
        existing = client.get_collection(name).config.params.vectors
        size = existing[DENSE].size if isinstance(existing, dict) and DENSE in existing else None
        if size != dimension:
            raise ConfigError(
                f"Qdrant collection {name!r} holds {DENSE!r} vectors of size {size}, but the embedding model "
                f"gives {dimension}: use another TRIALGUARD_COLLECTION or the model it was built with"
            )
        return
    client.create_collection(
        name,
        vectors_config={DENSE: models.VectorParams(size=dimension, distance=models.Distance.COSINE)},
        sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        shard_number=shards,
        replication_factor=replicas,
    )
    _index_keywords(client, name)


def ensure_manifest_collection(client: QdrantClient, name: str, *, shards: int = 1, replicas: int = 1) -> None:
    """One payload-only point per (protocol, version): the switch that makes a version visible."""
    if client.collection_exists(name):
        return
    client.create_collection(name, vectors_config={}, shard_number=shards, replication_factor=replicas)
    _index_keywords(client, name)


def _index_keywords(client: QdrantClient, name: str) -> None:
    with warnings.catch_warnings():  # embedded mode warns that it ignores them; a server uses them
        warnings.simplefilter("ignore", UserWarning)
        for field in KEYWORD_FIELDS:
            client.create_payload_index(name, field, models.PayloadSchemaType.KEYWORD)
