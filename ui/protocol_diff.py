"""What changed between two versions of a protocol: criteria added, removed, reworded, and changed thresholds."""

from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz

from ingest.models import Criterion, CriterionKind, LabRule, Protocol

# Reworded criteria that keep at least this much of their text are "the same criterion, changed", even when
# an amendment renumbered them; below it they are one removed and one added.
SIMILAR_ENOUGH = 75.0


class ChangeKind(str, Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    RENUMBERED = "renumbered"  # same words, new label


class CriterionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    change: ChangeKind
    kind: CriterionKind
    old_label: str | None = None
    new_label: str | None = None
    old_text: str | None = None
    new_text: str | None = None
    text_changed: bool = False
    old_thresholds: list[str] = Field(default_factory=list)
    new_thresholds: list[str] = Field(default_factory=list)
    thresholds_changed: bool = False
    thresholds_removed: list[str] = Field(default_factory=list, description="in the old version only")
    thresholds_added: list[str] = Field(default_factory=list, description="in the new version only")
    old_page: int | None = None
    new_page: int | None = None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _words(criterion: Criterion) -> str:
    """The criterion's words without its own label ("6. Pregnancy..." -> "Pregnancy..."): a renumbered
    criterion keeps its words."""
    text = _norm(criterion.text)
    label = re.escape(criterion.label.strip().rstrip(".)"))
    return re.sub(rf"^\(?{label}[.)]?\s+", "", text, count=1)


def rule_signature(rule: LabRule) -> str:
    """The threshold a rule states, without where its quote sits: two versions compare on this."""
    unit = f"x {rule.multiple_of}" if rule.multiple_of else (rule.unit or "")
    if rule.comparator.value == "between":
        text = f"{rule.analyte} between {rule.low:g}-{rule.high:g} {unit}" if rule.low is not None and rule.high is not None else f"{rule.analyte} between ? {unit}"
    else:
        text = f"{rule.analyte} {rule.comparator.value} {rule.value:g} {unit}" if rule.value is not None else f"{rule.analyte} {rule.comparator.value} ? {unit}"
    if rule.condition:
        text += f" ({rule.condition_type or 'if'} {rule.condition})"
    if rule.sex:
        text += f" (sex {rule.sex.value})"
    if rule.window_days is not None:
        text += f" (within {rule.window_days} d)"
    return _norm(text)


def _thresholds(criterion: Criterion) -> list[str]:
    return sorted({rule_signature(r) for r in criterion.rules})


def _change(old: Criterion | None, new: Criterion | None) -> CriterionChange | None:
    if old is None or new is None:
        only = old or new
        return CriterionChange(
            change=ChangeKind.REMOVED if new is None else ChangeKind.ADDED,
            kind=only.kind,
            old_label=old.label if old else None,
            new_label=new.label if new else None,
            old_text=old.text if old else None,
            new_text=new.text if new else None,
            old_thresholds=_thresholds(old) if old else [],
            new_thresholds=_thresholds(new) if new else [],
            thresholds_changed=bool(only.rules),
            thresholds_removed=_thresholds(old) if old else [],
            thresholds_added=_thresholds(new) if new else [],
            old_page=old.page_start if old else None,
            new_page=new.page_start if new else None,
        )
    text_changed = _words(old) != _words(new)
    old_t, new_t = _thresholds(old), _thresholds(new)
    if not text_changed and old_t == new_t and old.label == new.label:
        return None
    change = ChangeKind.CHANGED if text_changed or old_t != new_t else ChangeKind.RENUMBERED
    return CriterionChange(
        change=change, kind=new.kind, old_label=old.label, new_label=new.label, old_text=old.text, new_text=new.text,
        text_changed=text_changed, old_thresholds=old_t, new_thresholds=new_t, thresholds_changed=old_t != new_t,
        thresholds_removed=[t for t in old_t if t not in new_t], thresholds_added=[t for t in new_t if t not in old_t],
        old_page=old.page_start, new_page=new.page_start,
    )


def diff_protocols(old: Protocol, new: Protocol, *, include_context: bool = False) -> list[CriterionChange]:
    """Criteria of `new` compared with `old`, matched by identical words, then label, then similar words."""
    def keep(c: Criterion) -> bool:
        return include_context or c.kind is not CriterionKind.CONTEXT

    old_left = [c for c in old.criteria if keep(c)]
    new_left = [c for c in new.criteria if keep(c)]
    pairs: list[tuple[Criterion, Criterion]] = []

    def take(match) -> None:
        for n in list(new_left):
            o = match(n)
            if o is not None:
                pairs.append((o, n))
                old_left.remove(o)
                new_left.remove(n)

    take(lambda n: next((o for o in old_left if o.kind is n.kind and _words(o) == _words(n)), None))

    def most_similar(n: Criterion) -> Criterion | None:
        scored = [(fuzz.ratio(_words(o), _words(n)), o) for o in old_left if o.kind is n.kind]
        best = max(scored, key=lambda s: s[0], default=None)
        return best[1] if best and best[0] >= SIMILAR_ENOUGH else None

    take(most_similar)
    # same label, reworded more deeply but still about half the same words: the same criterion, changed
    # (labels repeat across eligibility sets, e.g. per cohort: the same label means the same criterion only in one set)
    take(lambda n: next((o for o in old_left if o.kind is n.kind and o.label == n.label
                         and o.criteria_set == n.criteria_set and fuzz.ratio(_words(o), _words(n)) >= SIMILAR_ENOUGH * 2 / 3), None))
    changes = [c for o, n in pairs if (c := _change(o, n)) is not None]
    changes += [_change(o, None) for o in old_left]
    changes += [_change(None, n) for n in new_left]
    order = {k: i for i, k in enumerate(CriterionKind)}
    return sorted(changes, key=lambda c: (order[c.kind], c.new_page or c.old_page or 0, c.new_label or c.old_label or ""))
