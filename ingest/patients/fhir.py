"""FHIR R4 lab Observations: a Bundle, NDJSON (one resource per line), or a single resource per file.

LOINC code -> analyte, valueQuantity (UCUM code preferred over the display unit), referenceRange low/high ->
LLN/ULN, effectiveDateTime (or effectivePeriod.start, issued), subject -> patient id. Patient resources in the same
file give sex and birth date. A resource that is not a lab value (DiagnosticReport, a panel with hasMember) is
counted out of scope with the reason; an Observation without a numeric valueQuantity is a row error.

Resources come from other systems and may have any JSON shape: every element is read through _object/_items, so
an element of the wrong type (subject a string, code a list, referenceRange of strings) is a row error naming the
element and what was expected, and JSON nested too deeply to parse is an error naming the file, never a crash.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from labs.errors import DocumentError
from labs.observation import Demographics
from ingest.patients.demographics import parse_sex
from ingest.patients.models import RowError
from ingest.patients.normalize import RAW_COLUMNS, RawRows

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


class _Shape(ValueError):
    """An element of a resource with the wrong JSON type; the message names the element and what was expected."""


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(type(value), type(value).__name__)


def _object(parent: dict, key: str, where: str) -> dict:
    """parent[key] as a JSON object ({} when absent); _Shape when it is something else."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Shape(f"{where}.{key}: expected a JSON object, got {_kind(value)}")
    return value


def _items(parent: dict, key: str, where: str) -> list[dict]:
    """parent[key] as a list of JSON objects ([] when absent); _Shape when it or an item is something else."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        shown = _kind(value) if not isinstance(value, list) else "a list with " + ", ".join(
            sorted({_kind(i) for i in value if not isinstance(i, dict)}))
        raise _Shape(f"{where}.{key}: expected a list of JSON objects, got {shown}")
    return value


def _text(parent: dict, key: str, where: str) -> str:
    value = parent.get(key)
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise _Shape(f"{where}.{key}: expected text, got {_kind(value)}")
    return str(value)


def _loads(text: str, path: Path) -> object:
    try:
        return json.loads(text)
    except RecursionError:
        raise DocumentError(path, "JSON nested too deeply to be a FHIR resource") from None


def _resources(path: Path) -> list[tuple[int, dict]]:
    """(row number, resource): bundle entry number, NDJSON line number, or 1 for a single resource."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(path, f"not UTF-8 text: {exc}") from None
    if not text.strip():
        raise DocumentError(path, "empty file: no FHIR resources")
    try:
        document = _loads(text, path)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, list):  # a JSON array of resources
        return [(i, r if isinstance(r, dict) else {"resourceType": "__unreadable__"}) for i, r in enumerate(document, 1)]
    if isinstance(document, dict):
        if document.get("resourceType") == "Bundle":
            entries = document.get("entry") or []
            if not isinstance(entries, list):
                raise DocumentError(path, f"Bundle.entry: expected a list of entries, got {_kind(entries)}")
            return [(i, e["resource"] if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                     else {"resourceType": "__unreadable__", "where": "Bundle.entry"})
                    for i, e in enumerate(entries, start=1)]
        if "resourceType" not in document:
            raise DocumentError(path, "JSON without resourceType: expected a FHIR Bundle, Observation or NDJSON")
        return [(1, document)]
    rows: list[tuple[int, dict]] = []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: \u2028 may stand inside a string
        if not line.strip():
            continue
        try:
            resource = _loads(line, path)
        except json.JSONDecodeError as exc:
            rows.append((number, {"resourceType": "__unreadable__", "error": str(exc)}))
            continue
        rows.append((number, resource if isinstance(resource, dict) else {"resourceType": "__unreadable__"}))
    if not rows:
        raise DocumentError(path, "no FHIR resources")
    return rows


def _reference_id(reference: dict, where: str) -> str:
    ref = _text(reference, "reference", where)
    return ref.split("/", 1)[1] if ref.startswith("Patient/") else ref


def _quantity(q: dict, where: str) -> tuple[object, str]:
    if not q:
        return "", ""
    code, unit = _text(q, "code", where), _text(q, "unit", where)
    chosen = code if _text(q, "system", where) == UCUM and code else unit or code
    value = q.get("value")
    if isinstance(value, (dict, list, bool)):
        raise _Shape(f"{where}.value: expected a number, got {_kind(value)}")
    return ("" if value is None else value), chosen


def _observation(path: Path, row: int, res: dict) -> dict | RowError:
    """One Observation's raw record, or the row error saying which element could not be read."""
    patient = ""
    try:
        patient = _reference_id(_object(res, "subject", "Observation"), "Observation.subject")
        code = _object(res, "code", "Observation")
        codings = _items(code, "coding", "Observation.code")
        where = "Observation.code.coding"
        loinc = next((_text(c, "code", where) for c in codings if c.get("system") == LOINC), "")
        test = _text(code, "text", "Observation.code") or next((_text(c, "display", where) for c in codings), "") or loinc
        if "valueQuantity" not in res:
            present = next((k for k in res if k.startswith("value")), None)
            return RowError(file=path.name, row=row, field=present or "valueQuantity", patient_id=patient or None,
                            reason=f"no numeric valueQuantity ({present or 'no value'}): cannot be judged")
        value, unit = _quantity(_object(res, "valueQuantity", "Observation"), "Observation.valueQuantity")
        ranges = _items(res, "referenceRange", "Observation")
        first = "Observation.referenceRange[0]"
        low, low_unit = _quantity(_object(ranges[0], "low", first), first + ".low") if ranges else ("", "")
        high, high_unit = _quantity(_object(ranges[0], "high", first), first + ".high") if ranges else ("", "")
        date = (_text(res, "effectiveDateTime", "Observation")
                or _text(_object(res, "effectivePeriod", "Observation"), "start", "Observation.effectivePeriod")
                or _text(res, "issued", "Observation"))
    except _Shape as exc:
        return RowError(file=path.name, row=row, field=str(exc).split(":", 1)[0], patient_id=patient or None,
                        reason=f"{exc} (resource not read)")
    return {
        "file": path.name, "row": row, "patient_id": patient, "test": test, "loinc": loinc,
        "value": value, "unit": unit, "uln": high, "lln": low, "range_unit": high_unit or low_unit,
        "date": date, "visit": "",
    }


def read_fhir_rows(path: Path) -> RawRows:
    resources = _resources(path)
    records: list[dict] = []
    errors: list[RowError] = []
    out_of_scope: dict[str, int] = {}
    patients: dict[str, dict] = {}
    for row, res in resources:
        kind = res.get("resourceType")
        if kind == "Patient":
            patients[str(res.get("id", ""))] = res
            reason = "Patient resource (demographics, not a lab value)"
            out_of_scope[reason] = out_of_scope.get(reason, 0) + 1
            continue
        if kind == "__unreadable__":
            where = res.get("where", "line")
            errors.append(RowError(file=path.name, row=row, field=where,
                                   reason=f"not a JSON object{' with a resource' if where != 'line' else ''}: unreadable {where}"))
            continue
        if kind != "Observation":
            reason = f"{kind} resource (not a lab Observation)"
            out_of_scope[reason] = out_of_scope.get(reason, 0) + 1
            continue
        if res.get("hasMember") and "valueQuantity" not in res:
            reason = "panel Observation (hasMember): its member Observations are the lab values"
            out_of_scope[reason] = out_of_scope.get(reason, 0) + 1
            continue
        record = _observation(path, row, res)
        if isinstance(record, RowError):
            errors.append(record)
        else:
            records.append(record)
    frame = pd.DataFrame.from_records(records, columns=RAW_COLUMNS)
    for column in ("value", "uln", "lln"):
        frame[column] = frame[column].astype(str).where(frame[column] != "", "")
    demographics = _demographics(patients, frame)
    return RawRows(frame=frame, format="fhir", rows_in=len(resources), demographics=demographics, errors=errors,
                   out_of_scope=out_of_scope)


def _demographics(patients: dict[str, dict], frame: pd.DataFrame) -> dict[str, Demographics]:
    """Sex and age (at the patient's first lab date) from Patient resources in the same file."""
    result: dict[str, Demographics] = {}
    for pid, res in patients.items():
        facts: dict[str, object] = {}
        sex = parse_sex(res.get("gender", "")) if isinstance(res.get("gender", ""), str) else None
        if sex is not None:
            facts["sex"] = sex
        birth = res.get("birthDate")
        dates = frame.loc[frame["patient_id"] == pid, "date"]
        if isinstance(birth, str) and birth and len(dates):
            try:
                born = dt.date.fromisoformat(birth[:10])
                first = min(dt.date.fromisoformat(str(d)[:10]) for d in dates if d)
                facts["age_years"] = float((first - born).days // 365.25)
            except ValueError:
                pass
        result[pid] = Demographics(**facts)
    return result
