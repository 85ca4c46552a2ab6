"""Hand-built criteria and observations for the reasoning tests (no parser, no Qdrant needed)."""

from __future__ import annotations

import datetime as dt

from ingest.models import Criterion, CriterionKind, LabRule, Protocol, Page
from labs.observation import LabObservation


def rule(text: str, quote: str, analyte: str, comparator: str, **fields) -> LabRule:
    """A LabRule whose quote is located in `text` (so citations can be verified)."""
    start = text.index(quote)
    return LabRule(analyte=analyte, comparator=comparator, quote=quote, start=start, end=start + len(quote), **fields)


def criterion(text: str, rules: list[LabRule], kind: str = "exclusion", label: str = "4",
              protocol_id: str = "TEST-001", version: str = "1.0") -> Criterion:
    return Criterion(
        id=f"{protocol_id}:{version}:{kind}:{label}", protocol_id=protocol_id, version=version,
        kind=CriterionKind(kind), label=label, section_number="5.2", section_title="Exclusion criteria",
        page_start=12, page_end=12, text=text, char_start=0, char_end=len(text), rules=rules,
    )


def obs(analyte: str, value: float, unit: str | None = None, **fields) -> LabObservation:
    return LabObservation(analyte=analyte, value=value, unit=unit, **fields)


def protocol(criteria: list[Criterion], protocol_id: str = "TEST-001", version: str = "1.0") -> Protocol:
    text = "".join(c.text + "\n" for c in criteria)
    offset, fixed = 0, []
    for c in criteria:
        fixed.append(c.model_copy(update={"char_start": offset, "char_end": offset + len(c.text)}))
        offset += len(c.text) + 1
    return Protocol(
        protocol_id=protocol_id, version=version, effective_date=dt.date(2024, 1, 1), source_file="test.md",
        sha256="0" * 64, pages=[Page(number=12, text=text, char_start=0)], criteria=fixed,
    )
