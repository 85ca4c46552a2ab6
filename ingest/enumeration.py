"""List markers and their enumeration sequence: which line starts a list item, at which level, with which label.

A marker alone does not make an item. "3 groups of 50" and a page number are not items; "1 Capable of giving
consent" followed by "2 Aged 18 or over" is. So a marker is read in two steps:

1. `read_marker(text)` reads what the start of a line *could* be: a number in a frame (`1.` `1)` `(1)` `[1]` or
   bare `1`), a number with a letter (`3a`), a letter (`a.` `(b)` `C)`), a roman numeral (`iv.` `(ii)`), a code
   (`E7`, `IN-3`; OCR's letters for digits, `INO1` `INOS`, are read as IN01 IN05 where the sequence accepts them:
   the code continues an open code list or the next code follows), a section-style number (`4.1.3`: the
   sequence is its last part, its style the parent number `4.1.`, so only siblings under one parent continue each
   other; only before a capital or a bracket, "4.1.4 [Deleted]", so "1.5 x ULN" is text) or a bullet of any
   glyph (including Symbol-font private-use glyphs and the `!` some text layers put for •; an `x` standing in for
   a Wingdings bullet counts only inside an open bullet list). A single `i`, `v`, `x` (and `I`, `V`, `X`) is
   both a letter and a roman numeral: both readings are kept.
2. `place(marker, open_levels, confirms)` decides, from the levels already open, whether the marker continues one
   of them (the next number in its style), opens a new level under the current item (the first number of a new
   style, or a bullet), or restarts/jumps an open level (accepted, with the problem said). A bare number with no
   punctuation is an item only where it continues its sequence, or where it starts one (1, or a top-level start)
   that the next bare number confirms; otherwise it is text.

Relies on: every item of a list starts a line; a list's items share one marker style (number + frame, or the same
bullet glyph), numbered in steps of one; a deeper level uses a different style than the levels it sits in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Glyphs that documents use as bullets. Symbol/Wingdings fonts put their glyphs in the private use area
# (U+E000-U+F8FF); any such glyph at the start of a line followed by text is a bullet, whatever it is drawn as.
_BULLET_GLYPHS = "•▪◦*\\-–—▫■□●○◆◇►▶➢➤➣✓✔√§Ø·→⇒➔❖♦○◘"
# Letters OCR reads for digits inside an item code ("INO1", "INOS" for IN01, IN05), and the digit each stands for.
_OCR_DIGIT_OF = {"O": "0", "o": "0", "S": "5", "I": "1", "l": "1"}
_OCR_DIGITS = "".join(_OCR_DIGIT_OF)
_ROMAN_NUMERAL = re.compile(r"^(?=[ivxl])(?:x{0,3})(?:ix|iv|v?i{0,3})$")
_MARKER = re.compile(
    rf"""^(?:
      \[(?P<bracket>\d{{1,3}})(?P<bracket_sub>[a-z])?\]
     |\((?P<paren>\d{{1,3}}|[A-Za-z]|[ivxIVX]{{2,5}})\)(?=\s)
     |(?P<dotted>\d{{1,2}}(?:\.\d{{1,3}}){{1,4}})\.?(?=[ \t]+[A-Z(\[“"])
     |(?P<code>(?:IN|EX|IC|EC|I|E)(?:-?\d{{1,3}}|[ ]\d{{2}})[a-z]?)(?:[.:)]|(?=\s))
     |(?P<ocr_code>(?:IN|EX|IC|EC)-?(?=[0-9]?[{_OCR_DIGITS}])[0-9{_OCR_DIGITS}]{{2,3}})(?:[.:)]|(?=\s))
     |(?P<num>\d{{1,3}})(?P<num_sub>[a-z])?(?P<num_frame>[.)])(?=\s|$)
     |(?P<num2>\d{{1,3}})(?P<num2_sub>[a-z])(?=\s)
     |(?P<bare>\d{{1,3}})(?=[ ]+[A-Za-z(“"])
     |(?P<alpha>[A-Za-z]|[ivxIVX]{{2,5}})(?P<alpha_frame>[.)])(?=\s)
     |(?P<bullet>[{_BULLET_GLYPHS}])(?=\s|$)
     |(?P<private>[\ue000-\uf8ff])(?=\s|[A-Z(])
     |(?P<bang>!)(?=[ ]+[A-Za-z(])
     |(?P<o_bullet>o)(?=[ ]+[A-Za-z])
     |(?P<x_bullet>x)(?=[ ]+(?:[A-Z][a-z]|A[ ]))
    )[ ]?""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Marker:
    """What the start of a line could be as a list marker."""

    printed: str  # the label as printed, frame removed: "12", "a", "iv", "3a", "E7", "•"
    family: str  # num, num_sub, lower, upper, roman, ROMAN, code, dotted, bullet
    frame: str  # ".", ")", "()", "[]", "" (bare number), the parent number of a dotted one ("4.1."), a bullet glyph
    ordinal: int | None  # position in its sequence (1 for "1", "a", "i"); None for bullets
    alternatives: tuple[tuple[str, int], ...] = ()  # other (family, ordinal) readings of an ambiguous "i"/"v"/"x"
    length: int = 0  # characters the marker takes at the start of the line
    misread: str = ""  # the code as printed where OCR put letters for its digits ("INO1"); `printed` is repaired

    @property
    def style(self) -> str:
        return style_of(self.family, self.frame)

    @property
    def bare(self) -> bool:
        return self.family == "num" and self.frame == ""

    def readings(self) -> list[tuple[str, int | None]]:
        return [(self.family, self.ordinal), *self.alternatives]


def style_of(family: str, frame: str) -> str:
    return f"{family}{frame}"


def roman_value(text: str) -> int | None:
    """1..39 for a lower-case roman numeral ("iv" -> 4), None if `text` is not one."""
    if not _ROMAN_NUMERAL.match(text):
        return None
    values = {"i": 1, "v": 5, "x": 10, "l": 50}
    total = 0
    for k, ch in enumerate(text):
        value = values[ch]
        total += -value if k + 1 < len(text) and values[text[k + 1]] > value else value
    return total


def _letter_readings(value: str) -> tuple[str, int, tuple[tuple[str, int], ...]] | None:
    """(family, ordinal, alternatives) of a letter or roman label; None for text that is neither."""
    lower = value.lower()
    upper = value.isupper()
    roman = roman_value(lower)
    if len(value) == 1:
        letter = ("upper" if upper else "lower", ord(lower) - ord("a") + 1)
        if roman is not None:  # i, v, x: the sequence decides
            return letter[0], letter[1], (("ROMAN" if upper else "roman", roman),)
        return letter[0], letter[1], ()
    if roman is None or not (value.islower() or upper):
        return None
    return ("ROMAN" if upper else "roman"), roman, ()


def read_marker(text: str) -> Marker | None:
    """The list marker `text` starts with, or None. Reads the characters only; `place` judges the sequence."""
    match = _MARKER.match(text)
    if match is None:
        return None
    length = match.end()
    if match["bracket"]:
        if match["bracket_sub"]:
            return Marker(match["bracket"] + match["bracket_sub"], "num_sub", "[]",
                          ord(match["bracket_sub"]) - 96, length=length)
        return Marker(match["bracket"], "num", "[]", int(match["bracket"]), length=length)
    if match["paren"]:
        value = match["paren"]
        if value.isdigit():
            return Marker(value, "num", "()", int(value), length=length)
        readings = _letter_readings(value)
        if readings is None:
            return None
        return Marker(value, readings[0], "()", readings[1], readings[2], length)
    if match["dotted"]:  # "4.1.3": item 3 of the list numbered under 4.1
        parent, _, last = match["dotted"].rpartition(".")
        return Marker(match["dotted"], "dotted", parent + ".", int(last), length=length)
    if match["code"]:
        digits = re.search(r"\d+", match["code"])
        return Marker(match["code"], "code", "", int(digits.group()) if digits else None, length=length)
    if match["ocr_code"]:  # "INO1": a letter for a digit; only the sequence may accept it (see `place`)
        code = match["ocr_code"]
        head = re.match(r"(?:IN|EX|IC|EC)-?", code).group()
        digits = "".join(_OCR_DIGIT_OF.get(ch, ch) for ch in code[len(head):])
        return Marker(head + digits, "code", "", int(digits), length=length, misread=code)
    if match["num"]:
        if match["num_sub"]:
            return Marker(match["num"] + match["num_sub"], "num_sub", match["num_frame"],
                          ord(match["num_sub"]) - 96, length=length)
        return Marker(match["num"], "num", match["num_frame"], int(match["num"]), length=length)
    if match["num2"]:  # "4a HbA1c ...": a sub-item label without punctuation
        return Marker(match["num2"] + match["num2_sub"], "num_sub", "", ord(match["num2_sub"]) - 96, length=length)
    if match["bare"]:
        return Marker(match["bare"], "num", "", int(match["bare"]), length=length)
    if match["alpha"]:
        readings = _letter_readings(match["alpha"])
        if readings is None:
            return None
        return Marker(match["alpha"], readings[0], match["alpha_frame"], readings[1], readings[2], length)
    glyph = match["bullet"] or match["private"] or match["bang"] or match["o_bullet"] or match["x_bullet"]
    return Marker(glyph, "bullet", glyph, None, length=length)


@dataclass(frozen=True, slots=True)
class Level:
    """One open level of the list: its style and the last ordinal seen there."""

    style: str
    ordinal: int | None
    label: str


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a marker goes: `depth` is the stack depth it takes (0 = top level); a sibling of open level `depth`
    or a new level when `depth` equals the number of open levels."""

    family: str
    style: str
    ordinal: int | None
    depth: int
    problem: str | None = None


# Letters a text layer puts where a Wingdings bullet was; one stands in for the bullet of an open bullet list (the
# other items of that list kept their glyph) and is never a bullet on its own ("x ULN" is a multiplication).
STAND_IN_GLYPHS = ("x",)


def _first_ordinal(ordinal: int | None) -> bool:
    return ordinal is None or ordinal == 1


def place(
    marker: Marker, levels: list[Level], confirms: Callable[[str, int], bool]
) -> Placement | None:
    """Where `marker` fits among the open `levels` (outermost first), or None when it is not an item here.

    Preference, for every reading of the marker: the next ordinal of an open level of its style (deepest first);
    then a new level under the current item starting at 1 / a / i / a bullet (or, with nothing open, the top
    level starting anywhere the next number confirms: numbering may continue from inclusion into exclusion);
    then a restart, repeat or jump of an open level, said as a problem. A bare number needs
    `confirms(style, next_ordinal)`: the next bare number of its sequence further down, where it does not simply
    continue an open level.
    """
    readings = marker.readings()
    if marker.misread:
        # An OCR-repaired code ("INO1" as IN01) is an item only where its sequence says so: it continues an open
        # code level, or the next code of its sequence follows ("EOS visit" or a lone "INOS" stays text).
        for depth in range(len(levels) - 1, -1, -1):
            if levels[depth].style == marker.style:
                if levels[depth].ordinal is not None and marker.ordinal == levels[depth].ordinal + 1:
                    return Placement(marker.family, marker.style, marker.ordinal, depth,
                                     f"code {marker.misread} read as {marker.printed}")
                return None
        if confirms(marker.style, (marker.ordinal or 0) + 1):
            return Placement(marker.family, marker.style, marker.ordinal, len(levels),
                             f"code {marker.misread} read as {marker.printed}")
        return None
    if marker.family == "bullet" and marker.frame in STAND_IN_GLYPHS:
        depth = next((d for d in range(len(levels) - 1, -1, -1) if levels[d].style.startswith("bullet")), None)
        return None if depth is None else Placement("bullet", levels[depth].style, None, depth)
    # 1. The exact continuation of an open level.
    for family, ordinal in readings:
        style = style_of(family, marker.frame)
        for depth in range(len(levels) - 1, -1, -1):
            level = levels[depth]
            if level.style != style:
                continue
            if ordinal is None or (level.ordinal is not None and ordinal == level.ordinal + 1):
                return Placement(family, style, ordinal, depth)
            break
    open_styles = {level.style for level in levels}
    # 2. A new level: under the current item when it starts its sequence, or the first item of the list.
    # A reading that starts a sequence goes first: a lone "i." opens a roman list rather than being letter nine.
    for family, ordinal in sorted(readings, key=lambda reading: not _first_ordinal(reading[1])):
        style = style_of(family, marker.frame)
        if style in open_styles:
            continue
        if not levels or _first_ordinal(ordinal):
            # A list may start past 1 (numbering continued from inclusion into exclusion), but then its next
            # number must follow: a lone "54." is a wrapped sentence ("... on month\n54. The ..."), not a list.
            if (marker.bare or not _first_ordinal(ordinal)) and not confirms(style, (ordinal or 0) + 1):
                continue
            return Placement(family, style, ordinal, len(levels))
    # 3. An open level whose sequence breaks: restart, repeat, jump. Said, never silent; bare numbers are text.
    if marker.bare:
        family, ordinal = readings[0]
        style = style_of(family, marker.frame)
        depth = next((d for d in range(len(levels) - 1, -1, -1) if levels[d].style == style), None)
        if depth is not None and ordinal == 1 and confirms(style, 2):
            return Placement(family, style, ordinal, depth, f"numbering restarts at {marker.printed} after "
                             f"{levels[depth].label}")
        return None
    for family, ordinal in readings:
        style = style_of(family, marker.frame)
        depth = next((d for d in range(len(levels) - 1, -1, -1) if levels[d].style == style), None)
        if depth is None or ordinal is None:
            continue
        last = levels[depth].label
        if ordinal == 1:
            problem = f"numbering restarts at {marker.printed} after {last}"
        elif ordinal == levels[depth].ordinal:
            problem = f"label {marker.printed} appears twice"
        else:
            problem = f"numbering jumps {last} -> {marker.printed}"
        return Placement(family, style, ordinal, depth, problem)
    return None


__all__ = ["STAND_IN_GLYPHS", "Level", "Marker", "Placement", "place", "read_marker", "roman_value", "style_of"]
