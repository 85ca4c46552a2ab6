"""A lab's normal range for one analyte, sex and age band: supplies ULN/LLN when an observation has none."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from labs.observation import Sex


class ReferenceRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analyte: str
    lln: float | None = None
    uln: float | None = None
    unit: str
    sex: Sex | None = None  # None: both sexes
    age_min: float | None = Field(default=None, description="inclusive, years")
    age_max: float | None = Field(default=None, description="exclusive, years")
    lab: str | None = None
    source: str | None = Field(default=None, description="file and row/page it was read from")

    @field_validator("lln", "uln")
    @classmethod
    def _positive_limit(cls, value: float | None, info) -> float | None:
        """A limit scales a criterion's multiple (2.5 x ULN): inf would pass every value, -40 fail every one.
        An LLN of 0 ("no lower limit", as labs write it) is kept: the engine refuses to scale a limit of 0."""
        if value is not None and (not math.isfinite(value) or value < 0 or (value == 0 and info.field_name == "uln")):
            raise ValueError(f"{info.field_name.upper()} {value!r} is not a positive finite number")
        return value
