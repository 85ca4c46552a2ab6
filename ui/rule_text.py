"""One line per parsed lab rule, the same in the app, `trialguard criteria` and the ingest report.

Relies on LabRule's fields only (no streamlit import, so the CLI can use it); units go through
ui.units_display.show_unit so they read as people write them.
"""

from __future__ import annotations

from ingest.models import LabRule
from ui.units_display import show_unit


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _unit_part(rule: LabRule) -> str:
    if rule.multiple_of:
        return f" × {rule.multiple_of}"
    shown = show_unit(rule.unit)
    if shown.startswith("10"):  # a count in powers of ten reads '90 × 10⁹/L', as protocols print it
        return f" × {shown}"
    return f" {shown}" if shown else ""


def describe_rule(rule: LabRule) -> str:
    """One line a reviewer can check against the criterion text, e.g. 'ALT > 2.5 × ULN (if liver metastases)'."""
    unit = _unit_part(rule)
    if rule.comparator.value == "between":
        text = f"{rule.analyte} between {_num(rule.low)}–{_num(rule.high)}{unit}"
    elif rule.offset_from and rule.value is not None:  # "≥ ULN + 5 s", never "≥ 5 s"
        sign = "+" if rule.value >= 0 else "-"
        offset_unit = show_unit(rule.unit)
        text = f"{rule.analyte} {rule.comparator.value} {rule.offset_from} {sign} {_num(abs(rule.value))}"
        text += f" {offset_unit}" if offset_unit else ""
    else:
        text = f"{rule.analyte} {rule.comparator.value} {_num(rule.value)}{unit}"
    if rule.measure == "change":
        text += " (change between visits)"
    if rule.alternatives:
        text += " [" + "; ".join(f"{_num(a.value if a.value is not None else a.low)} {show_unit(a.unit)}".strip()
                                 for a in rule.alternatives) + "]"
    extras = []
    if rule.condition:
        extras.append(f"{rule.condition_type or 'if'} {rule.condition}")
    if rule.sex:
        extras.append(f"sex {rule.sex.value}")
    if rule.window_days is not None:
        extras.append(f"within {rule.window_days} d of {rule.window_anchor or 'anchor'}")
    if extras:
        text += " (" + ", ".join(extras) + ")"
    if rule.source == "reviewer":
        text += " · reviewer correction"
    return text
