"""The CRA's free-text question -> patient id, date, lab observations and demographics.

"pt 1003: SGPT 65 (ULN 40) on 2024-03-02", "serum creatinine 1.8 mg/dL, 67 y, 72 kg, male", "platelets
90,000/mm3", "Hb 8.9". Nothing is guessed: a value without a unit keeps unit None and a problem says so (except on
a unitless analyte such as INR, whose catalog unit is "1": there no unit is the right unit); a word before a number
that is no known lab test gets a problem naming the closest catalog entries.

Problems are of two kinds. `problems` lists everything the user should know or fix. `unread` is the subset where
part of the question did not become an observation (an unknown test, a number without a test, an impossible or
non-finite value, a ULN that is not a positive number, a second date): no finding can stand for that part, so a
clean answer is impossible and the caller must ask for review. A value read without its unit is not unread: the
engine judges what needs no unit (a multiple of a ULN stated in the same unstated unit) and leaves every limit in
units INDETERMINATE, naming the unit it needs.

The parse works on a mask: each recognised piece (patient id, date, demographics, ULN/LLN qualifiers, a value
and its unit) is blanked out of a working copy of the text once read, so no number is read twice.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import labs
from ingest.patients.dates import DateError, checked, month_day
from labs.errors import UnitError, UnknownAnalyteError
from labs.observation import Demographics, LabObservation, Sex
from retrieval.word_lists import load_word_lists

CONDITIONS_FILE = Path(__file__).with_name("conditions.yaml")

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|september|october|november|december"

# An id of any length ("pt 7", "subject 01-004-1003") with at least one digit, so "patient has" is no id.
PATIENT = re.compile(
    r"\b(?:pt|patient|subject|subj|participant|usubjid|id)\.?\s*(?:no\.?|number|#)?\s*[:#\-]?\s*"
    r"(?P<id>(?=[A-Za-z0-9\-_/]*\d)[A-Za-z0-9][A-Za-z0-9\-_/]*)",
    re.I,
)
DATES = [
    (re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"), "ymd"),
    # 25/03/2024, 03.25.2024: the order is read from the numbers; 10/03/2024 is ambiguous and refused (month_day)
    (re.compile(r"(?<![\d/.])(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4})\b"), "numeric"),
    (re.compile(rf"\b(?P<d>\d{{1,2}})[\s\-]?(?P<mon>{_MONTHS})\.?[\s\-,]*(?P<y>\d{{4}})\b", re.I), "dmy"),
    (re.compile(rf"\b(?P<mon>{_MONTHS})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b", re.I), "mdy"),
]
DATE_LEAD = re.compile(r"\b(?:on|dated|date|drawn|collected)\s*:?\s*$", re.I)
AGE = [
    re.compile(r"\b(?P<v>\d{1,3})\s*-?\s*(?:years?|yrs?|yo|y/o|y\.o\.|y)(?:[\s-]*old)?(?![a-z])", re.I),
    re.compile(r"\b(?:age|aged)\s*:?\s*(?P<v>\d{1,3})\b", re.I),
    # "a woman of 34": only "of 34" is taken, the sex word stays for SEX
    re.compile(r"\b(?:woman|man|male|female|lady|gentleman)\s+(?P<span>of\s+(?P<v>\d{1,3}))\b(?!\s*[a-zA-Zµμ%/])", re.I),
]
AGE_SEX = re.compile(r"\b(?P<v>\d{1,3})\s*(?:y(?:o|/o)?\s*)?(?P<sex>[MF])\b")
WEIGHT = re.compile(r"\b(?:weight|wt|weighs|weighing)?\s*:?\s*(?P<v>\d{2,3}(?:\.\d+)?)\s*(?:kg|kilograms?)\b(?!\s*/)", re.I)
HEIGHT = re.compile(r"\b(?:height|ht)?\s*:?\s*(?P<v>\d{2,3}(?:\.\d+)?)\s*cm\b(?!\s*/)", re.I)
SEX = re.compile(r"\b(?P<sex>male|female|man|woman|boy|girl|M|F)\b")
# A limit's number may carry a sign or be written as inf/NaN: it is captured so that it can be refused by name
# (a ULN of -40 or inf must never be dropped silently nor used).
_LIMIT = rf"[-−+]?\s?(?:{_NUMBER}|inf(?:inity)?|nan)"
QUALIFIER = re.compile(
    rf"\(?\s*(?:(?P<kind>ULN|LLN|upper limit(?: of normal)?|lower limit(?: of normal)?)\s*(?:is|=|:|of)?\s*"
    rf"(?P<v>{_LIMIT})(?![\w.])|(?:normal|ref(?:erence)?(?: range)?|range|nl|NR)\s*(?:range)?\s*:?\s*(?P<lo>{_NUMBER})\s*(?:-|–|to)\s*"
    rf"(?P<hi>{_NUMBER}))\s*(?P<unit>(?!(?i:ULN|LLN)\b)[^\s,;)]*)\s*\)?",
    re.I,
)
# not a digit that is part of a name ("HbA1c", "HIV-1 RNA", "CA 19-9" stays a problem of the catalog)
VALUE = re.compile(rf"(?<![\w.,/^])(?<![A-Za-z]-)(?P<v>{_NUMBER})(?![\w.]*\d)")
# A minus sign written against a value ("ALT -5", "ALT: −5"), not a hyphen inside a name ("HIV-1", "CA 19-9").
NEGATIVE_SIGN = re.compile(r"(?:^|(?<=[\s:=(]))[-−]\s?$")
# Numbers no lab reports: exponent forms (1e400), inf, NaN. Read as a problem naming them, never as a value.
NON_FINITE = re.compile(r"(?<![\w.])[-−+]?(?:\d+(?:\.\d+)?[eE][-+]?\d+|inf(?:inity)?|nan)(?![\w.])", re.I)
# what may follow a value as its unit; labs.parse_unit decides whether it is one
UNIT = re.compile(
    r"\s*(?P<unit>(?:x|×|\*)\s*10\s*(?:\^|\*\*)?\s*[0-9⁰¹²³⁴⁵⁶⁷⁸⁹]+\s*/\s*[a-zA-Zµμ³0-9]+"
    r"|/\s*(?i:mm3|mm³|uL|µL|μL|L)\b"  # /µl and /ul as written in e-mails: µL (case only, no other reading)
    r"|[a-zA-Zµμ%][a-zA-Z0-9µμ%/.²³^]*(?:/1\.73\s?m[²2])?)"
)
ULN_MULTIPLE = re.compile(r"\s*(?:x|×|times)\s*(?:the\s+)?(?P<kind>ULN|LLN)\b", re.I)
FILLER = {
    "has", "had", "have", "with", "an", "a", "the", "of", "is", "was", "were", "at", "level", "levels", "value",
    "values", "result", "results", "and", "but", "also", "his", "her", "their", "patient", "pt", "today", "now",
    "measured", "shows", "showed", "showing", "came", "back", "= ", "=", ":", "current", "latest", "most", "recent",
}
# Words a number may follow without being a lab value: "at visit 1", "cycle 2 day 8", "week 12", "grade 3".
CONTEXT_WORDS = {"visit", "day", "days", "week", "weeks", "cycle", "month", "months", "year", "years", "grade",
                 "line", "lines", "dose", "arm", "cohort", "part", "period", "ecog", "v", "d", "c", "wk", "no", "number"}
DELIMITER = re.compile(r"[,;:()\n]|\band\b|\bwith\b|\bbut\b", re.I)


class ParsedQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    patient_id: str | None = None
    date: dt.date | None = None
    observations: list[LabObservation] = Field(default_factory=list)
    demographics: Demographics = Field(default_factory=Demographics)
    problems: list[str] = Field(default_factory=list, description="what could not be read, for the user to fix")
    unread: list[str] = Field(
        default_factory=list,
        description="the problems where part of the question became no observation: no finding stands for that part",
    )


@lru_cache(maxsize=1)
def condition_phrases() -> dict[str, list[str]]:
    return load_word_lists(CONDITIONS_FILE, "condition -> list of phrases")


class _Problems(list):
    """Problems for the user (the list); `unread` are those where part of the question became no observation."""

    def __init__(self) -> None:
        super().__init__()
        self.unread: list[str] = []

    def not_read(self, message: str) -> None:
        self.append(message)
        self.unread.append(message)


class _Text:
    """The question with a mask: pieces already read are blanked so they are not read again."""

    def __init__(self, text: str):
        self.original = text
        self.work = text

    def take(self, start: int, end: int) -> None:
        self.work = self.work[:start] + " " * (end - start) + self.work[end:]


def parse_question(text: str) -> ParsedQuestion:
    masked = _Text(text)
    problems = _Problems()
    patient_id = _patient(masked)
    date = _date(masked, problems)
    demographics = _demographics(masked)
    observations = _observations(masked, problems)
    for observation in observations:
        observation.patient_id = patient_id
        observation.date = date
        if demographics != Demographics():
            observation.demographics = demographics
    if not observations and not any("not a known lab test" in p for p in problems):
        problems.not_read("no lab value found: write the test and its value, e.g. 'ALT 65 U/L'")
    return ParsedQuestion(
        text=text, patient_id=patient_id, date=date, observations=observations, demographics=demographics,
        problems=list(problems), unread=problems.unread,
    )


def _patient(masked: _Text) -> str | None:
    match = PATIENT.search(masked.work)
    if not match:
        return None
    masked.take(*match.span())
    return match.group("id")


def _date(masked: _Text, problems: _Problems) -> dt.date | None:
    found: list[dt.date] = []
    for pattern, order in DATES:
        for match in list(pattern.finditer(masked.work)):
            try:
                if order == "numeric":  # the numbers decide the order; 10/03/2024 is ambiguous and refused
                    month, day = month_day(int(match.group("a")), int(match.group("b")), match.group(0))
                else:
                    day = int(match.group("d"))
                    month = (
                        int(match.group("m")) if order == "ymd"
                        else dt.datetime.strptime(match.group("mon")[:3].title(), "%b").month
                    )
                found.append(checked(int(match.group("y")), month, day, match.group(0)))
            except DateError as exc:
                problems.not_read(f"{exc}; the date was not used")
            lead = DATE_LEAD.search(masked.work[: match.start()])
            masked.take(lead.start() if lead else match.start(), match.end())
    distinct = sorted(set(found))
    if len(distinct) > 1:
        problems.not_read(
            f"several dates ({', '.join(d.isoformat() for d in distinct)}): the first, {distinct[0]}, was used; "
            "ask about one date at a time"
        )
    return distinct[0] if distinct else None


def _demographics(masked: _Text) -> Demographics:
    values: dict = {}
    match = AGE_SEX.search(masked.work)
    if match:
        values["age_years"] = float(match.group("v"))
        values["sex"] = Sex.MALE if match.group("sex") == "M" else Sex.FEMALE
        masked.take(*match.span())
    for pattern in AGE:
        match = pattern.search(masked.work)
        if match and "age_years" not in values:
            values["age_years"] = float(match.group("v"))
            masked.take(*match.span("span" if "span" in pattern.groupindex else 0))
    for key, pattern in (("weight_kg", WEIGHT), ("height_cm", HEIGHT)):
        match = pattern.search(masked.work)
        if match:
            values[key] = float(match.group("v"))
            masked.take(*match.span())
    match = SEX.search(masked.work)
    if match and "sex" not in values:
        word = match.group("sex")
        values["sex"] = Sex.FEMALE if word.lower() in {"female", "woman", "girl", "f"} else Sex.MALE
        masked.take(*match.span())
    values["conditions"] = _conditions(masked)
    return Demographics(**values)


def _conditions(masked: _Text) -> dict[str, bool]:
    """Known condition phrases; negated ("no liver metastases", "without ...") when a negation precedes them."""
    found: dict[str, bool] = {}
    for condition, phrases in condition_phrases().items():
        for phrase in sorted(phrases, key=len, reverse=True):
            match = re.search(rf"\b{re.escape(phrase)}\b", masked.work, re.I)
            if not match:
                continue
            before = masked.work[max(0, match.start() - 30) : match.start()].lower()
            negated = re.search(r"\b(?:no|without|not|denies|negative for|free of|absence of)\b[\w\s']*$", before)
            found[condition] = not negated
            masked.take(match.start(), match.end())
            break
    return found


def _limit(text: str) -> float:
    """A ULN/LLN as written; a sign, inf or NaN are kept so that _qualifiers can refuse them by name."""
    cleaned = text.replace("−", "-").replace(" ", "")
    if re.fullmatch(r"[-+]?(?:inf(?:inity)?|nan)", cleaned, re.I):
        return float(cleaned)
    return (-1 if cleaned.startswith("-") else 1) * _number(cleaned.lstrip("+-"))


def _qualifiers(masked: _Text, problems: _Problems) -> list[tuple[int, dict]]:
    """ULN/LLN/range qualifiers with their position, blanked so their numbers are not read as values.

    A limit that is not a positive finite number, or a range whose low end is not below its high end, is refused
    (a problem naming it, the limit not used): a ULN of inf passes every value, a ULN of -40 fails every one.
    """
    found = []
    for match in list(QUALIFIER.finditer(masked.work)):
        qualifier: dict = {}
        kind = (match.group("kind") or "").lower()
        if kind:
            qualifier["lln" if kind.startswith(("lln", "lower")) else "uln"] = _limit(match.group("v"))
        else:
            qualifier["lln"], qualifier["uln"] = _number(match.group("lo")), _number(match.group("hi"))
        masked.take(*match.span())
        shown = match.group(0).strip(" ()")
        bad = [k.upper() for k, v in qualifier.items() if not math.isfinite(v) or v <= 0]
        if bad:
            problems.not_read(f"{shown!r}: {' and '.join(bad)} must be a positive finite number; not used")
            continue
        if "lln" in qualifier and "uln" in qualifier and qualifier["lln"] >= qualifier["uln"]:
            problems.not_read(f"{shown!r}: the low end of the range is not below the high end; not used")
            continue
        unit = match.group("unit")
        if unit:
            try:
                qualifier["range_unit"] = labs.parse_unit(unit)
            except UnitError:
                pass
        found.append((match.start(), qualifier))
    return found


def _observations(masked: _Text, problems: _Problems) -> list[LabObservation]:
    qualifiers = _qualifiers(masked, problems)
    unit_missing: list[tuple[LabObservation, str, object]] = []
    for match in list(NON_FINITE.finditer(masked.work)):
        problems.not_read(f"{match.group(0)!r} is not a lab value (write it as a plain finite number); not read")
        masked.take(*match.span())
    observations: list[tuple[int, LabObservation]] = []
    last_end = 0
    for match in list(VALUE.finditer(masked.work)):
        if masked.work[match.start() : match.end()].strip() != match.group(0):
            continue  # blanked meanwhile
        value = _number(match.group("v"))
        sign = NEGATIVE_SIGN.search(masked.work[max(0, match.start() - 3) : match.start()])
        if sign:  # blank the sign so that the test name before it is read as written
            masked.take(match.start() - len(sign.group(0)), match.start())
        end = match.end()
        unit = None
        uln_multiple = ULN_MULTIPLE.match(masked.work, end)
        if uln_multiple:
            end = uln_multiple.end()
        else:
            unit_match = UNIT.match(masked.work, end)
            if unit_match:
                try:
                    unit = labs.parse_unit(unit_match.group("unit").rstrip("."))
                    end = unit_match.end()
                except (UnitError, ValueError):
                    unit = None
        name = _name_before(masked.work, last_end, match.start())
        if not name or name.split()[-1].lower() in CONTEXT_WORDS:
            if not name:
                shown = masked.original[match.start() : end].strip()
                problems.not_read(
                    f"{shown!r} has no test name before it and was not read; write the test first, "
                    f"e.g. 'neutrophils {shown}'"
                )
            else:
                end = match.end()  # "cycle 2 day 1": a number after a context word takes no unit ("2 day" is no dose)
            masked.take(match.start(), end)
            last_end = end
            continue
        analyte = _analyte(name, value, problems)
        if analyte is None:
            masked.take(match.start(), end)
            last_end = end
            continue
        if sign:
            problems.not_read(
                f"{name} -{match.group('v')}: a negative value is impossible for {analyte.code} (a lab result is an "
                "amount, count, activity, ratio or duration); not judged — check the sign"
            )
            masked.take(match.start(), end)
            last_end = end
            continue
        observation = LabObservation(
            analyte=analyte.code, value=value, unit=unit, raw_test=name, source="question",
        )
        if uln_multiple:
            kind = uln_multiple.group("kind").upper()
            setattr(observation, kind.lower(), 1.0)
            problems.append(
                f"{name} is given as {value:g} × {kind}, not as a measured value: it is kept as value {value:g} "
                f"with {kind} = 1, so only limits stated as multiples of the {kind} can be judged"
            )
        elif unit is None and analyte.canonical_unit != "1":  # INR, ratios: no unit is their unit
            unit_missing.append((observation, f"{name} {match.group('v')}", analyte))
        observations.append((match.start(), observation))
        masked.take(match.start(), end)
        last_end = end
    _attach_qualifiers(observations, qualifiers)
    for observation, written, analyte in unit_missing:
        problems.append(_no_unit_problem(observation, written, analyte))
    return _validated([o for _, o in observations], problems)


def _validated(observations: list[LabObservation], problems: _Problems) -> list[LabObservation]:
    """Each observation through LabObservation's own checks once complete (qualifiers are attached by assignment,
    which pydantic does not check): one that fails them (LLN 50 with ULN 40) is not read, and the user is told."""
    kept = []
    for observation in observations:
        try:
            kept.append(LabObservation.model_validate(observation.model_dump()))
        except ValidationError as exc:
            reasons = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            problems.not_read(f"{observation.raw_test} {observation.value:g}: {reasons}; not judged")
    return kept


def _no_unit_problem(observation: LabObservation, written: str, analyte) -> str:
    """What a value without a unit can and cannot be judged on (the engine decides each limit accordingly)."""
    limits = [f"{k.upper()} {getattr(observation, k):g}" for k in ("uln", "lln") if getattr(observation, k) is not None]
    if limits and observation.range_unit is None:
        # the value and its ULN/LLN were written in one (unstated) unit: their ratio needs no unit
        return (
            f"{written}: no unit given; it and its {' and '.join(limits)} are taken to be in one unstated unit, so "
            f"limits stated as multiples of the {'/'.join(k.split()[0] for k in limits)} are judged on the ratio; "
            f"limits in units need the unit it was reported in (the catalog's unit for {analyte.code} is "
            f"{analyte.canonical_unit})"
        )
    return (
        f"{written}: no unit given; the value is kept without a unit (never assumed), so "
        f"limits in units cannot be judged — add the unit it was reported in (the catalog's unit for "
        f"{analyte.code} is {analyte.canonical_unit})"
    )


def _attach_qualifiers(observations: list[tuple[int, LabObservation]], qualifiers: list[tuple[int, dict]]) -> None:
    """Each qualifier belongs to the nearest observation written before it."""
    for position, qualifier in qualifiers:
        before = [o for start, o in observations if start < position]
        if not before:
            continue
        target = before[-1]
        for key, value in qualifier.items():
            setattr(target, key, value)
        if target.range_unit and target.range_unit == target.unit:
            target.range_unit = None


def _name_before(work: str, last_end: int, start: int) -> str:
    """The words naming the value: back from it to a delimiter or the previous observation."""
    # "creatinine: 0.9", "AST = 30": a colon or equals sign right before the value joins name and value
    span = re.sub(r"[:=]\s*$", " ", work[last_end:start])
    pieces = DELIMITER.split(span)
    words = pieces[-1].split() if pieces else []
    while words and words[0].lower().strip(".:=") in FILLER:
        words.pop(0)
    while words and words[-1].lower().strip(".:=") in FILLER | {"=", ":", "of"}:
        words.pop()
    return " ".join(w.strip(":=") for w in words).strip()


def _analyte(name: str, value: float, problems: _Problems):
    """The catalog analyte a name denotes: the longest tail of the words that the catalog knows."""
    words = name.split()
    for i in range(len(words)):
        candidate = " ".join(words[i:])
        try:
            return labs.analyte(candidate)
        except UnknownAnalyteError:
            continue
    found = labs.find_analyte(name)
    if found is not None:
        return found
    if not re.search(r"[A-Za-z]", name):
        return None
    try:
        labs.analyte(words[-1] if len(words) > 3 else name)
    except UnknownAnalyteError as exc:
        problems.not_read(f"{name!r} followed by {value:g} is not a known lab test: {exc}")
    return None


def _number(text: str) -> float:
    return float(text.replace(",", ""))
