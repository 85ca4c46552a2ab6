"""Raw lab rows (as each reader found them) -> the judged-ready LabFile table, with every bad row reported.

Each reader produces a `RawRows` frame with the same columns; this module does the checks once, column-wise:
test -> analyte (per distinct test, not per row), value -> number, unit -> normalized unit, impossible values,
reference ranges, dates, duplicates. A row either lands in the table or in `errors` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

import labs
from labs.errors import TrialGuardError
from labs.observation import Demographics
from ingest.patients.models import TABLE_COLUMNS, LabFile, RowError

# Columns every reader fills (missing optional ones are empty strings / NaN).
RAW_COLUMNS = [
    "file", "row", "patient_id", "test", "loinc", "value", "unit", "uln", "lln", "range_unit", "date", "visit",
]

# Units in which a count or concentration cannot exceed 100 (a percentage of a whole).
_PERCENT_UNITS = {"%", "percent"}


@dataclass
class RawRows:
    frame: pd.DataFrame  # RAW_COLUMNS
    format: str
    rows_in: int
    demographics: dict[str, Demographics] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)  # rows the reader itself rejected
    warnings: list[RowError] = field(default_factory=list)
    out_of_scope: dict[str, int] = field(default_factory=dict)
    study_id: str | None = None
    notes: list[str] = field(default_factory=list)


@lru_cache(maxsize=4096)
def analyte_code(test: str, loinc: str, name: str = "") -> str | None:
    """Catalog code for a LOINC code, test code or test name (in that order); None when none is known."""
    if loinc:
        found = labs.analyte_by_loinc(loinc)
        if found is not None:
            return found.code
    for text in (test, name):
        if text:
            try:
                return labs.analyte(text).code
            except TrialGuardError:
                continue
    return None


@lru_cache(maxsize=4096)
def parsed_unit(text: str) -> str | None:
    """Normalized unit, or None when labs cannot parse it."""
    try:
        return labs.parse_unit(text)
    except TrialGuardError:
        return None


@lru_cache(maxsize=4096)
def unit_fits(analyte: str, unit: str) -> str | None:
    """None when `unit` can express `analyte` (converts to its canonical unit); else the reason it cannot."""
    canonical = labs.analyte(analyte).canonical_unit
    try:
        labs.convert(1.0, unit, canonical, analyte=analyte)
    except TrialGuardError as exc:
        return f"unit {unit!r} cannot express {analyte} (canonical {canonical}): {exc}"
    return None


@lru_cache(maxsize=512)
def is_dimensionless(analyte: str) -> bool:
    canonical = labs.analyte(analyte).canonical_unit
    return canonical in ("", "1", "ratio", "dimensionless")


def _text(series: pd.Series) -> pd.Series:
    """Strings with NaN/None as ''; whitespace stripped."""
    return series.astype("string").fillna("").str.strip().astype(object)


def _errors(frame: pd.DataFrame, mask: np.ndarray, field_name: str, reasons: pd.Series | str,
            values: pd.Series | None = None, severity: str = "error") -> list[RowError]:
    if not mask.any():
        return []
    sub = frame.loc[mask]
    reasons_list = [reasons] * len(sub) if isinstance(reasons, str) else list(reasons[mask])
    values_list = [None] * len(sub) if values is None else [None if v == "" else str(v) for v in values[mask]]
    return [
        RowError(file=f, row=int(r), field=field_name, reason=reason, value=v, patient_id=p or None, severity=severity)
        for f, r, p, reason, v in zip(sub["file"], sub["row"], sub["patient_id"], reasons_list, values_list)
    ]


def build_lab_file(raw: RawRows) -> LabFile:
    df = raw.frame.reset_index(drop=True)
    errors = list(raw.errors)
    warnings = list(raw.warnings)
    notes = list(raw.notes)
    for column in ("patient_id", "test", "loinc", "unit", "range_unit", "visit", "date"):
        df[column] = _text(df[column])
    ok = np.ones(len(df), dtype=bool)

    def reject(mask: np.ndarray, field_name: str, reasons, values=None) -> None:
        nonlocal ok
        mask = mask & ok
        errors.extend(_errors(df, mask, field_name, reasons, values))
        ok = ok & ~mask

    reject((df["patient_id"] == "").to_numpy(), "patient_id", "missing patient id")

    # Test -> analyte, once per distinct (test, LOINC).
    names = _text(df["test_name"]) if "test_name" in df.columns else pd.Series("", index=df.index, dtype=object)
    keys = df["test"] + "\x00" + df["loinc"] + "\x00" + names
    mapping = {key: analyte_code(*key.split("\x00")) for key in pd.unique(keys)}
    analyte = keys.map(mapping)
    unknown = analyte.isna().to_numpy()
    reject(unknown, "test", ("unknown test " + df["test"].map(repr) + np.where(df["loinc"] != "", " (LOINC " + df["loinc"] + ")", "")
                             + ": not in the analyte catalog"), df["test"])
    df["analyte"] = analyte.fillna("")

    # Value -> number.
    value = pd.to_numeric(df["value"], errors="coerce")
    value_text = _text(df["value"]) if value.isna().any() else None
    missing_value = value.isna().to_numpy()
    if missing_value.any():
        empty = (value_text == "").to_numpy()
        reject(missing_value & empty, "value", "missing value")
        reject(missing_value & ~empty, "value", "non-numeric value " + value_text.map(repr)
               + " (censored or qualitative results cannot be judged against a number)", value_text)
    df["value"] = value.astype(float)

    # Unit -> normalized unit, once per distinct text; then unit fits the analyte, once per (analyte, unit).
    unit_map = {u: parsed_unit(u) for u in pd.unique(df["unit"]) if u}
    norm_unit = df["unit"].map(unit_map)
    no_unit = (df["unit"] == "").to_numpy()
    dimensionless = df["analyte"].map(lambda a: bool(a) and is_dimensionless(a)).to_numpy(dtype=bool)
    norm_unit = norm_unit.where(~(no_unit & dimensionless), "1")
    reject(no_unit & ~dimensionless, "unit", "no unit given (a unit is never assumed)")
    reject(norm_unit.isna().to_numpy(), "unit", "unknown unit " + df["unit"].map(repr), df["unit"])
    df["unit_norm"] = norm_unit.fillna("")
    pair_keys = df["analyte"] + "\x00" + df["unit_norm"]
    fit: dict[str, str | None] = {}
    for key in pd.unique(pair_keys[ok]):
        a, u = key.split("\x00")
        fit[key] = unit_fits(a, u)
    misfit = pair_keys.map(fit)
    reject(misfit.notna().to_numpy(), "unit", misfit.fillna(""), df["unit"])

    # Impossible values: negative amounts, percentages above 100.
    vals = df["value"].to_numpy()
    with np.errstate(invalid="ignore"):
        reject(vals < 0, "value", "impossible value: negative " + df["analyte"], df["value"].astype(str))
        pct = df["unit_norm"].isin(_PERCENT_UNITS).to_numpy()
        reject(pct & (vals > 100), "value", "impossible value: above 100 %", df["value"].astype(str))

    # Dates (day precision); an unreadable date makes the row unplaceable (screening vs on-study, version).
    dates = pd.to_datetime(df["date"].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    bad_date = (dates.isna() & (df["date"] != "")).to_numpy()
    reject(bad_date, "date", "unreadable date " + df["date"].map(repr) + " (expected ISO 8601)", df["date"])
    df["date_parsed"] = dates

    # Reference ranges: numbers in the range unit (default: the value's unit); low > high is reported, not used.
    uln = pd.to_numeric(df["uln"], errors="coerce").astype(float)
    lln = pd.to_numeric(df["lln"], errors="coerce").astype(float)
    range_unit = df["range_unit"].map(lambda u: parsed_unit(u) if u else "")
    bad_range_unit = (range_unit.isna() & (uln.notna() | lln.notna())).to_numpy() & ok
    warnings.extend(_errors(df, bad_range_unit, "range_unit", "unknown reference-range unit " + df["range_unit"].map(repr)
                            + ": range not used", df["range_unit"], severity="warning"))
    range_unit = range_unit.fillna("")
    range_unit = range_unit.where(range_unit != "", df["unit_norm"])
    inverted = (lln > uln).to_numpy() & ok
    warnings.extend(_errors(df, inverted, "reference_range",
                            "bad reference range: low " + lln.astype(str) + " > high " + uln.astype(str)
                            + " (range not used; criteria needing ULN/LLN come out INDETERMINATE)",
                            severity="warning"))
    drop_range = inverted | bad_range_unit
    uln[drop_range] = np.nan
    lln[drop_range] = np.nan
    df["uln_f"], df["lln_f"], df["range_unit_norm"] = uln, lln, range_unit

    # Duplicates: the same patient, analyte, value, unit, date and visit again -> reported, judged once.
    dup_keys = ["patient_id", "analyte", "value", "unit_norm", "date", "visit"]
    candidates = df.loc[ok, dup_keys + ["row"]]
    dup = candidates.duplicated(subset=dup_keys, keep="first")
    if dup.any():
        first_row = candidates.groupby(dup_keys, sort=False, dropna=False)["row"].transform("first")
        mask = np.zeros(len(df), dtype=bool)
        mask[candidates.index[dup.to_numpy()]] = True
        reasons = pd.Series("", index=df.index, dtype=object)
        reasons[candidates.index[dup.to_numpy()]] = ("duplicate of row " + first_row[dup].astype(int).astype(str)
                                                     + ": judged once").to_numpy()
        reject(mask, "row", reasons)

    good = df.loc[ok]
    table = pd.DataFrame({
        "file": good["file"].to_numpy(dtype=object),
        "row": good["row"].to_numpy(dtype=np.int64),
        "patient_id": good["patient_id"].to_numpy(dtype=object),
        "analyte": good["analyte"].to_numpy(dtype=object),
        "raw_test": good["test"].to_numpy(dtype=object),
        "value": good["value"].to_numpy(dtype=float),
        "unit": good["unit_norm"].to_numpy(dtype=object),
        "raw_unit": good["unit"].to_numpy(dtype=object),
        "uln": good["uln_f"].to_numpy(dtype=float),
        "lln": good["lln_f"].to_numpy(dtype=float),
        "range_unit": good["range_unit_norm"].to_numpy(dtype=object),
        "date": good["date_parsed"].to_numpy(),
        "visit": good["visit"].to_numpy(dtype=object),
    }, columns=TABLE_COLUMNS)

    # Mixed units for one test: converted per (analyte, unit) group when screened; said once here.
    units_per = table.groupby("analyte", sort=True)["unit"].unique()
    for code, units in units_per.items():
        if len(units) > 1:
            notes.append(f"{code}: {len(units)} units in the file ({', '.join(sorted(units))}): each converted "
                         f"to the criterion's unit before judging")

    errors.sort(key=lambda e: (e.file, e.row))
    warnings.sort(key=lambda e: (e.file, e.row))
    return LabFile(
        files=sorted(set(df["file"])) if len(df) else [],
        format=raw.format,
        rows_in=raw.rows_in,
        errors=errors,
        warnings=warnings,
        out_of_scope=dict(raw.out_of_scope),
        demographics=raw.demographics,
        study_id=raw.study_id,
        notes=notes,
        table=table,
    )
