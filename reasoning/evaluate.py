"""The exact engine: lab observations × a criterion's parsed LabRules → a verdict with the arithmetic shown.

Semantics (DESIGN.md, Verdicts): a LabRule states the threshold exactly as the text does. For an inclusion
criterion the requirement is met when the threshold holds (VIOLATES when it does not); for exclusion,
discontinuation and dose-modification criteria the criterion is violated when the threshold holds.

Numbers are compared as decimal.Decimal built from their shortest string forms, so "≤ 2.5 × ULN" with a value of
exactly 2.5 × ULN MEETS without floating-point drift. Unit conversions that are an exact power of ten are applied
exactly; other conversions (molar ↔ mass, HbA1c % ↔ mmol/mol) are rounded to a stated number of significant
digits before the comparison, and the arithmetic says so.

Within one criterion, rules combine the way criteria are written: an inclusion criterion lists requirements that
must all hold; an exclusion criterion lists conditions any one of which excludes. Rules on analytes that were
not observed are left out of the verdict (and named in the notes), except when the text joins two rules the other
way (an inclusion "CrCl ≥ 60 mL/min or creatinine ≤ 1.5 × ULN"): then a missing alternative makes the answer
INDETERMINATE rather than a guess. Unknown patient facts a rule depends on (sex, a condition such as liver
metastases) are resolved by evaluating every branch: when the branches disagree, the verdict is INDETERMINATE
and names the fact.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from functools import lru_cache
from types import MappingProxyType
from typing import Iterable, Mapping

from pydantic import BaseModel

import labs
from ingest.models import Comparator, Criterion, CriterionKind, LabRule, Protocol
from labs.errors import TrialGuardError
from labs.observation import Demographics, LabObservation, Sex
from labs.reference_range import ReferenceRange
from reasoning.models import Citation, Finding, Verdict

ENGINE_VERSION = "trialguard-engine 0.1.0"

# Significant digits kept after a non-exact unit conversion: one more than the value was reported with, at least 3.
MIN_SIGNIFICANT_DIGITS = 3
DERIVED_DECIMALS = 1  # CrCl and eGFR are rounded to one decimal place before comparing

_SCREENING_KINDS = {CriterionKind.INCLUSION, CriterionKind.EXCLUSION}
_ON_STUDY_KINDS = {CriterionKind.DISCONTINUATION, CriterionKind.DOSE_MODIFICATION}
_SYMBOL = {Comparator.LT: "<", Comparator.LE: "≤", Comparator.GT: ">", Comparator.GE: "≥"}


class State(str, Enum):
    """Whether a rule's threshold holds for the data at hand."""

    HOLDS = "holds"
    FAILS = "fails"
    UNKNOWN = "unknown"  # data present but not enough to decide (no unit, no ULN, demographics missing)
    NO_DATA = "no data"  # no observation of this analyte at all
    NOT_APPLICABLE = "not applicable"  # observation outside the criterion's time frame


@dataclass
class RuleOutcome:
    rule: LabRule
    state: State
    lines: list[str] = field(default_factory=list)  # arithmetic, one line per observation judged
    reasons: list[str] = field(default_factory=list)  # why UNKNOWN / NOT_APPLICABLE / NO_DATA
    used: list[LabObservation] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------- numbers
def dec(value: float | int | str | Decimal) -> Decimal:
    """The shortest decimal that round-trips the float: 2.5 → Decimal('2.5'), never 2.4999999…"""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def significant_digits(value: Decimal) -> int:
    digits = value.normalize().as_tuple().digits
    return max(1, len(digits)) if any(digits) else 1


def round_significant(value: Decimal, digits: int) -> Decimal:
    if value == 0:
        return Decimal(0)
    exponent = value.adjusted() - digits + 1
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)


def fmt(value: Decimal) -> str:
    """Plain notation without exponent or trailing zeros: 100, 2.5, 0.015."""
    text = format(value.normalize(), "f")
    return text


def _compare(value: Decimal, comparator: Comparator, limit: Decimal | None, low: Decimal | None, high: Decimal | None) -> bool:
    if comparator is Comparator.BETWEEN:
        assert low is not None and high is not None
        return low <= value <= high
    assert limit is not None
    return {
        Comparator.LT: value < limit,
        Comparator.LE: value <= limit,
        Comparator.GT: value > limit,
        Comparator.GE: value >= limit,
    }[comparator]


# ----------------------------------------------------------------------------------------------- units
def _same_unit(a: str, b: str) -> bool:
    if a.strip() == b.strip():
        return True
    try:
        return labs.parse_unit(a) == labs.parse_unit(b)
    except TrialGuardError:
        return False


def _power_of_ten(factor: float) -> int | None:
    if factor <= 0:
        return None
    exponent = round(math.log10(factor))
    return exponent if abs(factor / (10.0**exponent) - 1.0) < 1e-9 else None


@dataclass
class Converted:
    value: Decimal
    text: str  # "" when no conversion happened


def convert_value(value: Decimal, from_unit: str, to_unit: str, analyte: str) -> Converted:
    """Value in from_unit → to_unit; exact for power-of-ten factors, otherwise rounded and said so."""
    if _same_unit(from_unit, to_unit):
        return Converted(value, "")
    one = labs.convert(1.0, from_unit, to_unit, analyte)
    two = labs.convert(2.0, from_unit, to_unit, analyte)
    zero = labs.convert(0.0, from_unit, to_unit, analyte)
    linear = abs(float(zero)) < 1e-12 and abs(float(two) - 2 * float(one)) <= 1e-9 * abs(float(two))
    exponent = _power_of_ten(float(one)) if linear else None
    if exponent is not None:
        converted = value.scaleb(exponent)
        return Converted(converted, f"{fmt(value)} {from_unit} = {fmt(converted)} {to_unit}")
    raw = dec(float(labs.convert(float(value), from_unit, to_unit, analyte)))
    digits = max(MIN_SIGNIFICANT_DIGITS, significant_digits(value) + 1)
    rounded = round_significant(raw, digits)
    return Converted(
        rounded,
        f"{fmt(value)} {from_unit} = {fmt(rounded)} {to_unit} (converted, rounded to {digits} significant digits)",
    )


# ----------------------------------------------------------------------------------------------- analytes
def _code(name: str) -> str | None:
    try:
        return labs.analyte(name).code
    except TrialGuardError:
        return None


_CODES: dict[str, str | None] = {}


def code_of(name: str) -> str | None:
    """Catalog code for a well-known analyte name, cached (the catalog is loaded once by labs)."""
    if name not in _CODES:
        _CODES[name] = _code(name)
    return _CODES[name]


def canonical_code(analyte: str) -> str:
    """Map whatever an observation or rule carries (code or synonym) onto the catalog code."""
    return code_of(analyte) or analyte


@lru_cache(maxsize=512)
def is_unitless(analyte: str) -> bool:
    """A ratio or count without a unit (INR, specific gravity): a limit on it needs no unit. Unknown: False."""
    try:
        return labs.analyte(analyte).canonical_unit == "1"
    except TrialGuardError:
        return False


# ----------------------------------------------------------------------------------------------- context
@dataclass
class Context:
    demographics: Demographics
    reference_ranges: list[ReferenceRange]
    on_date: dt.date | None


def merge_demographics(known: Demographics, extra: Demographics | None) -> Demographics:
    """`extra` fills what `known` leaves unknown; where both state a fact, `known` wins."""
    if extra is None:
        return known
    merged = known.model_dump()
    for key, value in extra.model_dump().items():
        if key == "conditions":
            merged["conditions"] = {**value, **merged["conditions"]}
        elif merged.get(key) is None:
            merged[key] = value
    return Demographics.model_validate(merged)


def _demographics_of(obs: LabObservation, ctx: Context) -> Demographics:
    """The observation's own demographics fill what the call-level ones leave unknown."""
    return merge_demographics(ctx.demographics, obs.demographics)


def _norm_condition(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


# Words that frame a condition without naming it ("participant has documented Gilbert's syndrome").
_CONDITION_FRAMING = frozenset(
    "a an the of with has have having had is are documented known confirmed participant participants patient "
    "patients subject subjects who present presence".split()
)


def _condition_words(text: str) -> frozenset[str]:
    return frozenset(_norm_condition(text).split()) - _CONDITION_FRAMING


def condition_status(condition: str, demographics: Demographics) -> bool | None:
    """The patient's known status of the protocol's condition, or None when it is not known.

    A stated fact counts only if it names every word of the protocol's condition: "metastases: yes" says nothing
    about "liver metastases" (the lenient branch must not be chosen on a vaguer fact), while "liver metastases"
    matches "if liver metastases are present".
    """
    wanted = _condition_words(condition)
    for name, status in demographics.conditions.items():
        known = _condition_words(name)
        if wanted and known and wanted <= known:
            return status
    return None


# ----------------------------------------------------------------------------------------------- ULN / LLN
@dataclass
class Limit:
    value: Decimal
    unit: str | None
    source: str


def _range_limit(obs: LabObservation, which: str, ctx: Context) -> tuple[Limit | None, str | None]:
    """ULN/LLN from the observation, else from the study lab manual for its analyte, sex and age."""
    own = obs.uln if which == "ULN" else obs.lln
    if own is not None:
        return Limit(dec(own), obs.range_unit or obs.unit, "the observation's range"), None
    demo = _demographics_of(obs, ctx)
    code = canonical_code(obs.analyte)
    ranges = [r for r in ctx.reference_ranges if canonical_code(r.analyte) == code]
    ranges = [r for r in ranges if (r.uln if which == "ULN" else r.lln) is not None]
    if not ranges:
        return None, f"no {which} for {obs.analyte}: give the lab's {which} or load the study lab manual"
    if demo.sex is not None:
        ranges = [r for r in ranges if r.sex in (None, demo.sex)]
    if demo.age_years is not None:
        ranges = [
            r for r in ranges
            if (r.age_min is None or demo.age_years >= r.age_min) and (r.age_max is None or demo.age_years < r.age_max)
        ]
    values = {(dec(r.uln if which == "ULN" else r.lln), r.unit) for r in ranges}
    if not values:
        return None, f"no {which} for {obs.analyte} in the lab manual for this patient's sex/age"
    if len(values) > 1:
        missing = [name for name, v in (("sex", demo.sex), ("age", demo.age_years)) if v is None]
        why = f" ({' and '.join(missing)} unknown)" if missing else ""
        return None, f"the lab manual gives several {which}s for {obs.analyte}{why}"
    value, unit = values.pop()
    chosen = next(r for r in ranges if r.unit == unit)
    return Limit(value, unit, f"the study lab manual{f' ({chosen.source})' if chosen.source else ''}"), None


# ----------------------------------------------------------------------------------------------- derived values
@dataclass
class Value:
    """One number the rule is judged on: an observation's value or a value derived from observations."""

    value: Decimal
    unit: str | None
    analyte: str
    date: dt.date | None
    used: list[LabObservation]
    text: str  # how it was obtained ("" for a plain observation)
    base: LabObservation | None = None  # the observation itself, for its ULN/LLN


def _latest(observations: list[LabObservation]) -> LabObservation:
    return max(enumerate(observations), key=lambda pair: (pair[1].date or dt.date.min, pair[0]))[1]


def _derive(target: str, by_code: dict[str, list[LabObservation]], ctx: Context) -> tuple[list[Value], list[str]]:
    """CrCl (Cockcroft-Gault), eGFR (CKD-EPI 2021) or ANC (WBC × neutrophil %) when the inputs are known."""
    crcl, egfr, anc = code_of("creatinine clearance"), code_of("egfr"), code_of("anc")
    creat, wbc, neut_pct = code_of("creatinine"), code_of("wbc"), code_of("neutrophils %")
    if target in (crcl, egfr) and creat and by_code.get(creat):
        obs = _latest(by_code[creat])
        demo = _demographics_of(obs, ctx)
        if obs.unit is None:
            return [], [f"{target} cannot be derived: no unit given for creatinine {obs.value}"]
        if target == crcl:
            missing = [n for n, v in (("age", demo.age_years), ("weight", demo.weight_kg), ("sex", demo.sex)) if v is None]
            if missing:
                return [], [f"CrCl (Cockcroft-Gault) needs {', '.join(missing)}: not given"]
            raw = labs.derived.cockcroft_gault(demo.age_years, demo.weight_kg, demo.sex, obs.value, obs.unit)
            formula = (
                f"Cockcroft-Gault: (140 − {fmt(dec(demo.age_years))} y) × {fmt(dec(demo.weight_kg))} kg"
                f" / (72 × creatinine {fmt(dec(obs.value))} {obs.unit})"
                + (" × 0.85 (female)" if demo.sex == Sex.FEMALE else "")
            )
            unit = "mL/min"
        else:
            missing = [n for n, v in (("age", demo.age_years), ("sex", demo.sex)) if v is None]
            if missing:
                return [], [f"eGFR (CKD-EPI 2021) needs {', '.join(missing)}: not given"]
            raw = labs.derived.ckd_epi_2021(obs.value, obs.unit, demo.age_years, demo.sex)
            formula = (
                f"CKD-EPI 2021: creatinine {fmt(dec(obs.value))} {obs.unit}, age {fmt(dec(demo.age_years))} y,"
                f" sex {demo.sex.value}"
            )
            unit = "mL/min/1.73m2"
        value = dec(float(raw)).quantize(Decimal(1).scaleb(-DERIVED_DECIMALS), rounding=ROUND_HALF_UP)
        text = f"{formula} = {fmt(value)} {unit} (rounded to {DERIVED_DECIMALS} decimal)"
        return [Value(value, unit, target, obs.date, [obs], text)], []
    if target == anc and wbc and neut_pct and by_code.get(wbc) and by_code.get(neut_pct):
        # a differential belongs to the blood count it was taken with: pair WBC and neutrophils % of one date
        same_draw = {o.date for o in by_code[wbc]} & {o.date for o in by_code[neut_pct]}
        if not same_draw:
            w, p = _latest(by_code[wbc]), _latest(by_code[neut_pct])
            why = (f"ANC cannot be derived: WBC of {w.date or 'unknown date'} and neutrophils % of "
                   f"{p.date or 'unknown date'} are not from the same blood draw")
            return [], [why]
        day = max(same_draw, key=lambda d: d or dt.date.min)
        w = _latest([o for o in by_code[wbc] if o.date == day])
        p = _latest([o for o in by_code[neut_pct] if o.date == day])
        if w.unit is None:
            return [], [f"ANC cannot be derived: no unit given for WBC {w.value}"]
        # exact decimal product: ANC = WBC × neutrophils % / 100, in the WBC's unit
        value = dec(w.value) * dec(p.value) / Decimal(100)
        text = f"ANC = WBC {fmt(dec(w.value))} {w.unit} × neutrophils {fmt(dec(p.value))} % / 100 = {fmt(value)} {w.unit}"
        return [Value(value, w.unit, target, day, [w, p], text)], []
    return [], []


@lru_cache(maxsize=1)
def derived_inputs() -> Mapping[str, tuple[str, ...]]:
    """The values _derive computes from other analytes: target code → the codes it needs (read-only: shared)."""
    creat, wbc, neut = code_of("creatinine"), code_of("wbc"), code_of("neutrophils %")
    inputs: dict[str, tuple[str, ...]] = {}
    for name, needs in (("creatinine clearance", (creat,)), ("egfr", (creat,)), ("anc", (wbc, neut))):
        code = code_of(name)
        if code and all(needs):
            inputs[code] = needs
    return MappingProxyType(inputs)


def derivable(target: str, observed: Iterable[str]) -> bool:
    """Whether a rule on `target` could be judged from observations of these analyte codes."""
    observed = set(observed)
    needs = derived_inputs().get(target)
    return target in observed or (needs is not None and all(code in observed for code in needs))


# ----------------------------------------------------------------------------------------------- one rule
def _threshold_text(rule: LabRule, limit_unit: str | None) -> str:
    if rule.offset_from and rule.comparator is not Comparator.BETWEEN and rule.value is not None:
        sign = "+" if rule.value >= 0 else "−"
        return f"{_SYMBOL[rule.comparator]} {rule.offset_from} {sign} {fmt(abs(dec(rule.value)))} {rule.unit or ''}".rstrip()
    unit = f" × {rule.multiple_of}" if rule.multiple_of else (f" {limit_unit}" if limit_unit else "")
    if rule.comparator is Comparator.BETWEEN:
        return f"between {fmt(dec(rule.low))} and {fmt(dec(rule.high))}{unit}"
    return f"{_SYMBOL[rule.comparator]} {fmt(dec(rule.value))}{unit}"


def _rule_is_complete(rule: LabRule) -> str | None:
    if rule.comparator is Comparator.BETWEEN:
        if rule.low is None or rule.high is None:
            return "range rule without both limits"
    elif rule.value is None:
        return "rule without a limit value"
    return None  # a rule without unit or multiple is compared as is on a unitless analyte (INR), else not at all


def _verdict_word(holds: bool, kind: CriterionKind) -> str:
    return _to_verdict(State.HOLDS if holds else State.FAILS, kind).value


def _judge_value(rule: LabRule, item: Value, kind: CriterionKind, ctx: Context) -> tuple[State, str]:
    """Compare one value with one rule; returns the state and a line of arithmetic (or the reason)."""
    label = item.analyte
    val = item.value
    prefix = f"{item.text}; " if item.text else ""
    if rule.offset_from:
        return _judge_offset(rule, item, kind, ctx, prefix)
    if rule.multiple_of:
        if item.base is None:
            return State.UNKNOWN, f"{label}: a derived value has no {rule.multiple_of}"
        limit, problem = _range_limit(item.base, rule.multiple_of, ctx)
        if limit is None:
            return State.UNKNOWN, problem or f"no {rule.multiple_of}"
        unit_note = ""
        if limit.unit and item.unit and not _same_unit(limit.unit, item.unit):
            try:
                conv = convert_value(limit.value, limit.unit, item.unit, item.analyte)
            except TrialGuardError as exc:
                return State.UNKNOWN, f"{label}: {rule.multiple_of} unit {limit.unit} not convertible to {item.unit}: {exc}"
            limit = Limit(conv.value, item.unit, limit.source)
            unit_note = f" ({conv.text})"
        elif limit.unit and item.unit is None:
            return State.UNKNOWN, f"{label} {fmt(val)}: no unit given, and the {rule.multiple_of} is in {limit.unit}"
        unit = item.unit or limit.unit
        unit_txt = f" {unit}" if unit else ""
        if limit.value == 0:
            return State.UNKNOWN, f"{label}: {rule.multiple_of} of 0 cannot scale a limit"
        ratio = (val / limit.value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if rule.comparator is Comparator.BETWEEN:
            low, high = dec(rule.low) * limit.value, dec(rule.high) * limit.value
            holds = _compare(val, rule.comparator, None, low, high)
            bound = f"{fmt(low)}–{fmt(high)}{unit_txt}"
        else:
            bound_value = dec(rule.value) * limit.value
            holds = _compare(val, rule.comparator, bound_value, None, None)
            bound = f"{fmt(bound_value)}{unit_txt}"
        source = "" if limit.source == "the observation's range" else f" from {limit.source}"
        no_unit = "; no unit given, ULN taken in the value's own unit" if unit is None else ""
        line = (
            f"{prefix}{label} {fmt(val)}{unit_txt} = {fmt(ratio)} × {rule.multiple_of} {fmt(limit.value)}{unit_txt}"
            f"{source}{unit_note}{no_unit}; limit {_threshold_text(rule, None)} ({bound}) → {_verdict_word(holds, kind)}"
        )
        return (State.HOLDS if holds else State.FAILS), line

    # absolute limit, possibly restated in other units
    limit_unit = rule.unit
    if not limit_unit and not is_unitless(item.analyte):
        # "platelets ≥ 100" read without its unit: 100 × 10^9/L and 100 /µL differ 1000-fold; never assume one
        return State.UNKNOWN, f"{label} {fmt(val)}{f' {item.unit}' if item.unit else ''}: the rule states no unit"
    low, high, value = (dec(x) if x is not None else None for x in (rule.low, rule.high, rule.value))
    conv_text = ""
    if limit_unit:
        if item.unit is None:
            return State.UNKNOWN, f"{label} {fmt(val)}: no unit given (the limit is in {limit_unit})"
        if not _same_unit(item.unit, limit_unit):
            alternative = next((a for a in rule.alternatives if _same_unit(a.unit, item.unit)), None)
            if alternative is not None:
                # the protocol states the limit in the observation's unit too: compare with its own number
                limit_unit = alternative.unit
                value, low, high = (dec(x) if x is not None else None for x in (alternative.value, alternative.low, alternative.high))
                conv_text = f" (the protocol's own limit in {alternative.unit})"
            else:
                try:
                    conv = convert_value(val, item.unit, limit_unit, item.analyte)
                except TrialGuardError as exc:
                    return State.UNKNOWN, f"{label} {fmt(val)} {item.unit}: cannot convert to {limit_unit}: {exc}"
                prefix += conv.text + "; "
                val = conv.value
    unit_txt = f" {limit_unit}" if limit_unit else (f" {item.unit}" if item.unit else "")
    holds = _compare(val, rule.comparator, value, low, high)
    if rule.comparator is Comparator.BETWEEN:
        threshold = f"between {fmt(low)} and {fmt(high)}{unit_txt}"
    else:
        threshold = f"{_SYMBOL[rule.comparator]} {fmt(value)}{unit_txt}"
    line = f"{prefix}{label} {fmt(val)}{unit_txt}; limit {threshold}{conv_text} → {_verdict_word(holds, kind)}"
    return (State.HOLDS if holds else State.FAILS), line


def _judge_offset(rule: LabRule, item: Value, kind: CriterionKind, ctx: Context, prefix: str) -> tuple[State, str]:
    """ "aPTT ≥ 5 seconds above ULN": the bound is the ULN (or LLN) plus the rule's offset, both brought into the
    value's unit. Relies on the offset having a unit of its own: an offset without one is never assumed to be in
    the ULN's unit."""
    label, val = item.analyte, item.value
    which = rule.offset_from
    if item.base is None:
        return State.UNKNOWN, f"{label}: a derived value has no {which}"
    if rule.comparator is Comparator.BETWEEN or rule.value is None:
        return State.UNKNOWN, f"{label}: an offset from the {which} needs one limit value"
    if not rule.unit:
        return State.UNKNOWN, f"{label}: the offset from the {which} states no unit"
    limit, problem = _range_limit(item.base, which, ctx)
    if limit is None:
        return State.UNKNOWN, problem or f"no {which}"
    unit = item.unit or limit.unit
    if unit is None:
        return State.UNKNOWN, f"{label} {fmt(val)}: neither the value nor its {which} has a unit"
    try:
        base = limit.value if not limit.unit or _same_unit(limit.unit, unit) else convert_value(
            limit.value, limit.unit, unit, item.analyte).value
        offset = dec(rule.value) if _same_unit(rule.unit, unit) else convert_value(
            dec(rule.value), rule.unit, unit, item.analyte).value
    except TrialGuardError as exc:
        return State.UNKNOWN, f"{label}: the {which} or the offset cannot be brought into {unit}: {exc}"
    bound = base + offset
    holds = _compare(val, rule.comparator, bound, None, None)
    source = "" if limit.source == "the observation's range" else f" from {limit.source}"
    line = (f"{prefix}{label} {fmt(val)} {unit}; {which} {fmt(base)} {unit}{source}; limit {_threshold_text(rule, None)}"
            f" ({fmt(bound)} {unit}) → {_verdict_word(holds, kind)}")
    return (State.HOLDS if holds else State.FAILS), line


def _in_time_frame(obs_date: dt.date | None, rule: LabRule, kind: CriterionKind, ctx: Context, demo: Demographics) -> tuple[bool | None, str]:
    """True: judge it; False: not applicable (wrong phase); None: outside the lab window (indeterminate)."""
    anchor = demo.reference_start
    if obs_date is None or anchor is None:
        return True, ""
    if kind in _SCREENING_KINDS and obs_date > anchor:
        return False, f"lab of {obs_date} is after the reference date {anchor}: an on-study value, not a screening one"
    if kind in _ON_STUDY_KINDS and obs_date < anchor:
        return False, f"lab of {obs_date} is before the reference date {anchor}: a screening value, not on-study"
    if rule.window_days is not None and kind in _SCREENING_KINDS:
        days = (anchor - obs_date).days
        if days > rule.window_days:
            anchor_name = rule.window_anchor or "the reference date"
            return None, (
                f"lab of {obs_date} is {days} days before {anchor_name} ({anchor}); the criterion needs a lab within"
                f" {rule.window_days} days"
            )
    return True, ""


def _in_phase(observations: list[LabObservation], rule: LabRule, kind: CriterionKind, ctx: Context) -> list[LabObservation]:
    """The observations of the criterion's study phase, or all of them when none is: a value derived from the
    latest input must not let an on-study lab hide the screening one (or the reverse)."""
    kept = [o for o in observations if _in_time_frame(o.date, rule, kind, ctx, _demographics_of(o, ctx))[0] is not False]
    return kept or observations


def evaluate_rule(rule: LabRule, kind: CriterionKind, by_code: dict[str, list[LabObservation]], ctx: Context,
                  exceptions: list[str] = ()) -> RuleOutcome:
    """One rule against every observation of its analyte (or a value derived from them)."""
    target = canonical_code(rule.analyte)
    incomplete = _rule_is_complete(rule)
    if incomplete:
        return RuleOutcome(rule, State.UNKNOWN, reasons=[f"{rule.analyte}: {incomplete}"])
    if rule.measure == "change":
        # a limit on a change between visits: one value (even the latest of several) is not a change, and which
        # visit is the baseline is not in the lab data; a person must compare with the baseline value
        return RuleOutcome(rule, State.UNKNOWN, reasons=[
            f"{rule.analyte}: the limit is on a change ({_threshold_text(rule, rule.unit)}), not on one value;"
            " needs a baseline value to judge"])
    items: list[Value] = []
    reasons: list[str] = []
    for obs in by_code.get(target, []):
        items.append(Value(dec(obs.value), obs.unit, obs.analyte, obs.date, [obs], "", base=obs))
    if not items:
        inputs = derived_inputs().get(target)
        derived, why = _derive(target, {code: _in_phase(found, rule, kind, ctx) for code, found in by_code.items()
                                        if code in inputs}, ctx) if inputs else ([], [])
        items.extend(derived)
        reasons.extend(why)
        if not items and not why:
            return RuleOutcome(rule, State.NO_DATA, reasons=[f"no {rule.analyte} value given"])
        if not items:
            return RuleOutcome(rule, State.UNKNOWN, reasons=why)
    states: list[State] = []
    outcome = RuleOutcome(rule, State.NO_DATA)
    for item in items:
        demo = _demographics_of(item.used[0], ctx)
        ok, why = _in_time_frame(item.date, rule, kind, ctx, demo)
        if ok is False:
            states.append(State.NOT_APPLICABLE)
            outcome.reasons.append(why)
            continue
        if ok is None:
            states.append(State.UNKNOWN)
            outcome.reasons.append(why)
            outcome.used.extend(item.used)
            continue
        state, line = _judge_value(rule, item, kind, ctx)
        line += _branch_label(rule, exceptions)
        states.append(state)
        outcome.used.extend(item.used)
        (outcome.lines if state in (State.HOLDS, State.FAILS) else outcome.reasons).append(line)
    outcome.reasons = reasons + outcome.reasons
    # several values of one analyte: an inclusion requirement must hold for each; one excluding value excludes
    judged = [s for s in states if s is not State.NOT_APPLICABLE]
    if not judged:
        outcome.state = State.NOT_APPLICABLE
    elif kind is CriterionKind.INCLUSION:
        outcome.state = State.FAILS if State.FAILS in judged else State.UNKNOWN if State.UNKNOWN in judged else State.HOLDS
    else:
        outcome.state = State.HOLDS if State.HOLDS in judged else State.UNKNOWN if State.UNKNOWN in judged else State.FAILS
    return outcome


def _branch_label(rule: LabRule, exceptions: list[str] = ()) -> str:
    parts = [f"unless {name}" for name in exceptions]
    if rule.sex is not None:
        parts.append(f"sex {rule.sex.value}")
    if rule.condition:
        parts.append(f"{'unless' if rule.condition_type == 'unless' else 'if'} {rule.condition}")
    return f" [{'; '.join(parts)}]" if parts else ""


# ----------------------------------------------------------------------------------------------- one criterion
_MAX_GAP = 40  # longer text between two rules is a new sentence or list item, not a connector
_OR = re.compile(r"\bor\b|and/or", re.IGNORECASE)
_AND = re.compile(r"\band\b|\btogether with\b|\bplus\b|\bwith\b", re.IGNORECASE)


def rule_groups(criterion: Criterion) -> tuple[list[list[int]], bool]:
    """Read how the text joins its rules: an AND of OR-groups (indices into criterion.rules), and whether that
    is the kind's natural reading (inclusion: every rule its own requirement; otherwise: any rule excludes).

    Only a short connector between rules on different analytes counts ("CrCl ≥ 60 mL/min or creatinine ≤
    1.5 × ULN"; "ALT > 3 × ULN together with bilirubin > 2 × ULN or INR > 1.5" = ALT and (bilirubin or INR));
    anything else keeps the natural reading.
    """
    inclusion = criterion.kind is CriterionKind.INCLUSION
    order = sorted(range(len(criterion.rules)), key=lambda i: (criterion.rules[i].start, i))
    connectors: list[str] = []
    for i, j in zip(order, order[1:]):
        first, second = criterion.rules[i], criterion.rules[j]
        connector = "and" if inclusion else "or"
        gap = criterion.text[first.end:second.start] if first.end > 0 and second.start >= first.end else None
        if (
            gap is not None
            and canonical_code(first.analyte) != canonical_code(second.analyte)
            and len(gap) <= _MAX_GAP
            and not re.search(r"[;:]|\.\s", gap)
        ):
            if _OR.search(gap):
                connector = "or"
            elif _AND.search(gap):
                connector = "and"
        connectors.append(connector)
    groups: list[list[int]] = [[order[0]]] if order else []
    for index, connector in zip(order[1:], connectors):
        if connector == "or":
            groups[-1].append(index)
        else:
            groups.append([index])
    natural = all(c == ("and" if inclusion else "or") for c in connectors)
    return groups, natural


def _any(states: list[State]) -> State | None:
    if not states:
        return None
    if State.HOLDS in states:
        return State.HOLDS
    return State.UNKNOWN if State.UNKNOWN in states else State.FAILS


def _all(states: list[State]) -> State | None:
    if not states:
        return None
    if State.FAILS in states:
        return State.FAILS
    return State.UNKNOWN if State.UNKNOWN in states else State.HOLDS


def _to_verdict(state: State | None, kind: CriterionKind) -> Verdict:
    if state is None:
        return Verdict.NOT_APPLICABLE
    if state is State.UNKNOWN:
        return Verdict.INDETERMINATE
    holds = state is State.HOLDS
    if kind is CriterionKind.INCLUSION:
        return Verdict.MEETS if holds else Verdict.VIOLATES
    if kind is CriterionKind.DOSE_MODIFICATION and holds:
        # A reached dose-modification threshold calls for an action (hold, reduce); it is a deviation only if the
        # action was not taken, which lab data cannot show: a person must check, so never call it either way.
        return Verdict.NEEDS_REVIEW
    return Verdict.VIOLATES if holds else Verdict.MEETS


def _upper(rule: LabRule) -> bool | None:
    return {Comparator.LT: True, Comparator.LE: True, Comparator.GT: False, Comparator.GE: False}.get(rule.comparator)


def implicit_exceptions(rules: list[LabRule]) -> list[list[str]]:
    """Per rule, the conditions under which it gives way to a more specific rule.

    "ALT ≤ 2.5 × ULN (≤ 5 × ULN if liver metastases are present)" parses as an unconditioned rule and an
    "if liver metastases" rule on the same analyte and direction: the first is the default branch, so it applies
    only when the condition is absent (otherwise "≤ 2.5" would still bind a patient with liver metastases).
    """
    out: list[list[str]] = []
    for rule in rules:
        names: list[str] = []
        if not rule.condition:
            for other in rules:
                if (
                    other is not rule
                    and other.condition
                    and other.condition_type != "unless"
                    and canonical_code(other.analyte) == canonical_code(rule.analyte)
                    and other.sex == rule.sex
                    and _upper(other) == _upper(rule)
                ):
                    names.append(_norm_condition(other.condition))
        out.append(names)
    return out


def _applies(rule: LabRule, sex: Sex | None, conditions: dict[str, bool], exceptions: list[str] = ()) -> bool:
    if rule.sex is not None and sex is not None and rule.sex != sex:
        return False
    if any(conditions.get(name) for name in exceptions):
        return False
    if rule.condition:
        present = conditions.get(_norm_condition(rule.condition))
        if present is None:  # a rule without data: its condition was not branched on and cannot matter
            return True
        if rule.condition_type == "unless" and present:
            return False
        if rule.condition_type != "unless" and not present:
            return False
    return True


def find_quote(quote: str, text: str) -> tuple[int, int] | None:
    """Offsets of `quote` in `text`, ignoring differences in whitespace; None when not a verbatim span."""
    if not quote.strip():
        return None
    direct = text.find(quote)
    if direct >= 0:
        return direct, direct + len(quote)
    pattern = r"\s+".join(re.escape(part) for part in quote.split())
    match = re.search(pattern, text)
    return (match.start(), match.end()) if match else None


def _page_of(criterion: Criterion, offset: int, protocol: Protocol | None) -> int:
    if protocol is None or criterion.page_start == criterion.page_end:
        return criterion.page_start
    absolute = criterion.char_start + offset
    page = criterion.page_start
    for p in protocol.pages:
        if p.char_start <= absolute:
            page = p.number
    return min(max(page, criterion.page_start), criterion.page_end)


def citation_for(criterion: Criterion, quote: str, protocol: Protocol | None = None) -> Citation:
    span = find_quote(quote, criterion.text)
    return Citation(
        criterion_id=criterion.id,
        protocol_id=criterion.protocol_id,
        version=criterion.version,
        label=criterion.label,
        section=" ".join(x for x in (criterion.section_number, criterion.section_title) if x) or None,
        page=_page_of(criterion, span[0] if span else 0, protocol),
        quote=quote,
        start=span[0] if span else None,
        end=span[1] if span else None,
        verified=span is not None,
    )


def clause_excerpt(text: str, limit: int = 300) -> str:
    """A verbatim leading span of a clause, cut at a word boundary, for citing a clause without parsed rules."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit]


def _kind_word(kind: CriterionKind) -> str:
    return {
        CriterionKind.INCLUSION: "Inclusion",
        CriterionKind.EXCLUSION: "Exclusion",
        CriterionKind.DISCONTINUATION: "Discontinuation rule",
        CriterionKind.DOSE_MODIFICATION: "Dose-modification rule",
        CriterionKind.CONTEXT: "Context",
    }[kind]


def _rationale(criterion: Criterion, verdict: Verdict, detail: str) -> str:
    head = f"{_kind_word(criterion.kind)} {criterion.label}"
    meaning = {
        (CriterionKind.INCLUSION, Verdict.MEETS): "the requirement is met",
        (CriterionKind.INCLUSION, Verdict.VIOLATES): "the requirement is not met",
        (CriterionKind.EXCLUSION, Verdict.MEETS): "the exclusion condition does not hold",
        (CriterionKind.EXCLUSION, Verdict.VIOLATES): "the exclusion condition holds",
        (CriterionKind.DISCONTINUATION, Verdict.MEETS): "the stopping condition does not hold",
        (CriterionKind.DISCONTINUATION, Verdict.VIOLATES): "the stopping condition holds: treatment must stop",
        (CriterionKind.DOSE_MODIFICATION, Verdict.MEETS): "the dose-modification threshold is not reached",
        (CriterionKind.DOSE_MODIFICATION, Verdict.NEEDS_REVIEW): (
            "the dose-modification threshold is reached: check that the required action was taken"
        ),
    }.get((criterion.kind, verdict))
    if meaning:
        return f"{head}: {meaning} → {verdict.value}. {detail}".strip()
    return f"{head}: {verdict.value}. {detail}".strip()


# How an arithmetic line of a criterion whose text combines its rules ends: that part alone decides nothing.
PART_HOLDS, PART_FAILS = "this part holds", "this part does not hold"


def _dedupe(observations: list[LabObservation]) -> list[LabObservation]:
    """Each observation once (equal field values count as one), in order: one value may serve several rules."""
    seen: dict[tuple, LabObservation] = {}
    for obs in observations:
        key = tuple(repr(v) if isinstance(v, BaseModel) else v for v in obs.__dict__.values())
        seen.setdefault(key, obs)
    return list(seen.values())


@dataclass(frozen=True)
class CriterionPlan:
    """What judging a criterion reads from its text alone, the same for every patient: how its rules combine,
    each rule's implicit exceptions, and the citations. Batch screening builds it once per criterion and version
    rather than once per patient; judge_criterion builds its own when given none."""

    criterion: Criterion
    protocol: Protocol | None
    groups: list[list[int]]
    natural: bool
    combination: str  # the groups as text: "(FOLATE) AND (TSH or T4FR)"
    exceptions: list[list[str]]
    citations: dict[str, Citation]  # by rule quote
    clause_citation: Citation  # the clause's leading span, for a criterion judged without parsed rules

    def fits(self, criterion: Criterion, protocol: Protocol | None) -> bool:
        return self.criterion is criterion and self.protocol is protocol


def plan_criterion(criterion: Criterion, protocol: Protocol | None = None) -> CriterionPlan:
    groups, natural = rule_groups(criterion)
    return CriterionPlan(
        criterion=criterion, protocol=protocol, groups=groups, natural=natural,
        # each analyte once per group: "TSH < LLN or TSH > ULN" reads as (TSH), not (TSH or TSH)
        combination=" AND ".join("(" + " or ".join(dict.fromkeys(criterion.rules[i].analyte for i in g)) + ")"
                                 for g in groups),
        exceptions=implicit_exceptions(criterion.rules),
        citations={rule.quote: citation_for(criterion, rule.quote, protocol) for rule in criterion.rules},
        clause_citation=citation_for(criterion, clause_excerpt(criterion.text), protocol),
    )


def judge_criterion(
    criterion: Criterion,
    observations: list[LabObservation],
    demographics: Demographics | None = None,
    reference_ranges: list[ReferenceRange] | None = None,
    on_date: dt.date | None = None,
    *,
    protocol: Protocol | None = None,
    plan: CriterionPlan | None = None,
) -> Finding:
    """Decide one criterion from the observations; the Finding shows the arithmetic and quotes the clause.

    plan: plan_criterion(criterion, protocol), when the caller judges the same criterion for many patients."""
    if plan is None or not plan.fits(criterion, protocol):
        plan = plan_criterion(criterion, protocol)
    ctx = Context(demographics or Demographics(), list(reference_ranges or []), on_date)
    if protocol is not None and not ctx.reference_ranges:
        ctx.reference_ranges = list(protocol.reference_ranges)
    base = dict(criterion_id=criterion.id, criterion_kind=criterion.kind, label=criterion.label)

    if not criterion.rules:
        return Finding(
            **base,
            verdict=Verdict.INDETERMINATE,
            rationale=f"{_kind_word(criterion.kind)} {criterion.label}: no parsed rule; reviewer must read the clause.",
            citations=[plan.clause_citation],
            rule_source="none",
        )
    if criterion.kind is CriterionKind.CONTEXT:
        return Finding(
            **base,
            verdict=Verdict.NOT_APPLICABLE,
            rationale=f"Context {criterion.label}: definitions or tables, not a criterion to judge.",
            citations=[plan.citations[r.quote] for r in criterion.rules[:3]],
            rule_source=_rule_source(criterion),
        )

    by_code: dict[str, list[LabObservation]] = {}
    for obs in observations:
        by_code.setdefault(canonical_code(obs.analyte), []).append(obs)
    exceptions = plan.exceptions
    outcomes = [
        evaluate_rule(rule, criterion.kind, by_code, ctx, exceptions[i]) for i, rule in enumerate(criterion.rules)
    ]

    # the text's own connectors decide how rules combine; unknown patient facts are resolved branch by branch
    groups, natural = plan.groups, plan.natural
    demo = ctx.demographics
    sexes: list[Sex | None] = [demo.sex]
    if demo.sex is None and any(o.rule.sex for o in outcomes if o.state is not State.NO_DATA):
        sexes = [Sex.MALE, Sex.FEMALE]
    # only conditions of rules that have data to judge can change the answer
    shown_as = {_norm_condition(o.rule.condition): o.rule.condition.strip() for o in outcomes
                if o.rule.condition and o.state is not State.NO_DATA}
    condition_names = sorted(shown_as)
    known = {name: condition_status(name, demo) for name in condition_names}
    unknown = [name for name, status in known.items() if status is None]
    nothing_observed = all(o.state is State.NO_DATA for o in outcomes)
    conjunction = criterion.kind is not CriterionKind.INCLUSION and len(groups) > 1

    scenario_verdicts: dict[tuple, Verdict] = {}
    for sex in sexes:
        for combo in itertools.product([True, False], repeat=len(unknown)):
            conditions = {**{k: v for k, v in known.items() if v is not None}, **dict(zip(unknown, combo))}
            group_states = []
            for group in groups:
                states = []
                applicable = [i for i in group if _applies(outcomes[i].rule, sex, conditions, exceptions[i])]
                if not applicable and conjunction:
                    # "X together with Y, unless Z": a part that does not apply means the whole cannot hold
                    group_states.append(State.FAILS)
                    continue
                for index in applicable:
                    o = outcomes[index]
                    if o.state is State.NOT_APPLICABLE:
                        continue
                    if o.state is State.NO_DATA:
                        # judged on what was given, unless the text makes a missing value decisive
                        if not natural and not nothing_observed:
                            states.append(State.UNKNOWN)
                        continue
                    states.append(o.state)
                group_states.append(_any(states))
            state = _all([g for g in group_states if g is not None])
            scenario_verdicts[(sex, combo)] = _to_verdict(state, criterion.kind)

    distinct = set(scenario_verdicts.values())
    if Verdict.MEETS in distinct:  # a branch where no rule applies cannot violate: it agrees with MEETS
        distinct.discard(Verdict.NOT_APPLICABLE)
    notes: list[str] = []
    arithmetic = [line for o in outcomes for line in o.lines]
    if not natural:  # one rule alone decides nothing here: say whether its part holds, not a verdict
        word_holds = _verdict_word(True, criterion.kind)
        arithmetic = [
            re.sub(r"→ (MEETS|VIOLATES|NEEDS_REVIEW)", lambda m: f"→ {PART_HOLDS}" if m.group(1) == word_holds
                   else f"→ {PART_FAILS}", line)
            for line in arithmetic
        ]
    reasons = _unique([r for o in outcomes for r in o.reasons if o.state in (State.UNKNOWN, State.NOT_APPLICABLE)])
    waits_on: list[str] = []
    if len(distinct) == 1:
        verdict = distinct.pop()
        if verdict is Verdict.NOT_APPLICABLE:
            with_data = [o for o in outcomes if o.state is not State.NO_DATA]
            detail = "; ".join(r for o in with_data for r in o.reasons) or (
                "the rules with data do not apply to this patient (sex or condition)"
                if with_data
                else f"no value of {', '.join(sorted({o.rule.analyte for o in outcomes}))} given"
            )
        elif verdict is Verdict.INDETERMINATE:
            missing = sorted({o.rule.analyte for o in outcomes if o.state is State.NO_DATA})
            waits_on = [f"a value of {code}" for code in missing] or list(reasons)[:2]
            parts = list(reasons)
            if missing and not natural:
                parts.append(f"the text joins its rules as {plan.combination}: {', '.join(missing)} needed")
            detail = "; ".join(parts) or "not enough data to decide"
            if arithmetic:
                detail += ". Known: " + "; ".join(arithmetic)
        else:
            detail = "; ".join(arithmetic)
    else:
        verdict = Verdict.INDETERMINATE
        facts = (["sex"] if len(sexes) > 1 else []) + [shown_as[name] for name in unknown]
        branches = "; ".join(
            f"if {_scenario_text(key, [shown_as[n] for n in unknown], len(sexes) > 1)}: {v.value}"
            for key, v in scenario_verdicts.items()
        )
        detail = f"depends on {', '.join(facts)}, which is not known ({branches})."
        notes.append(f"unknown: {', '.join(facts)}")
        waits_on = facts
    for name, status in known.items():
        if status is not None:
            notes.append(f"condition '{shown_as[name]}' known: {'present' if status else 'absent'}")
    not_judged = sorted({o.rule.analyte for o in outcomes if o.state is State.NO_DATA})
    if not_judged and verdict is not Verdict.NOT_APPLICABLE:
        notes.append(f"not judged (no value given): {', '.join(not_judged)}")
    if not natural:
        notes.append(f"rules combined as the text joins them: {plan.combination}")
    for o in outcomes:
        if o.rule.window_days is not None and o.state is not State.NO_DATA and criterion.kind in _SCREENING_KINDS:
            anchor = o.rule.window_anchor or "the reference date"
            if demo.reference_start is None:
                notes.append(f"window of {o.rule.window_days} days before {anchor} not checked: no reference date given")
            elif any(x.date is None for x in o.used):
                notes.append(f"window of {o.rule.window_days} days before {anchor} not checked: lab date unknown")
    if reasons and verdict in (Verdict.MEETS, Verdict.VIOLATES):
        notes.extend(reasons)

    judged_rules = [o.rule for o in outcomes if o.state is not State.NO_DATA] or criterion.rules
    citations: list[Citation] = []
    for rule in judged_rules:
        if all(c.quote != rule.quote for c in citations):
            citations.append(plan.citations[rule.quote])
    used = _dedupe([obs for o in outcomes for obs in o.used])
    return Finding(
        **base,
        verdict=verdict,
        rationale=_rationale(criterion, verdict, detail),
        arithmetic=arithmetic,
        citations=citations,
        observations=used,
        rule_source=_rule_source(criterion),
        notes=_unique(notes),
        waits_on=waits_on if verdict is Verdict.INDETERMINATE else [],
    )


def _scenario_text(key: tuple, unknown: list[str], sex_branches: bool) -> str:
    sex, combo = key
    parts = [f"sex {sex.value}"] if sex_branches and sex is not None else []
    parts += [f"{name} {'present' if present else 'absent'}" for name, present in zip(unknown, combo)]
    return ", ".join(parts) or "any"


def _rule_source(criterion: Criterion) -> str:
    return "reviewer" if any(r.source == "reviewer" for r in criterion.rules) else "parsed"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
