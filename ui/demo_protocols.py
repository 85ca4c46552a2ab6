"""First start of the app: ingest the demo protocols listed in protocols/manifest.yaml that the index lacks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ingest.models import CriterionKind, Protocol
from labs.errors import DocumentError

ELIGIBILITY = (CriterionKind.INCLUSION, CriterionKind.EXCLUSION)


def require_eligibility(protocol: Protocol, path: Path, allow_empty: bool = False) -> None:
    """A document with no inclusion or exclusion criterion is refused as a protocol version: indexed, it would
    make every later screen 'clean' (a cover letter uploaded by mistake, a garbled file). `allow_empty` is the
    user saying it is meant (e.g. a protocol whose eligibility lives in another document)."""
    if allow_empty or any(c.kind in ELIGIBILITY for c in protocol.criteria):
        return
    why = next((p for p in protocol.problems if p.startswith("NO ELIGIBILITY")), "")
    raise DocumentError(
        path,
        "no inclusion or exclusion criterion was found, so it is not ingested as a protocol version (every screen "
        "against it would come out clean). Check that this is the protocol; to ingest it anyway, use "
        f"--allow-empty (or tick 'Ingest without eligibility criteria').{' ' + why if why else ''}",
    )


def ingest_document(index, path: Path, *, protocol_id: str | None = None, version: str | None = None,
                    effective_date: dt.date | None = None, title: str | None = None,
                    lab_manual: Path | None = None, allow_empty: bool = False) -> Protocol:
    """Parse one document (with its study lab manual, if any) and index it (an unchanged file is skipped)."""
    return ingest_document_result(index, path, protocol_id=protocol_id, version=version,
                                  effective_date=effective_date, title=title, lab_manual=lab_manual,
                                  allow_empty=allow_empty)[0]


def ingest_document_result(index, path: Path, *, protocol_id: str | None = None, version: str | None = None,
                           effective_date: dt.date | None = None, title: str | None = None,
                           lab_manual: Path | None = None, allow_empty: bool = False):
    """As ingest_document, with the index's IngestResult (skipped=True: the same file was already ingested)."""
    from ingest import parse_protocol

    protocol = parse_protocol(path, protocol_id=protocol_id, version=version, effective_date=effective_date,
                              lab_manual=lab_manual)
    require_eligibility(protocol, path, allow_empty)
    if title and not protocol.title:
        protocol = protocol.model_copy(update={"title": title})
    return protocol, index.ingest(protocol)


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
