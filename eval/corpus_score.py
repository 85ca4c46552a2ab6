"""Scoring one parsed protocol against its corpus gold (eval/corpus_gold.py): labels, section pages, lab rules.

Pure functions on typed models (`GoldProtocol`, `ingest.models.Protocol`), so the tests feed them small fixtures
written in the test. How each number is counted (eval/README.md "corpus" repeats this for readers):

* Labels. Only top-level parsed criteria (no `parent_label`) of kind inclusion/exclusion count. Each gold label is
  matched to at most one unused parsed criterion of the same kind whose label has the same *label key* and whose
  first page lies inside the gold set's body pages. Labels repeat across sets (two lists numbered from 1), so a
  parsed criterion is used once. Label recall = matched gold labels / gold labels. Parsed criteria left over are
  *extra labels*: inside a gold body section (over-split or wrongly numbered), on a synopsis page, or elsewhere
  (amendment appendices, other lists).
* Label key: the label's runs of digits and of letters, digits as numbers, case folded; everything else is
  dropped. So "I 01" = "I01", "8.d" = "8d", "(c)" = "c", "•3" = "3" (the parser's assigned bullet positions
  compare with the gold's positions for unnumbered lists).
* Section pages, per gold set with labels: start is right when the page of the parsed section holding the first
  matched criterion (else that criterion's first page) is the gold start page or `first_item_page`; end is right
  when the last page of the matched criteria is the gold end page. A set with nothing matched is wrong on both.
* Lab rules. Every rule of a parsed inclusion/exclusion criterion is classified once:
  - *hit*: a gold row of the same kind matches on label (the gold `label`, the first two parts of `label_path`,
    or the set's top-level label it belongs to, against the parsed label, its parent, or parent+label), page (the
    gold row's page lies in the criterion's pages), catalog analyte, comparator, `multiple_of`, offset from the ULN,
    and value (`low`/`high` for between), or one of the rule's `alternatives` carries the value of the row;
  - *neutral*: it matches an optional row (a `role`, "normal range" wording, a definition);
  - *change read as a level*: it matches a `measure: change` row but the rule does not say it is a change; a
    false positive, because one value would then be judged against a limit meant for a difference;
  - *synopsis*: the criterion starts on a gold synopsis page (outside every body section); counted apart;
  - *false positive* otherwise; it is a *non-lab false positive* when its quote overlaps a non-lab row's quote of
    the same kind on the same page (e.g. an age or a dose taken for a lab limit).
  Units are not part of the match (the issue matches on value and `multiple_of`); a hit whose units do not convert
  1:1 is counted as a unit mismatch.
* Rule recall counts *limits*: a gold row and its `alt_unit_of` rows are one limit, found when any of them is hit.
  Optional and change rows are not in the denominator. A limit missed in the body but matched (kind, analyte,
  comparator, value) by a rule on a synopsis page is a *synopsis-only* rule.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable

from pydantic import BaseModel, Field

from eval.corpus_gold import GoldProtocol, GoldRule, GoldSet, normalise_quote
from ingest.models import Criterion, LabRule, Protocol

ELIGIBILITY = ("inclusion", "exclusion")
LabelKey = tuple[object, ...]


def label_key(label: str | None) -> LabelKey:
    """Runs of digits (as numbers) and letters (case folded) of a label; see the module docstring."""
    if not label:
        return ()
    text = unicodedata.normalize("NFKC", label).casefold()
    return tuple(int(t) if t.isdigit() else t for t in re.findall(r"\d+|[^\W\d_]+", text))


class SetScore(BaseModel):
    key: str
    kind: str
    gold_labels: int
    found: int
    missed: list[str] = Field(default_factory=list)
    gold_start: int | None = None
    gold_end: int | None = None
    parsed_start: int | None = None
    parsed_end: int | None = None
    start_ok: bool = False
    end_ok: bool = False

    @property
    def recall(self) -> float:
        return self.found / self.gold_labels if self.gold_labels else 1.0


class RuleMiss(BaseModel):
    rule_id: str
    kind: str
    label: str
    analyte: str
    threshold: str
    reason: str


class ParsedRuleVerdict(BaseModel):
    kind: str
    label: str
    page: int
    rule: str
    verdict: str = Field(description="hit, neutral, change_as_level, synopsis, nonlab_fp, fp")
    detail: str = ""
    unit_mismatch: bool = False


class ProtocolScore(BaseModel):
    name: str
    group: str
    pages: int | None = None
    seconds: float | None = None
    error: str | None = None
    crashed: bool = False
    eligibility: bool = True
    eligibility_found: bool = False
    sets: list[SetScore] = Field(default_factory=list)
    extra_in_body: list[str] = Field(default_factory=list)
    extra_in_synopsis: int = 0
    extra_elsewhere: int = 0
    limits: int = 0
    limits_found: int = 0
    synopsis_only: int = 0
    misses: list[RuleMiss] = Field(default_factory=list)
    parsed_rules: list[ParsedRuleVerdict] = Field(default_factory=list)
    alt_unit_rows: int = 0
    alt_unit_found: int = 0
    change_rows: int = 0

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.parsed_rules if r.verdict == verdict)

    @property
    def gold_labels(self) -> int:
        return sum(s.gold_labels for s in self.sets)

    @property
    def found_labels(self) -> int:
        return sum(s.found for s in self.sets)

    @property
    def eligibility_missed(self) -> bool:
        return self.eligibility and not self.eligibility_found


# --------------------------------------------------------------------------------------------------- labels


def _eligibility(protocol: Protocol) -> list[Criterion]:
    return [c for c in protocol.criteria if c.kind.value in ELIGIBILITY]


def _in_span(page: int, gold_set: GoldSet) -> bool:
    if gold_set.start_page is None or gold_set.end_page is None:
        return True
    return gold_set.start_page <= page <= gold_set.end_page


def _body_page(page: int, gold: GoldProtocol) -> bool:
    return any(s.start_page is not None and s.start_page <= page <= (s.end_page or s.start_page) for s in gold.sets)


def _section_start(protocol: Protocol, criterion: Criterion) -> int:
    """The first page of the parsed section that holds the criterion (its heading page), else its own page."""
    for section in protocol.sections:
        if (section.title == criterion.section_title and section.number == criterion.section_number
                and section.page_start <= criterion.page_start <= section.page_end):
            return section.page_start
    return criterion.page_start


def score_labels(gold: GoldProtocol, protocol: Protocol, score: ProtocolScore) -> None:
    top = [c for c in _eligibility(protocol) if c.parent_label is None]
    used: set[int] = set()
    for gold_set in sorted(gold.sets, key=lambda s: (s.start_page or 0, s.key)):
        matched: list[Criterion] = []
        missed: list[str] = []
        for label in gold_set.labels:
            key = label_key(label)
            pick = next((i for i, c in enumerate(top) if i not in used and c.kind.value == gold_set.kind
                         and label_key(c.label) == key and _in_span(c.page_start, gold_set)), None)
            if pick is None:
                missed.append(label)
            else:
                used.add(pick)
                matched.append(top[pick])
        result = SetScore(key=gold_set.key, kind=gold_set.kind, gold_labels=len(gold_set.labels), found=len(matched),
                          missed=missed, gold_start=gold_set.start_page, gold_end=gold_set.end_page)
        if matched:
            first = min(matched, key=lambda c: (c.page_start, c.char_start))
            result.parsed_start = _section_start(protocol, first)
            result.parsed_end = max(c.page_end for c in matched)
            result.start_ok = result.parsed_start in {gold_set.start_page, gold_set.first_item_page}
            result.end_ok = result.parsed_end == gold_set.end_page
        score.sets.append(result)
    for i, criterion in enumerate(top):
        if i in used:
            continue
        if _body_page(criterion.page_start, gold):
            score.extra_in_body.append(f"{criterion.kind.value} {criterion.label} (p{criterion.page_start})")
        elif criterion.page_start in gold.synopsis_pages:
            score.extra_in_synopsis += 1
        else:
            score.extra_elsewhere += 1


# ---------------------------------------------------------------------------------------------------- rules


def _gold_label_keys(rule: GoldRule, gold: GoldProtocol) -> set[LabelKey]:
    """Label keys a parsed criterion may carry to hold this row (module docstring, "hit")."""
    keys = {label_key(rule.label)}
    if rule.label_path:
        keys.add(label_key(".".join(rule.label_path.split(".")[:2])))
    top_level = {label_key(label) for s in gold.sets if s.kind == rule.kind for label in s.labels}
    for source in (rule.label, rule.label_path or ""):
        full = label_key(source)
        keys |= {full[:n] for n in range(1, len(full)) if full[:n] in top_level}
    keys.discard(())
    return keys


def _parsed_label_keys(criterion: Criterion, by_label: dict[tuple[str, str], Criterion]) -> set[LabelKey]:
    keys = {label_key(criterion.label)}
    parent = criterion.parent_label
    seen = 0
    while parent and seen < 6:  # walk up to the top-level criterion
        keys.add(label_key(parent))
        keys.add(label_key(parent) + label_key(criterion.label))
        above = by_label.get((criterion.kind.value, parent))
        parent = above.parent_label if above is not None else None
        seen += 1
    keys.discard(())
    return keys


def _close(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _numbers_match(rule: LabRule, gold: GoldRule) -> bool:
    if gold.comparator == "between":
        return _close(rule.low, gold.low) and _close(rule.high, gold.high)
    return _close(rule.value, gold.value)


def _threshold_match(rule: LabRule, gold: GoldRule) -> bool:
    """Same analyte, comparator, multiple and value; or one of the rule's alternatives states the row's value."""
    if rule.analyte != gold.analyte or rule.multiple_of != gold.multiple_of:
        return False
    if getattr(rule, "offset_from", None) != gold.offset_from:
        return False
    if rule.comparator.value == gold.comparator and _numbers_match(rule, gold):
        return True
    # the "[221 µmol/L]" of "> 2.5 mg/dL [221 µmol/L]": the rule's comparator carries over to the alternative
    return any((_close(alt.value, gold.value) if gold.comparator != "between"
                else _close(alt.low, gold.low) and _close(alt.high, gold.high)) for alt in rule.alternatives)


def _is_change(rule: LabRule) -> bool:
    return getattr(rule, "measure", None) == "change"


def _same_unit(analyte: str, a: str | None, b: str | None) -> bool:
    """Both absent, or 1 of one converts to exactly 1 of the other for this analyte."""
    import labs

    if a is None or b is None or a == b:
        return a == b or a is None or b is None
    try:
        return math.isclose(labs.convert(1.0, labs.parse_unit(a), labs.parse_unit(b), labs.analyte(analyte)), 1.0,
                            rel_tol=1e-6)
    except Exception:  # noqa: BLE001 - units that cannot be converted are different units
        return False


def describe(rule: LabRule | GoldRule) -> str:
    if isinstance(rule, GoldRule):
        comparator = rule.comparator
    else:
        comparator = rule.comparator.value
    number = f"{rule.low:g}-{rule.high:g}" if comparator == "between" and rule.low is not None and rule.high is not None \
        else ("?" if rule.value is None else f"{rule.value:g}")
    tail = f" x {rule.multiple_of}" if rule.multiple_of else (f" {rule.unit}" if rule.unit else "")
    offset = getattr(rule, "offset_from", None)
    if offset:
        tail += f" above {offset}"
    return f"{rule.analyte} {comparator} {number}{tail}"


def _overlaps_nonlab(criterion: Criterion, rule: LabRule, gold: GoldProtocol) -> str | None:
    quote = normalise_quote(rule.quote)
    if not quote:
        return None
    for row in gold.nonlab:
        if row.kind != criterion.kind.value or not criterion.page_start <= row.page <= criterion.page_end:
            continue
        other = normalise_quote(row.quote)
        if other and (quote in other or other in quote):
            return row.what or row.quote
    return None


def score_rules(gold: GoldProtocol, protocol: Protocol, score: ProtocolScore) -> None:
    criteria = _eligibility(protocol)
    by_label = {(c.kind.value, c.label): c for c in criteria}
    hit_rows: set[str] = set()
    synopsis_matches: set[str] = set()
    wrong_place: dict[str, str] = {}
    label_keys = {r.id: _gold_label_keys(r, gold) for r in gold.rules}
    for criterion in criteria:
        parsed_keys = _parsed_label_keys(criterion, by_label)
        on_synopsis = criterion.page_start in gold.synopsis_pages and not _body_page(criterion.page_start, gold)
        for rule in criterion.rules:
            verdict = ParsedRuleVerdict(kind=criterion.kind.value, label=criterion.label, page=criterion.page_start,
                                        rule=describe(rule), verdict="fp")
            same_threshold = [g for g in gold.rules if g.kind == criterion.kind.value and _threshold_match(rule, g)]
            placed = [g for g in same_threshold
                      if criterion.page_start <= g.page <= criterion.page_end and label_keys[g.id] & parsed_keys]
            required = [g for g in placed if g.optional is None and (g.measure != "change" or _is_change(rule))]
            if required:
                verdict.verdict = "hit"
                hit_rows.update(g.id for g in required)
                verdict.unit_mismatch = not any(
                    _same_unit(g.analyte, rule.unit, g.unit) or any(_same_unit(g.analyte, a.unit, g.unit)
                                                                    for a in rule.alternatives) for g in required)
            elif any(g.optional for g in placed):
                verdict.verdict = "neutral"
                verdict.detail = next(g.optional for g in placed if g.optional)
            elif placed:  # a change between visits read as a level
                verdict.verdict = "change_as_level"
                verdict.detail = placed[0].quote
            elif on_synopsis:
                verdict.verdict = "synopsis"
                synopsis_matches.update(g.id for g in same_threshold)
            else:
                nonlab = _overlaps_nonlab(criterion, rule, gold)
                if nonlab:
                    verdict.verdict, verdict.detail = "nonlab_fp", nonlab
                for g in same_threshold:  # right threshold, wrong label or page: say where it was found
                    wrong_place.setdefault(g.id, f"found as {criterion.kind.value} {criterion.label} "
                                                 f"p{criterion.page_start}")
            score.parsed_rules.append(verdict)
    _score_limits(gold, score, hit_rows, synopsis_matches, wrong_place)


def _score_limits(gold: GoldProtocol, score: ProtocolScore, hit_rows: set[str], synopsis_matches: set[str],
                  wrong_place: dict[str, str]) -> None:
    groups: dict[str, list[GoldRule]] = {}
    for row in gold.rules:
        groups.setdefault(row.limit_id, []).append(row)
    for rows in groups.values():
        primary = rows[0]
        score.alt_unit_rows += sum(1 for r in rows if r.alt_unit_of)
        score.alt_unit_found += sum(1 for r in rows if r.alt_unit_of and r.id in hit_rows)
        if primary.measure == "change":
            score.change_rows += 1
            continue
        if any(r.optional for r in rows):
            continue
        score.limits += 1
        if any(r.id in hit_rows for r in rows):
            score.limits_found += 1
            continue
        if any(r.id in synopsis_matches for r in rows):
            score.synopsis_only += 1
            reason = "found only in the synopsis"
        elif not primary.in_catalog:
            reason = f"analyte {primary.gold_analyte} is not in the catalog"
        else:
            reason = next((wrong_place[r.id] for r in rows if r.id in wrong_place), "not found")
        score.misses.append(RuleMiss(rule_id=primary.id, kind=primary.kind, label=primary.label_path or primary.label,
                                     analyte=primary.analyte, threshold=describe(primary), reason=reason))


# -------------------------------------------------------------------------------------------------- protocol


def score_protocol(gold: GoldProtocol, protocol: Protocol | None, *, seconds: float | None = None,
                   error: str | None = None, crashed: bool = False) -> ProtocolScore:
    """Everything the corpus suite reports for one document; `protocol` None when parsing failed (`error`)."""
    score = ProtocolScore(name=gold.name, group=gold.group, seconds=seconds, error=error, crashed=crashed,
                          eligibility=gold.eligibility, pages=None if protocol is None else len(protocol.pages))
    if protocol is None:
        score.sets = [SetScore(key=s.key, kind=s.kind, gold_labels=len(s.labels), found=0, missed=list(s.labels),
                               gold_start=s.start_page, gold_end=s.end_page) for s in gold.sets]
        _score_limits(gold, score, set(), set(), {})
        for miss in score.misses:
            miss.reason = "the document was not parsed"
        return score
    score.eligibility_found = bool(_eligibility(protocol))
    score_labels(gold, protocol, score)
    score_rules(gold, protocol, score)
    return score


def totals(scores: Iterable[ProtocolScore]) -> dict[str, float]:
    """Corpus-wide (micro-averaged) metrics over per-protocol scores."""
    scores = list(scores)
    gold_labels = sum(s.gold_labels for s in scores)
    labelled_sets = [st for s in scores for st in s.sets if st.gold_labels]
    hits = sum(s.count("hit") for s in scores)
    judged = hits + sum(s.count(v) for s in scores for v in ("fp", "nonlab_fp", "change_as_level"))
    limits = sum(s.limits for s in scores)
    alt_rows = sum(s.alt_unit_rows for s in scores)
    return {
        "label_recall": sum(s.found_labels for s in scores) / gold_labels if gold_labels else 1.0,
        "extra_labels_in_body": float(sum(len(s.extra_in_body) for s in scores)),
        "start_page_accuracy": sum(st.start_ok for st in labelled_sets) / len(labelled_sets) if labelled_sets else 1.0,
        "end_page_accuracy": sum(st.end_ok for st in labelled_sets) / len(labelled_sets) if labelled_sets else 1.0,
        "rule_recall": sum(s.limits_found for s in scores) / limits if limits else 1.0,
        "rule_precision": hits / judged if judged else 1.0,
        "synopsis_only_rules": float(sum(s.synopsis_only for s in scores)),
        "synopsis_rules": float(sum(s.count("synopsis") for s in scores)),
        "nonlab_false_positives": float(sum(s.count("nonlab_fp") for s in scores)),
        "change_read_as_level": float(sum(s.count("change_as_level") for s in scores)),
        "unit_mismatches": float(sum(1 for s in scores for r in s.parsed_rules if r.unit_mismatch)),
        "alt_unit_recall": sum(s.alt_unit_found for s in scores) / alt_rows if alt_rows else 1.0,
        "crashes": float(sum(s.crashed for s in scores)),
        "eligibility_missed": float(sum(s.eligibility_missed for s in scores)),
        "invented_eligibility": float(sum(1 for s in scores if not s.eligibility and s.eligibility_found)),
        "seconds": round(sum(s.seconds or 0.0 for s in scores), 2),
    }
