"""Patient lab files -> LabFile: plain CSV, CDISC SDTM LB (CSV or .xpt, with DM) and FHIR R4 Observations."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labs.errors import DocumentError
from ingest.patients.csv import read_csv_rows
from ingest.patients.detect import FORMATS, detect_format
from ingest.patients.fhir import read_fhir_rows
from ingest.patients.models import LabFile, RowError
from ingest.patients.normalize import build_lab_file
from ingest.patients.sdtm import read_sdtm_rows


def read_lab_file(path: str | Path, format: str = "auto", dm_path: str | Path | None = None) -> LabFile:
    """Read one lab file; `format` is auto | csv | sdtm | fhir; `dm_path` an SDTM DM file (default: beside LB)."""
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


def read_lab_files(paths: list[str | Path], format: str = "auto", dm_path: str | Path | None = None) -> LabFile:
    """Several lab files (e.g. one FHIR resource per file) read and joined into one LabFile."""
    files = [read_lab_file(p, format, dm_path) for p in paths]
    if not files:
        raise DocumentError("(no file)", "no lab file given")
    if len(files) == 1:
        return files[0]
    out_of_scope: dict[str, int] = {}
    demographics = {}
    for lab_file in files:
        for reason, count in lab_file.out_of_scope.items():
            out_of_scope[reason] = out_of_scope.get(reason, 0) + count
        for pid, demo in lab_file.demographics.items():
            demographics.setdefault(pid, demo)
    return LabFile(
        files=[f for lab_file in files for f in lab_file.files],
        format="+".join(sorted({lab_file.format for lab_file in files})),
        rows_in=sum(lab_file.rows_in for lab_file in files),
        errors=[e for lab_file in files for e in lab_file.errors],
        warnings=[w for lab_file in files for w in lab_file.warnings],
        out_of_scope=out_of_scope, demographics=demographics,
        study_id=next((lab_file.study_id for lab_file in files if lab_file.study_id), None),
        notes=list(dict.fromkeys(n for lab_file in files for n in lab_file.notes)),
        table=pd.concat([lab_file.table for lab_file in files], ignore_index=True),
    )


__all__ = ["LabFile", "RowError", "read_lab_file", "read_lab_files", "detect_format"]
