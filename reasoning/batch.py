"""Batch screening: a whole lab file against every version of one protocol, column-wise.

The per-question path (reasoning.assess) retrieves candidates and judges one patient at a time. A study export has
tens of thousands of rows, so here:

1. each row is placed once: which protocol version was in force on its date (numpy searchsorted over effective
   dates), and whether it is a screening lab (on or before the patient's reference start) or an on-study one;
2. candidate criteria come from the protocol itself, once per (version, analyte): the criteria whose parsed rules
   name the analyte (or a value derived from it), and rule-less criteria whose text names it; no vector query;
3. plain rules (a number or a ULN/LLN multiple, no condition, sex, window or derived value) are decided on numpy
   arrays, with unit conversion done once per (analyte, unit) group by labs.convert. A value within 1 % of its limit,
   and every criterion that is not plain, goes to the exact engine (reasoning.evaluate.judge_criterion), whose
   Decimal arithmetic is the reference;
4. Finding objects (with citations and arithmetic) are built only for what is reported: every VIOLATES and
   INDETERMINATE (patient, criterion) pair is re-judged by judge_criterion, and a disagreement with step 3 becomes
   NEEDS_REVIEW showing both (never silently trusted). MEETS pairs are counted. What the criterion's text says
   (how its rules combine, its citations) is read once per criterion (CriterionPlan), not once per patient.

Every input row ends in exactly one bucket: judged, error (from reading) or out of scope with a reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from collections import Counter, defaultdict
from typing import Callable, Literal, Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

import labs
from ingest.models import Comparator, Criterion, CriterionKind, LabRule, Protocol
from ingest.patients.models import LabFile, RowError
from ingest.patients.normalize import column_codes
from ingest.patients.sdtm_ti import mentioned_analytes
from labs.errors import TrialGuardError
from labs.observation import Demographics, LabObservation
from labs.reference_range import ReferenceRange
from reasoning.evaluate import (
    CriterionPlan,
    canonical_code,
    clause_excerpt,
    derived_inputs,
    judge_criterion,
    plan_criterion,
    rule_groups,
)
from reasoning.models import Assessment, Finding, OverallVerdict, Verdict

Visits = Literal["screening", "all"]
SCREENING_KINDS = (CriterionKind.INCLUSION, CriterionKind.EXCLUSION)
ON_STUDY_KINDS = (CriterionKind.DISCONTINUATION,)
NEAR_LIMIT = 0.01  # relative distance to a limit below which the exact engine decides (its rounding is <= 0.5 %)
REPORTED = (Verdict.VIOLATES, Verdict.INDETERMINATE, Verdict.NEEDS_REVIEW)
_SCREEN_VISIT = re.compile(r"screen|baseline|pre-?treat", re.IGNORECASE)
# state codes of one rule on one row; min/max over them combine rows and rules (see _fold)
FAILS, UNKNOWN, HOLDS = 0, 1, 2


class PatientFinding(BaseModel):
    """One reported finding of one patient: which protocol version, phase and lab date it was judged on."""

    model_config = ConfigDict(extra="forbid")

    patient_id: str
    protocol_id: str
    version: str
    phase: Literal["screening", "on-study"]
    lab_date: dt.date | None = None
    finding: Finding


class CriterionCount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion_id: str
    version: str
    kind: CriterionKind
    label: str
    counts: dict[str, int] = Field(default_factory=dict, description="patients per verdict")


class ScreeningResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol_id: str
    versions: list[str]
    visits: Visits
    files: list[str]
    study_id: str | None = None
    rows_in: int
    rows_judged: int
    errors: list[RowError] = Field(default_factory=list)
    warnings: list[RowError] = Field(default_factory=list)
    out_of_scope: dict[str, int] = Field(default_factory=dict)
    patients: dict[str, OverallVerdict] = Field(default_factory=dict, description="overall verdict per judged patient")
    findings: list[PatientFinding] = Field(default_factory=list, description="VIOLATES, INDETERMINATE, NEEDS_REVIEW")
    criteria: list[CriterionCount] = Field(default_factory=list)
    criteria_not_lab: list[str] = Field(default_factory=list, description="criteria no lab value can decide")
    pair_verdicts: list[tuple[str, str, str, str]] = Field(
        default_factory=list, description="(patient, version, criterion id, verdict) of every judged pair")
    pairs_judged: int = 0
    exact_engine_pairs: int = 0
    notes: list[str] = Field(default_factory=list)
    llm_used: bool = False

    @property
    def deviations(self) -> list[PatientFinding]:
        return [f for f in self.findings if f.finding.verdict is Verdict.VIOLATES]

    def accounted(self) -> int:
        return self.rows_judged + len(self.errors) + sum(self.out_of_scope.values())


# ----------------------------------------------------------------------------------------------- helpers
def _mentioned(criterion: Criterion) -> list[str]:
    return list(_mentioned_in(criterion.text))


@lru_cache(maxsize=2048)
def _mentioned_in(text: str) -> tuple[str, ...]:
    return tuple(mentioned_analytes(text))


def _is_plain(criterion: Criterion, derived: Mapping[str, tuple[str, ...]], ranged: set[str]) -> bool:
    """Rules the numpy path decides exactly like the engine; anything else goes to judge_criterion."""
    if not rule_groups(criterion)[1]:  # the text joins rules other than the kind's natural way ("or", "together with")
        return False
    for rule in criterion.rules:
        code = canonical_code(rule.analyte)
        if rule.condition or rule.sex or rule.window_days is not None or code in derived:
            return False
        if rule.offset_from or rule.measure != "level":  # ULN + offset, change from baseline: the engine's
            return False
        if rule.multiple_of is None and not rule.unit:
            return False
        if rule.multiple_of is not None and code in ranged:  # the lab manual may supply a missing ULN
            return False
        if rule.comparator is Comparator.BETWEEN and (rule.low is None or rule.high is None):
            return False
        if rule.comparator is not Comparator.BETWEEN and rule.value is None:
            return False
    return True


@lru_cache(maxsize=1024)
def _parsed(unit: str) -> str | None:
    try:
        return labs.parse_unit(unit)
    except TrialGuardError:
        return None


def _convert(values: np.ndarray, from_unit: str, to_unit: str, analyte: str) -> np.ndarray | None:
    if from_unit == to_unit:
        return values
    try:
        return np.asarray(labs.convert(values, from_unit, to_unit, analyte=analyte), dtype=float)
    except TrialGuardError:
        return None


def _rule_states(rule: LabRule, code: str, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(state per row, defer per row): defer = too close to the limit, or a unit the fast path cannot handle."""
    n = len(rows)
    state = np.full(n, UNKNOWN, dtype=np.int8)
    defer = np.zeros(n, dtype=bool)
    values = rows["value"].to_numpy(dtype=float)
    if rule.multiple_of is not None:
        ref = rows["uln" if rule.multiple_of == "ULN" else "lln"].to_numpy(dtype=float)
        x = values.copy()
        # the engine compares value with multiple × ULN in Decimal: no float shortcut at the limit
        exact = np.zeros(n, dtype=bool)
        units, range_units = rows["unit"].to_numpy(dtype=object), rows["range_unit"].to_numpy(dtype=object)
        differ = units != range_units
        if differ.any():
            for (u, ru) in set(zip(units[differ], range_units[differ])):
                mask = differ & (units == u) & (range_units == ru)
                converted = _convert(values[mask], u, ru, code)
                if converted is None:
                    defer |= mask
                else:
                    x[mask] = converted
        known = ~np.isnan(ref)
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(known, x / ref, np.nan)
    else:
        x = np.full(n, np.nan)
        known = np.ones(n, dtype=bool)
        exact = np.zeros(n, dtype=bool)
        units = rows["unit"].to_numpy(dtype=object)
        for u in pd.unique(units):
            mask = units == u
            converted = _convert(values[mask], u, rule.unit, code)
            if converted is None:
                defer |= mask
                continue
            x[mask] = converted
            if u == _parsed(rule.unit):
                exact |= mask
    limits = [rule.low, rule.high] if rule.comparator is Comparator.BETWEEN else [rule.value]
    near = np.zeros(n, dtype=bool)
    for limit in limits:
        scale = abs(limit) if limit else 1.0
        with np.errstate(invalid="ignore"):
            close = np.abs(x - limit) <= NEAR_LIMIT * scale
        # same unit and a plain number: float order equals the engine's Decimal order, so no need to defer
        near |= close & ~exact
    with np.errstate(invalid="ignore"):
        if rule.comparator is Comparator.BETWEEN:
            holds = (x >= rule.low) & (x <= rule.high)
        else:
            holds = {Comparator.LT: x < rule.value, Comparator.LE: x <= rule.value,
                     Comparator.GT: x > rule.value, Comparator.GE: x >= rule.value}[rule.comparator]
    state[known & ~np.isnan(x)] = np.where(holds, HOLDS, FAILS)[known & ~np.isnan(x)]
    defer |= near & known
    return state, defer


@dataclass
class _Pair:
    patient_id: str
    version_index: int
    phase: str
    criterion: Criterion
    fast_verdict: Verdict | None = None  # None: the exact engine decides


# ----------------------------------------------------------------------------------------------- screening
def screen(
    lab_file: LabFile,
    versions: list[Protocol],
    *,
    visits: Visits = "screening",
    reference_ranges: list[ReferenceRange] | None = None,
    llm=None,
    progress: Callable[[int, int], None] | None = None,
    exact_only: bool = False,
) -> ScreeningResult:
    """Screen every row of `lab_file` against the versions of one protocol (each row: the version in force).

    exact_only: judge every pair with the exact engine (no numpy fast path); for checking the fast path."""
    if not versions:
        raise TrialGuardError("screen: no protocol version given")
    if len({p.protocol_id for p in versions}) != 1:
        raise TrialGuardError(f"screen: versions of several protocols given ({sorted({p.protocol_id for p in versions})})")
    if visits not in ("screening", "all"):
        raise TrialGuardError(f"screen: visits must be 'screening' or 'all', got {visits!r}")
    versions = sorted(versions, key=lambda p: p.effective_date or dt.date.min)
    protocol_id = versions[0].protocol_id
    extra_ranges = list(reference_ranges or [])
    table = lab_file.table
    notes = list(lab_file.notes)
    out_of_scope: Counter[str] = Counter(lab_file.out_of_scope)
    derived = derived_inputs()

    # 1. place each row: version in force on its date, and phase (screening / on-study).
    dates = table["date"].to_numpy(dtype="datetime64[D]")
    effective = np.array([np.datetime64(p.effective_date) if p.effective_date else np.datetime64("NaT") for p in versions],
                         dtype="datetime64[D]")
    starts = np.where(np.isnat(effective), np.datetime64("0001-01-01"), effective).astype("datetime64[D]")
    undated = np.isnat(dates)
    version_index = np.searchsorted(starts, np.where(undated, np.datetime64("9999-12-31"), dates), side="right") - 1
    before_first = version_index < 0
    if undated.any() and len(versions) > 1:
        notes.append(f"{int(undated.sum())} rows without a date: judged against the latest version "
                     f"({versions[-1].version})")
    patient_code, patients = column_codes(table["patient_id"])
    starts_of = [lab_file.demographics.get(pid) for pid in patients]
    ref = np.array([d.reference_start if d and d.reference_start else None for d in starts_of] + [None],  # [-1]: no id
                   dtype="datetime64[D]")[patient_code]
    no_ref = np.isnat(ref)
    screening_visit = np.zeros(len(table), dtype=bool)  # the visit name matters only for undated rows
    if undated.any():
        visits_undated = table["visit"].to_numpy(dtype=object)[undated]
        screening_visit[undated] = [bool(_SCREEN_VISIT.search(str(v))) for v in visits_undated]
    with np.errstate(invalid="ignore"):
        is_screening = no_ref | (~undated & (dates <= ref)) | (undated & screening_visit)
        is_on_study = ~no_ref & ~undated & (dates >= ref)
    if no_ref.any():
        patients_no_ref = table.loc[no_ref, "patient_id"].nunique()
        notes.append(f"{patients_no_ref} patient(s) without a reference start date: all their labs are treated as "
                     "screening labs")

    # 2. candidate criteria per (version, analyte), from the protocol itself.
    phase_kinds = {"screening": SCREENING_KINDS, "on-study": ON_STUDY_KINDS}
    governed: list[dict[str, dict[str, list[Criterion]]]] = []  # [version][phase][analyte] -> criteria
    criteria_not_lab: list[str] = []
    ranged_by_version: list[set[str]] = []
    for protocol in versions:
        ranged = {canonical_code(r.analyte) for r in [*protocol.reference_ranges, *extra_ranges]}
        ranged_by_version.append(ranged)
        by_phase: dict[str, dict[str, list[Criterion]]] = {"screening": defaultdict(list), "on-study": defaultdict(list)}
        for criterion in protocol.criteria:
            phase = next((ph for ph, kinds in phase_kinds.items() if criterion.kind in kinds), None)
            if phase is None:
                continue
            codes = _codes_of(criterion, derived)
            if not codes:
                criteria_not_lab.append(criterion.id)
            for code in codes:
                by_phase[phase][code].append(criterion)
        governed.append(by_phase)
    has_on_study = any(governed[v]["on-study"] for v in range(len(versions)))

    # 3. scope each row; count the rest by reason.
    analyte_code, analyte_names = column_codes(table["analyte"])
    code_of_name = {name: i for i, name in enumerate(analyte_names)}
    scope_screening = np.zeros(len(table), dtype=bool)
    scope_on_study = np.zeros(len(table), dtype=bool)
    for v in range(len(versions)):
        in_v = version_index == v
        for phase, phase_mask, target in (("screening", is_screening, scope_screening),
                                          ("on-study", is_on_study, scope_on_study)):
            if phase == "on-study" and visits != "all":
                continue
            wanted = [code_of_name[c] for c in governed[v][phase] if c in code_of_name]
            target |= in_v & phase_mask & np.isin(analyte_code, wanted)
    judged = scope_screening | scope_on_study
    # why each row not judged is out of scope: a small code per row, counted once at the end
    if visits == "screening":
        on_study_reason = "on-study lab (after reference start): --visits all judges it against discontinuation criteria"
    elif not has_on_study:
        on_study_reason = f"on-study lab: {protocol_id} has no discontinuation criteria"
    else:
        on_study_reason = "on-study lab of an analyte no discontinuation criterion concerns"
    reason_texts = ["", f"lab dated before the first version of {protocol_id} (effective {versions[0].effective_date})",
                    on_study_reason,
                    "no lab date and not a screening visit: cannot be placed relative to reference start",
                    "screening lab of an analyte no eligibility criterion concerns"]
    reasons = np.zeros(len(table), dtype=np.int8)
    reasons[before_first & ~judged] = 1
    left = ~judged & ~before_first
    reasons[left & is_on_study & ~is_screening] = 2
    reasons[left & ~is_screening & ~is_on_study] = 3
    rest = left & (reasons == 0)
    reasons[rest] = 4
    for code, count in zip(*np.unique(reasons[~judged], return_counts=True)):
        out_of_scope[reason_texts[int(code)]] += int(count)
    unconcerned = sorted(analyte_names[np.unique(analyte_code[rest])]) if rest.any() else []
    if unconcerned:
        notes.append(f"analytes no eligibility criterion concerns (counted out of scope): {', '.join(unconcerned)}")

    # 4. decide (patient, version, criterion) pairs.
    jt = table.loc[judged].assign(
        version_index=version_index[judged], screening=scope_screening[judged], on_study=scope_on_study[judged]
    )
    pairs: list[_Pair] = []
    verdict_rows: list[tuple[str, int, str, str, str]] = []  # patient, version, phase, criterion id, verdict
    total_steps = sum(len({c.id for cs in governed[v][ph].values() for c in cs})
                      for v in range(len(versions)) for ph in ("screening", "on-study"))
    step = 0
    for v, protocol in enumerate(versions):
        for phase, flag in (("screening", "screening"), ("on-study", "on_study")):
            if phase == "on-study" and visits != "all":
                continue
            rows_vp = jt.loc[(jt["version_index"].to_numpy() == v) & jt[flag].to_numpy()]
            seen: set[str] = set()
            for code, criteria in governed[v][phase].items():
                for criterion in criteria:
                    if criterion.id in seen:
                        continue
                    seen.add(criterion.id)
                    step += 1
                    if progress:
                        progress(step, total_steps)
                    pairs.extend(_decide(criterion, rows_vp, v, phase, derived, ranged_by_version[v], exact_only))
    # 5. findings for what is reported; the exact engine for what the fast path left open.
    findings: list[PatientFinding] = []
    rows = _Rows(jt)
    plans: dict[tuple[int, str], CriterionPlan] = {}  # what each criterion's text says, read once for all patients
    exact_pairs = 0
    for pair in pairs:
        if pair.fast_verdict is Verdict.MEETS:
            verdict_rows.append((pair.patient_id, pair.version_index, pair.phase, pair.criterion.id, Verdict.MEETS.value))
            continue
        protocol = versions[pair.version_index]
        key = (pair.version_index, pair.criterion.id)
        if key not in plans:
            plans[key] = plan_criterion(pair.criterion, protocol)
        finding, lab_date = _exact(pair, plans[key], rows, lab_file, protocol, extra_ranges, derived)
        exact_pairs += pair.fast_verdict is None
        if pair.fast_verdict is not None and finding.verdict is not pair.fast_verdict:
            if finding.verdict is Verdict.VIOLATES:
                # the exact engine is the reference: its deviation stands, the disagreement is said beside it
                finding = finding.model_copy(update={"notes": [
                    *finding.notes, f"batch fast path said {pair.fast_verdict.value}; the exact engine's VIOLATES "
                                    "stands (its Decimal arithmetic is the reference)"]})
            else:
                finding = finding.model_copy(update={
                    "verdict": Verdict.NEEDS_REVIEW, "engine_verdict": finding.verdict,
                    "notes": [*finding.notes, f"batch fast path said {pair.fast_verdict.value}, exact engine "
                                              f"{finding.verdict.value}: needs review"],
                })
        verdict_rows.append((pair.patient_id, pair.version_index, pair.phase, pair.criterion.id, finding.verdict.value))
        if finding.verdict in REPORTED:
            findings.append(PatientFinding(patient_id=pair.patient_id, protocol_id=protocol_id, version=protocol.version,
                                           phase=pair.phase, lab_date=lab_date, finding=finding))

    # 6. summaries.
    pair_verdicts = [(pid, versions[v].version, cid, verdict) for pid, v, _phase, cid, verdict in verdict_rows]
    counts, overall = summarize(pair_verdicts, versions, sorted(set(jt["patient_id"])))
    findings.sort(key=lambda f: (f.patient_id, f.version, f.finding.criterion_id))
    result = ScreeningResult(
        protocol_id=protocol_id, versions=[p.version for p in versions], visits=visits, files=lab_file.files,
        study_id=lab_file.study_id, rows_in=lab_file.rows_in, rows_judged=int(judged.sum()), errors=lab_file.errors,
        warnings=lab_file.warnings, out_of_scope=dict(out_of_scope), patients=overall, findings=findings,
        criteria=counts, criteria_not_lab=criteria_not_lab, pairs_judged=len(verdict_rows), exact_engine_pairs=exact_pairs,
        pair_verdicts=pair_verdicts, notes=notes,
    )
    if result.accounted() != result.rows_in:
        raise AssertionError(f"batch screening lost rows: {result.rows_in} in, {result.accounted()} accounted for")
    if llm is not None:
        from reasoning.batch_llm import review_findings

        result = review_findings(result, versions, llm)
    return result


def summarize(pair_verdicts: list[tuple[str, str, str, str]], versions: list[Protocol],
              patients: list[str]) -> tuple[list[CriterionCount], dict[str, OverallVerdict]]:
    """Patients per verdict for each criterion, and each judged patient's overall verdict."""
    by_criterion: dict[tuple[str, str], Counter] = defaultdict(Counter)
    patient_verdicts: dict[str, set[str]] = defaultdict(set)
    for pid, version, cid, verdict in pair_verdicts:
        by_criterion[(cid, version)][verdict] += 1
        patient_verdicts[pid].add(verdict)
    counts = [CriterionCount(criterion_id=c.id, version=p.version, kind=c.kind, label=c.label,
                             counts=dict(by_criterion[(c.id, p.version)]))
              for p in versions for c in p.criteria if (c.id, p.version) in by_criterion]
    overall = {pid: Assessment.overall_of_verdicts(Verdict(v) for v in patient_verdicts.get(pid, ())) for pid in patients}
    return counts, overall


def _decide(criterion: Criterion, rows: pd.DataFrame, v: int, phase: str, derived: Mapping[str, tuple[str, ...]],
            ranged: set[str], exact_only: bool = False) -> list[_Pair]:
    """Pairs for every patient with a row this criterion concerns; fast verdicts where the rules are plain."""
    codes = _codes_of(criterion, derived)
    mine = rows.loc[rows["analyte"].isin(codes)]
    patients = pd.unique(mine["patient_id"])
    if exact_only or not criterion.rules or not _is_plain(criterion, derived, ranged):
        return [_Pair(patient_id=p, version_index=v, phase=phase, criterion=criterion) for p in patients]
    inclusion = criterion.kind is CriterionKind.INCLUSION
    per_rule: list[pd.DataFrame] = []
    for number, rule in enumerate(criterion.rules):
        code = canonical_code(rule.analyte)
        sub = mine.loc[mine["analyte"] == code]
        if sub.empty:
            continue
        state, defer = _rule_states(rule, code, sub)
        per_rule.append(pd.DataFrame({"patient_id": sub["patient_id"].to_numpy(), "rule": number,
                                      "state": state, "defer": defer}))
    if not per_rule:
        return []
    frame = pd.concat(per_rule, ignore_index=True)
    # rows -> rule: inclusion needs every value to meet it (min), exclusion: one value excludes (max)
    by_rule = frame.groupby(["patient_id", "rule"], sort=False).agg(state=("state", "min" if inclusion else "max"),
                                                                    defer=("defer", "any"))
    by_patient = by_rule.groupby(level=0, sort=False).agg(state=("state", "min" if inclusion else "max"),
                                                          defer=("defer", "any"))
    pairs = []
    for pid, state, defer in zip(by_patient.index, by_patient["state"], by_patient["defer"]):
        if defer:
            verdict = None
        elif state == UNKNOWN:
            verdict = Verdict.INDETERMINATE
        elif (state == HOLDS) == inclusion:
            verdict = Verdict.MEETS
        else:
            verdict = Verdict.VIOLATES
        pairs.append(_Pair(patient_id=pid, version_index=v, phase=phase, criterion=criterion, fast_verdict=verdict))
    return pairs


class _Rows:
    """The judged rows as plain Python columns, grouped by (patient, version), with LabObservations built once per
    row (Python lists, not numpy arrays: each observation reads a dozen single values, and list items are cheap)."""

    def __init__(self, jt: pd.DataFrame):
        self.cols = {name: jt[name].to_numpy(dtype=object).tolist() for name in
                     ("file", "row", "patient_id", "analyte", "raw_test", "unit", "range_unit", "visit")}
        self.cols.update({name: jt[name].to_numpy(dtype=float).tolist() for name in ("value", "uln", "lln")})
        self.flags = {"screening": jt["screening"].to_numpy(dtype=bool), "on-study": jt["on_study"].to_numpy(dtype=bool)}
        self.dates = [None if pd.isna(d) else d for d in jt["date"].dt.date.to_numpy(dtype=object)] if len(jt) else []
        self.groups = jt.groupby(["patient_id", "version_index"], sort=False, observed=True).indices if len(jt) else {}
        self._cache: dict[int, LabObservation] = {}

    def positions(self, patient_id: str, version_index: int, phase: str, codes: set[str]) -> list[int]:
        flag, analyte = self.flags[phase], self.cols["analyte"]
        return [int(i) for i in self.groups.get((patient_id, version_index), []) if flag[i] and analyte[i] in codes]

    def observation(self, i: int) -> LabObservation:
        obs = self._cache.get(i)
        if obs is None:
            c = self.cols
            unit, range_unit, uln, lln = c["unit"][i] or None, c["range_unit"][i] or None, c["uln"][i], c["lln"][i]
            obs = LabObservation(
                patient_id=c["patient_id"][i], analyte=c["analyte"][i], value=c["value"][i], unit=unit,
                uln=None if uln != uln else uln, lln=None if lln != lln else lln,  # x != x: NaN, no range
                range_unit=range_unit if range_unit != unit else None, date=self.dates[i],
                visit=c["visit"][i] or None, raw_test=c["raw_test"][i] or None,
                source=f"{c['file'][i]} row {c['row'][i]}", demographics=None,
            )
            self._cache[i] = obs
        return obs


def _codes_of(criterion: Criterion, derived: Mapping[str, tuple[str, ...]]) -> set[str]:
    if criterion.rules:
        codes = {canonical_code(r.analyte) for r in criterion.rules}
        return codes | {i for c in list(codes) for i in derived.get(c, ())}
    return set(_mentioned(criterion))


def _exact(pair: _Pair, plan: CriterionPlan, rows: _Rows, lab_file: LabFile, protocol: Protocol,
           extra_ranges: list[ReferenceRange], derived: Mapping[str, tuple[str, ...]]) -> tuple[Finding, dt.date | None]:
    """The exact engine on this patient's rows of the criterion's analytes (same version and phase)."""
    criterion = pair.criterion
    positions = rows.positions(pair.patient_id, pair.version_index, pair.phase, _codes_of(criterion, derived))
    observations = [rows.observation(i) for i in positions]
    demographics = lab_file.demographics.get(pair.patient_id) or Demographics()
    dated = [o.date for o in observations if o.date]
    lab_date = max(dated) if dated else None
    ranges = [*protocol.reference_ranges, *extra_ranges]
    if not criterion.rules and criterion.refers_to:
        supplied = [r for r in extra_ranges if r.lab and r.lab.strip().lower() in {x.lower() for x in criterion.refers_to}]
        if supplied:
            return _judge_external_range(criterion, observations, demographics, supplied, lab_date, protocol), lab_date
        named = ", ".join(criterion.refers_to)
        return Finding(
            criterion_id=criterion.id, criterion_kind=criterion.kind, label=criterion.label,
            verdict=Verdict.INDETERMINATE,
            rationale=(f"{criterion.label}: judged against an external reference range ({named}) that is not in the "
                       f"data; supply it (trialguard screen --ranges) to decide."),
            citations=[plan.clause_citation],
            observations=observations, rule_source="none",
            notes=[f"reference range not supplied: {named}"],
        ), lab_date
    finding = judge_criterion(criterion, observations, demographics, ranges, lab_date, protocol=protocol, plan=plan)
    return finding, lab_date


def _judge_external_range(criterion: Criterion, observations, demographics: Demographics,
                          supplied: list[ReferenceRange], lab_date, protocol: Protocol) -> Finding:
    """The supplied external range stands in for the lab's own: each named analyte above its ULN excludes."""
    codes = sorted({canonical_code(r.analyte) for r in supplied})
    quote = clause_excerpt(criterion.text)
    rules = [LabRule(analyte=code, comparator=Comparator.GT, value=1.0, multiple_of="ULN", quote=quote,
                     start=0, end=len(quote)) for code in codes]
    stand_in = criterion.model_copy(update={"rules": rules})
    stripped = [o.model_copy(update={"uln": None, "lln": None, "range_unit": None}) for o in observations
                if canonical_code(o.analyte) in codes]
    finding = judge_criterion(stand_in, stripped, demographics, supplied, lab_date, protocol=protocol)
    notes = [*finding.notes, f"limits from the supplied {supplied[0].lab}"]
    uncovered = [code for code in _mentioned(criterion) if code not in codes]
    if uncovered and finding.verdict is Verdict.MEETS:
        # the supplied range checks only some of the analytes the clause names: the rest could still exclude
        reason = f"the supplied {supplied[0].lab} has no range for {', '.join(uncovered)}, which the clause names"
        return finding.model_copy(update={
            "verdict": Verdict.INDETERMINATE,
            "rationale": f"{criterion.label}: INDETERMINATE. {reason}; judged so far: {finding.rationale}",
            "notes": [*notes, reason],
        })
    return finding.model_copy(update={"notes": notes})
