"""What reading a patient lab file yields: judged-ready rows, the rows that could not be read, and demographics.

The rows are kept columnar (a pandas DataFrame) because a study export holds tens of thousands of them and batch
screening works on whole columns; `LabFile.observations` builds the per-row `LabObservation`s only when asked.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from labs.observation import Demographics, LabObservation, Sex

# Columns of LabFile.table, one row per readable lab value (see normalize.py for how each is filled).
TABLE_COLUMNS = [
    "file",  # source file name
    "row",  # 1-based data row (CSV/SDTM: line number minus header; FHIR: resource number or NDJSON line)
    "patient_id",
    "analyte",  # analyte catalog code
    "raw_test",  # the test as written in the file
    "value",  # float, in `unit`
    "unit",  # normalized unit string (labs.parse_unit)
    "raw_unit",
    "uln",  # float or NaN, in `range_unit`
    "lln",
    "range_unit",
    "date",  # datetime64[ns] (day precision) or NaT
    "visit",
]


class RowError(BaseModel):
    """One input row that could not be judged (severity 'error') or was judged with a caveat ('warning')."""

    model_config = ConfigDict(extra="forbid")

    file: str
    row: int = Field(description="1-based data row number in the file (0: the file as a whole)")
    field: str = Field(description="the column or FHIR element at fault")
    reason: str
    value: str | None = Field(default=None, description="the offending value as written")
    patient_id: str | None = None
    severity: Literal["error", "warning"] = "error"


class LabFile(BaseModel):
    """A read lab file: every input row is either in `table` or in `errors` (never dropped silently)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    files: list[str] = Field(default_factory=list)
    format: str = Field(description="csv | sdtm | fhir (or a '+'-joined mix when several files were read)")
    rows_in: int = Field(description="data rows (or FHIR resources) read from the file(s)")
    errors: list[RowError] = Field(default_factory=list, description="rows not judged, with the reason")
    warnings: list[RowError] = Field(default_factory=list, description="rows judged with a caveat")
    out_of_scope: dict[str, int] = Field(
        default_factory=dict, description="rows that are not lab values at all (e.g. a DiagnosticReport), by reason"
    )
    demographics: dict[str, Demographics] = Field(default_factory=dict)
    study_id: str | None = None
    notes: list[str] = Field(default_factory=list)
    table: pd.DataFrame = Field(description="readable lab rows, columns TABLE_COLUMNS", exclude=True, repr=False)
    _observations: list[LabObservation] | None = PrivateAttr(default=None)

    @property
    def observations(self) -> list[LabObservation]:
        """One LabObservation per readable row, built on first use (batch screening does not need them)."""
        if self._observations is None:
            self._observations = [self.observation_at(i) for i in range(len(self.table))]
        return self._observations

    def observation_at(self, position: int) -> LabObservation:
        rec = self.table.iloc[position]
        return observation_from_record(rec, self.demographics.get(rec["patient_id"]))

    def accounted(self) -> int:
        """Rows accounted for: readable + errors + out of scope; equals rows_in."""
        return len(self.table) + len(self.errors) + sum(self.out_of_scope.values())


def _num(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _text(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "" else str(value)


def observation_from_record(rec: pd.Series, demographics: Demographics | None) -> LabObservation:
    date = rec["date"]
    unit, range_unit = _text(rec["unit"]), _text(rec["range_unit"])
    return LabObservation(
        patient_id=str(rec["patient_id"]),
        analyte=str(rec["analyte"]),
        value=float(rec["value"]),
        unit=unit,
        uln=_num(rec["uln"]),
        lln=_num(rec["lln"]),
        range_unit=range_unit if range_unit and range_unit != unit else None,
        date=None if pd.isna(date) else pd.Timestamp(date).date(),
        visit=_text(rec["visit"]),
        raw_test=_text(rec["raw_test"]),
        source=f"{rec['file']} row {int(rec['row'])}",
        demographics=demographics,
    )


__all__ = ["TABLE_COLUMNS", "LabFile", "RowError", "Sex", "observation_from_record"]
