"""Headings and the criteria-bearing sections of a protocol.

A protocol states its criteria under headings such as "3.1 Inclusion criteria", "6.2. Exclusion Criteria",
"Inclusion criteria:" (no number: pypdf often drops Word's automatic heading numbers) or inline as
"• Inclusion Criteria: Patients who ...". The table of contents repeats those headings with dot leaders and page
numbers; those lines are never headings. Discontinuation / stopping rules and dose-modification sections are
found by their numbered headings.

`candidate_sections` lists every section that could hold criteria; headings the document's own map pins
(`ingest.structure`: bookmarks or table of contents) are section starts too, and a pinned heading naming one kind
of criteria is a candidate even where no pattern here matches it. `ingest.eligibility` then chooses the body
sections among synopsis and amendment restatements and names the sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.lines import Line, previous_text
from ingest.models import CriterionKind
from ingest.structure import DocumentMap, MapEntry

_TOC_LINE = re.compile(r"(?:\.\s?){4,}|…{2,}|\.{2,}\s*\d+\s*$|\s\d{1,3}\s*$")
_NUMBERED_HEADING = re.compile(
    r"^(?P<number>\d{1,2}(?:\.\d{1,2}){0,4})(?:\.\s*|\s+)(?P<title>[A-Z][^\n]{1,150})$"
)
# pypdf sometimes writes a Word automatic heading number after its title: "Inclusion Criteria4.2.". Only
# multi-level numbers ("4.2"), so "Visit 2" or "Study Day 1" stay text.
_TRAILING_NUMBER_HEADING = re.compile(
    r"^(?P<title>[A-Z][A-Za-z ,/&()'’-]{2,120}?[A-Za-z)])\s*(?P<number>\d{1,2}(?:\.\d{1,2}){1,4})\.?$"
)
# A numbered eligibility heading may qualify its set before or after the words: "5.5.1 Gastrointestinal Exclusion
# Criteria for De Novo Patients", "4.3. Exclusion criteria for enrolment", "3.3.1 Inclusion criteria (Regimen U)".
_KIND_IN_TITLE: list[tuple[CriterionKind, re.Pattern[str]]] = [
    (CriterionKind.INCLUSION, re.compile(r"\binclusion\s+criteri", re.IGNORECASE)),
    (CriterionKind.EXCLUSION, re.compile(r"\bexclusion\s+criteri", re.IGNORECASE)),
]
_TERMINAL = (".", ",", ";", ":")
# "Inclusion/exclusion criteria", "Inclusion and Exclusion Criteria": a parent of both lists, not one list.
_BOTH_KINDS = re.compile(r"inclusion\s*(?:/|and|&|or)\s*exclusion|exclusion\s*(?:/|and|&|or)\s*inclusion", re.I)
# "Section 10.2." alone on a line is the wrapped end of a cross-reference ("... See" / "Section 10.2."), not a
# heading with its number after it: a heading's title names a topic, not the kind of thing referred to.
_REFERENCE_WORD = re.compile(
    r"^(?:see\s+)?(?:sections?|appendix|appendices|annex|tables?|figures?|chapters?|pages?|versions?|amendments?"
    r"|listings?|attachments?)$",
    re.IGNORECASE,
)
_CAPTION = re.compile(r"^(?:Table|Figure|Listing|Exhibit)\s+[A-Z]?\d", re.IGNORECASE)

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
    set_name: str | None = None  # the eligibility set it holds, where a protocol has several of a kind
    origin: str = "body"  # "body", or "synopsis" where only a synopsis restatement was found


_MARKDOWN_DECORATION = re.compile(r"^#{1,6}\s+|^\*\*|\*\*(?=:?\s*$)|\*\*(?=:)")


def _plain_heading_text(text: str) -> str:
    """"## 5.1 Inclusion Criteria" / "**Inclusion Criteria:**" -> the heading's words."""
    return _MARKDOWN_DECORATION.sub("", text.strip()).strip()


def is_toc_line(text: str) -> bool:
    return bool(_TOC_LINE.search(text))


def _title_cased(words: list[str]) -> bool:
    long_words = [w for w in words if len(w) >= 4 and w[0].isalpha()]
    return not long_words or sum(w[0].isupper() for w in long_words) == len(long_words)


def numbered_heading(line: Line) -> Heading | None:
    """A numbered heading ("3.2 Exclusion criteria", "6. Study Population"), not a numbered criterion.

    Also "Inclusion Criteria4.2.": a Title Case title with a multi-level number after it (how pypdf may extract
    a Word automatic heading number).
    """
    text = _plain_heading_text(line.text)
    if is_toc_line(text):
        return None
    match = _NUMBERED_HEADING.match(text)
    if not match:
        trailing = _TRAILING_NUMBER_HEADING.match(text)
        if trailing and len(trailing["title"].split()) <= 8 and _title_cased(trailing["title"].split()) and \
                not _REFERENCE_WORD.match(trailing["title"]):
            return Heading(line=line, number=trailing["number"], title=trailing["title"].strip(), body_start=line.end)
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
    if match is None:
        trailing = numbered_heading(line)  # "Inclusion Criteria4.2."
        if trailing is not None:
            number, rest = trailing.number, trailing.title
    if number is not None:
        qualified = _qualified_heading(line, number, rest)
        if qualified is not None:
            return qualified
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


def _qualified_heading(line: Line, number: str, title: str) -> tuple[CriterionKind, Heading] | None:
    """A numbered heading naming one kind of criteria anywhere in its title, with or without a qualifier.

    Relies on the heading being a well-formed numbered heading (short, not a sentence); a title naming both
    kinds ("5.1 Inclusion/exclusion criteria") is a parent whose sub-headings hold the lists.
    """
    found = [(kind, m) for kind, pattern in _KIND_IN_TITLE if (m := pattern.search(title))]
    if len(found) != 1 or _BOTH_KINDS.search(title):
        return None
    kind, where = found[0]
    words = title.split()
    if title.rstrip().endswith((".", ";", ",")) or len(words) > 14 or len(title[: where.start()].split()) > 2:
        return None  # a sentence that mentions criteria ("3. Patients who meet any exclusion criteria of ...")
    if ":" in title.rstrip(": "):
        return None  # an inline "Inclusion Criteria: text" heading: the plain heading patterns place its body
    if "." not in number and numbered_heading(line) is None:
        return None
    return kind, Heading(line=line, number=number, title=title.rstrip(": ").strip(), body_start=line.end)


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


def find_criteria_sections(lines: list[Line], document_map: DocumentMap | None = None) -> list[CriteriaSection]:
    """The criteria sections in force, in document order: the eligibility sets `ingest.eligibility` chooses
    (body over synopsis and amendment restatements) and the discontinuation / dose-modification sections."""
    from ingest.eligibility import choose_eligibility  # local import: eligibility builds on sections

    document_map = document_map or DocumentMap([], set())
    return choose_eligibility(candidate_sections(lines, document_map), document_map, lines).sections


def map_kind(title: str) -> CriterionKind | None:
    """The one kind of eligibility criteria a map entry's title names ("Exclusion Criteria for De Novo ..."),
    within its first three words; None for a title naming both or neither."""
    found = [(kind, m) for kind, pattern in _KIND_IN_TITLE if (m := pattern.search(title))]
    if len(found) != 1 or len(title[: found[0][1].start()].split()) > 2 or _BOTH_KINDS.search(title):
        return None
    if _CAPTION.match(title):
        return None  # "Table 3.4.2-1 Inclusion Criteria": a bookmark to a table inside the section, not a section
    return found[0][0]


def candidate_sections(lines: list[Line], document_map: DocumentMap) -> list[CriteriaSection]:
    """Every section that could hold criteria, in document order, before choosing among restatements.

    Section starts are the headings the text shows (numbered headings, criteria headings) plus the headings the
    document's own map (outline or table of contents) pins in the text, so a section ends at the next heading
    either source knows. A map-located heading naming one kind of criteria is a candidate even where its text
    matches no heading pattern.
    """
    from ingest.criteria import (  # local: criteria builds on sections
        continues_list,
        list_goes_on,
        numbered_child_items,
        starts_item,
    )

    map_headings: dict[int, MapEntry] = {
        e.heading.index: e for e in document_map.located() if e.heading is not None
    }
    starts: list[tuple[CriterionKind | None, Heading]] = []
    # A rule section's numbered sub-sections ("6 Dose Modification" > "6.2 Kidney Function") share its kind.
    inherited: tuple[CriterionKind, int] | None = None
    for line in lines:
        entry = map_headings.get(line.index)
        found = _criteria_heading(line)
        if found is None and entry is not None and (kind := map_kind(entry.title)) is not None:
            found = (kind, Heading(line=line, number=entry.number, title=entry.title, body_start=line.end))
        if (
            found is None and entry is not None and line.page not in document_map.toc_pages
            and numbered_heading(line) is None and not _CAPTION.match(entry.title)
        ):  # a bookmarked table or figure sits inside its section and does not end it
            starts.append((None, Heading(line=line, number=entry.number, title=entry.title, body_start=line.end)))
            continue
        if found:
            starts.append(found)
            inherited = None
            continue
        heading = numbered_heading(line)
        if heading and starts and starts[-1][0] in (CriterionKind.INCLUSION, CriterionKind.EXCLUSION) and \
                continues_list(lines, starts[-1][1].line.index + 1, line.index, starts[-1][1].number):
            continue  # "4. History of ..." is the list's next item, not a chapter ending the criteria
        if heading and starts and starts[-1][0] in (CriterionKind.INCLUSION, CriterionKind.EXCLUSION):
            # "4.1.3 Known history of ..." under "4.1 Inclusion Criteria": a criterion numbered like a
            # sub-section. The criteria heading is the last numbered start (a "... for cohort B:" lead-in between
            # them is unnumbered).
            owner_kind, owner = next(((k, h) for k, h in reversed(starts) if h.number), (None, None))
            if owner is not None and owner_kind in (CriterionKind.INCLUSION, CriterionKind.EXCLUSION) and \
                    numbered_child_items(lines, owner.line.index, line.index, owner.number):
                continue
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
    return sections
