"""Lab units: one pint registry, a normaliser for unit spellings found in real lab files and protocols, and
conversion plans (a factor computed once, then applied to scalars or numpy arrays).

Why a normaliser: pint reads `mg/dL` but not `x10^9/L`, `×10⁹/L`, `THOU/uL`, `µmol/L`, `MG/DL`, `mL/min/1.73m²`
or UCUM's `[IU]/L` and `{copies}/mL`. We rewrite those spellings into pint syntax, never guessing: a string we
cannot read is a UnitError, and so is a conversion that would need a molar mass or valence the analyte lacks.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pint

from labs.errors import MissingConstantError, UnitError

if TYPE_CHECKING:
    from labs.analyte import Analyte

# ----------------------------------------------------------------------------------------------- registry
ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=False, cache_folder=None)
# Equivalents get their own dimension so that mEq <-> mmol always passes through an analyte's valence.
ureg.define("equivalent = [equivalent] = Eq")
# "IU" in enzyme results (IU/L) is the enzyme unit (1 umol/min). Viral-load IU/mL are WHO units of an arbitrary
# standard; they never convert to copies/mL because copies are counts, a different dimension.
ureg.define("international_unit = enzyme_unit = IU")
ureg.define("cell = count = cells")
ureg.define("copy = count = copies")
# eGFR is normalised to a body surface of 1.73 m²: an area, so mL/min/1.73m² never converts to plain mL/min.
ureg.define("bsa_1_73 = 1.73 * meter ** 2")
# A Bethesda unit (coagulation-factor inhibitor titre) is defined by its assay: the inhibitor that neutralises half
# the factor of normal plasma. Its own dimension, so BU/mL converts to BU/L and to nothing else.
ureg.define("bethesda_unit = [bethesda] = BU")

_EQUIVALENT = "[equivalent]"
# Lab results measure mass, volume, time, amount, charge equivalents and counts; a unit that reads as a current,
# temperature or luminous intensity is a misreading (the "K" of "mmol/mmol K" is Kreatinin, not kelvin).
_LAB_DIMENSIONS = {"[mass]", "[length]", "[time]", "[substance]", "[equivalent]", "[bethesda]"}
_MASS = "[mass]"
_SUBSTANCE = "[substance]"

# ----------------------------------------------------------------------------------------------- normaliser
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPERSCRIPT_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")

# Count multipliers written as words or single letters in lab exports (THOU/uL, K/uL, MILL/uL, GI/L, TPt/l).
_MULTIPLIER_WORDS = {
    "thou": "10^3", "thous": "10^3", "thousand": "10^3", "tsd": "10^3", "k": "10^3",
    "mill": "10^6", "mil": "10^6", "mio": "10^6", "million": "10^6",
    "gi": "10^9", "gpt": "10^9", "ti": "10^12", "tpt": "10^12", "mpt": "10^6",
}
# Single upper-case letters that mean a count multiplier only when they are the whole numerator: M/uL, T/L.
# (G/L stays grams: an analyte that is a cell count reinterprets it; see _count_reading.)
_MULTIPLIER_LETTERS = {"M": "10^6", "T": "10^12"}

# Molar concentrations written as chemists do; checked case-sensitively before the lexicon (mM is not mm).
_MOLAR = {"M": "mol/L", "mM": "mmol/L", "uM": "umol/L", "nM": "nmol/L", "pM": "pmol/L"}

# Lab unit words matched case-insensitively (MG/DL, Umol/l, MEQ/L) to the spelling pint knows.
_LEXICON = {
    # mass
    "g": "g", "kg": "kg", "mg": "mg", "ug": "ug", "mcg": "ug", "ng": "ng", "pg": "pg", "fg": "fg",
    # volume
    "l": "L", "dl": "dL", "cl": "cL", "ml": "mL", "ul": "uL", "mcl": "uL", "nl": "nL", "pl": "pL", "fl": "fL",
    # amount of substance
    "mol": "mol", "mmol": "mmol", "umol": "umol", "mcmol": "umol", "micromol": "umol", "nmol": "nmol",
    "pmol": "pmol", "fmol": "fmol", "mole": "mol", "mmole": "mmol", "umole": "umol",
    # equivalents
    "eq": "Eq", "meq": "mEq", "ueq": "uEq",
    # enzyme / international units (German E, IE)
    "u": "U", "mu": "mU", "uu": "uU", "ku": "kU", "units": "U", "unit": "U",
    "e": "U", "me": "mU", "ue": "uU",
    "iu": "IU", "miu": "mIU", "uiu": "uIU", "kiu": "kIU", "ie": "IU", "mie": "mIU", "uie": "uIU",
    "kat": "kat", "ukat": "ukat", "nkat": "nkat", "mkat": "mkat",
    # Bethesda units of a coagulation-factor inhibitor ("BU/mL"; pint alone would read "bu" as a bushel)
    "bu": "BU",
    # time
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s", "ms": "ms", "msec": "ms", "msecs": "ms",
    "millisecond": "ms", "milliseconds": "ms", "min": "min", "mins": "min", "minute": "min", "minutes": "min",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "d": "d", "day": "d", "days": "d",
    # length, pressure
    "m": "m", "cm": "cm", "cumm": "mm^3", "cmm": "mm^3", "mm": "mm", "um": "um", "nm": "nm", "mmhg": "mmHg", "kpa": "kPa", "qm": "m^2",
    # counts
    "cell": "cell", "cells": "cell", "zellen": "cell", "copy": "copy", "copies": "copy", "kopien": "copy",
    "count": "count",
    # dimensionless
    "percent": "percent", "permille": "permille", "ratio": "1", "fraction": "1",
    # our own
    "bsa_1_73": "bsa_1_73",
}

_COUNTED = {"copies", "copy", "cells", "cell"}
_ANNOTATION_CURLY = re.compile(r"\{[^{}]*\}")
_ANNOTATION_PAREN = re.compile(r"(?<![/*\s])\s*\(\s*[A-Za-z][A-Za-z .\-]*\)")  # fmol(Fe), % (NGSP), mmol/mol (IFCC)
_BSA = re.compile(
    r"/\s*\(?\s*1[.,]73\s*(?:_?\s*(?:m\s*(?:\^|\*\*)?\s*2|m²|qm|sq\.?\s*m|square\s+met(?:er|re)s?))?\s*\)?",
    re.IGNORECASE,
)
_BSA_ANNOTATED = re.compile(r"\{\s*1[.,]73[^{}]*\}")
# x10^9, ×10⁹, 10*9 (UCUM), 10E9, 10e9, 10**9 — a power of ten that scales the unit.
_POWER_OF_TEN = re.compile(
    r"(?:^|(?<=[\s(/*]))[xX×*]?\s*10\s*(?:\^|\*\*|\*|[eE])\s*\(?\s*([-+]?\d{1,2})(?!\d)\s*\)?|^[xX]?\s*10\s*\(\s*([-+]?\d{1,2})\s*\)"
)
_E_NOTATION = re.compile(r"^\s*1?\s*[eE]\s*\+?(\d{1,2})(?=\s*/)")  # 1e9/L, E9/L
# "x 109/L": a superscript flattened by a PDF (means 10^9). Only with the x and only for 3, 6, 9, 12.
_FLATTENED_POWER = re.compile(r"^(?:[xX×]\s*10\s*(3|6|9|12)|10\s+(3|6|9|12))\s*(?=/|\s|$|[A-Za-z])")
_WORD = re.compile(r"(?<![\d.])[A-Za-z_][A-Za-z_0-9]*")
_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(\d)")
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[A-Za-z])")
_UCUM_DOT = re.compile(r"(?<=[A-Za-z0-9\])])\.(?=[A-Za-z\[(])")
# Every word of a normalised unit must be one of these: pint also knows "in" (inch), "at" (atmosphere) and "a"
# (year), which in a sentence are words, not units.
_PREFIXES = ("", "f", "p", "n", "u", "m", "c", "d", "k")
_LAB_WORDS = frozenset(
    [prefix + base for prefix in _PREFIXES for base in ("g", "L", "mol", "Eq", "U", "IU", "kat", "m", "Pa", "s")]
    + ["min", "h", "d", "wk", "week", "weeks", "month", "months", "year", "years", "mmHg", "cell", "copy",
       "count", "percent", "permille", "bsa_1_73", "BU"]
)
_AMBIGUOUS_PRODUCT = re.compile(r"/[^*]*\*")  # a/b*c: (a/b)*c by arithmetic, a/(b*c) as labs often mean
_NO_UNIT = {"", "no units", "none", "n/a", "na", "nan", "null", "-", "--"}


def _cleanup(text: str) -> str:
    text = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group(0).translate(_SUPERSCRIPTS), text)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("μ", "u").replace("µ", "u").replace("×", "x").replace("·", "*").replace("⋅", "*")
    text = text.replace("‰", " permille").replace("%", " percent ")
    text = re.sub(r"\bmicro(?=[a-z])", "u", text, flags=re.IGNORECASE)
    text = re.sub(r"\bmilli(?=[a-z])", "m", text, flags=re.IGNORECASE)
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def _normalise(text: str) -> str:
    raw = text
    text = _cleanup(text)
    if text.lower() in _NO_UNIT:
        raise UnitError(f"no unit given ({raw!r}); a unit is never assumed")
    text = _BSA_ANNOTATED.sub("bsa_1_73", text)
    text = _BSA.sub("/bsa_1_73", text)
    # UCUM annotations carry no dimension ({RBC}, {creat}), except counted things we define ({copies}/mL)
    text = _ANNOTATION_CURLY.sub(
        lambda m: m.group(0)[1:-1] if m.group(0)[1:-1].strip().lower() in _COUNTED else "", text
    )
    text = _ANNOTATION_PAREN.sub("", text)
    text = text.replace("[", "").replace("]", "")
    text = _UCUM_DOT.sub("*", text)
    text = text.strip()
    text = re.sub(r"[.,;:]+$", "", text).strip()  # sentence punctuation after a unit is not part of it
    text = _E_NOTATION.sub(lambda m: f"10^{int(m.group(1))} ", text)
    text = _FLATTENED_POWER.sub(lambda m: f"10^{m.group(1) or m.group(2)} ", text)
    text = _POWER_OF_TEN.sub(lambda m: f" 10^{int(m.group(1) or m.group(2))} ", text)
    # "/24h" is "per 24 hours": the number belongs to the divisor, never (x/24)*h
    text = re.sub(r"/\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+\d?)", r"/(\1 \2)", text)
    text = _LETTER_DIGIT.sub(r"^\1", text)  # mm3 -> mm^3, m2 -> m^2
    text = _DIGIT_LETTER.sub(" ", text)  # 10^3cells -> 10^3 cells, 24h -> 24 h

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        following = text[match.end():].lstrip()
        numerator = following.startswith("/") and not text[: match.start()].strip()
        if numerator and token in _MULTIPLIER_LETTERS:
            return _MULTIPLIER_LETTERS[token]
        if token in _MOLAR:
            return _MOLAR[token]
        lowered = token.lower()
        if lowered in _MULTIPLIER_WORDS and (lowered != "k" or numerator):
            return _MULTIPLIER_WORDS[lowered]
        if lowered.startswith("bsa_1_73"):
            return "bsa_1_73"
        return _LEXICON.get(lowered, token)

    text = _WORD.sub(word, text)
    text = " ".join(text.split())
    text = re.sub(r"\s*([/*^])\s*", r"\1", text)
    text = re.sub(r"^[x*]\s*(?=10\^)", "", text)
    if text.startswith("/"):
        text = "1" + text
    text = text.replace("percent", "%").replace(" ", "*").replace("**", "^")
    # pint evaluates powers exactly: 10^9^9 would be a 387-million-digit integer. Allow one small integer power.
    if any(not re.match(r"[-+]?\d{1,2}(?![\d.^(])", text[m.end():]) for m in re.finditer(r"\^", text)):
        raise UnitError(f"unit {raw!r} has a power that is not a small whole number")
    for token in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text):
        if token not in _LAB_WORDS:
            raise UnitError(f"unknown unit {raw!r}: {token!r} is not a lab unit (read as {text!r})")
    if _AMBIGUOUS_PRODUCT.search(_strip_groups(text)):
        raise UnitError(
            f"unit {raw!r} is ambiguous: is what follows '/' all in the denominator? write it with parentheses, "
            "e.g. nmol/(L*s)"
        )
    return text


def _strip_groups(text: str) -> str:
    while True:
        stripped = re.sub(r"\([^()]*\)", "G", text)
        if stripped == text:
            return text
        text = stripped


@lru_cache(maxsize=4096)
def _quantity(unit: str) -> pint.Quantity:
    """The pint quantity of one `unit` (magnitude carries 10^9 and similar multipliers)."""
    try:
        parsed = ureg.parse_expression(unit.replace("%", "percent"))
    except Exception as exc:  # pint raises many types (UndefinedUnitError, DefinitionSyntaxError, TokenError...)
        raise UnitError(f"unknown unit {unit!r}: {exc}") from None
    if not isinstance(parsed, pint.Quantity):
        if isinstance(parsed, (int, float)) and parsed == 1:
            return ureg.Quantity(1, "dimensionless")
        raise UnitError(f"unknown unit {unit!r}: a bare number is not a unit")
    magnitude = float(parsed.magnitude)
    if not math.isfinite(magnitude) or magnitude <= 0:
        raise UnitError(f"unknown unit {unit!r}: scale factor {magnitude} is not a positive number")
    foreign = set(parsed.dimensionality) - _LAB_DIMENSIONS
    if foreign:
        raise UnitError(f"unknown unit {unit!r}: read as {parsed.units}, a {', '.join(sorted(foreign))} unit, not a lab unit")
    return parsed


def parse_unit(text: str | None) -> str:
    """Normalise a unit as written (`x10^9/L`, `µmol/L`, `MG/DL`, `mL/min/1.73m²`) into a string pint accepts.

    Raises UnitError when the text is empty, says "no units", or names something pint cannot read.
    """
    if text is None:
        raise UnitError("no unit given (None); a unit is never assumed")
    if not isinstance(text, str):
        raise UnitError(f"unit must be text, got {type(text).__name__} {text!r}")
    if len(text) > 100:
        raise UnitError(f"unit text too long to be a unit ({len(text)} characters): {text[:40]!r}...")
    try:
        unit = _normalise(text)
    except UnitError:
        raise
    except Exception as exc:  # a normaliser bug must surface as our error, with the text that caused it
        raise UnitError(f"cannot read unit {text!r}: {exc}") from None
    try:
        _quantity(unit)
    except UnitError:
        raise UnitError(f"unknown unit {text!r} (read as {unit!r})") from None
    return unit


def display_unit(unit: str) -> str:
    """A normalised unit as a person writes it (bsa_1_73 -> 1.73m2)."""
    text = re.sub(r"^1/", "/", unit.replace("bsa_1_73", "1.73m2"))
    text = re.sub(r"\bcopy\b", "copies", text)
    return re.sub(r"\bcell\b", "cells", text)


# ----------------------------------------------------------------------------------------------- conversion
@dataclass(frozen=True)
class Conversion:
    """to = value * factor + offset, with the reasoning that produced it (shown by `trialguard convert`)."""

    from_unit: str
    to_unit: str
    factor: float
    offset: float = 0.0
    analyte: str | None = None
    steps: tuple[str, ...] = field(default=())

    def apply(self, value):
        """Convert a float or a numpy array (vectorised: one multiply, plus one add for affine scales)."""
        if isinstance(value, np.ndarray):
            out = value * self.factor
            if self.offset:
                out += self.offset
            return out
        return value * self.factor + self.offset

    def describe(self) -> str:
        if self.offset:
            sign = "+" if self.offset > 0 else "-"
            return f"x {self.factor:.6g} {sign} {abs(self.offset):.6g}"
        return f"x {self.factor:.6g}"


def _dims(q: pint.Quantity) -> dict[str, float]:
    return dict(q.dimensionality)


def _allowed(analyte: Analyte | None) -> str:
    if analyte is None:
        return ""
    units = ", ".join(analyte.units or [analyte.canonical_unit])
    return f"; units allowed for {analyte.code}: {units}"


def _label(analyte: Analyte | None) -> str:
    return f" for {analyte.code} ({analyte.name})" if analyte is not None else ""


def _hint(a: pint.Quantity, b: pint.Quantity) -> str:
    names = f"{a.units} {b.units}"
    if "international_unit" in names and ("copy" in names or "count" in names):
        return " (WHO IU/mL of a viral-load assay and copies/mL are not interconvertible without an assay factor)"
    return ""


def _in_moles(q: pint.Quantity, valence: int) -> pint.Quantity:
    """Equivalents -> moles (1 Eq = 1/valence mol) at whatever power `q` holds them; other quantities unchanged."""
    power = _dims(q).get(_EQUIVALENT)
    return q * ureg.Quantity(1 / valence, "mol/Eq") ** power if power else q


def _bridge(src: str, dst: str, analyte: Analyte | None) -> tuple[float, tuple[str, ...]]:
    """Factor from `src` to `dst` (normalised units), via valence and molar mass where the dimensions need them."""
    a = _quantity(src)
    b = _quantity(dst)
    steps: list[str] = []
    for side, name in ((a, src), (b, dst)):
        if _dims(side).get(_EQUIVALENT):
            if analyte is None or analyte.valence is None:
                who = f"{analyte.code} has no valence in the catalog" if analyte else "no analyte was given"
                raise MissingConstantError(
                    f"converting {display_unit(src)} to {display_unit(dst)}{_label(analyte)} needs the ion's "
                    f"valence ({name} is in equivalents) but {who}{_allowed(analyte)}"
                )
    if _dims(a).get(_EQUIVALENT) or _dims(b).get(_EQUIVALENT):
        a, b = _in_moles(a, analyte.valence), _in_moles(b, analyte.valence)
        steps.append(f"valence {analyte.valence}")
    if a.dimensionality == b.dimensionality:
        return float(a.to(b.units).magnitude / b.magnitude), tuple(steps)
    ratio = _dims(a / b)
    molar = None
    if ratio == {_MASS: 1, _SUBSTANCE: -1}:
        molar = -1  # mass -> substance: divide by molar mass
    elif ratio == {_MASS: -1, _SUBSTANCE: 1}:
        molar = 1
    if molar is None:
        hint = _hint(a, b)
        raise UnitError(
            f"cannot convert {display_unit(src)} to {display_unit(dst)}{_label(analyte)}: incompatible units "
            f"({a.dimensionality} vs {b.dimensionality}){hint}{_allowed(analyte)}"
        )
    if analyte is None or analyte.molar_mass is None:
        who = f"{analyte.code} has no molar mass in the catalog" if analyte else "no analyte was given"
        raise MissingConstantError(
            f"converting {display_unit(src)} to {display_unit(dst)}{_label(analyte)} is a molar conversion that "
            f"needs a molar mass, but {who}{_allowed(analyte)}"
        )
    mw = ureg.Quantity(analyte.molar_mass, "g/mol")
    a = a * mw if molar == 1 else a / mw
    steps.append(f"molar mass {analyte.molar_mass:g} g/mol")
    return float(a.to(b.units).magnitude / b.magnitude), tuple(steps)


def _affine_side(unit: str, spec) -> str | None:
    if unit in _normalised_set(tuple(spec.from_units)):
        return "from"
    if unit in _normalised_set(tuple(spec.to_units)):
        return "to"
    return None


@lru_cache(maxsize=256)
def _normalised_set(units: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_normalise(u) for u in units)


def _affine_plan(src: str, dst: str, analyte: Analyte) -> Conversion | None:
    for spec in analyte.affine:
        sides = (_affine_side(src, spec), _affine_side(dst, spec))
        if sides in (("from", "to"), ("to", "from")):
            anchor_from, anchor_to = _normalise(spec.from_unit), _normalise(spec.to_unit)
            if sides == ("from", "to"):
                pre, _ = _bridge(src, anchor_from, analyte)
                post, _ = _bridge(anchor_to, dst, analyte)
                factor = pre * spec.slope * post
                offset = spec.intercept * post
            else:
                pre, _ = _bridge(src, anchor_to, analyte)
                post, _ = _bridge(anchor_from, dst, analyte)
                factor = pre / spec.slope * post
                offset = -spec.intercept / spec.slope * post
            return Conversion(src, dst, factor, offset, analyte.code, (spec.name, spec.source))
        if None in sides and sides != (None, None):
            other = src if sides[0] is None else dst
            known = dst if sides[0] is None else src
            try:
                _bridge(other, known, analyte)
            except UnitError:
                continue
            raise UnitError(
                f"unit {display_unit(other)!r}{_label(analyte)} is ambiguous between the scales of "
                f"{spec.name!r}; use one of {spec.from_units + spec.to_units}"
            )
    return None


def _on_affine_scale(unit: str, analyte: Analyte) -> bool:
    return any(_affine_side(unit, spec) is not None for spec in analyte.affine)


def _count_reading(unit_text: str, analyte: Analyte | None) -> str | None:
    """`G/L` and `T/L` are 10^9/L and 10^12/L (giga/tera per litre) when the analyte is a cell count."""
    if analyte is None or not re.fullmatch(r"\s*[GT]\s*/\s*[lL]\s*", unit_text):
        return None
    canonical = _quantity(_normalise(analyte.canonical_unit))
    if canonical.dimensionality != ureg.Quantity(1, "1/L").dimensionality:
        return None
    return "10^9/L" if unit_text.strip().upper().startswith("G") else "10^12/L"


_PLANS: dict[tuple, Conversion] = {}


def plan(from_unit: str | None, to_unit: str | None, analyte: Analyte | None = None) -> Conversion:
    """The conversion from one unit to another for an analyte (cached: compute once, apply many times)."""
    for unit in (from_unit, to_unit):
        if unit is not None and not isinstance(unit, str):
            raise UnitError(f"unit must be text, got {type(unit).__name__} {unit!r}")
    key = (from_unit, to_unit, analyte.conversion_key() if analyte is not None else None)
    cached = _PLANS.get(key)
    if cached is not None:
        return cached
    if analyte is not None and not analyte.quantitative:
        raise UnitError(f"{analyte.code} ({analyte.name}) is {analyte.scale.value}: its results have no units to convert")
    src = _count_reading(from_unit, analyte) if isinstance(from_unit, str) else None
    dst = _count_reading(to_unit, analyte) if isinstance(to_unit, str) else None
    try:
        src = src or parse_unit(from_unit)
        dst = dst or parse_unit(to_unit)
    except UnitError as exc:
        raise UnitError(f"{exc}{_label(analyte)}{_allowed(analyte)}") from None
    if analyte is None and {src, dst} & {"mmol/mol"} and {src, dst} & {"%", "1"}:
        raise UnitError(
            f"converting {display_unit(src)} to {display_unit(dst)} without an analyte is ambiguous: for HbA1c the "
            "NGSP % <-> IFCC mmol/mol equation applies, not a factor; pass the analyte"
        )
    conversion = _affine_plan(src, dst, analyte) if analyte is not None and analyte.affine else None
    if conversion is None:
        if analyte is not None:
            canonical = _normalise(analyte.canonical_unit)
            for unit in (src, dst):
                try:
                    if not _on_affine_scale(unit, analyte):
                        _bridge(unit, canonical, analyte)
                except MissingConstantError:  # a missing molar mass or valence: that message says it best
                    raise
                except UnitError:
                    raise UnitError(
                        f"{display_unit(unit)!r} is not a unit of {analyte.code} ({analyte.name}), whose canonical "
                        f"unit is {analyte.canonical_unit}{_hint(_quantity(unit), _quantity(canonical))}"
                        f"{_allowed(analyte)}"
                    ) from None
        factor, steps = _bridge(src, dst, analyte)
        conversion = Conversion(src, dst, factor, 0.0, analyte.code if analyte else None, steps)
    if len(_PLANS) > 20000:
        _PLANS.clear()
    _PLANS[key] = conversion
    return conversion
