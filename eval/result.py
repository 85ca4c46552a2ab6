"""What one gold set reports: its metrics plus what the report plots."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SuiteResult(BaseModel):
    suite: str
    metrics: dict[str, float] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)
    misses: list[str] = Field(default_factory=list, description="each wrong or missed item, readable")
    confusion: dict[str, dict[str, int]] | None = Field(default=None, description="expected -> got -> count")
    per_analyte: dict[str, float] | None = None
    recall_at_k: dict[int, float] | None = None
    latencies_ms: list[float] | None = None
    skipped: str | None = Field(default=None, description="why the suite did not run (never silent)")
    markdown: str | None = Field(default=None, description="a suite's own report section (tables), written as is")
