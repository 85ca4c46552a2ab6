"""Read a quantity as written in a lab report or a protocol: "1.5 x 10^9/L", "90,000/mm3", "65 U/L", "8.9"."""

from __future__ import annotations

import math
import re

from labs.errors import UnitError
from labs.units import parse_unit

# 1,500 and 90,000 are thousands, as are 1 500 and 90 000 with a no-break or thin space (a comma before exactly three digits, repeated); 1,5 is a decimal comma.
_NUMBER = re.compile(
    r"""\s*(?P<sign>[-+−])?\s*
    (?P<number>\d{1,3}(?:[\u00a0\u202f\u2009]\d{3})+(?:[.,]\d+)?(?!\d)|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|[.,]\d+)
    (?P<exponent>[eE][-+]?\d{1,3}(?![A-Za-z]))?
    """,
    re.VERBOSE,
)
_COMPARATOR = re.compile(r"^\s*(<=|>=|≤|≥|<|>|=<|=>)")


def parse_quantity(text: str) -> tuple[float, str | None]:
    """(value, normalised unit) from text; the unit is None when none is written (never assumed).

    Raises UnitError for text that is not a number followed by an optional readable unit, including censored
    results such as "<0.5" (a limit, not a value: callers decide what it means).
    """
    if not isinstance(text, str):
        raise UnitError(f"quantity must be text, got {type(text).__name__} {text!r}")
    if len(text) > 200:
        raise UnitError(f"text too long to be one quantity ({len(text)} characters): {text[:40]!r}...")
    cleaned = text.strip()
    if _COMPARATOR.match(cleaned):
        raise UnitError(f"{text!r} is a censored result (a limit with a comparator), not a single value")
    match = _NUMBER.match(cleaned)
    if match is None:
        raise UnitError(f"cannot read a number at the start of {text!r}")
    number = re.sub(r"[\u00a0\u202f\u2009]", "", match.group("number"))  # typographic thousands spaces
    if "," in number and re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", number):
        number = number.replace(",", "")
    else:
        number = number.replace(",", ".")
    literal = number + (match.group("exponent") or "")
    value = float(literal)
    if match.group("sign") in ("-", "−"):
        value = -value
    if not math.isfinite(value):
        raise UnitError(f"{text!r} is not a finite number")
    rest = cleaned[match.end():].strip()
    if not rest:
        return value, None
    return value, parse_unit(rest)
