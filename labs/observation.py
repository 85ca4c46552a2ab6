"""What the engine judges: one lab value of one patient, with the context a criterion may need."""

from __future__ import annotations

import datetime as dt
import math
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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

    # The one gate every value passes before the engine (question, form, lab files): the engine's Decimal arithmetic
    # cannot take inf/NaN, and a ULN of inf or -40 silently turns a deviation into a pass (or a pass into one).
    # Relies on: no catalog analyte is a signed quantity (all are amounts, counts, activities, ratios or durations);
    # a signed one (base excess) would need a catalog flag before this check admits negatives.
    @field_validator("value")
    @classmethod
    def _finite_non_negative(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"lab value {value!r} is not a finite number")
        if value < 0:
            raise ValueError(f"lab value {value:g} is negative: impossible for a lab result (a concentration, count, "
                             "activity, ratio or duration)")
        return value

    @field_validator("uln", "lln")
    @classmethod
    def _positive_limit(cls, value: float | None, info) -> float | None:
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise ValueError(f"{info.field_name.upper()} {value!r} is not a positive finite number: a reference limit "
                             "scales the criterion's multiple, so it must be > 0")
        return value

    @model_validator(mode="after")
    def _range_ordered(self) -> "LabObservation":
        if self.uln is not None and self.lln is not None and self.lln >= self.uln:
            raise ValueError(f"reference range LLN {self.lln:g} is not below ULN {self.uln:g}")
        return self
