"""Long-lived parts built once per process from Settings. The embedded store is shared with other processes on the
same data dir: the client opens it per operation (retrieval/shared_local.py), so the app and the CLI run side by side."""

from __future__ import annotations

import atexit
import threading

from retrieval.embedding import get_embedder
from retrieval.index import ProtocolIndex
from retrieval.store import make_client
from ui.settings import Settings

_lock = threading.Lock()
_indexes: dict[tuple, ProtocolIndex] = {}


def _index_key(settings: Settings) -> tuple:
    return (
        str(settings.qdrant_path.resolve()) if not settings.qdrant_url else None,
        settings.qdrant_url,
        settings.collection,
        settings.embedding_model,
    )


def build_index(settings: Settings) -> ProtocolIndex:
    """The process's ProtocolIndex for these settings: embedded Qdrant in data_dir, or the server by URL."""
    key = _index_key(settings)
    with _lock:
        if key not in _indexes:
            client = make_client(
                path=settings.qdrant_path, url=settings.qdrant_url, api_key=settings.qdrant_api_key,
                wait_s=settings.store_wait_s,
            )
            # close explicitly: qdrant-client's __del__ at interpreter exit prints an ImportError
            atexit.register(client.close)
            _indexes[key] = ProtocolIndex(
                client,
                get_embedder(settings.embedding_model),
                collection=settings.collection,
                shards=settings.qdrant_shards,
                replicas=settings.qdrant_replicas,
            )
        return _indexes[key]


def build_llm(settings: Settings):
    """The LLM client for TRIALGUARD_LLM_URL/MODEL, or None when no LLM is configured (exact engine alone)."""
    if not settings.llm_url:
        return None
    from reasoning.llm import LLMClient

    return LLMClient.from_settings(settings)


def build_assessor(settings: Settings, *, llm: bool | None = None, version: str | None = None):
    """An Assessor on the process's index. llm: None = use the LLM when configured; True = require it
    (ConfigError naming the missing setting); False = exact engine only. version: judge against this protocol
    version whatever the lab date (else the version in force)."""
    from reasoning.assess import Assessor
    from reasoning.llm import LLMClient

    client = None
    if llm is True:
        client = LLMClient.from_settings(settings)
    elif llm is None:
        client = build_llm(settings)
    return Assessor(corrected_index(build_index(settings), settings, version), client)


def corrected_index(index: ProtocolIndex, settings: Settings, version: str | None = None):
    """The index as the Assessor should see it: protocols and candidates carry reviewers' rule corrections
    (ui/corrections.apply_corrections), so every assessment after a correction uses it and says so
    (rule_source "reviewer"). Cheap: build_assessor makes a new Assessor, and so a new view, per call."""
    from ui.audit import open_store
    from ui.corrections import CorrectedIndex

    return CorrectedIndex(index, open_store(settings), pinned_version=version)
