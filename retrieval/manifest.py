"""protocols/manifest.yaml: which documents to ingest under which protocol id, version and effective date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from labs.errors import DocumentError

MANIFEST_NAME = "manifest.yaml"


class ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")  # therapeutic_area, source... are for people, not for ingestion

    protocol_id: str
    version: str
    effective_date: dt.date | None = None
    title: str | None = None
    file: Path
    lab_manual: Path | None = None


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Entries with `file` resolved against the manifest's folder; every file must exist."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DocumentError(path, f"cannot read the protocol manifest ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("protocols"), list):
        raise DocumentError(path, "expected a mapping with a `protocols:` list")
    entries = []
    for n, raw in enumerate(data["protocols"], start=1):
        try:
            entry = ManifestEntry.model_validate(raw)
        except ValidationError as exc:
            raise DocumentError(path, f"protocols entry {n}: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}") from exc
        entry.file = (path.parent / entry.file).resolve()
        if entry.lab_manual is not None:
            entry.lab_manual = (path.parent / entry.lab_manual).resolve()
        for field in ("file", "lab_manual"):
            target = getattr(entry, field)
            if target is not None and not target.is_file():
                raise DocumentError(path, f"protocols entry {n} ({entry.protocol_id} {entry.version}): no {field} {target}")
        entries.append(entry)
    return entries


def is_manifest(path: Path) -> bool:
    path = Path(path)
    return (path.is_file() and path.name == MANIFEST_NAME) or (path.is_dir() and (path / MANIFEST_NAME).is_file())
