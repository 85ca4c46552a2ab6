"""Per-patient demographics from columns (plain CSV rows, SDTM DM): age, sex, weight, reference start."""

from __future__ import annotations

import pandas as pd
from pydantic import ValidationError

from labs.observation import Demographics, Sex
from ingest.patients.dates import DateError, parse_date
from ingest.patients.models import RowError

_SEX = {"m": Sex.MALE, "male": Sex.MALE, "f": Sex.FEMALE, "female": Sex.FEMALE}


def parse_sex(text: str) -> Sex | None:
    return _SEX.get(str(text).strip().lower())


def demographics_from_rows(file: str, frame: pd.DataFrame) -> tuple[dict[str, Demographics], list[RowError]]:
    """frame columns: patient_id, age, sex, weight_kg, reference_start (text; '' = unknown).

    The first row of a patient that states a value wins; a later different value is reported as a warning.
    """
    result: dict[str, Demographics] = {}
    warnings: list[RowError] = []
    has_any = frame[["age", "sex", "weight_kg", "reference_start"]].astype(str).apply(lambda s: s.str.strip() != "").any(axis=1)
    seen: dict[str, dict[str, object]] = {}
    for position, rec in frame.loc[has_any].iterrows():
        pid = str(rec["patient_id"]).strip()
        if not pid:
            continue
        facts = seen.setdefault(pid, {})
        row = int(position) + 1
        for column, key, parse in (("age", "age_years", float), ("sex", "sex", parse_sex),
                                   ("weight_kg", "weight_kg", float),
                                   ("reference_start", "reference_start", parse_date)):
            text = str(rec[column]).strip()
            if not text:
                continue
            try:
                value = parse(text)
                if value is None:
                    raise ValueError
            except (ValueError, TypeError) as exc:  # DateError is a ValueError: its message says why
                why = str(exc) if isinstance(exc, DateError) else f"unreadable {column} {text!r}"
                warnings.append(RowError(file=file, row=row, field=column, reason=f"{why}: ignored",
                                         value=text, patient_id=pid, severity="warning"))
                continue
            if key in facts and facts[key] != value:
                warnings.append(RowError(file=file, row=row, field=column,
                                         reason=f"{column} {text!r} differs from an earlier row ({facts[key]}): first kept",
                                         value=text, patient_id=pid, severity="warning"))
                continue
            facts[key] = value
    for pid, facts in seen.items():
        try:
            result[pid] = Demographics(**facts)
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors()}
            warnings.append(RowError(file=file, row=0, field=",".join(sorted(bad)), patient_id=pid, severity="warning",
                                     reason=f"impossible demographics for {pid} ({', '.join(sorted(bad))}): ignored"))
            result[pid] = Demographics(**{k: v for k, v in facts.items() if k not in bad})
    return result, warnings
