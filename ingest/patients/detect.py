"""Which reader a lab file needs, from its extension and first bytes (never from the whole file)."""

from __future__ import annotations

from pathlib import Path

from labs.errors import DocumentError

FORMATS = ("csv", "sdtm", "fhir")


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".xpt", ".xport"):
        return "sdtm"
    if suffix in (".json", ".ndjson", ".jsonl"):
        return "fhir"
    try:
        with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise DocumentError(path, f"cannot read: {exc}") from None
    if not head.strip():
        raise DocumentError(path, "empty file: no header and no rows")
    stripped = head.lstrip()
    if stripped.startswith(("{", "[")):
        return "fhir"
    header = {c.strip().strip('"').upper() for c in stripped.splitlines()[0].split(",")}
    if {"USUBJID", "LBTESTCD"} & header:
        return "sdtm"
    return "csv"
