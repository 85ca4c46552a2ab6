"""CDISC SDTM LB (CSV or SAS transport .xpt), with DM alongside for age, sex and reference start (RFSTDTC)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv

from labs.errors import DocumentError
from labs.observation import Demographics
from ingest.patients.demographics import parse_sex
from ingest.patients.models import RowError
from ingest.patients.normalize import RawRows, date_or_reason, parsed_unit, per_distinct, pick, raw_columns
from ingest.patients.schema import read_text_table, require_columns

LB_SCHEMA = ("USUBJID, LBTESTCD, and LBORRES+LBORRESU and/or LBSTRESN+LBSTRESU (required); LBTEST, LBORNRLO, "
             "LBORNRHI, LBSTNRLO, LBSTNRHI, LBDTC, VISIT, STUDYID (optional)")
LB_REQUIRED = [["USUBJID"], ["LBTESTCD"], ["LBORRES", "LBSTRESN"], ["LBORRESU", "LBSTRESU"]]
DM_SCHEMA = "USUBJID (required); AGE, SEX, RFSTDTC (reference start, first dose), AGEU (optional)"


LB_COLUMNS = ["STUDYID", "USUBJID", "LBTESTCD", "LBTEST", "LBLOINC", "LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI",
              "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBDTC", "VISIT"]
DM_COLUMNS = ["USUBJID", "AGE", "AGEU", "SEX", "RFSTDTC"]


NUMERIC_COLUMNS = ["LBSTRESN", "LBSTNRLO", "LBSTNRHI", "LBORNRLO", "LBORNRHI", "AGE"]


def read_table(path: Path, wanted: list[str] | None = None) -> pd.DataFrame:
    """CSV (only the `wanted` columns, matched case-insensitively) or SAS transport (.xpt): character columns as
    str ('' when missing), the numeric SDTM columns as float."""
    if path.suffix.lower() in (".xpt", ".xport"):
        import pyreadstat

        try:  # pyreadstat reads transport v5 and v8; pandas.read_sas only v5
            frame, _meta = pyreadstat.read_xport(str(path))
        except Exception as exc:  # pyreadstat raises its own error types for a bad transport file
            raise DocumentError(path, f"not a readable SAS transport (.xpt) file: {exc}") from None
        if frame.empty:
            raise DocumentError(path, "no data rows")
        frame.columns = [str(c).strip().upper() for c in frame.columns]
        for column in frame.columns:
            if frame[column].dtype.kind != "f":
                frame[column] = pd.Series(frame[column].fillna("").astype(str).to_numpy(dtype=object), dtype=object)
            elif column not in NUMERIC_COLUMNS:  # e.g. VISITNUM: as text, '1' not '1.0'
                frame[column] = pd.Series([("" if pd.isna(x) else f"{x:g}") for x in frame[column]], dtype=object)
        return frame
    header = read_text_table_header(path)
    usecols = [c for c in header if c.strip().upper() in wanted] if wanted else list(header)
    try:
        frame = _read_csv_coded(path, usecols)
    except ValueError:  # a numeric column with text in it, or not UTF-8: read everything as text, parsed later
        frame = read_text_table(path, usecols=usecols or None)
    if frame.empty:
        raise DocumentError(path, "no data rows (only a header)")
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    return frame


def _read_csv_coded(path: Path, columns: list[str]) -> pd.DataFrame:
    """The SDTM numeric columns as float (empty: NaN) and every text column as a pandas Categorical ('' stays '').

    pyarrow's reader dictionary-encodes the text while parsing, so the checks downstream get each column's codes
    and distinct values for free instead of hashing tens of thousands of strings per column again. Raises
    ValueError (pyarrow.ArrowInvalid) on text in a numeric column, a malformed row or bytes that are not UTF-8.
    """
    if len(set(columns)) != len(columns):
        raise ValueError(f"duplicate column names in {path.name}")
    text = pa.dictionary(pa.int32(), pa.string())
    table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(
        include_columns=columns, strings_can_be_null=False, null_values=[""],
        column_types={c: (pa.float64() if c.strip().upper() in NUMERIC_COLUMNS else text) for c in columns},
    ))
    frame = {}
    for name in table.column_names:  # Categoricals over plain str: pandas' own conversion keeps Arrow strings, whose
        column = table.column(name)  # every later use goes through pyarrow.compute
        if not pa.types.is_dictionary(column.type):
            frame[name] = column.to_numpy()
            continue
        column = column.unify_dictionaries()  # one dictionary for all the chunks the reader parsed in parallel
        categories = column.chunk(0).dictionary.to_pylist() if column.num_chunks else []
        codes = (np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in column.chunks])
                 if column.num_chunks else np.array([], dtype=np.int32))
        frame[name] = pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=object), validate=False)
    return pd.DataFrame(frame, copy=False)


def read_text_table_header(path: Path) -> list[str]:
    import csv

    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header or not any(h.strip() for h in header):
        raise DocumentError(path, "empty file: no header and no rows")
    return header


def find_dm(lb_path: Path) -> Path | None:
    """DM beside LB: the LB file name with 'lb' -> 'dm' (sdtm_lb.csv -> sdtm_dm.csv, lb.xpt -> dm.xpt)."""
    stem, suffix = lb_path.stem, lb_path.suffix
    for candidate in (stem.replace("lb", "dm"), stem.replace("LB", "DM"), "dm", "DM", "sdtm_dm"):
        path = lb_path.with_name(candidate + suffix)
        if candidate != stem and path.is_file():
            return path
    return None


def read_dm(path: Path) -> tuple[dict[str, Demographics], list[RowError]]:
    frame = read_table(path, DM_COLUMNS)
    require_columns(path, list(frame.columns), [["USUBJID"]], DM_SCHEMA)
    n = len(frame)

    def col(name: str) -> np.ndarray:
        if name not in frame.columns:
            return np.full(n, "", dtype=object)
        return np.array([("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
                         for v in frame[name].to_numpy(dtype=object)], dtype=object)

    pids, age_text, age_unit, sex_text, start_text = col("USUBJID"), col("AGE"), col("AGEU"), col("SEX"), col("RFSTDTC")
    ages = np.asarray(pd.to_numeric(frame["AGE"] if "AGE" in frame.columns else age_text, errors="coerce"), dtype=float)
    starts = {t: date_or_reason(t) for t in set(start_text.tolist())}  # date, or the reason it cannot be read
    result: dict[str, Demographics] = {}
    first_row: dict[str, int] = {}
    conflicting: set[str] = set()
    warnings: list[RowError] = []
    for i in range(n):
        pid = pids[i]
        facts: dict[str, object] = {}
        unit = (age_unit[i] or "YEARS").upper()
        if age_text[i]:
            if unit.startswith("YEAR") and 0 <= ages[i] <= 130:
                facts["age_years"] = float(ages[i])
            else:
                warnings.append(RowError(file=path.name, row=i + 1, field="AGE", value=age_text[i], patient_id=pid,
                                         severity="warning", reason=f"unusable AGE {age_text[i]!r} {unit}: ignored"))
        sex = parse_sex(sex_text[i])
        if sex is not None:
            facts["sex"] = sex
        if start_text[i]:
            start = starts[start_text[i]]
            if not isinstance(start, dt.date):
                warnings.append(RowError(file=path.name, row=i + 1, field="RFSTDTC", value=start_text[i], patient_id=pid,
                                         severity="warning", reason=f"RFSTDTC {start}: ignored"))
            else:
                facts["reference_start"] = start
        demographics = Demographics(**facts)
        if pid in result:
            # DM has one row per subject; a second one that disagrees leaves no ground to pick either
            if result[pid] != demographics and pid not in conflicting:
                conflicting.add(pid)
                warnings.append(RowError(
                    file=path.name, row=i + 1, field="USUBJID", value=pid, patient_id=pid, severity="warning",
                    reason=f"duplicate USUBJID {pid!r} (rows {first_row[pid]} and {i + 1}) with different age, sex or "
                           "reference start: neither used, so they are unknown for this subject"))
            continue
        result[pid] = demographics
        first_row[pid] = i + 1
    for pid in conflicting:
        result[pid] = Demographics()
    return result, warnings


def read_sdtm_rows(path: Path, dm_path: Path | None = None) -> RawRows:
    frame = read_table(path, LB_COLUMNS)
    require_columns(path, list(frame.columns), LB_REQUIRED, LB_SCHEMA)
    n = len(frame)

    def col(name: str) -> np.ndarray:
        return frame[name].to_numpy(dtype=object) if name in frame.columns else np.full(n, "", dtype=object)

    def coded(name: str) -> pd.Categorical | np.ndarray:
        """The column as the reader gave it: a Categorical (codes reused downstream) or text."""
        if name in frame.columns and isinstance(frame[name].dtype, pd.CategoricalDtype):
            return frame[name].array
        return col(name)

    def num(name: str) -> np.ndarray:
        if name not in frame.columns:
            return np.full(n, np.nan)
        values = frame[name].to_numpy()
        return values.astype(float) if values.dtype.kind == "f" else np.asarray(pd.to_numeric(values, errors="coerce"), dtype=float)

    # Prefer the standardized result (numeric, SI) where it is numeric and its unit parses; else the original.
    std_unit_ok = per_distinct(coded("LBSTRESU"),
                               lambda u: bool(str(u).strip()) and bool(parsed_unit(str(u)))).astype(bool)
    std_value = num("LBSTRESN")
    use_std = ~np.isnan(std_value) & std_unit_ok

    def pick_text(std: str, orig: str) -> pd.Categorical | np.ndarray:
        a, b = coded(std), coded(orig)
        if isinstance(a, pd.Categorical) and isinstance(b, pd.Categorical):
            return pick(use_std, a, b)
        return np.where(use_std, col(std), col(orig))

    def pick_num(std: str, orig: str) -> np.ndarray:
        return np.where(use_std, num(std), num(orig))

    def limit_text(std: str, orig: str) -> pd.Categorical | np.ndarray | str:
        """The limit as written, or '' where the file stores numbers (XPT): then there is no text to report."""
        if any(name in frame.columns and frame[name].dtype.kind == "f" for name in (std, orig)):
            return ""
        return pick_text(std, orig)

    raw = raw_columns(n, {
        "file": path.name,
        "row": np.arange(1, n + 1),
        "patient_id": coded("USUBJID"),
        "test": coded("LBTESTCD"),
        "loinc": coded("LBLOINC") if "LBLOINC" in frame.columns else "",
        "value": coded("LBORRES"),  # the text, read only where value_num is NaN
        "value_num": np.where(use_std, std_value, np.nan),
        "unit": pick_text("LBSTRESU", "LBORRESU"),
        # the limits' text too (where the file holds text), so that an unreadable one ("<5") is reported
        "uln": limit_text("LBSTNRHI", "LBORNRHI"),
        "lln": limit_text("LBSTNRLO", "LBORNRLO"),
        "uln_num": pick_num("LBSTNRHI", "LBORNRHI"),
        "lln_num": pick_num("LBSTNRLO", "LBORNRLO"),
        "range_unit": "",
        "date": coded("LBDTC"),
        "visit": coded("VISIT"),
        # an unknown LBTESTCD may still be known by its name (LBTEST)
        "test_name": coded("LBTEST"),
    })
    studies = coded("STUDYID")
    study = next((str(s) for s in (studies.categories if isinstance(studies, pd.Categorical) else pd.unique(studies))
                  if s), None)

    notes: list[str] = []
    demographics: dict[str, Demographics] = {}
    warnings: list[RowError] = []
    dm = Path(dm_path) if dm_path else find_dm(path)
    if dm is not None:
        if not dm.is_file():
            raise DocumentError(dm, "DM file not found")
        demographics, warnings = read_dm(dm)
        notes.append(f"demographics and reference start dates from {dm.name}")
    else:
        notes.append("no DM file: age, sex and reference start unknown (every lab is treated as a screening lab)")
    return RawRows(frame=raw, format="sdtm", rows_in=n, demographics=demographics, warnings=warnings,
                   study_id=study, notes=notes)
