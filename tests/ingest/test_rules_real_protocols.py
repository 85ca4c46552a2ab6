"""Every lab threshold in the eligibility criteria of five real protocols, read by hand into
eval/gold/real_protocol_thresholds.csv (one row per threshold, with its page), is extracted from the criteria that
ingest.parse_protocol finds, with the right analyte, comparator, number(s), unit or multiple, condition and page.
The three negative-control protocols yield no lab rule in their eligibility criteria.

Rows marked catalog=no are thresholds on tests the labs catalog does not hold (estradiol, M protein, ...):
they are listed so the table is complete, and must not turn into a rule on some other analyte.
"""

from __future__ import annotations

import csv
import math
import unicodedata
from pathlib import Path

import pytest

import labs
from ingest.models import Criterion, CriterionKind, LabRule, Protocol
from ingest.rules import extract_rules

ROOT = Path(__file__).resolve().parents[2]
PROTOCOLS = ROOT / ".." / "shared" / "data" / "protocols"
GOLD = ROOT / "eval" / "gold" / "real_protocol_thresholds.csv"
NEGATIVE_CONTROLS = ["nih_docugami/NCT06157684_Prot_000.pdf", "nih_docugami/NCT06149832_Prot_000.pdf",
                     "nih_docugami/NCT06154122_Prot_000.pdf"]
ELIGIBILITY = {CriterionKind.INCLUSION, CriterionKind.EXCLUSION}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PROTOCOLS.is_dir(), reason="shared real protocols not present"),
]


def gold_rows() -> list[dict[str, str]]:
    with GOLD.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "").replace("’", "'").lower()
    return " ".join(text.split())


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def _same_unit(analyte: str, written: str | None, expected: str) -> bool:
    if not expected:
        return written is None
    if written is None:
        return False
    try:
        return math.isclose(labs.convert(1.0, written, expected, labs.analyte(analyte)), 1.0, rel_tol=1e-9)
    except Exception:  # noqa: BLE001 - inconvertible means different
        return False


def _rules_with_context(protocol: Protocol, criterion: Criterion) -> list[LabRule]:
    """The criterion's rules; for a sub-item also those read with its parent as context (extract_rules(context=)),
    in case parse_protocol does not pass the parent yet."""
    rules = list(criterion.rules)
    if criterion.parent_label:
        parent = next((c for c in protocol.criteria if c.kind == criterion.kind and c.label == criterion.parent_label),
                      None)
        if parent is not None:
            rules += extract_rules(criterion.text, context=parent.text)
    return rules


def _matches(row: dict[str, str], rule: LabRule) -> bool:
    if rule.analyte != row["analyte"] or rule.comparator.value != row["comparator"]:
        return False
    for field in ("value", "low", "high"):
        expected = _number(row[field])
        got = getattr(rule, field)
        if (expected is None) != (got is None) or (expected is not None and not math.isclose(expected, got)):
            return False
    if row["multiple_of"]:
        if rule.multiple_of != row["multiple_of"]:
            return False
    elif rule.multiple_of or not _same_unit(row["analyte"], rule.unit, row["unit"]):
        return False
    if (rule.condition_type or "") != row["condition_type"] or _norm(rule.condition) != _norm(row["condition"]):
        return False
    if row["window_days"] and (rule.window_days, _norm(rule.window_anchor)) != (int(row["window_days"]),
                                                                              _norm(row["window_anchor"])):
        return False
    return True


def _label_matches(criterion: Criterion, label: str) -> bool:
    return label in {criterion.label, criterion.parent_label} or criterion.label.split("•")[0] == label


CATALOG_ROWS = [row for row in gold_rows() if row["catalog"] == "yes"]


def test_gold_table_is_complete_and_well_formed() -> None:
    rows = gold_rows()
    assert {row["protocol"] for row in rows} == {"NCT02151981", "NCT02296125", "NCT02511106", "NCT03861052",
                                                  "NCT06158269"}
    assert len(CATALOG_ROWS) >= 50
    for row in rows:
        assert (PROTOCOLS / row["file"]).is_file(), row["file"]
        assert row["comparator"] in {"<", "<=", ">", ">=", "between"}
        if row["catalog"] == "yes":
            labs.analyte(row["analyte"])  # raises for a code the catalog does not know


@pytest.mark.parametrize("row", CATALOG_ROWS, ids=lambda r: f"{r['protocol']}-{r['label']}-{r['analyte']}"
                                                              f"{r['comparator']}{r['value'] or r['low']}")
def test_threshold_extracted_from_parsed_criteria(row: dict[str, str], parsed_file) -> None:
    protocol = parsed_file(PROTOCOLS / row["file"])
    page = int(row["page"])
    candidates = [c for c in protocol.criteria
                  if c.kind.value == row["kind"] and _label_matches(c, row["label"])
                  and c.page_start <= page <= c.page_end]
    assert candidates, f"no {row['kind']} criterion {row['label']} on page {page}"
    found = [rule for c in candidates for rule in _rules_with_context(protocol, c) if _matches(row, rule)]
    assert found, (f"{row['protocol']} {row['kind']} {row['label']} p{page}: expected {row['analyte']} "
                   f"{row['comparator']} {row['value'] or (row['low'], row['high'])} {row['unit'] or row['multiple_of']}"
                   f" {row['condition_type']} {row['condition']}; got "
                   f"{[(r.analyte, r.comparator.value, r.value, r.low, r.high, r.unit, r.multiple_of, r.condition_type, r.condition) for c in candidates for r in c.rules]}")
    for rule in found:
        criterion = next(c for c in candidates if rule in _rules_with_context(protocol, c))
        assert criterion.text[rule.start:rule.end] == rule.quote


def test_no_rule_beyond_the_gold_table(parsed_file) -> None:
    """Precision on the five protocols: every rule in their eligibility criteria is a row of the table."""
    extra = []
    for file in sorted({row["file"] for row in CATALOG_ROWS}):
        protocol = parsed_file(PROTOCOLS / file)
        rows = [row for row in CATALOG_ROWS if row["file"] == file]
        for criterion in protocol.criteria:
            if criterion.kind not in ELIGIBILITY:
                continue
            for rule in criterion.rules:
                if not any(_matches(row, rule) and _label_matches(criterion, row["label"]) for row in rows):
                    extra.append((file, criterion.label, rule.analyte, rule.comparator.value, rule.value, rule.unit,
                                  rule.multiple_of, rule.condition))
    assert extra == []


@pytest.mark.parametrize("relative", NEGATIVE_CONTROLS)
def test_negative_controls_have_no_lab_rules(relative: str, parsed_file) -> None:
    protocol = parsed_file(PROTOCOLS / relative)
    eligibility = [c for c in protocol.criteria if c.kind in ELIGIBILITY]
    assert eligibility, "the negative control must still have eligibility criteria to look at"
    assert [rule for c in eligibility for rule in c.rules] == []
