"""Patient lab files -> LabFile: plain CSV, CDISC SDTM LB (CSV or .xpt, with DM) and FHIR R4 Observations."""

from __future__ import annotations

from pathlib import Path

from labs.errors import DocumentError
from ingest.patients.detect import FORMATS, detect_format
from ingest.patients.models import LabFile, RowError
from ingest.patients.normalize import build_lab_file


def read_lab_file(path: str | Path, format: str = "auto", dm_path: str | Path | None = None) -> LabFile:
    """Read one lab file; `format` is auto | csv | sdtm | fhir; `dm_path` an SDTM DM file (default: beside LB)."""
    from ingest.patients.csv import read_csv_rows
    from ingest.patients.fhir import read_fhir_rows
    from ingest.patients.sdtm import read_sdtm_rows

    path = Path(path)
    if not path.is_file():
        raise DocumentError(path, "file not found")
    chosen = detect_format(path) if format == "auto" else format
    if chosen not in FORMATS:
        raise DocumentError(path, f"unknown format {format!r}; expected auto, {', '.join(FORMATS)}")
    if chosen == "csv":
        raw = read_csv_rows(path)
    elif chosen == "sdtm":
        raw = read_sdtm_rows(path, Path(dm_path) if dm_path else None)
    else:
        raw = read_fhir_rows(path)
    return build_lab_file(raw)


__all__ = ["LabFile", "RowError", "read_lab_file", "detect_format"]
