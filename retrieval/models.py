"""What the retrieval stage hands on: candidate criteria with why they were picked, and what the index holds."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from ingest.models import Criterion


class Candidate(BaseModel):
    """A criterion that may govern an observation. Rule matches score >= 1; hybrid-only ones score < 1."""

    model_config = ConfigDict(extra="forbid")

    criterion: Criterion
    score: float
    why: list[str] = Field(default_factory=list, description='e.g. "rule on ALT", "hybrid rank 2 for ALT"')
    analytes: list[str] = Field(default_factory=list, description="observation analytes it was found for")


class ProtocolVersionInfo(BaseModel):
    """One ingested (protocol, version): the manifest record that makes the version visible to searches."""

    model_config = ConfigDict(extra="forbid")

    protocol_id: str
    version: str
    effective_date: dt.date | None = None
    title: str | None = None
    source_file: str
    sha256: str
    complete: bool
    criteria_count: int = Field(description="criteria other than context segments")
    context_count: int = 0
    counts_by_kind: dict[str, int] = Field(default_factory=dict)
    rules_count: int = 0
    embedding_model: str
    index_schema: int = 1
    ingested_at: dt.datetime


class IngestResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol_id: str
    version: str
    sha256: str
    skipped: bool = Field(description="the same file and version was already complete: nothing changed")
    points: int
    replaced_sha256: str | None = Field(default=None, description="an earlier file of the same version it replaced")
    seconds: float
