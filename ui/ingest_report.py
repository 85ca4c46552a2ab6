"""The ingest report: what ingestion found in a protocol and what a CRA must check, as one typed checklist.

One place computes it and one function counts criteria, so `trialguard ingest`, `trialguard criteria` and the
app's Protocols page say the same numbers. It relies only on the parsed Protocol (eligibility sets, problems,
criteria and their rules) and the labs catalog; it reads nothing from the document again, except the search
for thresholds no rule reads, which scans each criterion's own text.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum

from pydantic import BaseModel, ConfigDict

from ingest.models import Criterion, CriterionKind, Protocol
from ui.rule_text import describe_rule


class CriteriaCount(BaseModel):
    """Criteria are the checkable items; context segments (tables, definitions) are counted apart, never as
    criteria: that is why a CLI counting every segment said 38 where the app said 35."""

    model_config = ConfigDict(frozen=True)

    criteria: int
    context: int
    rules: int

    def sentence(self) -> str:
        extra = f" (and {self.context} context segment{'s' * (self.context != 1)})" if self.context else ""
        return f"{self.criteria} criteria, {self.rules} rules{extra}"


def count_criteria(protocol: Protocol) -> CriteriaCount:
    """The one count of criteria, context segments and parsed rules used by every screen."""
    context = sum(c.kind is CriterionKind.CONTEXT for c in protocol.criteria)
    return CriteriaCount(criteria=len(protocol.criteria) - context, context=context,
                         rules=sum(len(c.rules) for c in protocol.criteria))


class Level(str, Enum):
    OK = "ok"
    CHECK = "check"  # a person should look: the reading may be incomplete
    ERROR = "error"  # the protocol cannot be trusted as read


class CheckItem(BaseModel):
    """One line of the checklist; `criterion_id` lets the app link it to the Corrections page."""

    model_config = ConfigDict(frozen=True)

    level: Level
    topic: str
    text: str
    criterion_id: str | None = None
    criterion_label: str | None = None


class IngestReport(BaseModel):
    protocol_id: str
    version: str
    already_ingested: bool
    count: CriteriaCount
    items: list[CheckItem]

    def headline(self) -> str:
        what = "already ingested, nothing changed" if self.already_ingested else "ingested"
        return f"{self.protocol_id} version {self.version}: {what} · {self.count.sentence()}"


def _pages(start: int, end: int) -> str:
    return f"pp. {start}-{end}" if end > start else f"p. {start}"


def _unitless(code: str) -> bool | None:
    """True when the catalog says the analyte has no unit (INR, ratios); None when the code is not in it."""
    from labs.catalog import default_catalog

    try:
        analyte = default_catalog().get(code)
    except Exception:  # noqa: BLE001 - unknown code: reported as such, not as unitless
        return None
    return analyte.canonical_unit.strip() in ("1", "") or not analyte.quantitative


# A threshold as criteria write it: a comparison word or sign, a number, then a unit or a multiple of a limit.
# Anything after the number that the labs unit reader accepts and that has a "/" (a concentration, a count per
# volume, a rate: 'mm/h', 'mg/dL', '/µL') or that is '× ULN' is lab-like; ages, doses per kg or m² and
# durations are not (a dose 'mg/kg' or 'mg/m2' is per body size, not per volume of blood).
_THRESHOLD = re.compile(
    r"(?:[<>≤≥]=?|=<|=>|\b(?:above|below|greater|less|more|fewer|under|over|exceed\w*|at least|at most)\b)"
    r"[^\d\n;]{0,25}?(\d+(?:[.,]\d+)?)\s*(?:(?:x|×|times)\s*(?:the\s+)?(ULN|LLN|upper limit of normal|lower limit"
    r" of normal)|([A-Za-zµμ%/^0-9.²³]+(?:/[A-Za-z0-9.²³ ]{1,12})?))",
    re.IGNORECASE,
)
_DOSE_OR_BODY = re.compile(r"/\s*(?:kg|m2|m²|day|d|week|wk|dose)\b", re.IGNORECASE)


def _lab_unit(text: str) -> bool:
    from labs.units import parse_unit

    text = text.strip().rstrip(".,)")
    if "/" not in text or _DOSE_OR_BODY.search(text):
        return False
    try:
        parse_unit(text)
    except Exception:  # noqa: BLE001 - not a unit
        return False
    return True


def unread_thresholds(criterion: Criterion,
                      covered: list[tuple[int, int]] | None = None) -> list[tuple[int, str]]:
    """Lab-like thresholds in a criterion's text that no parsed rule covers: usually a test the catalog does not
    know (ESR, a local assay), so no lab value can ever be judged against it. Returns (offset in Protocol.text,
    the text around it) for each.

    `covered`: spans of Protocol.text read by any rule (a parent's text holds its sub-items, whose rules read it);
    by default the criterion's own rules."""
    if covered is None:
        covered = [(criterion.char_start + r.start, criterion.char_start + r.end) for r in criterion.rules]
    found = []
    for match in _THRESHOLD.finditer(criterion.text):
        multiple, unit = match.group(2), match.group(3)
        if not multiple and not (unit and _lab_unit(unit)):
            continue
        number_at = criterion.char_start + match.start(1)
        if any(start <= number_at < end for start, end in covered):
            continue
        before = criterion.text[max(0, match.start() - 40):match.start()].split("\n")[-1]
        found.append((number_at, (before + criterion.text[match.start():match.end()]).strip()))
    return found


def _criteria_items(protocol: Protocol) -> list[CheckItem]:
    items = []
    for found in protocol.eligibility_sets:
        section = " ".join(x for x in (found.section_number, found.section_title) if x)
        level = Level.CHECK if found.source == "synopsis" else Level.OK
        origin = "from the SYNOPSIS only (no body section found: check against the body)" if (
            found.source == "synopsis") else "from the body"
        items.append(CheckItem(level=level, topic="criteria", text=(
            f"{found.kind.value} set '{found.name}': {found.count} criteria, {section}, "
            f"{_pages(found.page_start, found.page_end)}, {origin}, located by {found.found_by}")))
    if protocol.eligibility_sets and not any(s.source == "synopsis" for s in protocol.eligibility_sets):
        items.append(CheckItem(level=Level.OK, topic="synopsis", text="synopsis not used: criteria read from the body"))
    return items


def _metadata_items(protocol: Protocol, given_version: str | None, given_date: dt.date | None) -> list[CheckItem]:
    """Version and effective date: given by the person ingesting, read from the document, or not found.

    Relies on parse_protocol's documented fallback: with no version given or found, the version is '1'; so a
    '1' that the text never states as a version is reported as not found. Protocol.text has its running headers
    stripped, so a '1' stated only in a running header is reported as not found too: a needless check, never a
    false assurance."""
    items = []
    if given_version:
        items.append(CheckItem(level=Level.OK, topic="version", text=f"version {protocol.version}: given at ingest"))
    elif protocol.version == "1" and not re.search(r"\bversion\s*:?\s*(?:no\.?\s*)?1(?:\.0+)?\b", protocol.text,
                                                   re.IGNORECASE):
        items.append(CheckItem(level=Level.CHECK, topic="version",
                               text="version NOT FOUND in the document: '1' assumed; give the version at ingest"))
    else:
        items.append(CheckItem(level=Level.OK, topic="version",
                               text=f"version {protocol.version}: read from the document"))
    if given_date:
        items.append(CheckItem(level=Level.OK, topic="date", text=f"effective date {given_date}: given at ingest"))
    elif protocol.effective_date:
        items.append(CheckItem(level=Level.OK, topic="date",
                               text=f"effective date {protocol.effective_date}: read from the document"))
    else:
        items.append(CheckItem(level=Level.CHECK, topic="date", text=(
            "effective date NOT FOUND: the version in force cannot be chosen by lab date; give it at ingest")))
    return items


def _rule_items(protocol: Protocol) -> list[CheckItem]:
    items = []
    covered = [(c.char_start + r.start, c.char_start + r.end) for c in protocol.criteria for r in c.rules]
    unread: dict[int, tuple[Criterion, str]] = {}
    for c in protocol.criteria:
        if c.kind is CriterionKind.CONTEXT:
            continue
        for rule in c.rules:
            unitless = _unitless(rule.analyte)
            if unitless is None:
                items.append(CheckItem(level=Level.CHECK, topic="unknown test", criterion_id=c.id,
                                       criterion_label=c.label, text=(
                    f"{c.kind.value} {c.label}: test {rule.analyte!r} is not in the lab catalog")))
            elif not unitless and rule.unit is None and rule.multiple_of is None:
                items.append(CheckItem(level=Level.CHECK, topic="rule without unit", criterion_id=c.id,
                                       criterion_label=c.label, text=(
                    f"{c.kind.value} {c.label}: '{describe_rule(rule)}' has no unit; values cannot be judged "
                    "until a reviewer gives it")))
        for offset, text in unread_thresholds(c, covered):
            # A parent's text holds its sub-items: name the innermost criterion that holds the threshold.
            held = unread.get(offset)
            if held is None or (c.char_end - c.char_start) < (held[0].char_end - held[0].char_start):
                unread[offset] = (c, text)
    for c, text in unread.values():
        items.append(CheckItem(level=Level.CHECK, topic="unknown test", criterion_id=c.id, criterion_label=c.label,
                               text=f"{c.kind.value} {c.label}: threshold not read as a rule (a test the "
                                    f"catalog does not know?): '{text}'"))
    return items


def _problem_items(protocol: Protocol) -> list[CheckItem]:
    items = []
    for problem in protocol.problems:
        topic = "numbering" if re.search(r"\b(gap|missing|skipp|out of order|numbering)", problem, re.I) else "problem"
        level = Level.ERROR if problem.startswith("NO ELIGIBILITY") else Level.CHECK
        items.append(CheckItem(level=level, topic=topic, text=problem))
    return items


def _recorded_metadata_items(protocol: Protocol) -> list[CheckItem]:
    """For a version already in the index, where nobody knows any more whether the version and date were typed
    at ingest or read from the document: say what is recorded, and a missing date."""
    items = [CheckItem(level=Level.OK, topic="version", text=f"version {protocol.version} (as recorded at ingest)")]
    if protocol.effective_date:
        items.append(CheckItem(level=Level.OK, topic="date",
                               text=f"effective date {protocol.effective_date} (as recorded at ingest)"))
    else:
        items.append(CheckItem(level=Level.CHECK, topic="date", text=(
            "NO effective date recorded: the version in force cannot be chosen by lab date; re-ingest with it")))
    return items


def ingest_report(protocol: Protocol, *, already_ingested: bool = False, given_version: str | None = None,
                  given_date: dt.date | None = None, at_ingest: bool = True) -> IngestReport:
    """The checklist after an ingest, or (at_ingest=False) for a version already in the index, where what was
    given at ingest is no longer known."""
    metadata = _metadata_items(protocol, given_version, given_date) if at_ingest else _recorded_metadata_items(protocol)
    items = [*_criteria_items(protocol), *metadata,
             *_problem_items(protocol), *_rule_items(protocol)]
    return IngestReport(protocol_id=protocol.protocol_id, version=protocol.version, already_ingested=already_ingested,
                        count=count_criteria(protocol), items=items)
