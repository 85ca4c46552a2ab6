"""What the engine judges: one lab value of one patient, with the context a criterion may need."""

from __future__ import annotations

import datetime as dt
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class Sex(str, Enum):
    MALE = "M"
    FEMALE = "F"


class Demographics(BaseModel):
    """Patient facts that derived values (CrCl, eGFR) and sex/age-specific limits need; None = unknown."""

    model_config = ConfigDict(extra="forbid")

    age_years: float | None = Field(default=None, ge=0, le=130)
    sex: Sex | None = None
    weight_kg: float | None = Field(default=None, gt=0, le=500)
    height_cm: float | None = Field(default=None, gt=0, le=300)
    reference_start: dt.date | None = None  # first dose / randomisation: labs before it are screening labs
    conditions: dict[str, bool] = Field(
        default_factory=dict,
        description="Known status of clinical conditions a threshold depends on, e.g. {'liver metastases': True}",
    )


class LabObservation(BaseModel):
    """One lab result. `unit` None means the source gave no unit: it is never assumed."""

    model_config = ConfigDict(extra="forbid")

    patient_id: str | None = None
    analyte: str = Field(description="analyte catalog code, e.g. ALT")
    value: float
    unit: str | None = None
    uln: float | None = None
    lln: float | None = None
    range_unit: str | None = Field(default=None, description="unit of uln/lln when it differs from `unit`")
    date: dt.date | None = None
    visit: str | None = None
    raw_test: str | None = Field(default=None, description="the test name as written in the source")
    source: str | None = Field(default=None, description="where it came from, e.g. 'labs.csv row 12'")
    demographics: Demographics | None = None
