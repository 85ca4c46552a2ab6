"""FHIR R4 lab Observations: a Bundle, NDJSON (one resource per line), or a single resource per file.

LOINC code -> analyte, valueQuantity (UCUM code preferred over the display unit), referenceRange low/high ->
LLN/ULN, effectiveDateTime (or effectivePeriod.start, issued), subject -> patient id. Patient resources in the same
file give sex and birth date. A resource that is not a lab value (DiagnosticReport, a panel with hasMember) is
counted out of scope with the reason; an Observation without a numeric valueQuantity is a row error.
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


def _resources(path: Path) -> list[tuple[int, dict]]:
    """(row number, resource): bundle entry number, NDJSON line number, or 1 for a single resource."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(path, f"not UTF-8 text: {exc}") from None
    if not text.strip():
        raise DocumentError(path, "empty file: no FHIR resources")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, list):  # a JSON array of resources
        return [(i, r if isinstance(r, dict) else {"resourceType": "__unreadable__"}) for i, r in enumerate(document, 1)]
    if isinstance(document, dict):
        if document.get("resourceType") == "Bundle":
            entries = document.get("entry") or []
            return [(i, e.get("resource") or {}) for i, e in enumerate(entries, start=1)]
        if "resourceType" not in document:
            raise DocumentError(path, "JSON without resourceType: expected a FHIR Bundle, Observation or NDJSON")
        return [(1, document)]
    rows: list[tuple[int, dict]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            resource = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((number, {"resourceType": "__unreadable__", "error": str(exc)}))
            continue
        rows.append((number, resource if isinstance(resource, dict) else {"resourceType": "__unreadable__"}))
    if not rows:
        raise DocumentError(path, "no FHIR resources")
    return rows


def _reference_id(reference: dict | None) -> str:
    ref = (reference or {}).get("reference") or ""
    return ref.split("/", 1)[1] if ref.startswith("Patient/") else ref


def _quantity(q: dict | None) -> tuple[object, str]:
    if not q:
        return "", ""
    unit = q.get("code") if q.get("system") == UCUM and q.get("code") else q.get("unit") or q.get("code") or ""
    value = q.get("value")
    return ("" if value is None else value), unit


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
            errors.append(RowError(file=path.name, row=row, field="line", reason="not a JSON object: unreadable line"))
            continue
        if kind != "Observation":
            reason = f"{kind} resource (not a lab Observation)"
            out_of_scope[reason] = out_of_scope.get(reason, 0) + 1
            continue
        if res.get("hasMember") and "valueQuantity" not in res:
            reason = "panel Observation (hasMember): its member Observations are the lab values"
            out_of_scope[reason] = out_of_scope.get(reason, 0) + 1
            continue
        patient = _reference_id(res.get("subject"))
        codings = (res.get("code") or {}).get("coding") or []
        loinc = next((c.get("code", "") for c in codings if c.get("system") == LOINC), "")
        test = (res.get("code") or {}).get("text") or next((c.get("display", "") for c in codings), "") or loinc
        if "valueQuantity" not in res:
            present = next((k for k in res if k.startswith("value")), None)
            errors.append(RowError(file=path.name, row=row, field=present or "valueQuantity", patient_id=patient or None,
                                   reason=f"no numeric valueQuantity ({present or 'no value'}): cannot be judged"))
            continue
        value, unit = _quantity(res["valueQuantity"])
        ranges = res.get("referenceRange") or []
        low, low_unit = _quantity(ranges[0].get("low")) if ranges else ("", "")
        high, high_unit = _quantity(ranges[0].get("high")) if ranges else ("", "")
        date = res.get("effectiveDateTime") or (res.get("effectivePeriod") or {}).get("start") or res.get("issued") or ""
        records.append({
            "file": path.name, "row": row, "patient_id": patient, "test": test, "loinc": loinc,
            "value": value, "unit": unit, "uln": high, "lln": low, "range_unit": high_unit or low_unit,
            "date": date, "visit": "",
        })
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
        sex = parse_sex(res.get("gender", ""))
        if sex is not None:
            facts["sex"] = sex
        birth = res.get("birthDate")
        dates = frame.loc[frame["patient_id"] == pid, "date"]
        if birth and len(dates):
            try:
                born = dt.date.fromisoformat(birth[:10])
                first = min(dt.date.fromisoformat(str(d)[:10]) for d in dates if d)
                facts["age_years"] = float((first - born).days // 365.25)
            except ValueError:
                pass
        result[pid] = Demographics(**facts)
    return result
