"""The document's own map of its sections: PDF bookmarks, else the table of contents, each pinned to its heading.

Relies on the map a protocol carries for its readers. Bookmarks (pypdf `reader.outline`) give PDF page indexes
directly; table-of-contents entries give printed pages, shifted by the offset `toc.page_offset` learns. Either
way an entry is trusted only where its heading is found in the text on (or next to) the page it names, so a
stale or wrong map entry is ignored rather than followed. Titles are compared by their letters only
(`toc.title_key`), so numbering position, spacing and case do not matter; a heading wrapped onto a second line
is matched on its first line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ingest.lines import Line
from ingest.readers.models import OutlineEntry
from ingest.toc import TocEntry, page_offset, title_key, toc_entries, toc_pages

_NUMBER = re.compile(r"^(?P<number>\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+")
_MIN_PREFIX = 12  # letters of a wrapped heading's first line that must agree with the entry's title
_SEARCH_PAGES = 1  # a bookmark may point to the page before its heading (destination at the previous page's foot)


@dataclass(frozen=True, slots=True)
class MapEntry:
    number: str | None
    title: str
    level: int
    page: int  # PDF page index (1-based) the map gives
    source: Literal["outline", "toc"]
    heading: Line | None  # the heading line in the body text, where found


@dataclass(frozen=True, slots=True)
class DocumentMap:
    entries: list[MapEntry]  # in map order
    toc_pages: set[int]

    @property
    def source(self) -> str | None:
        return self.entries[0].source if self.entries else None

    def located(self) -> list[MapEntry]:
        return [e for e in self.entries if e.heading is not None]


def _split_number(title: str) -> tuple[str | None, str]:
    match = _NUMBER.match(title)
    return (match["number"], title[match.end() :]) if match else (None, title)


def _heading_like(title: str) -> bool:
    """Bookmarks of tagged PDFs may mark every paragraph ("Clinically uncontrolled active infections."); a heading
    is short and does not end a sentence, so only such entries are pinned to the text."""
    text = title.strip()
    return bool(text) and len(text.split()) <= 15 and not text.endswith((".", ";", ","))


def _matches(line: Line, key: str) -> bool:
    line_key = title_key(line.text)
    if not line_key or len(line.text.strip()) > 200:
        return False
    if line_key == key:
        return True
    # A heading wrapped over two lines: its first line is a long enough prefix of the title.
    return len(line_key) >= _MIN_PREFIX and key.startswith(line_key)


def _locate(key: str, page: int, by_page: dict[int, list[Line]], skip: set[int]) -> Line | None:
    """The heading line on `page`, else on the nearest page within _SEARCH_PAGES (the next page first)."""
    for candidate in (page, page + 1, page - 1)[: 1 + 2 * _SEARCH_PAGES]:
        if candidate in skip:
            continue
        found = [line for line in by_page.get(candidate, []) if _matches(line, key)]
        if found:
            exact = [line for line in found if title_key(line.text) == key]
            return (exact or found)[0]
    return None


def document_map(outline: list[OutlineEntry], lines: list[Line]) -> DocumentMap:
    """Bookmarks when the document has some, else its table of contents; empty when it has neither."""
    skip = toc_pages(lines)
    by_page: dict[int, list[Line]] = {}
    for line in lines:
        if line.text.strip():
            by_page.setdefault(line.page, []).append(line)
    entries: list[MapEntry] = []
    if outline:
        for item in outline:
            number, title = _split_number(item.title)
            key = title_key(title)
            heading = _locate(key, item.page, by_page, skip) if key and _heading_like(title) else None
            entries.append(MapEntry(number, title, item.level, item.page, "outline", heading))
        if any(e.heading is not None for e in entries):
            return DocumentMap(entries, skip)
        entries = []  # bookmarks that match no heading (e.g. one per page): fall back to the contents
    toc: list[TocEntry] = toc_entries(lines)
    if toc:
        offset = page_offset(toc, lines, skip)
        for item in toc:
            key = title_key(item.title)
            page = item.printed_page + offset
            heading = _locate(key, page, by_page, skip) if key and _heading_like(item.title) else None
            level = item.number.count(".") if item.number else 0
            entries.append(MapEntry(item.number, item.title, level, page, "toc", heading))
    return DocumentMap(entries, skip)
