"""Headings and the criteria-bearing sections of a protocol.

A protocol states its criteria under headings such as "3.1 Inclusion criteria", "6.2. Exclusion Criteria",
"Inclusion criteria:" (no number: pypdf often drops Word's automatic heading numbers) or inline as
"• Inclusion Criteria: Patients who ...". The table of contents repeats those headings with dot leaders and page
numbers; those lines are never headings. Discontinuation / stopping rules and dose-modification sections are
found by their numbered headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.lines import Line, previous_text
from ingest.models import CriterionKind

_TOC_LINE = re.compile(r"(?:\.\s?){4,}|…{2,}|\.{2,}\s*\d+\s*$|\s\d{1,3}\s*$")
_NUMBERED_HEADING = re.compile(
    r"^(?P<number>\d{1,2}(?:\.\d{1,2}){0,4})(?:\.\s*|\s+)(?P<title>[A-Z][^\n]{1,150})$"
)
_TERMINAL = (".", ",", ";", ":")

_CRITERIA_HEADINGS: list[tuple[CriterionKind, re.Pattern[str]]] = [
    (
        CriterionKind.INCLUSION,
        re.compile(r"^(?:•\s*)?(?:Key\s+|Main\s+)?(?:Inclusion|INCLUSION)\s+(?:criteria|Criteria|CRITERIA)\b"),
    ),
    (
        CriterionKind.EXCLUSION,
        re.compile(r"^(?:•\s*)?(?:Key\s+|Main\s+)?(?:Exclusion|EXCLUSION)\s+(?:criteria|Criteria|CRITERIA)\b"),
    ),
]
_DISCONTINUATION_TITLE = re.compile(
    r"discontinu|stopping (?:rule|criteri)|withdrawal (?:criteri|from (?:study )?treatment)|termination criteri"
    r"|criteria for (?:removal|withdrawal|stopping)|treatment interruption",
    re.IGNORECASE,
)
_DOSE_TITLE = re.compile(
    r"dos(?:e|age|ing) (?:modification|adjustment|reduction|interruption|delay)|toxicity management"
    r"|management of toxicit",
    re.IGNORECASE,
)
# Chapter headings that merely list discontinuation among other topics are not discontinuation sections.
_NOT_A_RULE_SECTION = re.compile(r"selection|enrol?ment|schedule|table of contents|list of", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Heading:
    line: Line
    number: str | None
    title: str
    body_start: int  # offset where the section's own text begins (after an inline "Heading:")

    @property
    def depth(self) -> int:
        """0 for "6" (and an unnumbered heading), 1 for "6.2", 2 for "6.2.1"."""
        return self.number.count(".") if self.number else 0


@dataclass(frozen=True, slots=True)
class CriteriaSection:
    kind: CriterionKind
    heading: Heading
    lines: list[Line]  # body lines, the first possibly starting mid-line (inline heading)
    first_body_offset: int


_MARKDOWN_DECORATION = re.compile(r"^#{1,6}\s+|^\*\*|\*\*(?=:?\s*$)|\*\*(?=:)")


def _plain_heading_text(text: str) -> str:
    """"## 5.1 Inclusion Criteria" / "**Inclusion Criteria:**" -> the heading's words."""
    return _MARKDOWN_DECORATION.sub("", text.strip()).strip()


def is_toc_line(text: str) -> bool:
    return bool(_TOC_LINE.search(text))


def numbered_heading(line: Line) -> Heading | None:
    """A numbered heading ("3.2 Exclusion criteria", "6. Study Population"), not a numbered criterion."""
    text = _plain_heading_text(line.text)
    match = _NUMBERED_HEADING.match(text)
    if not match or is_toc_line(text):
        return None
    number, title = match["number"], match["title"].strip()
    words = title.split()
    if "." in number and title.endswith(":"):
        title = title[:-1].rstrip()  # "4.4 Criteria for Removal or Dropout:"
    if title.endswith(_TERMINAL) or len(words) > 12:
        return None
    if "." not in number:
        # A single number is usually a list item; a chapter heading is short and Title Case or UPPER CASE.
        long_words = [w for w in words if len(w) >= 4 and w[0].isalpha()]
        capitalized = sum(w[0].isupper() for w in long_words)
        if (len(words) > 6 or (long_words and capitalized < len(long_words))) and not title.isupper():
            return None  # (more than 12 words was already refused above)
    return Heading(line=line, number=number, title=title, body_start=line.end)


def find_headings(lines: list[Line]) -> list[Heading]:
    return [h for line in lines if (h := numbered_heading(line)) is not None]


def _criteria_heading(line: Line) -> tuple[CriterionKind, Heading] | None:
    text = _plain_heading_text(line.text)
    if not text or is_toc_line(text):
        return None
    number = None
    match = _NUMBERED_HEADING.match(text)
    rest = text
    if match:
        number, rest = match["number"], match["title"]
    for kind, pattern in _CRITERIA_HEADINGS:
        found = pattern.match(rest)
        if not found:
            continue
        tail = rest[found.end() :]
        # "Inclusion criteria", "... :", "(the participant may enter ... apply):" or inline "Inclusion Criteria: text"
        colon = tail.find(":")
        if tail.strip() in ("", ":") or tail.rstrip().endswith(":"):
            body_start = line.end
        elif colon != -1 and len(tail[:colon].split()) <= 3:
            raw_colon = line.text.find(":", line.text.lower().find("criteria"))
            body_start = line.start + raw_colon + 1
            while body_start < line.end and line.text[body_start - line.start] in " *":
                body_start += 1
        else:
            return None  # prose that starts with the words, e.g. "Inclusion criteria were amended ..."
        title = (rest[: found.end()] + tail[: colon if colon != -1 else len(tail)]).strip()
        return kind, Heading(line=line, number=number, title=title, body_start=body_start)
    return None


def _rule_section_kind(heading: Heading) -> CriterionKind | None:
    if heading.number is None or _NOT_A_RULE_SECTION.search(heading.title):
        return None
    if _DOSE_TITLE.search(heading.title):
        return CriterionKind.DOSE_MODIFICATION
    if _DISCONTINUATION_TITLE.search(heading.title):
        return CriterionKind.DISCONTINUATION
    return None


def looks_like_subheading(lines: list[Line], i: int) -> bool:
    """An unnumbered short title line ("Medical Conditions", "Eligibility for post-recurrence ...")."""
    text = lines[i].text.strip()
    words = text.split()
    if not words or len(words) > 9 or text.endswith(_TERMINAL) or not text[0].isupper():
        return False
    if any(ch.isdigit() for ch in text) or "(" in text or "=" in text:
        return False
    previous = previous_text(lines, i)
    return not previous or previous.endswith((".", ":", ";", ")"))


def find_criteria_sections(lines: list[Line]) -> list[CriteriaSection]:
    """Sections that hold criteria, each with its body lines, in document order."""
    from ingest.criteria import continues_list, list_goes_on, starts_item  # local import: criteria builds on sections

    starts: list[tuple[CriterionKind | None, Heading]] = []
    # A rule section's numbered sub-sections ("6 Dose Modification" > "6.2 Kidney Function") share its kind.
    inherited: tuple[CriterionKind, int] | None = None
    for line in lines:
        found = _criteria_heading(line)
        if found:
            starts.append(found)
            inherited = None
            continue
        heading = numbered_heading(line)
        if heading and starts and starts[-1][0] in (CriterionKind.INCLUSION, CriterionKind.EXCLUSION) and \
                continues_list(lines, starts[-1][1].line.index + 1, line.index, starts[-1][1].number):
            continue  # "4. History of ..." is the list's next item, not a chapter ending the criteria
        if heading:
            depth = heading.depth
            if inherited and depth <= inherited[1]:
                inherited = None
            kind = _rule_section_kind(heading)
            if kind is not None and inherited is None:
                inherited = (kind, depth)
            starts.append((kind or (inherited[0] if inherited else None), heading))
    sections: list[CriteriaSection] = []
    for position, (kind, heading) in enumerate(starts):
        if kind is None:
            continue
        following = lines[heading.line.index + 1 : heading.line.index + 3]
        if any(is_toc_line(line.text) for line in following):
            continue  # a table-of-contents entry whose title wrapped onto the next line
        end_index = starts[position + 1][1].line.index if position + 1 < len(starts) else len(lines)
        body = lines[heading.line.index : end_index]
        body = [heading.line, *body[1:]] if heading.body_start < heading.line.end else body[1:]
        if heading.body_start >= heading.line.end and not body:
            continue
        # Unnumbered headings end the section too, unless they only group the next numbered items.
        cut = len(body)
        seen_item = False
        if heading.body_start < heading.line.end and heading.line.text.lstrip().startswith(("•", "-", "*")):
            # "• Inclusion Criteria: text": a run-in bullet holds one paragraph; a blank line or the next
            # bullet ends it.
            cut = next(
                (k for k in range(1, len(body)) if not body[k].text.strip() or starts_item(body[k].text)), len(body)
            )
            sections.append(CriteriaSection(kind, heading, body[:cut], heading.body_start))
            continue
        for k in range(len(body)):
            line = body[k]
            if k == 0 and line is heading.line:
                continue
            if starts_item(line.text):
                seen_item = True
                continue
            if seen_item and looks_like_subheading(body, k):
                nxt = next((b for b in body[k + 1 :] if b.text.strip()), None)
                if (nxt is None or not starts_item(nxt.text)) and not list_goes_on(body, k):
                    cut = k
                    break
        sections.append(CriteriaSection(kind, heading, body[:cut], heading.body_start))
    return _pick_eligibility(sections)


def _pick_eligibility(sections: list[CriteriaSection]) -> list[CriteriaSection]:
    """Keep one inclusion and one exclusion section: the first that holds labelled items (else the first)."""
    from ingest.criteria import starts_item

    chosen: list[CriteriaSection] = []
    for kind in (CriterionKind.INCLUSION, CriterionKind.EXCLUSION):
        candidates = [s for s in sections if s.kind == kind]
        with_items = [s for s in candidates if any(starts_item(line.text) for line in s.lines)]
        if with_items or candidates:
            chosen.append((with_items or candidates)[0])
    chosen.extend(s for s in sections if s.kind not in (CriterionKind.INCLUSION, CriterionKind.EXCLUSION))
    return sorted(chosen, key=lambda s: s.first_body_offset)
