"""The table of contents as data: its entries (number, title, printed page) and the pages it occupies.

Relies on what every typeset table of contents shares: an entry is one line that ends with a page number,
separated from its title by dot leaders ("4.2 Inclusion Criteria ........ 28") or, on a page that already holds
several leader lines, by spaces alone ("4.2 Inclusion Criteria   28"). The page numbers are the *printed*
ones; `page_offset` learns how they map onto PDF page indexes from the headings the entries point to.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ingest.lines import Line

_LEADER_ENTRY = re.compile(r"^(?P<title>.*?\S)\s*(?:(?:\.\s?){3,}|…{2,}|_{3,})\s*(?P<page>\d{1,4})\s*$")
_PLAIN_ENTRY = re.compile(r"^(?P<title>\d{1,2}(?:\.\d{1,2}){0,4}\.?\s+\S.*?\S)\s{1,}(?P<page>\d{1,4})\s*$")
_NUMBER = re.compile(r"^(?P<number>\d{1,2}(?:\.\d{1,2}){0,4})\.?\s*")
_MIN_LEADER_LINES = 3  # a page with fewer leader lines is not a table of contents (a form, a stray "....")


@dataclass(frozen=True, slots=True)
class TocEntry:
    number: str | None
    title: str
    printed_page: int
    line: Line  # the table-of-contents line itself (never a heading)


def title_key(text: str) -> str:
    """Letters only, lower case: "4.2. Inclusion Criteria", "Inclusion Criteria4.2." -> "inclusioncriteria".

    The same heading as the table of contents, the outline and the body print it, whatever its number's position
    (pypdf sometimes puts an automatic heading number after the title) or spacing.
    """
    return "".join(ch for ch in text.lower() if ch.isalpha())


def toc_pages(lines: list[Line]) -> set[int]:
    """Pages holding at least three dot-leader entry lines."""
    counts = Counter(line.page for line in lines if _LEADER_ENTRY.match(line.text.strip()))
    return {page for page, n in counts.items() if n >= _MIN_LEADER_LINES}


def toc_entries(lines: list[Line]) -> list[TocEntry]:
    """Every entry of the table(s) of contents, in order. A title wrapped over two lines is joined."""
    pages = toc_pages(lines)
    entries: list[TocEntry] = []
    pending: Line | None = None  # a title line whose page number is on the next line
    for line in lines:
        if line.page not in pages:
            pending = None
            continue
        text = line.text.strip()
        match = _LEADER_ENTRY.match(text) or _PLAIN_ENTRY.match(text)
        if match is None:
            pending = line if text and not text[-1].isdigit() and len(text) < 150 else None
            continue
        title = match["title"]
        if pending is not None and not _NUMBER.match(title) and _NUMBER.match(pending.text.strip()):
            title = f"{pending.text.strip()} {title}"
        pending = None
        number_match = _NUMBER.match(title)
        number = number_match["number"] if number_match and number_match.end() < len(title) else None
        if number_match and number:
            title = title[number_match.end() :]
        entries.append(TocEntry(number=number, title=title.strip(), printed_page=int(match["page"]), line=line))
    return entries


def page_offset(entries: list[TocEntry], lines: list[Line], skip_pages: set[int]) -> int:
    """PDF page index minus printed page number, learnt from entries whose heading occurs once in the body.

    Relies on most headings being printed on the page the table of contents gives; covers and front matter
    without numbers shift every page by the same amount. The most common shift wins; 0 when none is seen.
    """
    by_key: dict[str, list[Line]] = {}
    for line in lines:
        if line.page in skip_pages:
            continue
        key = title_key(line.text)
        if 6 <= len(key) <= 150:
            by_key.setdefault(key, []).append(line)
    entry_keys = Counter(title_key(entry.title) for entry in entries)
    votes: Counter[int] = Counter()
    for entry in entries:
        key = title_key(entry.title)
        found = by_key.get(key, [])
        if entry_keys[key] == 1 and len(found) == 1 and len(key) >= 6:
            votes[found[0].page - entry.printed_page] += 1
    return votes.most_common(1)[0][0] if votes else 0
