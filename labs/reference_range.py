"""A lab's normal range for one analyte, sex and age band: supplies ULN/LLN when an observation has none."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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
