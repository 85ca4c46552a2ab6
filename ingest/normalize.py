"""Text normalization that keeps citations exact.

Everything downstream (criteria, rule quotes, citations) quotes the *normalized* text, so normalization runs
once, per page, before any offsets are taken. It repairs what extraction breaks (ligatures, odd spaces, font
glyphs that stand for comparators or bullets, flattened superscripts in "x 109/L", brackets orphaned on their
own line) and never re-orders text. Each step is a single linear regex pass so a 165-page protocol stays fast.
"""

from __future__ import annotations

import re

# Characters that are one thing in meaning but arrive as many code points.
_TRANSLATE = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
        "\u00a0": " ",  # no-break space
        "\u2007": " ",
        "\u2009": " ",
        "\u200a": " ",
        "\u202f": " ",
        "\u2002": " ",
        "\u2003": " ",
        "\u3000": " ",
        "\t": " ",
        "\u00ad": "",  # soft hyphen: only a hint where a word may break
        "\u200b": "",
        "\u200c": "",
        "\u200d": "",
        "\ufeff": "",
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",  # minus sign
        "\u2264": "≤",
        "\u2265": "≥",
        "\u2266": "≤",  # ≦ (Japanese fonts)
        "\u2267": "≥",
        "\u2a7d": "≤",  # ⩽ slanted
        "\u2a7e": "≥",
        # Symbol / Wingdings fonts map their glyphs into the private use area (U+F000 + the font's byte).
        "\uf0b7": "•",
        "\uf0a7": "▪",
        "\uf06e": "▪",
        "\uf0d8": "•",
        "\uf076": "•",
        "\uf0fc": "•",
        "\uf0a8": "•",
        "\uf0b3": "≥",
        "\uf0a3": "≤",
        "\uf0b4": "×",
        "\uf0b1": "±",
        "\uf02d": "-",
        "\uf03c": "<",
        "\uf03e": ">",
        "\uf03d": "=",
        "\uf06d": "µ",
        "\u03bc": "µ",  # Greek mu used as micro
        "\u25cf": "•",  # ●
        "\u2023": "•",
        "\u2043": "•",
        "\u25e6": "◦",
        "\uf0e0": "•",
    }
)

# Some subset fonts re-encode glyphs into C1 control code points. Seen in real protocols: "\x95" for ≥ before a
# number, "\x94" for ≤ glued to the next word, "\x97" for µ before a unit, "\x95"/"\x9f" as a bullet at line start.
_C1_GE = re.compile(r"\x95(?=\s?[\d.])")
_C1_LE = re.compile(r"(?<=[\s(])\x94(?=\w)")
_C1_MICRO = re.compile(r"\x97(?=(?:m|g|L|l|mol|IU)\b)")
_C1_BULLET = re.compile(r"(?m)^[ ]*[\x95\x9f\x81\x8f]\s")
# A Wingdings bullet extracted as the letter x: "x Absolute neutrophil count". Not after a line ending in a
# number ("ALT > 3\nx ULN" is a multiplication) and not before an all-capitals word.
_WINGDINGS_X_BULLET = re.compile(r"(?m)(?<![0-9]\n)^x[ ]+(?=[A-Z][a-z]|[(\"“])")
_RUNS_OF_SPACES = re.compile(r"[ ]{2,}")
_TRAILING_SPACE = re.compile(r"(?m)[ ]+$")
_LEADING_SPACE = re.compile(r"(?m)^[ ]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Opening bracket alone on its line ("[\n10] Had chronic ..."): glue it to what it opens.
_ORPHAN_OPEN = re.compile(r"(?m)^([\[(])\n(?=\S)")
# Closing punctuation alone on its line (":" or "." pushed down by layout): glue it back to the line above.
_ORPHAN_CLOSE = re.compile(r"(?<=\S)\n([:.,;)\]])[ ]*(?=\n|$)")
# A word broken by a (soft) hyphenation at line end whose second half starts lower case: keep the hyphen (it is
# often real: "platinum-\ntherapy") but join the lines so the word is whole for search and for rule parsing.
_LINE_END_HYPHEN = re.compile(r"(?<=[A-Za-z])-\n(?=[a-z])")
# Flattened powers of ten in counts: "75 x 109/L", "1.5 x 10 9/L", "× 10 9 /L", "10⁹/L" -> "10^9/L".
_POWER_OF_TEN = re.compile(
    r"(?P<pre>(?:[x×X*]|\d)\s?)10\s?(?P<exp>9|12|6|3)\s?/\s?(?P<unit>L\b|l\b|mm3|mm³|µL|uL|mL|ml)"
)
_SUPERSCRIPT_POWER = re.compile(r"10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def _power(match: re.Match[str]) -> str:
    return f"{match['pre']}10^{match['exp']}/{match['unit']}"


def normalize_text(text: str) -> str:
    """Normalize one page (or one document) of extracted text; the result is what citations quote."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = text.translate(_TRANSLATE)
    text = _C1_GE.sub("≥", text)
    text = _C1_LE.sub("≤", text)
    text = _C1_MICRO.sub("µ", text)
    text = _C1_BULLET.sub("• ", text)
    text = _TRAILING_SPACE.sub("", text)
    text = _LEADING_SPACE.sub("", text)
    text = _WINGDINGS_X_BULLET.sub("• ", text)
    text = _RUNS_OF_SPACES.sub(" ", text)
    text = _ORPHAN_OPEN.sub(r"\1", text)
    text = _ORPHAN_CLOSE.sub(r"\1", text)
    text = _LINE_END_HYPHEN.sub("-", text)
    text = _SUPERSCRIPT_POWER.sub(lambda m: "10^" + m.group(1).translate(_SUPERSCRIPT_DIGITS), text)
    text = _POWER_OF_TEN.sub(_power, text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip("\n")


_DIGITS = re.compile(r"\d+")
_REDACTION = re.compile(r"(?m)^CCI\n?")  # "Company Confidential Information" marks left where text was redacted
_EDGE_LINES = 8  # running headers/footers live in the first/last few lines of a page


def _line_key(line: str) -> str:
    """Lines that differ only by their numbers (page 37 of 164) are the same running header."""
    return _DIGITS.sub("#", line.strip().lower())


_PAGE_NUMBER_KEY = re.compile(r"^(?:page )?-? ?# ?-?(?: ?(?:of|/) ?#)?$|^# ?\(#\)$")


def _may_run(key: str) -> bool:
    """A recurring line is a header/footer if it has words or is a page number; not a bare list label."""
    letters = sum(ch.isalpha() for ch in key)
    # "ly#" (a compound code under the header) runs too; "#." (a bare list label) does not.
    return letters >= 3 or (letters >= 2 and "#" in key) or bool(_PAGE_NUMBER_KEY.match(key))


def strip_running_lines(pages: list[str]) -> list[str]:
    """Remove running headers/footers: lines at a page's top or bottom edge that recur on many pages.

    Only edge runs are removed (never a line in the middle of the body), so a criterion that wraps across a page
    break joins its two halves without the header in between.
    """
    if len(pages) < 3:
        return [_REDACTION.sub("", page) for page in pages]
    counts: dict[str, int] = {}
    split_pages = [page.split("\n") for page in pages]
    for lines in split_pages:
        edge = {_line_key(line) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:] if line.strip()}
        for key in edge:
            counts[key] = counts.get(key, 0) + 1
    threshold = max(3, len(pages) // 5)
    running = {key for key, n in counts.items() if n >= threshold and _may_run(key)}
    stripped: list[str] = []
    for lines in split_pages:
        start, end = 0, len(lines)
        while start < end and (not lines[start].strip() or _line_key(lines[start]) in running):
            start += 1
        while end > start and (not lines[end - 1].strip() or _line_key(lines[end - 1]) in running):
            end -= 1
        stripped.append(_REDACTION.sub("", "\n".join(lines[start:end])))
    return stripped
