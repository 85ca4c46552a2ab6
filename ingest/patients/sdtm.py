"""CDISC SDTM LB (CSV or SAS transport .xpt), with DM alongside for age, sex and reference start (RFSTDTC)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labs.errors import DocumentError
from labs.observation import Demographics
from ingest.patients.demographics import parse_sex
from ingest.patients.models import RowError
from ingest.patients.normalize import RawRows, parsed_unit
from ingest.patients.schema import read_text_table, require_columns

LB_SCHEMA = ("USUBJID, LBTESTCD, and LBORRES+LBORRESU and/or LBSTRESN+LBSTRESU (required); LBTEST, LBORNRLO, "
             "LBORNRHI, LBSTNRLO, LBSTNRHI, LBDTC, VISIT, STUDYID (optional)")
LB_REQUIRED = [["USUBJID"], ["LBTESTCD"], ["LBORRES", "LBSTRESN"], ["LBORRESU", "LBSTRESU"]]
DM_SCHEMA = "USUBJID (required); AGE, SEX, RFSTDTC (reference start, first dose), AGEU (optional)"


def read_table(path: Path) -> pd.DataFrame:
    """CSV as text, or SAS transport (.xpt) with its character columns decoded."""
    if path.suffix.lower() in (".xpt", ".xport"):
        try:
            frame = pd.read_sas(path, format="xport", encoding="utf-8")
        except Exception as exc:  # pandas raises several unrelated types for a bad transport file
            raise DocumentError(path, f"not a readable SAS transport (.xpt) file: {exc}") from None
        if frame.empty:
            raise DocumentError(path, "no data rows")
        frame = frame.astype(object).where(frame.notna(), "")
        return frame.astype(str).where(frame != "", "")
    return read_text_table(path)


def find_dm(lb_path: Path) -> Path | None:
    """DM beside LB: the LB file name with 'lb' -> 'dm' (sdtm_lb.csv -> sdtm_dm.csv, lb.xpt -> dm.xpt)."""
    stem, suffix = lb_path.stem, lb_path.suffix
    for candidate in (stem.replace("lb", "dm"), stem.replace("LB", "DM"), "dm", "DM", "sdtm_dm"):
        path = lb_path.with_name(candidate + suffix)
        if candidate != stem and path.is_file():
            return path
    return None


def read_dm(path: Path) -> tuple[dict[str, Demographics], list[RowError]]:
    frame = read_table(path)
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    require_columns(path, list(frame.columns), [["USUBJID"]], DM_SCHEMA)
    result: dict[str, Demographics] = {}
    warnings: list[RowError] = []
    for position, rec in enumerate(frame.to_dict("records"), start=1):
        pid = str(rec["USUBJID"]).strip()
        facts: dict[str, object] = {}
        age_text = str(rec.get("AGE", "")).strip()
        age_unit = str(rec.get("AGEU", "YEARS")).strip().upper() or "YEARS"
        if age_text:
            try:
                age = float(age_text)
                if age_unit.startswith("YEAR") and 0 <= age <= 130:
                    facts["age_years"] = age
                else:
                    raise ValueError
            except ValueError:
                warnings.append(RowError(file=path.name, row=position, field="AGE", value=age_text, patient_id=pid,
                                         severity="warning", reason=f"unusable AGE {age_text!r} {age_unit}: ignored"))
        sex = parse_sex(rec.get("SEX", ""))
        if sex is not None:
            facts["sex"] = sex
        start = str(rec.get("RFSTDTC", "")).strip()
        if start:
            parsed = pd.to_datetime(start[:10], format="%Y-%m-%d", errors="coerce")
            if pd.isna(parsed):
                warnings.append(RowError(file=path.name, row=position, field="RFSTDTC", value=start, patient_id=pid,
                                         severity="warning", reason=f"unreadable RFSTDTC {start!r}: ignored"))
            else:
                facts["reference_start"] = parsed.date()
        result[pid] = Demographics(**facts)
    return result, warnings


def read_sdtm_rows(path: Path, dm_path: Path | None = None) -> RawRows:
    frame = read_table(path)
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    require_columns(path, list(frame.columns), LB_REQUIRED, LB_SCHEMA)
    n = len(frame)

    def col(name: str) -> pd.Series:
        return frame[name] if name in frame.columns else pd.Series("", index=frame.index, dtype=object)

    # Prefer the standardized result (numeric, SI) where it is numeric and its unit parses; else the original.
    std_unit = col("LBSTRESU").astype(str).str.strip()
    std_ok_units = {u for u in pd.unique(std_unit) if u and parsed_unit(u) is not None}
    std_value = pd.to_numeric(col("LBSTRESN"), errors="coerce")
    use_std = (std_value.notna() & std_unit.isin(std_ok_units)).to_numpy()

    def pick(std: str, orig: str) -> np.ndarray:
        return np.where(use_std, col(std).astype(str).to_numpy(), col(orig).astype(str).to_numpy())

    raw = pd.DataFrame({
        "file": path.name,
        "row": np.arange(1, n + 1),
        "patient_id": col("USUBJID").to_numpy(),
        "test": col("LBTESTCD").to_numpy(),
        "loinc": col("LBLOINC").to_numpy(),
        "value": pick("LBSTRESN", "LBORRES"),
        "unit": pick("LBSTRESU", "LBORRESU"),
        "uln": pick("LBSTNRHI", "LBORNRHI"),
        "lln": pick("LBSTNRLO", "LBORNRLO"),
        "range_unit": "",
        "date": col("LBDTC").to_numpy(),
        "visit": col("VISIT").to_numpy(),
    })
    # An unknown LBTESTCD may still be known by its name (LBTEST): fall back per distinct code.
    if "LBTEST" in frame.columns:
        raw["test_name"] = frame["LBTEST"].to_numpy()
    study = next((s for s in pd.unique(col("STUDYID").astype(str)) if s), None)

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
