"""A ClinicalTrials.gov study record (API v2 JSON): its eligibility criteria as a one-page document."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from labs.errors import DocumentError

from ingest.readers.models import ExtractedDocument, ExtractedPage
from ingest.readers.text import unescape_markdown


def read_ctgov_json(path: Path) -> ExtractedDocument:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocumentError(path, f"not valid JSON ({exc})") from exc
    section = record.get("protocolSection") if isinstance(record, dict) else None
    if not isinstance(section, dict):
        raise DocumentError(path, "not a ClinicalTrials.gov study record (no 'protocolSection')")
    criteria = (section.get("eligibilityModule") or {}).get("eligibilityCriteria")
    if not isinstance(criteria, str) or not criteria.strip():
        raise DocumentError(path, "the record has no protocolSection.eligibilityModule.eligibilityCriteria")
    ident = section.get("identificationModule") or {}
    status = section.get("statusModule") or {}
    updated = (status.get("lastUpdatePostDateStruct") or {}).get("date")
    effective = None
    if isinstance(updated, str):
        try:
            effective = dt.date.fromisoformat(updated)
        except ValueError:
            effective = None
    title = ident.get("officialTitle") or ident.get("briefTitle")
    # CT.gov records carry no protocol version; the record's last update date identifies what was read.
    return ExtractedDocument(
        path=str(path),
        kind="ctgov",
        pages=[ExtractedPage(number=1, text=unescape_markdown(criteria))],
        protocol_id=ident.get("nctId"),
        version=f"ctgov-{updated}" if updated else None,
        title=title,
        effective_date=effective,
    )
