"""parse_protocol: a protocol document -> Protocol (pages, sections, criteria with exact text and lab rules)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

from labs.errors import DocumentError

from ingest.criteria import Item, split_items, split_paragraphs
from ingest.lab_manual import read_lab_manual
from ingest.lines import Line, split_lines
from ingest.metadata import current_version, find_protocol_id, find_title
from ingest.eligibility import ELIGIBILITY, CriteriaSet, choose_eligibility, group_sets
from ingest.models import Criterion, CriterionKind, EligibilitySet, LabRule, Page, Protocol, Section
from ingest.normalize import normalize_text, strip_running_lines
from ingest.readers import ExtractedDocument, read_document
from ingest.rules import extract_rules
from ingest.structure import document_map as document_map_of
from ingest.sections import (
    CriteriaSection,
    Heading,
    candidate_sections,
    find_headings,
    is_toc_line,
    numbered_heading,
)


_REFERENCE = re.compile(r"\b(?:Table|Appendix|Section)\s+[A-Z]?\d+(?:\.\d+)*[A-Za-z]?\b|\bAppendix\s+[A-Z]\b")


def parse_protocol(
    path: str | Path,
    *,
    protocol_id: str | None = None,
    version: str | None = None,
    effective_date: dt.date | None = None,
    lab_manual: str | Path | None = None,
) -> Protocol:
    """Read, normalize and structure one protocol document. Raises DocumentError naming the file and reason.

    `lab_manual`: the study's lab manual, whose reference ranges supply ULN/LLN when an observation has none;
    its rows that make no sense are kept out and listed in `Protocol.problems`.
    """
    path = Path(path)
    document = read_document(path)
    protocol = protocol_from_document(
        document,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        protocol_id=protocol_id,
        version=version,
        effective_date=effective_date,
    )
    if lab_manual is None:
        return protocol
    manual = read_lab_manual(Path(lab_manual))
    return protocol.model_copy(
        update={"reference_ranges": manual.ranges, "problems": [*protocol.problems, *manual.problems]}
    )


def protocol_from_document(
    document: ExtractedDocument,
    *,
    sha256: str = "",
    protocol_id: str | None = None,
    version: str | None = None,
    effective_date: dt.date | None = None,
) -> Protocol:
    """Normalize and structure pages a reader extracted (pure: no file access)."""
    path = Path(document.path)
    unstripped = [normalize_text(page.text) for page in document.pages]
    normalized = strip_running_lines(unstripped)
    pages: list[Page] = []
    offset = 0
    for raw, text in zip(document.pages, normalized, strict=True):
        text = text + "\n"  # every page ends its last line, so pages never fuse two lines
        pages.append(Page(number=raw.number, text=text, char_start=offset, source=raw.source))
        offset += len(text)
    full_text = "".join(page.text for page in pages)
    lines = split_lines(full_text, [p.char_start for p in pages], [p.number for p in pages])
    # Version and date are often stated only in the running header, so look before headers are stripped.
    head = "\n".join([text for text in unstripped if text.strip()][:5])

    protocol_id = protocol_id or document.protocol_id or find_protocol_id(path.name, full_text)
    printed_version, printed_date = current_version(unstripped, head)
    version = version or document.version or printed_version or "1"
    effective_date = effective_date or document.effective_date or printed_date
    sections = _sections(find_headings(lines), lines)
    document_map = document_map_of(document.outline, lines)
    choice = choose_eligibility(candidate_sections(lines, document_map), document_map, lines)
    criteria_sections = choice.sections
    pinned = {e.heading.index: e.source for e in document_map.located() if e.heading is not None}
    for found in criteria_sections:
        if all(s.char_start != found.heading.line.start for s in sections):
            end_line = found.lines[-1] if found.lines else found.heading.line
            sections.append(_section(found.heading.number, found.heading.title, found.heading.line, end_line))
    sections.sort(key=lambda s: s.char_start)

    criteria: list[Criterion] = []
    item_problems: list[str] = []
    seen_ids: set[str] = set()
    eligibility: list[tuple[CriteriaSection, list[Item]]] = []
    for found in criteria_sections:
        items = split_items(found.lines, found.first_body_offset)
        if not items:
            items = split_paragraphs(found.lines, found.first_body_offset)
        # numbering jumps, repeats, unreadable markers: said, never dropped (ingest/enumeration.py)
        item_problems.extend(f"{found.kind.value} {problem}" for item in items for problem in item.problems)
        if found.kind in ELIGIBILITY:
            eligibility.append((found, items))
            continue
        criteria.extend(_criterion(item, found, full_text, protocol_id, version, seen_ids) for item in items)
    eligibility_sets: list[EligibilitySet] = []
    for criteria_set in group_sets(eligibility, lines, set(pinned)):
        made = [
            _criterion(item, part.section, full_text, protocol_id, version, seen_ids, criteria_set.name)
            for part in criteria_set.parts
            for item in part.items
        ]
        criteria.extend(made)
        eligibility_sets.append(_set_summary(criteria_set, made, pinned))
    criteria.sort(key=lambda c: c.char_start)
    criteria.extend(_referenced_tables(criteria, lines, full_text, protocol_id, version, seen_ids))
    problems = [*_structure_problems(choice.problems, eligibility_sets), *item_problems, *document.problems]
    return Protocol(
        protocol_id=protocol_id,
        version=version,
        title=document.title or find_title(head),
        effective_date=effective_date,
        source_file=str(path),
        sha256=sha256,
        pages=pages,
        sections=sections,
        criteria=criteria,
        eligibility_sets=eligibility_sets,
        problems=problems,
    )


def _set_summary(criteria_set: CriteriaSet, made: list[Criterion], pinned: dict[int, str]) -> EligibilitySet:
    first = criteria_set.parts[0]
    section = first.section
    top = [c for c in made if c.parent_label is None and c.kind == criteria_set.kind]
    # A set that is a section starts at its heading; a restarted run within a section starts at its first item.
    page_start = made[0].page_start if first.lead_in and made else section.heading.line.page
    page_end = max([c.page_end for c in made], default=page_start)
    return EligibilitySet(
        name=criteria_set.name,
        kind=criteria_set.kind,
        count=len(top),
        section_number=section.heading.number,
        section_title=section.heading.title,
        page_start=page_start,
        page_end=max(page_end, page_start),
        source="synopsis" if section.origin == "synopsis" else "body",
        found_by=pinned.get(section.heading.line.index, "text"),  # type: ignore[arg-type]
    )


def _structure_problems(problems: list[str], sets: list[EligibilitySet]) -> list[str]:
    """What ingestion could not establish, loudest first: no eligibility at all, then per-kind problems."""
    out = list(problems)
    if not any(s.count for s in sets):
        out.insert(0, "NO ELIGIBILITY CRITERIA FOUND: no inclusion or exclusion criteria were recognised; the "
                      "protocol cannot be screened until its criteria are located")
    for found in sets:
        if found.count == 0:
            out.append(f"{found.kind.value} set '{found.name}' ({found.section_title}, p. {found.page_start}) holds "
                       "no criteria")
    return out


def _sections(headings: list[Heading], lines: list[Line]) -> list[Section]:
    """Each numbered section runs to the line before the next heading at its depth or shallower (one pass)."""
    ends: list[int] = [len(lines) - 1] * len(headings)
    open_stack: list[tuple[int, int]] = []  # (depth, heading position) of sections not yet closed
    for position, heading in enumerate(headings):
        while open_stack and open_stack[-1][0] >= heading.depth:
            ends[open_stack.pop()[1]] = heading.line.index - 1
        open_stack.append((heading.depth, position))
    sections: list[Section] = []
    for heading, end_index in zip(headings, ends, strict=True):
        end_line = next(
            (lines[i] for i in range(end_index, heading.line.index - 1, -1) if lines[i].text.strip()), heading.line
        )
        sections.append(_section(heading.number, heading.title, heading.line, end_line))
    return sections


def _section(number: str | None, title: str, start: Line, end: Line) -> Section:
    return Section(
        number=number,
        title=title,
        page_start=start.page,
        page_end=end.page,
        char_start=start.start,
        char_end=end.end,
    )


def _criterion(
    item: Item,
    found: CriteriaSection,
    full_text: str,
    protocol_id: str,
    version: str,
    seen_ids: set[str],
    criteria_set: str = "",
) -> Criterion:
    text = full_text[item.start : item.end]
    stripped = text.rstrip()
    end = item.start + len(stripped)
    kind = CriterionKind.CONTEXT if item.style == "context" else found.kind
    base_id = f"{protocol_id}:{version}:{kind.value}:{item.label}"
    criterion_id, n = base_id, 1
    while criterion_id in seen_ids:  # a list that restarts its numbering (e.g. genetic-research exclusions)
        n += 1
        criterion_id = f"{base_id}~{n}"
    seen_ids.add(criterion_id)
    last_line = next((line for line in reversed(item.lines) if line.start <= end), item.lines[-1])
    if item.children:
        last_line = max([last_line, *[_last_line(child) for child in item.children]], key=lambda ln: ln.start)
    return Criterion(
        id=criterion_id,
        protocol_id=protocol_id,
        version=version,
        kind=kind,
        criteria_set=criteria_set if kind == found.kind else "",
        label=item.label,
        parent_label=item.parent.label if item.parent else None,
        section_number=found.heading.number,
        section_title=found.heading.title,
        page_start=item.lines[0].page,
        page_end=last_line.page,
        text=stripped,
        char_start=item.start,
        char_end=end,
        rules=_rules(stripped, item, _head_of(item.parent, full_text) if item.parent else None),
        refers_to=sorted(set(_REFERENCE.findall(stripped))),
    )


_TABLE_REF = re.compile(r"\bTable\s+([A-Z]?\d+(?:\.\d+)*[A-Za-z]?)\b")
_TABLE_LINES = 30  # a referenced table's text as context: caption plus at most this many lines


def _referenced_tables(
    criteria: list[Criterion], lines: list[Line], full_text: str, protocol_id: str, version: str, seen: set[str]
) -> list[Criterion]:
    """CONTEXT segments for the tables criteria point to ("as defined in Table 3"), found by their caption."""
    wanted: list[str] = []
    for criterion in criteria:
        for number in _TABLE_REF.findall(criterion.text):
            if number not in wanted:
                wanted.append(number)
    if not wanted:
        return []
    spans = [(c.char_start, c.char_end) for c in criteria]
    segments: list[Criterion] = []
    for number in wanted:
        caption = re.compile(rf"^Table\s+{re.escape(number)}(?![\w.])")
        start = next(
            (
                line for line in lines
                if caption.match(line.text)
                and not any(is_toc_line(nxt.text) for nxt in lines[line.index : line.index + 3])
                and not any(s <= line.start < e for s, e in spans)
            ),
            None,
        )
        if start is None:
            continue
        block = [start]
        for line in lines[start.index + 1 : start.index + 1 + _TABLE_LINES]:
            if not line.text.strip() or numbered_heading(line) or line.text.startswith("Table "):
                break
            block.append(line)
        end = block[-1].end
        label = f"Table {number}"
        criterion_id = f"{protocol_id}:{version}:context:{label}"
        if criterion_id in seen:
            continue
        seen.add(criterion_id)
        segments.append(
            Criterion(
                id=criterion_id, protocol_id=protocol_id, version=version, kind=CriterionKind.CONTEXT, label=label,
                section_title=start.text.strip()[:200], page_start=start.page, page_end=block[-1].page,
                text=full_text[start.start : end], char_start=start.start, char_end=end,
            )
        )
    return segments


def _last_line(item: Item) -> Line:
    if item.children:
        return _last_line(item.children[-1])
    return item.lines[-1]


def _head_of(item: Item, full_text: str) -> str:
    """A list item's own lead-in, before its first sub-item ("[3] Have HbA1c meeting the following criteria:")."""
    end = item.children[0].start if item.children else item.end
    return full_text[item.start : end].strip()


def _rules(text: str, item: Item, context: str | None) -> list[LabRule]:
    """Rules of the criterion's own words: thresholds inside a sub-item belong to that sub-item only.

    A sub-item is read with its parent's lead-in as context, so "[3a] ... ≥7.0% to ≤10.0%" under "[3] Have
    HbA1c meeting the following criteria:" is an HbA1c rule.
    """
    if not text.strip():
        return []
    rules = extract_rules(text, context=context)
    if not item.children:
        return rules
    child_spans = [(c.start - item.start, c.end - item.start) for c in item.children]
    return [r for r in rules if not any(s <= r.start < e for s, e in child_spans)]


__all__ = ["CriterionKind", "DocumentError", "parse_protocol"]
