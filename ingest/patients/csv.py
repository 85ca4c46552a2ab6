"""Plain lab CSV: patient_id, test, value, unit, and optionally uln, lln, date, visit, age, sex, weight_kg."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.patients.demographics import demographics_from_rows
from ingest.patients.normalize import RAW_COLUMNS, RawRows, raw_columns
from ingest.patients.csv_lines import read_csv_records
from ingest.patients.schema import require_columns

SCHEMA = ("patient_id, test, value, unit (required); uln, lln, range_unit, date (YYYY-MM-DD, or DD/MM/YYYY with the "
          "day above 12), visit, age, sex (M/F), weight_kg, reference_start (same date forms, first dose) (optional)")
REQUIRED = [["patient_id"], ["test"], ["value"], ["unit"]]


def read_csv_rows(path: Path) -> RawRows:
    records = read_csv_records(path)  # a malformed line is a row error here, never a whole-file rejection
    frame = records.frame
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    require_columns(path, list(frame.columns), REQUIRED, SCHEMA)
    n = len(frame)
    columns: dict[str, object] = {"file": path.name, "row": records.rows}
    for column in RAW_COLUMNS[2:]:
        columns[column] = frame[column].to_numpy(dtype=object) if column in frame.columns else ""
    raw = raw_columns(n, columns)
    demographics, warnings = demographics_from_rows(
        path.name, frame.reindex(columns=["patient_id", "age", "sex", "weight_kg", "reference_start"], fill_value=""),
    )
    return RawRows(frame=raw, format="csv", rows_in=records.rows_in, demographics=demographics, warnings=warnings,
                   errors=list(records.errors))
