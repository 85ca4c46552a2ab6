"""Lab-rule extraction measured on the development corpus' hand-checked gold
(../shared/data/protocols/corpus/gold/rules_*.jsonl and nonlab_*.jsonl; format in its README.md).

Each gold criterion is read from its page text (pypdf, then ingest.normalize), from a little before its first
quote to a little after its last, so this measures the threshold grammar apart from the criteria parser.
Rows the README says to score as optional (roles, "below the normal range" wording, menopause definitions) and
tests the labs catalog does not hold are left out; a change between visits must come out as a change.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import pytest

import labs
from eval.corpus_gold import load_config
from ingest.models import LabRule
from ingest.normalize import normalize_text
from ingest.rules import extract_rules

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / ".." / "shared" / "data" / "protocols" / "corpus"
GOLD = CORPUS / "gold"
# gold analyte codes that the catalog spells otherwise: the corpus eval's aliases (eval/corpus.yaml), plus this
# test's own reading of the one QTcB row ("QTc > 475 msec on either the QTcB or QTcF corrections": a QTc limit)
CODE = {**load_config().analyte_aliases,
        "ANC": "NEUT", "HIV1_RNA": "HIV1RNA", "DBILI": "BILDIR", "QTC": "QTCF", "QTCB": "QTCF", "LYMPH": "LYM"}
BEFORE, AFTER = 250, 120  # characters of context around a criterion's quotes

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not GOLD.is_dir(), reason="corpus gold not present")]


def _rows(prefix: str) -> list[dict]:
    rows = []
    for path in sorted(GOLD.glob(f"{prefix}_*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


@functools.lru_cache(maxsize=None)
def _page(file: str, number: int) -> str:
    reader = _reader(file)
    if number > len(reader.pages):
        return ""
    return normalize_text(reader.pages[number - 1].extract_text() or "")


@functools.lru_cache(maxsize=None)
def _reader(file: str):
    import pypdf

    return pypdf.PdfReader(CORPUS / file)


def _key(text: str) -> tuple[str, list[int]]:
    """Whitespace-free, lower-case form with offsets back into `text` (gold quotes join lines with spaces)."""
    chars, offsets = [], []
    for i, ch in enumerate(text):
        if not ch.isspace():
            chars.append(ch.lower())
            offsets.append(i)
    return "".join(chars), offsets


def _locate(quote: str, text: str) -> tuple[int, int] | None:
    """Where a gold quote stands in the normalized text. The gold keeps pypdf's "109/L" where normalization
    writes "10^9/L", so carets are dropped on both sides."""
    wanted, _ = _key(normalize_text(quote).replace("^", ""))
    have, offsets = _key(text)
    keep = [i for i, ch in enumerate(have) if ch != "^"]
    have, offsets = "".join(have[i] for i in keep), [offsets[i] for i in keep]
    at = have.find(wanted)
    return None if at < 0 else (offsets[at], offsets[at + len(wanted) - 1] + 1)


def _optional(row: dict) -> bool:
    quote = row["quote"].lower()
    return bool(row.get("role")) or "normal range" in quote or row["analyte"] == "FSH"


def _in_catalog(row: dict) -> bool:
    return CODE.get(row["analyte"], row["analyte"]) in {a.code for a in labs.catalog()}


def _matches(row: dict, rule: LabRule) -> bool:
    if rule.analyte != CODE.get(row["analyte"], row["analyte"]) or rule.comparator.value != row["comparator"]:
        return False
    if (row.get("measure") == "change") != (rule.measure == "change"):
        return False
    if (row.get("offset_from") or None) != rule.offset_from:
        return False
    if not row.get("offset_from") and (row.get("multiple_of") or None) != rule.multiple_of:
        return False
    if row["comparator"] == "between":
        return math.isclose(row["low"], rule.low or math.nan) and math.isclose(row["high"], rule.high or math.nan)
    values = [rule.value] + [alt.value for alt in rule.alternatives]
    return any(v is not None and math.isclose(float(row["value"]), v, rel_tol=1e-6) for v in values)


@functools.lru_cache(maxsize=1)
def _scored() -> tuple[list[tuple[dict, bool]], int, int]:
    rows = _rows("rules")
    by_criterion: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row["file"], row["kind"], row.get("criteria_set", ""), row["label"], row["page"])
        by_criterion.setdefault(key, []).append(row)
    results, true_rules, false_rules = [], 0, 0
    for (file, _, _, _, page), group in by_criterion.items():
        text = _page(file, page) + "\n" + _page(file, page + 1)
        spans = [span for span in (_locate(row["quote"].replace("\uf03c", "<").replace("\uf03e", ">"), text)
                                    for row in group) if span]
        assert spans, f"{file} p.{page}: no gold quote found in the page text"
        start = text.rfind("\n", 0, max(0, min(s for s, _ in spans) - BEFORE)) + 1
        end = min(len(text), max(e for _, e in spans) + AFTER)
        rules = extract_rules(text[start:end])
        for row in group:
            results.append((row, any(_matches(row, rule) for rule in rules)))
        same_file = [row for row in rows if row["file"] == file]
        for rule in rules:
            if any(_matches(row, rule) for row in same_file):
                true_rules += 1
            else:
                false_rules += 1
    return results, true_rules, false_rules


def test_rule_recall_on_catalog_analytes():
    scored = [(row, hit) for row, hit in _scored()[0] if _in_catalog(row) and not _optional(row)]
    found = sum(hit for _, hit in scored)
    print(f"corpus rule recall {found}/{len(scored)}")
    missed = [f"{row['file']} {row['kind']} {row['label']}: {row['quote']}" for row, hit in scored if not hit]
    # 0.85, not 0.88: the catalog's specialty analytes (issue 12) brought 18 more gold rows into scope, 7 of them
    # phrased without a catalog name (a Bethesda titre that names no factor, a drug-specific anti-rhGAA titre) and
    # deliberately not guessed; the rows in scope before still score 105/117 (0.897), as before.
    assert found / len(scored) >= 0.85, f"recall {found}/{len(scored)}; missed:\n" + "\n".join(missed)


def test_rule_precision():
    _, true_rules, false_rules = _scored()
    print(f"corpus rule precision {true_rules}/{true_rules + false_rules}")
    assert true_rules / (true_rules + false_rules) >= 0.95, (true_rules, false_rules)


def test_offsets_from_the_uln_are_read_as_offsets():
    offsets = [(row, hit) for row, hit in _scored()[0] if row.get("offset_from") and _in_catalog(row)]
    assert offsets and all(hit for _, hit in offsets), offsets


def test_no_change_between_visits_is_read_as_a_level():
    checked = 0
    for row, _ in _scored()[0]:
        if row.get("measure") != "change":
            continue
        text = _page(row["file"], row["page"]) + "\n" + _page(row["file"], row["page"] + 1)
        span = _locate(row["quote"], text)
        assert span, row["quote"]
        for rule in extract_rules(text[span[0]:span[1]]):
            if rule.value is not None and math.isclose(rule.value, row["value"]):
                checked += 1
                assert rule.measure == "change", (row["quote"], rule)
    assert checked, "no change row was read at all"


def test_non_lab_numbers_give_no_rule():
    found = []
    for row in _rows("nonlab"):
        if row.get("role"):
            continue
        rules = extract_rules(normalize_text(row["quote"]))
        if rules:
            found.append((row["file"], row["label"], row["quote"], [r.quote for r in rules]))
    assert not found, found
