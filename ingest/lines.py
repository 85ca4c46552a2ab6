"""The protocol text as lines with their offsets and pages: the unit the structure finders walk over."""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Line:
    index: int
    start: int  # offset of the line's first character in Protocol.text
    end: int  # offset just past its last character (the newline excluded)
    text: str
    page: int


def split_lines(text: str, page_starts: list[int], page_numbers: list[int]) -> list[Line]:
    """Every line of `text`; `page_starts[i]` is where page `page_numbers[i]` begins in `text`."""
    lines: list[Line] = []
    offset = 0
    for index, raw in enumerate(text.split("\n")):
        slot = max(0, bisect.bisect_right(page_starts, offset) - 1)
        lines.append(Line(index, offset, offset + len(raw), raw, page_numbers[slot] if page_numbers else 1))
        offset += len(raw) + 1
    return lines


def previous_text(lines: list[Line], index: int) -> str:
    """The stripped text of the nearest non-blank line before `lines[index]` ("" when there is none)."""
    return next((lines[j].text.strip() for j in range(index - 1, -1, -1) if lines[j].text.strip()), "")
