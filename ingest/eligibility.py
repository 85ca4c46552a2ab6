"""Choosing the eligibility sections in force among every place a protocol states criteria.

A protocol may state its criteria several times: the body section, a synopsis restatement ("Key Inclusion
Criteria" in a table at the front), and old text in amendment appendices or summaries of changes. It may also
hold several sets of one kind (per part or cohort, enrolment versus randomisation). This module decides which
candidate sections (`sections.candidate_sections`) are the current eligibility sets, by evidence in this order:

0. Amendment text first: a candidate inside an amendment region (below) is old text even where bookmarked.
1. The document's own map (`structure.document_map`: PDF bookmarks, else the table of contents). A candidate
   whose heading the map pins, or that lies inside a mapped eligibility section ("5.1 Inclusion/exclusion
   criteria" with unnumbered sub-headings), is body text. Relies on synopses and amendment restatements not
   having their own bookmarks or contents entries for criteria headings, which is how protocols are laid out.
2. Regions: a synopsis (a map entry or a short heading line naming a synopsis or protocol summary, up to the
   next chapter) and amendment text (a map entry naming amendments or a summary of changes, or change markers
   such as "Old text:" / "Revised text:" just before the heading). Candidates there are restatements.
3. Without map evidence for a kind, the first body-region candidate holding labelled items (a numbered heading
   preferred), as before.

Synopsis criteria are used only where nothing else states the criteria, and then the problem says so. Amendment
text is never used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ingest.lines import Line
from ingest.models import CriterionKind
from ingest.sections import CriteriaSection, map_kind, numbered_heading
from ingest.structure import DocumentMap, MapEntry

ELIGIBILITY = (CriterionKind.INCLUSION, CriterionKind.EXCLUSION)
_ELIGIBILITY_TITLE = re.compile(r"inclusion|exclusion|eligib", re.IGNORECASE)
_SYNOPSIS_TITLE = re.compile(r"\bsynopsis\b|^(?:protocol|study|trial)\s+summary\b", re.IGNORECASE)
_AMENDMENT_TITLE = re.compile(
    r"\bamendment\s*(?:\d|[IVX]+\b|no\b)|summary\s+of\s+(?:the\s+)?(?:changes|amendments)|protocol\s+changes"
    r"|history\s+of\s+(?:changes|amendments)|changes\s+to\s+the\s+protocol",
    re.IGNORECASE,
)
# Labels that open quoted amendment text, at the start of a line ("Old text:", "Revised wording", "Was:"), and a
# summary-of-changes heading. Prose that merely mentions "the new text" does not count.
_CHANGE_MARKER = re.compile(
    r"^\s*(?:(?:old|original|previous|prior|current|amended|revised|new|updated|deleted|added)\s+(?:text|wording)"
    r"\b\s*:?\s*$|(?:old|original|previous|prior|amended|revised|new|updated|deleted|added)\s+(?:text|wording)\s*:"
    r"|(?:was|now\s+reads|changed\s+(?:from|to))\s*:|summary\s+of\s+(?:the\s+)?changes\b)",
    re.IGNORECASE,
)
# A synopsis heading line: at most three words before "synopsis" ("1. SYNOPSIS", "Clinical Trial Protocol Synopsis")
# or "Protocol Summary", capitalised, not a sentence.
_SYNOPSIS_LINE = re.compile(r"^(?:[A-Za-z-]+\s+){0,3}synopsis\b|^(?:protocol|study|trial)\s+summary\b", re.I)
_CHANGE_WINDOW = 25  # lines before a heading where a change marker makes it amendment text
_SYNOPSIS_MAX_PAGES = 25  # a synopsis heading without a following chapter heading covers at most this much


@dataclass
class EligibilityChoice:
    sections: list[CriteriaSection]  # chosen eligibility sections plus every rule section, in document order
    problems: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # restatements left out, said for the record


def _line_of_page(lines: list[Line]) -> dict[int, int]:
    first: dict[int, int] = {}
    for line in lines:
        first.setdefault(line.page, line.index)
    return first


def _entry_start(entry: MapEntry, first_line: dict[int, int]) -> int | None:
    return entry.heading.index if entry.heading is not None else first_line.get(entry.page)


def _map_regions(document_map: DocumentMap, lines: list[Line], title: re.Pattern[str]) -> list[tuple[int, int]]:
    """Line ranges of map entries whose title matches, each up to the next entry at its level or shallower.

    A range covering more than half the document is a malformed outline (everything nested under one entry) and
    is left out.
    """
    first_line = _line_of_page(lines)
    entries = document_map.entries
    regions: list[tuple[int, int]] = []
    for k, entry in enumerate(entries):
        if not title.search(entry.title):
            continue
        start = _entry_start(entry, first_line)
        if start is None:
            continue
        end = len(lines)
        for later in entries[k + 1 :]:
            later_start = _entry_start(later, first_line)
            if later.level <= entry.level and later_start is not None and later_start > start:
                end = later_start
                break
        if end - start <= len(lines) // 2:
            regions.append((start, end))
    return regions


def _text_synopsis_regions(lines: list[Line], skip_pages: set[int]) -> list[tuple[int, int]]:
    """A short heading line naming a synopsis ("1. SYNOPSIS", "Protocol Synopsis") up to the next chapter heading.

    Relies on a synopsis being front matter that ends where the first numbered chapter after it starts.
    """
    regions: list[tuple[int, int]] = []
    for line in lines:
        text = line.text.strip()
        if line.page in skip_pages or not text or len(text.split()) > 6:
            continue
        plain = re.sub(r"^\d{1,2}\.?\s+", "", text)
        if not _SYNOPSIS_LINE.match(plain) or not plain[0].isupper() or plain.endswith((".", ";", ",")):
            continue
        end = len(lines)
        for later in lines[line.index + 1 :]:
            if later.page - line.page > _SYNOPSIS_MAX_PAGES:
                end = later.index
                break
            heading = numbered_heading(later)
            if heading is not None and heading.depth == 0 and not _SYNOPSIS_TITLE.search(heading.title):
                end = later.index
                break
        regions.append((line.index, end))
    return regions


def _inside(index: int, regions: list[tuple[int, int]]) -> bool:
    return any(start <= index < end for start, end in regions)


def _changed_text(section: CriteriaSection, lines: list[Line]) -> bool:
    index = section.heading.line.index
    window = lines[max(0, index - _CHANGE_WINDOW) : index + 1]
    return any(_CHANGE_MARKER.search(line.text) for line in window)


def _has_items(section: CriteriaSection) -> bool:
    from ingest.criteria import starts_item

    return any(starts_item(line.text) for line in section.lines)


def _where(section: CriteriaSection) -> str:
    number = f"{section.heading.number} " if section.heading.number else ""
    return f"'{number}{section.heading.title}' (p. {section.heading.line.page})"


def choose_eligibility(
    candidates: list[CriteriaSection], document_map: DocumentMap, lines: list[Line]
) -> EligibilityChoice:
    located = sorted(document_map.located(), key=lambda e: e.heading.index if e.heading else 0)
    pinned = {e.heading.index for e in located if e.heading is not None and map_kind(e.title) is not None}
    # A mapped eligibility section spans to the next mapped heading; candidates inside it are its sub-sets.
    spans = []
    for k, entry in enumerate(located):
        if entry.heading is not None and _ELIGIBILITY_TITLE.search(entry.title):
            end = located[k + 1].heading.index if k + 1 < len(located) else len(lines)
            spans.append((entry.heading.index, end))
    synopsis = _map_regions(document_map, lines, _SYNOPSIS_TITLE) + _text_synopsis_regions(
        lines, document_map.toc_pages
    )
    amendments = _map_regions(document_map, lines, _AMENDMENT_TITLE)

    rule_sections = [c for c in candidates if c.kind not in ELIGIBILITY]
    chosen: list[CriteriaSection] = []
    choice = EligibilityChoice(sections=[])
    for kind in ELIGIBILITY:
        of_kind = [c for c in candidates if c.kind == kind]
        body: list[CriteriaSection] = []
        plain: list[CriteriaSection] = []
        restated: list[CriteriaSection] = []
        old: list[CriteriaSection] = []
        for c in of_kind:
            index = c.heading.line.index
            if _inside(index, amendments) or _changed_text(c, lines):
                old.append(c)  # even where bookmarked: an amendment appendix may bookmark its quoted sections
            elif index in pinned:
                body.append(c)
            elif _inside(index, spans) and not _inside(index, synopsis):
                body.append(c)
            elif _inside(index, synopsis):
                restated.append(c)
            else:
                plain.append(c)
        unread = [c for c in body if c.heading.line.index in pinned]
        body = _drop_empty_parents(body)
        unread = [c for c in unread if c not in body and not any(b.heading.line.index > c.heading.line.index
                                                                  for b in body)]
        if body:
            picked = body
        else:
            pool = [c for c in plain if _has_items(c)]
            numbered = [c for c in pool if c.heading.number]
            first = (numbered or pool or plain)[:1]
            picked = first
            if not picked and restated:
                synopsis_pick = ([c for c in restated if _has_items(c)] or restated)[:1]
                picked = [replace(c, origin="synopsis") for c in synopsis_pick]
                body_state = (
                    f"the body section {_where(unread[0])} was found but no criteria could be read from it"
                    if unread else "the body section was not found"
                )
                choice.problems.append(
                    f"{kind.value} criteria found only in the synopsis, {_where(picked[0])}: used, but {body_state}; "
                    "check them against the protocol body"
                )
        if not picked and old:
            choice.problems.append(
                f"{kind.value} criteria found only in amendment text ({_where(old[0])}): old text, not used"
            )
        if not picked:
            choice.problems.append(f"no {kind.value} criteria found" + _map_says(kind, document_map, lines))
        choice.ignored += [f"{kind.value} synopsis restatement {_where(c)} not used" for c in restated
                           if all(p.heading.line.index != c.heading.line.index for p in picked)]
        choice.ignored += [f"{kind.value} text in amendments {_where(c)} not used" for c in old]
        chosen += picked
    choice.sections = sorted(chosen + rule_sections, key=lambda s: s.first_body_offset)
    return choice


def _map_says(kind: CriterionKind, document_map: DocumentMap, lines: list[Line]) -> str:
    """Why the section the document's own map names was not read: a page without text, or no such heading."""
    entry = next((e for e in document_map.entries if map_kind(e.title) == kind), None)
    if entry is None:
        return ""
    what = "bookmarks" if entry.source == "outline" else "table of contents"
    if not any(line.text.strip() for line in lines if line.page == entry.page):
        return (f": the {what} place '{entry.title}' on p. {entry.page}, which has no text layer (a scanned "
                "page?); OCR it or check the criteria by hand")
    return f": the {what} place '{entry.title}' on p. {entry.page}, but no such heading was found there"


def _drop_empty_parents(body: list[CriteriaSection]) -> list[CriteriaSection]:
    """A heading directly followed by a sub-heading of the same kind ("4.2 Inclusion Criteria" then
    "Inclusion criteria:") holds no list of its own: the sub-heading's section is the set."""
    kept: list[CriteriaSection] = []
    ordered = sorted(body, key=lambda s: s.first_body_offset)
    for k, section in enumerate(ordered):
        has_text = any(line.text.strip() for line in section.lines if line is not section.heading.line)
        if k + 1 < len(ordered) and not _has_items(section) and not has_text:
            continue
        number, later = section.heading.number, ordered[k + 1] if k + 1 < len(ordered) else None
        if (
            number and later is not None and (later.heading.number or "").startswith(number + ".")
            and not _has_items(section)
        ):
            continue  # "5.5 Exclusion Criteria for ..." with only a lead-in, then 5.5.1, 5.5.2 hold the lists
        if not _has_items(section) and not has_text and section.heading.body_start >= section.heading.line.end:
            continue
        kept.append(section)
    return kept


def split_restarts(items: list, lines: list[Line], kind: CriterionKind) -> list[tuple[str | None, list]]:
    """A section's items cut where the top-level numbering starts again ("1. 2. 3. 4." then "1. 2. ..."):
    each run is its own set, named by the lead-in line before it ("Infants must meet the following criteria").

    Relies on numbered labels (`Item.number`): a restart is a top-level ordinal back at the list's first value
    after a higher one. Bullets and letters carry no ordinal and never split. One run gives [(None, items)].
    """
    tops = [item for item in items if item.parent is None and item.style != "context"]
    first = next((item.number for item in tops if item.number is not None), None)
    starts = [tops[0]] if tops else []
    previous = None
    for item in tops:
        if item.number is not None:
            if first is not None and previous is not None and item.number == first and previous > item.number:
                starts.append(item)
            previous = item.number
    if len(starts) < 2:
        return [(None, items)]
    in_items = {line.index for item in items for line in item.lines}
    groups: list[tuple[str | None, list]] = []
    for n, start in enumerate(starts):
        end = starts[n + 1].start if n + 1 < len(starts) else None
        members = [item for item in items if item.start >= start.start and (end is None or item.start < end)]
        if n == 0:
            members = [item for item in items if end is None or item.start < end]
        name = _lead_in(start.lines[0].index, lines, in_items)
        groups.append((name or f"{kind.value} list {n + 1}", members))
    return groups


def _lead_in(index: int, lines: list[Line], in_items: set[int]) -> str | None:
    """The non-blank line just before a list, when it is not part of an item and reads as a lead-in."""
    for line in reversed(lines[max(0, index - 3) : index]):
        text = line.text.strip()
        if not text:
            continue
        if line.index in in_items and not text.endswith(":"):
            return None
        if numbered_heading(line) is not None:
            return None  # the section heading itself: the list has no lead-in of its own
        return text.rstrip(":").strip()[:120] or None
    return None


@dataclass
class SetPart:
    """One run of items of one section that belongs to a set."""

    section: CriteriaSection
    items: list
    lead_in: str | None = None  # the line introducing a restarted run ("Infants must meet ...")


@dataclass
class CriteriaSet:
    kind: CriterionKind
    parts: list[SetPart]
    name: str = ""

    @property
    def labels(self) -> set[str]:
        return {item.label for part in self.parts for item in part.items if item.parent is None}


def group_sets(sections: list[tuple[CriteriaSection, list]], lines: list[Line], pinned: set[int]) -> list[CriteriaSet]:
    """Eligibility sections (with their items, in document order) as named sets.

    A restarted list is its own set (`split_restarts`). An unnumbered sub-heading that the document's map does not
    list ("Exclusion criteria related to the study drug:") and whose labels do not repeat the list before it
    continues that list: same set, as its labels are unique within it. A set is named by its heading, or by its
    lead-in for a restarted run, where a kind has several; otherwise by the kind ("inclusion").
    """
    sets: list[CriteriaSet] = []
    for section, items in sections:
        runs = split_restarts(items, lines, section.kind)
        for lead_in, run in runs:
            part = SetPart(section, run, lead_in if len(runs) > 1 else None)
            previous = sets[-1] if sets else None
            if (
                previous is not None and previous.kind == section.kind and len(runs) == 1
                and previous.parts[-1].section is not section and section.heading.number is None
                and section.heading.line.index not in pinned
                and not previous.labels & {item.label for item in run if item.parent is None}
            ):
                previous.parts.append(part)
                continue
            sets.append(CriteriaSet(section.kind, [part]))
    for kind in ELIGIBILITY:
        of_kind = [s for s in sets if s.kind == kind]
        if len(of_kind) == 1:
            of_kind[0].name = kind.value
            continue
        bases = []
        for found in of_kind:
            first = found.parts[0]
            bases.append(first.lead_in or first.section.heading.title.rstrip(":").strip())
        for found, base in zip(of_kind, bases, strict=True):
            page = found.parts[0].items[0].lines[0].page if found.parts[0].items else found.parts[0].section.heading.line.page
            found.name = base if bases.count(base) == 1 else f"{base} (p. {page})"
    return sets
