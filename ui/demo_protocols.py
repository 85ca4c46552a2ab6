"""First start of the app: ingest the demo protocols listed in protocols/manifest.yaml that the index lacks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ingest.models import Protocol


def ingest_document(index, path: Path, *, protocol_id: str | None = None, version: str | None = None,
                    effective_date: dt.date | None = None, title: str | None = None,
                    lab_manual: Path | None = None) -> Protocol:
    """Parse one document (with its study lab manual, if any) and index it (an unchanged file is skipped)."""
    from ingest import parse_protocol

    protocol = parse_protocol(path, protocol_id=protocol_id, version=version, effective_date=effective_date,
                              lab_manual=lab_manual)
    if title and not protocol.title:
        protocol = protocol.model_copy(update={"title": title})
    index.ingest(protocol)
    return protocol


def ensure_demo_protocols(index, protocols_dir: Path) -> list[str]:
    """Ingest each manifest entry whose (protocol id, version) the index does not hold; returns what it added.

    Idempotent: a second call (or a second app start on the same data dir) adds nothing. No manifest = nothing
    to do (a deployment may ship without the demo protocols).
    """
    from retrieval.manifest import MANIFEST_NAME, read_manifest

    manifest = Path(protocols_dir) / MANIFEST_NAME
    if not manifest.is_file():
        return []
    have = {(info.protocol_id, info.version) for info in index.protocols()}
    added = []
    for entry in read_manifest(manifest):
        if (entry.protocol_id, entry.version) in have:
            continue
        ingest_document(index, entry.file, protocol_id=entry.protocol_id, version=entry.version,
                        effective_date=entry.effective_date, title=entry.title, lab_manual=entry.lab_manual)
        added.append(f"{entry.protocol_id} {entry.version}")
    return added
