"""Text-layer health: is a page's extracted text the text a reader sees, or garbage / nothing (a scan)?

A PDF's text layer can be present and still be wrong. Fonts embedded without a Unicode map give glyph codes that
are not characters: often a constant code-point shift ("3URWRFRO" for "Protocol"), sometimes mostly private-use
or undecodable code points. A scanned page has no text at all. Parsing such a page yields garbage criteria, or
none, without a word, so every page is checked here before anything is parsed, and pages that fail are OCRed
(ingest.ocr) or refused.

What the measures rely on (no document's strings):
- Prose is made to a large share of a language's short function words (text_health.yaml lists them for the
  languages protocols are written in). A healthy page of prose has many; a garbled one almost none.
- A font without a Unicode map usually numbers its glyphs in the order of a standard encoding, offset by a
  constant: shifting every code point by one constant then brings the function words back. That shift is the
  proof that the layer is garbled rather than, say, a page of abbreviations or another language.
- Private-use, unassigned, control and replacement characters are not text; a few (Symbol-font bullets) are
  normal, a page mostly of them is not.
- A page without enough characters to judge is judged by whether anything is drawn on it (the reader says): drawn
  content without text is a scan or rendered text; nothing at all is a blank page.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from labs.errors import ConfigError

HEALTH_FILE = Path(__file__).with_name("text_health.yaml")

PageStatus = Literal["ok", "blank", "no_text", "garbled"]

SHIFT_SAMPLE = 2000  # characters of a page the shift test reads: a few hundred words show a constant offset
_WORD = re.compile(r"[^\W\d_]{2,}")  # letters only (any script), two or more


class HealthSettings(BaseModel):
    """text_health.yaml, validated: the word lists and thresholds the checks use (see the YAML for why)."""

    model_config = ConfigDict(extra="forbid")

    common_words: dict[str, list[str]]
    min_chars_to_judge: int = Field(ge=1)
    min_words_to_judge: int = Field(ge=1)
    suspicious_common_share: float = Field(ge=0, le=1)
    shift_gain: float = Field(gt=1)
    max_shift: int = Field(ge=1, le=0x10FF)
    shift_min_distinct: int = Field(ge=1)
    max_undecodable_share: float = Field(gt=0, le=1)
    low_words_undecodable_share: float = Field(gt=0, le=1)
    garbled_common_share: float = Field(ge=0, le=1)
    comparator_stand_ins: list[str] = Field(default_factory=list)

    @field_validator("comparator_stand_ins")
    @classmethod
    def _single_letters(cls, value: list[str]) -> list[str]:
        if any(len(letter) != 1 or not letter.isalpha() for letter in value):
            raise ValueError(f"comparator_stand_ins: needs single letters, got {value}")
        return value

    @field_validator("common_words")
    @classmethod
    def _words(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if not value:
            raise ValueError("common_words: needs at least one language")
        for language, words in value.items():
            bad = [w for w in words if not isinstance(w, str) or len(w) < 2 or not _WORD.fullmatch(w)]
            if not words or bad:
                raise ValueError(f"common_words.{language}: needs words of two letters or more, got {bad or words}")
        return value

    @functools.cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(word.casefold() for words in self.common_words.values() for word in words)


@functools.lru_cache(maxsize=4)
def load_settings(path: Path = HEALTH_FILE) -> HealthSettings:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the text-health settings ({error})") from error
    try:
        return HealthSettings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{path}: invalid text-health settings: {error}") from error


class TextMeasures(BaseModel):
    """What was measured on one page's text layer (kept so a report can show why a page was flagged)."""

    model_config = ConfigDict(extra="forbid")

    chars: int = Field(description="characters other than whitespace")
    words: int = Field(description="words of two letters or more")
    common_share: float = Field(description="share of those words that are common function words")
    undecodable_share: float = Field(description="share of characters that are private-use/unassigned/control")
    shift: int | None = Field(default=None, description="code-point offset that turns the text into prose")
    shifted_common_share: float | None = None


class PageHealth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int = Field(description="1-based page number")
    status: PageStatus
    reason: str = Field(description="why, in words a user can act on")
    measures: TextMeasures

    @property
    def needs_ocr(self) -> bool:
        return self.status in ("no_text", "garbled")


def _undecodable(char: str) -> bool:
    if char == "\ufffd":
        return True
    category = unicodedata.category(char)
    return category in ("Co", "Cn", "Cs") or (category == "Cc" and not char.isspace())


def _common_share(words: list[str], vocabulary: frozenset[str], *, prose_case: bool = False) -> float:
    """Share of `words` that are common words. `prose_case`: count only words cased as in running prose
    (lower case or Capitalised), so that of two shifts that both restore the letters, the one that restores their
    case wins (a shift that maps lower case onto capitals reads as common words only once casefolded)."""
    if not words:
        return 0.0
    hits = sum(
        word.casefold() in vocabulary and (not prose_case or word.islower() or word.istitle()) for word in words
    )
    return hits / len(words)


def _shifted(text: str, offset: int) -> str:
    """Every character other than whitespace moved by `offset` code points.

    A character the offset moves below the space (or past the BMP's letters) becomes U+FFFD, never itself: kept
    as it was, the letters an offset cannot move would still spell the words they spelt, and any offset would
    "restore" them. (str.translate over the text's own alphabet: the shift test runs ~200 offsets a page.)
    """
    table = {}
    for char in set(text):
        if char.isspace():
            continue
        point = ord(char) + offset
        table[ord(char)] = chr(point) if 0x20 <= point < 0xD800 else "\ufffd"
    return text.translate(table)


def _distinct_common(words: list[str], vocabulary: frozenset[str]) -> int:
    """Different common words of three letters or more, cased as in prose. The evidence a shift is judged on:
    one-letter and two-letter words, and one repeated code, turn into common words by chance under some shift;
    a dozen different ones ("the", "with", "patients") do not."""
    return len({w.casefold() for w in words if len(w) >= 3 and (w.islower() or w.istitle())} & vocabulary)


def _best_shift(text: str, settings: HealthSettings) -> tuple[int, int, float] | None:
    """(offset, distinct common words, common-word share) of the constant offset that restores the most
    different common words; None when the sample has too few words under every offset.

    Only a sample of the page is shifted: a constant offset shows on the first few hundred words as well as on
    all of them, and the test then costs the same on every page.
    """
    sample = text[:SHIFT_SAMPLE]
    best: tuple[int, int, float] | None = None
    for magnitude in range(1, settings.max_shift + 1):
        for offset in (magnitude, -magnitude):
            words = _WORD.findall(_shifted(sample, offset))
            if len(words) < settings.min_words_to_judge:
                continue
            distinct = _distinct_common(words, settings.vocabulary)
            if best is None or distinct > best[1]:
                best = (offset, distinct, _common_share(words, settings.vocabulary, prose_case=True))
    return best


def measure_text(text: str, settings: HealthSettings | None = None) -> TextMeasures:
    settings = settings or load_settings()
    visible = [char for char in text if not char.isspace()]
    words = _WORD.findall(text)
    return TextMeasures(
        chars=len(visible),
        words=len(words),
        common_share=round(_common_share(words, settings.vocabulary), 4),
        undecodable_share=round(sum(map(_undecodable, visible)) / len(visible), 4) if visible else 0.0,
    )


def check_page(
    number: int, text: str, *, drawn: bool, has_image: bool = False, settings: HealthSettings | None = None
) -> PageHealth:
    """Judge one page's text layer.

    `drawn`: whether the page paints anything at all (image, path, text object); `has_image`: whether it paints a
    raster image. Relies on the measures described in the module docstring. A page too short to judge is:
    "no_text" when it has no text yet something is drawn (a scan, text drawn as outlines, a font whose text
    cannot be extracted), or when its few characters sit on an image (a scan with a stamped page number);
    "blank" when nothing is drawn; otherwise "ok" (a short page of real text, e.g. "Appendix 3").
    """
    settings = settings or load_settings()
    measures = measure_text(text, settings)
    if measures.chars < settings.min_chars_to_judge:
        if not drawn:
            return PageHealth(number=number, status="blank", reason="blank page", measures=measures)
        if measures.chars == 0:
            reason = "no text layer (a scanned image or text drawn as shapes)"
        elif has_image:
            reason = f"almost no text layer ({measures.chars} characters) on a page that is an image"
        else:
            return PageHealth(number=number, status="ok", reason="short text layer", measures=measures)
        return PageHealth(number=number, status="no_text", reason=reason, measures=measures)
    if measures.words >= settings.min_words_to_judge and measures.common_share >= settings.suspicious_common_share:
        return PageHealth(number=number, status="ok", reason="readable text layer", measures=measures)
    # Few common words, or too few words to tell: first ask whether one constant shift explains the page, so the
    # reason names the cause when there is one.
    best = _best_shift(text, settings)
    if best is not None:
        offset, distinct, share = best
        as_read = _distinct_common(_WORD.findall(text[:SHIFT_SAMPLE]), settings.vocabulary)
        if distinct >= settings.shift_min_distinct and distinct >= settings.shift_gain * max(as_read, 1):
            measures = measures.model_copy(update={"shift": offset, "shifted_common_share": round(share, 4)})
            reason = (
                f"glyph codes are the characters shifted by {-offset:+d} code points (a font without a Unicode "
                f"map): {measures.common_share:.0%} common words as read, {share:.0%} after the shift"
            )
            return PageHealth(number=number, status="garbled", reason=reason, measures=measures)
    if measures.undecodable_share > settings.max_undecodable_share:
        reason = (
            f"{measures.undecodable_share:.0%} of its characters are private-use, control or undecodable codes"
        )
        return PageHealth(number=number, status="garbled", reason=reason, measures=measures)
    if (
        measures.words >= settings.min_words_to_judge
        and measures.undecodable_share >= settings.low_words_undecodable_share
        and measures.common_share <= settings.garbled_common_share
    ):
        reason = (
            f"{measures.undecodable_share:.0%} of its characters are undecodable glyph codes and "
            f"{measures.common_share:.0%} of its words are common words"
        )
        return PageHealth(number=number, status="garbled", reason=reason, measures=measures)
    return PageHealth(number=number, status="ok", reason="readable text layer (few common words)", measures=measures)


def comparator_stand_ins(text: str, settings: HealthSettings | None = None) -> list[str]:
    """Snippets where a lone letter that a broken symbol font gives for ≤ or ≥ stands between a word and a number
    ("creatinine d 1.5 x ULN"). Relies on English never putting those single letters there; reported, never
    rewritten (which comparator was meant is for a person to read on the page)."""
    settings = settings or load_settings()
    if not settings.comparator_stand_ins:
        return []
    letters = "".join(re.escape(letter) for letter in settings.comparator_stand_ins)
    pattern = re.compile(rf"(?<=[^\W\d_]{{2}})[ \t]+([{letters}])[ \t]+(?=\d)")
    return [
        " ".join(text[max(0, m.start() - 25) : m.end() + 12].split()) for m in pattern.finditer(text)
    ]


def page_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7, 9, 10] -> "1-3, 7, 9-10": page lists in messages stay short on a 47-page scan."""
    parts: list[str] = []
    ordered = sorted(set(numbers))
    start = previous = None
    for number in ordered + [None]:
        if start is not None and (number is None or number != previous + 1):
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = None
        if number is not None and start is None:
            start = number
        previous = number
    return ", ".join(parts)
