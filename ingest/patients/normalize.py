"""Raw lab rows (as each reader found them) -> the judged-ready LabFile table, with every bad row reported.

Each reader produces a `RawRows` frame with the same columns; this module does the checks once, column-wise and
once per *distinct* value (pd.factorize), never once per row: test -> analyte, unit -> normalized unit, unit fits
the analyte, date text -> date. A row either lands in the table, in `errors` with its reason, or (qualitative
tests such as urine colour, which no numeric limit can judge) in `out_of_scope` with the reason.

Text stays coded (per row, an index into the column's distinct values) from a reader that already has the codes
(the SDTM CSV reader's Categoricals) through to the table's Categorical columns: hashing or spelling out tens of
thousands of strings per column costs more than every check here together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import datetime as dt

import numpy as np
import pandas as pd

import labs
from labs.errors import TrialGuardError
from labs.observation import Demographics
from ingest.patients.dates import DateError, parse_date
from ingest.patients.models import TABLE_COLUMNS, LabFile, RowError

# Columns every reader fills (missing optional ones are empty strings).
RAW_COLUMNS = [
    "file", "row", "patient_id", "test", "loinc", "value", "unit", "uln", "lln", "range_unit", "date", "visit",
]
# How files say "this result has no unit" (then only a dimensionless analyte such as pH or INR is accepted).
NO_UNIT = {"", "NO UNITS", "NO UNIT", "NONE", "N/A", "NA", "UNITLESS", "-"}
_PERCENT_UNITS = {"%", "percent"}


@dataclass
class RawRows:
    frame: pd.DataFrame | Columns  # RAW_COLUMNS (object dtype: str)
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
    """Normalized unit, '' for 'no unit', or None when labs cannot parse it."""
    if text.strip().upper() in NO_UNIT:
        return ""
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
    return labs.analyte(analyte).canonical_unit in ("", "1", "ratio", "dimensionless")


@lru_cache(maxsize=512)
def is_qualitative(analyte: str) -> bool:
    return not labs.analyte(analyte).quantitative


def date_or_reason(text: object) -> dt.date | str | None:
    """parse_date of one distinct date text: the date, the reason it cannot be read, or None when blank."""
    written = "" if text is None else str(text).strip()
    if not written:
        return None
    try:
        return parse_date(written)
    except DateError as exc:
        return str(exc)


def limit_or_reason(value: float, text: str, name: str) -> str | None:
    """Why a ULN/LLN cannot be used (None when it can): unreadable text, not finite, or not above zero.

    Relies on: a reference limit scales a criterion's multiple (2.5 x ULN), so only a positive finite number can;
    a ULN of inf passes every value and one of -40 fails every one."""
    if np.isnan(value):
        return f"unreadable {name} {text!r}: not a number" if text.strip() else None
    if not np.isfinite(value) or value <= 0:
        return f"{name} {text.strip() or f'{value:g}'!r} is not a positive finite number"
    return None


def per_distinct(values: np.ndarray | pd.Categorical, fn: Callable[[object], object]) -> np.ndarray:
    """fn applied once per distinct value, spread back over the rows (object array)."""
    if isinstance(values, pd.Categorical) and not (values.codes < 0).any():
        codes, uniques = np.asarray(values.codes), values.categories
    else:
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    mapped = np.empty(len(uniques), dtype=object)
    mapped[:] = [fn(u) for u in uniques]
    return mapped[codes]


class Columns(dict):
    """Raw rows as named numpy columns: what readers hand to build_lab_file (cheaper than a DataFrame)."""

    @property
    def columns(self) -> list[str]:
        return list(self)

    def __len__(self) -> int:
        return len(next(iter(self.values()))) if super().__len__() else 0


class _Column:
    """One raw column. Where the reader knows them, its codes and distinct values (a Categorical from the CSV
    reader, or one value every row holds): the checks then need not hash the column again, and the per-row text
    is only spelled out (uniques[codes]) if something asks for it."""

    def __init__(self, values: np.ndarray | pd.Categorical | None = None, *, n: int = 0, constant: object = None):
        self.codes: np.ndarray | None = None
        self.uniques: np.ndarray | None = None
        self._values: np.ndarray | None = None
        if constant is not None:
            self.codes, self.uniques = np.zeros(n, dtype=np.intp), np.array([constant], dtype=object)
        elif isinstance(values, pd.Categorical) and not (np.asarray(values.codes) < 0).any():
            self.codes = np.asarray(values.codes, dtype=np.intp)
            self.uniques = np.asarray(values.categories, dtype=object)
        else:  # plain values (a Categorical with missing entries: no reader makes them, but never index with -1)
            self._values = np.asarray(values, dtype=object) if isinstance(values, pd.Categorical) else values

    @property
    def values(self) -> np.ndarray:
        if self._values is None:
            self._values = self.uniques[self.codes]
        return self._values

    def to_numpy(self, dtype=None) -> np.ndarray:
        return self.values if dtype is None else self.values.astype(dtype, copy=False)

    def __len__(self) -> int:
        return len(self.codes) if self._values is None else len(self._values)


def raw_columns(n: int, columns: dict[str, object]) -> Columns:
    out = Columns()
    for name, values in columns.items():
        if np.isscalar(values):
            out[name] = _Column(n=n, constant=values)
        elif isinstance(values, pd.Categorical):
            out[name] = _Column(values)
        else:
            out[name] = _Column(np.asarray(values))
    return out


def pick(mask: np.ndarray, a: pd.Categorical, b: pd.Categorical) -> pd.Categorical:
    """Row-wise `a` where mask else `b`, kept as a Categorical (codes over the union of both value sets)."""
    union = np.concatenate([np.asarray(a.categories, dtype=object), np.asarray(b.categories, dtype=object)])
    union_code, uniques = pd.factorize(union, use_na_sentinel=False)
    in_a, in_b = union_code[: len(a.categories)], union_code[len(a.categories):]
    codes = np.where(mask, in_a[np.asarray(a.codes)], in_b[np.asarray(b.codes)])
    return pd.Categorical.from_codes(codes, categories=pd.Index(np.asarray(uniques, dtype=object), dtype=object))


def raw_frame(n: int, columns: dict[str, object]) -> pd.DataFrame:
    """A frame whose text columns stay plain Python str (object), not pandas' Arrow strings: the checks work on
    numpy object arrays, and converting 60,000-row columns back and forth costs more than they do. The arrays are
    the caller's fresh ones, so the frame takes them without a copy (pandas copies numpy input by default)."""
    data = {}
    for name, values in columns.items():
        if isinstance(values, pd.Categorical):
            data[name] = pd.Series(values, copy=False)
            continue
        array = np.asarray(values) if not np.isscalar(values) else np.full(n, values, dtype=object)
        kind = array.dtype.kind
        if kind == "M":
            data[name] = pd.Series(array.astype("datetime64[ns]"), copy=False)
        elif kind in "fiub":
            data[name] = pd.Series(array, copy=False)
        else:
            data[name] = pd.Series(array, dtype=object, copy=False)
    return pd.DataFrame(data, copy=False)


def _strings(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A text column as an object array of str ('' for missing; the readers already filled the gaps)."""
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].to_numpy(dtype=object)  # readers give str ('' when missing), never NaN/None


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, distinct values): lookups run once per distinct value, spread back with uniques[codes]."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes, np.asarray(uniques, dtype=object)


def column_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """_codes of a LabFile table column: a Categorical's own codes (the text columns are), else factorized."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.array.codes), np.asarray(column.array.categories, dtype=object)
    return _codes(column.to_numpy(dtype=object))


class _Text:
    """A text column as codes into its distinct values: text[i] and text[rows] spell out only the rows asked for,
    and per-row tests run once per distinct value (`blank`)."""

    def __init__(self, codes: np.ndarray, uniques: np.ndarray):
        self.codes, self.uniques = codes, uniques

    def __getitem__(self, index):
        return self.uniques[self.codes[index]]

    def blank(self) -> np.ndarray:
        return np.array([u == "" for u in self.uniques], dtype=bool)[self.codes]

    def table_column(self, keep: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(self.codes[keep], categories=pd.Index(self.uniques, dtype=object),
                                         validate=False)


def _dense(uniques: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes over distinct values when `uniques` repeats some (two test codes, one analyte)."""
    merged, distinct = pd.factorize(uniques, use_na_sentinel=False)
    return merged[codes], np.asarray(distinct, dtype=object)


def _text(frame, column: str) -> _Text:
    """A column's _Text, reusing what the reader already knows (its Categorical codes, or its one value)."""
    if column not in frame.columns:
        return _Text(np.zeros(len(frame), dtype=np.intp), np.array([""], dtype=object))
    held = frame[column]
    if getattr(held, "codes", None) is not None:
        return _Text(held.codes, held.uniques)
    return _Text(*_codes(_strings(frame, column)))


def _combine(*code_arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the combinations of several code columns, and the row of first occurrence of each.

    Hashed (pd.factorize), not sorted; re-coded densely whenever the next column could overflow the int64 key."""
    combined = np.zeros(len(code_arrays[0]), dtype=np.int64)
    bound = 1  # combined < bound
    for codes in code_arrays:
        width = int(codes.max(initial=0)) + 1
        if bound * width >= 2**62:
            combined, _ = pd.factorize(combined)
            bound = int(combined.max(initial=0)) + 1
        combined = combined * width + codes
        bound *= width
    combined, _ = pd.factorize(combined)
    # factorize numbers combinations in order of first appearance: a row is a first occurrence where its code
    # exceeds every code before it
    running_max = np.maximum.accumulate(combined)
    first = np.flatnonzero(np.concatenate([[True], combined[1:] > running_max[:-1]])) if len(combined) else combined
    return combined, first


def _numbers(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return values.astype(float)
    return np.asarray(pd.to_numeric(values, errors="coerce"), dtype=float)


def build_lab_file(raw: RawRows) -> LabFile:
    frame = raw.frame
    n = len(frame)
    if n == 0:
        empty = raw_frame(0, {c: np.array([], dtype=float if c in ("value", "uln", "lln") else
                                           (np.int64 if c == "row" else ("datetime64[D]" if c == "date" else object)))
                              for c in TABLE_COLUMNS})
        return LabFile(files=[], format=raw.format, rows_in=raw.rows_in, errors=list(raw.errors),
                       warnings=list(raw.warnings), out_of_scope=dict(raw.out_of_scope), demographics=raw.demographics,
                       study_id=raw.study_id, notes=list(raw.notes), table=empty)
    files, pids = _text(frame, "file"), _text(frame, "patient_id")
    tests, loincs = _text(frame, "test"), _text(frame, "loinc")
    rows = frame["row"].to_numpy(dtype=np.int64)
    errors = list(raw.errors)
    warnings = list(raw.warnings)
    notes = list(raw.notes)
    out_of_scope = dict(raw.out_of_scope)
    ok = np.ones(n, dtype=bool)

    def report(mask: np.ndarray, field_name: str, reason: Callable[[np.ndarray], list[str]] | str,
               value: np.ndarray | None = None, severity: str = "error") -> np.ndarray:
        """RowErrors for the masked rows still ok; errors also take the rows out of the table."""
        nonlocal ok
        mask = mask & ok
        if not mask.any():
            return mask
        where = np.flatnonzero(mask)
        reasons = [reason] * len(where) if isinstance(reason, str) else reason(where)
        texts = [None] * len(where) if value is None else [None if v == "" else str(v) for v in value[where]]
        target = errors if severity == "error" else warnings
        target.extend(
            RowError(file=files[i], row=int(rows[i]), field=field_name, reason=r, value=t,
                     patient_id=pids[i] or None, severity=severity)
            for i, r, t in zip(where, reasons, texts)
        )
        if severity == "error":
            ok = ok & ~mask
        return mask

    report(pids.blank(), "patient_id", "missing patient id")

    # Test -> analyte, once per distinct (test, LOINC); the test's name (SDTM LBTEST) only where those are unknown.
    test_code, test_first = _combine(tests.codes, loincs.codes)
    analyte_u = np.array([analyte_code(str(tests[i]).strip(), str(loincs[i]).strip()) or "" for i in test_first],
                         dtype=object)
    if "test_name" in frame.columns and (analyte_u == "").any():
        names = _text(frame, "test_name")
        unknown_rows = np.flatnonzero((analyte_u == "")[test_code])
        name_code, name_u = _codes(names[unknown_rows])
        by_name = np.array([analyte_code("", "", str(n).strip()) or "" for n in name_u], dtype=object)[name_code]
        found = by_name != ""
        if found.any():  # give the rows found by name their own test codes
            extra, extra_first = _combine(test_code[unknown_rows][found], name_code[found])
            test_code = test_code.copy()
            test_code[unknown_rows[found]] = len(analyte_u) + extra
            analyte_u = np.concatenate([analyte_u, by_name[found][extra_first]])
    analytes = analyte_u[test_code]
    report((analyte_u == "")[test_code], "test", lambda w: [
        f"unknown test {tests[i]!r}" + (f" (LOINC {loincs[i]})" if loincs[i] else "") + ": not in the analyte catalog"
        for i in w], tests)

    # Qualitative tests (urine colour, ketones +/-): no numeric limit can judge them -> out of scope, counted.
    qualitative = np.array([bool(a) and is_qualitative(a) for a in analyte_u], dtype=bool)[test_code] & ok
    if qualitative.any():
        for code, count in zip(*np.unique(analytes[qualitative].astype(str), return_counts=True)):
            reason = "qualitative test (no numeric result to judge): " + code
            out_of_scope[reason] = out_of_scope.get(reason, 0) + int(count)
        ok &= ~qualitative

    # Value -> number.
    if "value_num" in frame.columns:  # readers that parsed numbers already (SDTM LBSTRESN): text only where NaN
        values = frame["value_num"].to_numpy(dtype=float).copy()
        gaps = np.flatnonzero(np.isnan(values))
        values[gaps] = _numbers(_text(frame, "value")[gaps])
    else:
        values = _numbers(frame["value"].to_numpy())
    missing = np.isnan(values)
    if missing.any():
        value_text = _text(frame, "value")
        empty = np.zeros(n, dtype=bool)
        empty[missing] = value_text[missing] == ""
        report(missing & empty, "value", "missing value")
        report(missing & ~empty, "value", lambda w: [
            f"non-numeric value {value_text[i]!r} (censored or qualitative results cannot be judged against a number)"
            for i in w], value_text)
    # inf, -inf, 1e400 (read as inf): no limit can be compared with them and the engine's Decimal arithmetic refuses them
    infinite = np.isinf(values)
    if infinite.any():
        value_text = _text(frame, "value")
        report(infinite, "value", lambda w: [
            f"value {value_text[i] or values[i]!r} is not a finite number (expected a lab result such as 65 or 1.2)"
            for i in w], value_text)

    # Unit -> normalized unit once per distinct text; then unit fits the analyte once per (analyte, unit).
    unit_text = _text(frame, "unit")
    unit_code, unit_u = unit_text.codes, unit_text.uniques
    parsed_u = np.array([parsed_unit(str(u)) for u in unit_u], dtype=object)
    unknown_unit = np.array([u is None for u in parsed_u], dtype=bool)[unit_code]
    report(unknown_unit, "unit", lambda w: [f"unknown unit {unit_text[i]!r}" for i in w], unit_text)
    parsed_u = np.array(["" if u is None else u for u in parsed_u] + ["1"], dtype=object)  # last: dimensionless
    dimensionless = np.array([bool(a) and is_dimensionless(a) for a in analyte_u], dtype=bool)[test_code]
    no_unit = (parsed_u == "")[unit_code]
    report(no_unit & ~dimensionless, "unit", "no unit given (a unit is never assumed)", unit_text)
    unit_code = np.where(no_unit & dimensionless, len(parsed_u) - 1, unit_code)
    units = parsed_u[unit_code]
    pair_code, pair_first = _combine(test_code, unit_code, (no_unit & dimensionless).astype(np.int64))
    misfit_u = np.empty(len(pair_first), dtype=object)
    misfit_u[:] = [unit_fits(analytes[i], units[i]) if analytes[i] and units[i] else None for i in pair_first]
    misfit = misfit_u[pair_code]
    report(np.array([m is not None for m in misfit_u], dtype=bool)[pair_code], "unit",
           lambda w: [misfit[i] for i in w], unit_text)

    # Impossible values: negative amounts, percentages above 100.
    with np.errstate(invalid="ignore"):
        report(values < 0, "value", lambda w: [f"impossible value {values[i]:g}: a negative {analytes[i]} (a lab result "
                                               "is an amount, count, activity, ratio or duration)" for i in w],
               _text(frame, "value"))
        percent = np.array([u in _PERCENT_UNITS for u in parsed_u], dtype=bool)[unit_code]
        report(percent & (values > 100), "value", lambda w: [f"impossible value {values[i]:g} %: above 100 %" for i in w])

    # Dates (day precision), parsed once per distinct text (ingest.patients.dates: documented formats, years
    # 1900-2100, no ambiguous day/month order); a date that cannot be read cannot be placed in time.
    date_text = _text(frame, "date")
    date_codes, uniques = date_text.codes, date_text.uniques
    read = [date_or_reason(u) for u in uniques]
    parsed = np.array([np.datetime64(d, "D") if isinstance(d, dt.date) else np.datetime64("NaT", "D") for d in read],
                      dtype="datetime64[D]")
    dates = parsed[date_codes] if len(uniques) else np.array([], dtype="datetime64[D]")
    date_reason = np.array([d if isinstance(d, str) else "" for d in read] or [""], dtype=object)
    report(np.isnat(dates) & ~date_text.blank(), "date", lambda w: [date_reason[date_codes[i]] for i in w], date_text)

    # Reference ranges: numbers in the range unit (default: the value's unit); low > high is reported, not used.
    if "uln_num" in frame.columns:
        uln, lln = frame["uln_num"].to_numpy(dtype=float).copy(), frame["lln_num"].to_numpy(dtype=float).copy()
    else:
        uln, lln = _numbers(frame["uln"].to_numpy()), _numbers(frame["lln"].to_numpy())
    range_text = _text(frame, "range_unit")
    range_code, range_u = range_text.codes, range_text.uniques
    range_parsed = [parsed_unit(str(u)) if u else "" for u in range_u]
    # A ULN/LLN that is written but unreadable, not finite or not above zero: said per row, and not used (criteria
    # needing it take the lab manual's range where it has one, else come out INDETERMINATE).
    # An LLN of 0 is how labs write "no lower limit" (3,616 rows of CDISC Pilot 01): not a limit a multiple can
    # scale, so it is not used either, but said once per file rather than per row.
    zero_lln = (lln == 0) & ok
    if zero_lln.any():
        notes.append(f"{int(zero_lln.sum())} rows give LLN 0 (no lower limit): that LLN is not used; criteria stated "
                     "as multiples of the LLN take the lab manual's where it has one, else come out INDETERMINATE")
        lln[zero_lln] = np.nan
    for name, limits in (("uln", uln), ("lln", lln)):
        text = _text(frame, name)  # '' where a reader gave numbers only (SDTM LBSTNRHI)
        said = zero_lln if name == "lln" else np.zeros(n, dtype=bool)  # LLN 0: said once above
        suspect = np.flatnonzero(~(np.isfinite(limits) & (limits > 0)) & ~(np.isnan(limits) & text.blank()) & ok & ~said)
        if not len(suspect):
            continue
        shown = np.full(n, "", dtype=object)
        shown[suspect] = [str(text[i]).strip() or f"{limits[i]:g}" for i in suspect]
        reasons = {int(i): limit_or_reason(limits[i], shown[i], name.upper()) for i in suspect}
        bad = np.zeros(n, dtype=bool)
        bad[[i for i, r in reasons.items() if r]] = True
        report(bad, name, lambda w, reasons=reasons: [f"{reasons[int(i)]}: not used" for i in w], shown,
               severity="warning")
        limits[bad] = np.nan
    has_range = ~np.isnan(uln) | ~np.isnan(lln)
    bad_unit = np.array([u is None for u in range_parsed], dtype=bool)[range_code] & has_range
    report(bad_unit, "range_unit", lambda w: [f"unknown reference-range unit {range_text[i]!r}: range not used"
                                             for i in w], range_text, severity="warning")
    no_range_unit = np.array([not u for u in range_parsed], dtype=bool)[range_code]
    range_units = np.where(no_range_unit, units, np.array([u or "" for u in range_parsed], dtype=object)[range_code])
    with np.errstate(invalid="ignore"):
        inverted = lln >= uln
    report(inverted, "reference_range", lambda w: [
        f"bad reference range: low {lln[i]:g} {'=' if lln[i] == uln[i] else '>'} high {uln[i]:g} (range not used; criteria needing ULN/LLN come out "
        "INDETERMINATE)" for i in w], severity="warning")
    drop = (inverted | bad_unit) & ok
    uln[drop] = np.nan
    lln[drop] = np.nan

    # Duplicates: the same patient, analyte, value, unit, date and visit again -> reported, judged once.
    visits = _text(frame, "visit")
    if ok.any():
        idx = np.flatnonzero(ok)
        value_code = pd.factorize(values[idx])[0]
        key, first = _combine(pids.codes[idx], test_code[idx], value_code, unit_code[idx], date_codes[idx],
                              visits.codes[idx])
        dup = np.ones(len(idx), dtype=bool)
        dup[first] = False
        if dup.any():
            first_row = rows[idx[first]][key]  # data row of the first occurrence, per row
            mask = np.zeros(n, dtype=bool)
            mask[idx[dup]] = True
            origin = dict(zip(idx[dup].tolist(), first_row[dup].tolist()))
            report(mask, "row", lambda w: [f"duplicate of row {origin[int(i)]}: judged once" for i in w])

    keep = np.flatnonzero(ok)
    # text as read stays coded (Categorical): screening groups and maps per patient without hashing strings again
    table = raw_frame(len(keep), {
        "file": files.table_column(keep), "row": rows[keep], "patient_id": pids.table_column(keep),
        "analyte": _Text(*_dense(analyte_u, test_code)).table_column(keep), "raw_test": tests.table_column(keep),
        "value": values[keep], "unit": units[keep],
        "raw_unit": unit_text.table_column(keep), "uln": uln[keep], "lln": lln[keep],
        "range_unit": range_units[keep].astype(object), "date": dates[keep], "visit": visits.table_column(keep),
    })[TABLE_COLUMNS]

    # Mixed units for one test: converted per (analyte, unit) group when screened; said once here.
    if len(table):
        by_analyte: dict[str, list[str]] = {}
        for i in keep[np.unique(pair_code[keep], return_index=True)[1]]:
            code, unit = analytes[i], units[i]
            if unit not in by_analyte.setdefault(code, []):
                by_analyte[code].append(unit)
        for code, seen in sorted(by_analyte.items()):
            if len(seen) > 1:
                notes.append(f"{code}: {len(seen)} units in the file ({', '.join(sorted(seen))}): each converted to "
                             "the criterion's unit before judging")

    errors.sort(key=lambda e: (e.file, e.row))
    warnings.sort(key=lambda e: (e.file, e.row))
    return LabFile(
        files=sorted(set(files.uniques[np.unique(files.codes)].tolist())), format=raw.format, rows_in=raw.rows_in,
        errors=errors, warnings=warnings,
        out_of_scope=out_of_scope, demographics=raw.demographics, study_id=raw.study_id, notes=notes, table=table,
    )
