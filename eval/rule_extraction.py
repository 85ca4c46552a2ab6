"""Chia: precision and recall of lab-rule extraction against the corpus's Measurement/Value annotations.

Data: ../shared/data/criteria/chia/ (Kury et al., Sci Data 2020, CC BY 4.0). The gold is every
Measurement --Has_value--> Value pair of the brat annotations (DERIVED_measurement_value_pairs.tsv lists them with
the criterion line they come from; each line is checked against the brat .txt inside chia_without_scope.zip,
read with zipfile at run time, nothing extracted to disk).

What counts ("lab-like" pair):
* the Measurement text maps to a catalog analyte with labs.find_analyte (so "Karnofsky > 60", "BMI < 20",
  "diastolic BP < 90 mmHg" are out), the analyte is quantitative, and the Value text holds a number;
* the Value states a comparator. Values without one ("ALT level 190 IU/L") or whose comparator the corpus lost in
  encoding (a bare "=" where the source had >= or <=: "Neutrophils =1.5x109/L") are not thresholds we can score;
  they are counted and printed as "excluded", and an extracted rule on the same line with the same analyte and
  number is then neither a hit nor a false alarm.

Gold tuple: (analyte, comparator, number(s), unit) read from the Value text by the small, separate parser below
(comparator words/glyphs, number, "x ULN" multiple, unit through labs.parse_unit). Units match when both are absent
or when 1 of one converts to exactly 1 of the other (mg/dl = mg/dL, /mm3 = /uL). A range counts as one tuple.

Extracted tuples: ingest.rules.extract_rules(criterion line) for every distinct line that holds a lab-like pair.
* recall = gold tuples matched by an extracted rule on the same line / gold tuples;
* precision = extracted rules matching a gold tuple / extracted rules, where the extracted rules are those on the
  scored lines whose analyte is annotated as a lab-like Measurement on that line (an un-annotated threshold for
  another analyte on the line cannot be judged: Chia annotates selectively). The strict precision over every
  extracted rule on those lines is printed as well.

Run: `.venv/bin/python -m eval.rule_extraction [--misses]`
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import labs
from ingest.rules import extract_rules

CHIA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "criteria" / "chia"

_GOLD_COMPARATORS = [
    (r"less than or equal to|lower than or equal to|equal to or less than|equal or less than|not more than|"
     r"no more than|not greater than|not exceeding|not to exceed|up to|at most|<=|=<|≤|⩽|≦|£|</=|<_|< or =", "<="),
    (r"greater than or equal to|equal to or greater than|equal or greater than|more than or equal to|"
     r"greater or equal to|at least|not less than|no less than|>=|=>|≥|⩾|≧|>_|³|>/=|=/>|> or =", ">="),
    (r"less than|lower than|below|under|fewer than|<|＜", "<"),
    (r"greater than|more than|higher than|above|over|exceeding|exceeds|in excess of|major than|elevated|>|＞", ">"),
]
_GOLD_TRAILING = [(r"or (?:less|lower|below)$", "<="), (r"or (?:more|greater|higher|above)$", ">=")]


@dataclass(frozen=True)
class Tuple_:
    analyte: str
    comparator: str
    numbers: tuple[float, ...]
    unit: str | None  # a unit string, "xULN"/"xLLN" for multiples, or None


def _number(text: str) -> float:
    text = text.replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+", text) and not re.fullmatch(r"\d\.\d{3}", text):
        return float(re.sub(r"[,.]", "", text))
    return float(text.replace(",", "."))


def parse_gold_value(analyte: str, value: str) -> Tuple_ | str:
    """A Value annotation as a tuple, or the reason it cannot be scored."""
    text = " ".join(value.split())
    comparator = None
    body = text
    between = re.match(r"(?i)^(?:between|from)\s+(.*)$", text)
    if between:
        comparator, body = "between", between.group(1)
    else:
        for pattern, symbol in _GOLD_COMPARATORS:
            match = re.match(rf"(?i)^(?:{pattern})\s*", text)
            if match:
                comparator, body = symbol, text[match.end():]
                break
        for pattern, symbol in _GOLD_TRAILING:
            match = re.search(rf"(?i)\s*{pattern}", body)
            if comparator is None and match:
                comparator, body = symbol, body[:match.start()]
    if comparator is None and re.match(r"^\d[\d.,]*\s*\S{0,8}?\s*(?:-|–|to)\s*\d", text):
        comparator = "between"  # "8.0 - 10.5 %", "47 mmol/mol - 110 mmol/mol": a range states both limits
    if comparator is None:
        return "no comparator (bare '=' lost in encoding)" if text.startswith("=") else "no comparator"
    # thousands separated by comma, dot or space, except a flattened "10^9" ("1.5 109/l" is 1.5 x 10^9/L)
    numbers = re.findall(r"\d+(?:(?:[,.]|\s(?!10[369]\s*/))\d{3})+(?!\d)|\d+(?:[.,]\d+)?", body)
    if not numbers:
        return "no number"
    if re.search(r"(?i)ULN|UNL|upper (?:limit|normal|level|value)|normal upper|times (?:the )?normal|\dN\b", body):
        unit = "xULN"
        numbers = numbers[:1] if comparator != "between" else numbers[:2]
    elif re.search(r"(?i)LLN|lower limit", body):
        unit = "xLLN"
        numbers = numbers[:1]
    else:
        first_number = re.search(re.escape(numbers[0]), body)
        rest = body[first_number.end():] if first_number else ""
        if comparator == "between" or re.match(r"\s*(?:-|–|to|and)\s*\d", rest):
            comparator = "between"
            numbers = numbers[:2]
            rest = body[body.find(numbers[1]) + len(numbers[1]):] if len(numbers) == 2 else rest
        else:
            numbers = numbers[:1]
        unit = _gold_unit(rest)
        if unit is False:
            return f"unit not understood: {rest.strip()!r}"
    values = tuple(_number(n) for n in numbers)
    if comparator == "between" and len(values) != 2:
        return "range without two numbers"
    return Tuple_(analyte, comparator, values, unit)


def _gold_unit(rest: str) -> str | None | bool:
    rest = rest.strip().rstrip(".")
    if not rest:
        return None
    rest = rest.replace("⁄", "/")
    scientific = re.match(r"^(?:[x×X\*]\s*)?10\s*\^?\s*(\d{1,2})\s*(/.*)$", rest)
    if scientific:
        rest = f"10^{scientific.group(1)}{scientific.group(2)}"
    # spellings a reader of the Value text would normalise before looking the unit up
    rest = re.sub(r"(?i)\bper\s*cent\b|\bpercent\b", "%", rest)
    rest = re.sub(r"(?i)\s+per\s+|^per\s+", "/", rest)
    rest = re.sub(r"(?i)\bgms?\b", "g", rest)
    rest = re.sub(r"(?i)cubic\s*mm|\bcumm\b|\bmmc\b", "mm3", rest)
    rest = re.sub(r"(?i)\bcels\b|\belements\b", "cells", rest)
    rest = re.sub(r"(?i)/mn\b", "/min", rest)
    rest = re.sub(r"(\d),(\d)", r"\1.\2", rest).rstrip(")")
    rest = re.sub(r"\s*/\s*", "/", rest)
    for candidate in (rest, rest.replace(" ", ""), rest.split(" ")[0]):
        try:
            return labs.parse_unit(candidate)
        except Exception:  # noqa: BLE001 - any parse failure means "not a unit"
            continue
    return False


def _unit_of_rule(rule) -> str | None:
    if rule.multiple_of:
        return f"x{rule.multiple_of}"
    if rule.unit is None:
        return None
    try:
        return labs.parse_unit(rule.unit)
    except Exception:  # noqa: BLE001
        return rule.unit


def _same_unit(analyte: str, a: str | None, b: str | None) -> bool:
    if a == b:
        return True
    if a is None or b is None or a.startswith("x") != b.startswith("x") or a.startswith("xU") or a.startswith("xL"):
        return False
    try:
        return math.isclose(labs.convert(1.0, a, b, labs.analyte(analyte)), 1.0, rel_tol=1e-6)
    except Exception:  # noqa: BLE001 - inconvertible units are different units
        return False


def _matches(rule_tuple: Tuple_, gold: Tuple_) -> bool:
    return (rule_tuple.analyte == gold.analyte and rule_tuple.comparator == gold.comparator
            and len(rule_tuple.numbers) == len(gold.numbers)
            and all(math.isclose(x, y, rel_tol=1e-9) for x, y in zip(rule_tuple.numbers, gold.numbers))
            and _same_unit(gold.analyte, rule_tuple.unit, gold.unit))


def _rule_tuple(rule) -> Tuple_:
    numbers = (rule.low, rule.high) if rule.comparator.value == "between" else (rule.value,)
    return Tuple_(rule.analyte, rule.comparator.value, tuple(numbers), _unit_of_rule(rule))


def _brat_texts() -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], list[tuple[int, str]]]]:
    """The brat .txt of every file, and its Value entities that no Has_value relation links to a Measurement."""
    texts = {}
    unlinked: dict[tuple[str, str], list[tuple[int, str]]] = {}
    with zipfile.ZipFile(CHIA_DIR / "chia_without_scope.zip") as archive:
        for name in archive.namelist():
            match = re.search(r"(NCT\d+)_(inc|exc)\.(txt|ann)$", name)
            if not match:
                continue
            key = (match.group(1), "inclusion" if match.group(2) == "inc" else "exclusion")
            content = archive.read(name).decode("utf-8", errors="replace")
            if match.group(3) == "txt":
                texts[key] = content
                continue
            values, linked = {}, set()
            for line in content.splitlines():
                fields = line.split("\t")
                if len(fields) >= 3 and fields[1].startswith("Value "):
                    values[fields[0]] = (int(fields[1].split()[1]), fields[2])
                elif len(fields) >= 2 and fields[1].startswith("Has_value"):
                    linked.add(fields[1].split("Arg2:")[-1].strip())
            unlinked[key] = [value for tid, value in values.items() if tid not in linked]
    return texts, unlinked


def _same_threshold(p: Tuple_, value_text: str) -> bool:
    parsed = parse_gold_value(p.analyte, value_text)
    return isinstance(parsed, Tuple_) and _matches(p, parsed)


def evaluate(show_misses: bool = False) -> dict:
    texts, unlinked_values = _brat_texts()
    other_pairs: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    lines: dict[tuple[str, str, str], list[Tuple_]] = defaultdict(list)
    excluded: dict[str, int] = defaultdict(int)
    excluded_keys: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    lab_like = 0
    missing_line = 0
    with open(CHIA_DIR / "DERIVED_measurement_value_pairs.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            analyte = labs.find_analyte(row["measurement"])
            if analyte is None or not re.search(r"\d", row["value"]):
                other_pairs[(row["nct_id"], row["section"], row["criterion_line"])].append(
                    (row["measurement"], row["value"]))
                continue
            if str(getattr(getattr(analyte, "scale", None), "value", "quantitative")) != "quantitative":
                continue
            lab_like += 1
            key = (row["nct_id"], row["section"], row["criterion_line"])
            if row["criterion_line"] not in texts.get((row["nct_id"], row["section"]), ""):
                missing_line += 1
            gold = parse_gold_value(analyte.code, row["value"])
            if isinstance(gold, str):
                excluded[gold] += 1
                excluded_keys[key].append((analyte.code, row["value"]))
                lines.setdefault(key, [])
                continue
            if gold not in lines[key]:
                lines[key].append(gold)

    hits = gold_total = ignored = 0
    extracted_total = extracted_correct = strict_total = 0
    misses: list[str] = []
    false_alarms: list[str] = []
    not_judged: list[str] = []
    for (nct, section, line), golds in lines.items():
        rules = extract_rules(line)
        predicted = [_rule_tuple(rule) for rule in rules]
        annotated = {g.analyte for g in golds} | {a for a, _ in excluded_keys.get((nct, section, line), [])}
        for gold in golds:
            gold_total += 1
            if any(_matches(p, gold) for p in predicted):
                hits += 1
            else:
                misses.append(f"{nct} {gold}\n    got {[p for p in predicted if p.analyte == gold.analyte]}"
                              f"\n    line: {line[:300]}")
        for p in predicted:
            ignorable = any(code == p.analyte and any(re.search(rf"(?<![\d.]){re.escape(_fmt(n))}(?![\d])",
                                                                 raw.replace(",", "")) for n in p.numbers)
                            for code, raw in excluded_keys.get((nct, section, line), []))
            # Chia annotated this number, but not as a lab-like pair: a Value left unlinked ("<5 X ULN" of
            # "(<5 X ULN if liver metastases are present)"), or linked to a Measurement that names this analyte
            # in words labs.find_analyte does not map ("random glucose"). The gold says nothing about the rule.
            full_text = texts.get((nct, section), "")
            line_start = full_text.find(line)
            ignorable = ignorable or any(
                line_start <= offset <= line_start + len(line) and _same_threshold(p, value)
                for offset, value in unlinked_values.get((nct, section), []))
            ignorable = ignorable or any(
                _same_threshold(p, value) and p.analyte in {m[2] for m in _mentions(measurement)}
                for measurement, value in other_pairs.get((nct, section, line), []))
            if ignorable:
                ignored += 1
                not_judged.append(f"{nct} {p}\n    line: {line[:300]}")
                continue
            strict_total += 1
            matched = any(_matches(p, gold) for gold in golds)
            if p.analyte in annotated:
                extracted_total += 1
                extracted_correct += matched
                if not matched:
                    false_alarms.append(f"{nct} {p}\n    gold {[g for g in golds if g.analyte == p.analyte]}"
                                        f"\n    line: {line[:300]}")
    strict_correct = extracted_correct
    precision = extracted_correct / extracted_total if extracted_total else 0.0
    recall = hits / gold_total if gold_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = {
        "lab_like_pairs": lab_like,
        "scored_gold": gold_total,
        "excluded_gold": dict(excluded),
        "lines": len(lines),
        "lines_not_in_brat_text": missing_line,
        "extracted": extracted_total,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "strict_precision": strict_correct / strict_total if strict_total else 0.0,
        "ignored_extracted": ignored,
        "misses": misses,
        "not_judged": not_judged,
        "false_alarms": false_alarms,
    }
    return result


def _mentions(text: str):
    from ingest.rules import _analyte_mentions, _grammar

    return _analyte_mentions(text, _grammar())


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print every miss and false alarm")
    args = parser.parse_args()
    result = evaluate()
    print(f"lab-like pairs: {result['lab_like_pairs']}  scored: {result['scored_gold']}  "
          f"excluded: {sum(result['excluded_gold'].values())} {result['excluded_gold']}")
    print(f"criteria lines: {result['lines']}  (not found in the brat text: {result['lines_not_in_brat_text']})")
    print(f"precision {result['precision']:.3f}  recall {result['recall']:.3f}  F1 {result['f1']:.3f}  "
          f"(strict precision over every extracted rule on those lines: {result['strict_precision']:.3f}; "
          f"extracted on annotated analytes: {result['extracted']}; not judged, annotated outside the lab-like "
          f"pairs: {result['ignored_extracted']})")
    misses, alarms = result["misses"], result["false_alarms"]
    print(f"misses: {len(misses)}  false alarms: {len(alarms)}")
    for title, items in (("MISSES", misses), ("FALSE ALARMS", alarms), ("NOT JUDGED", result["not_judged"])):
        shown = items if args.misses else items[:15]
        if shown:
            print(f"--- {title} ({len(items)}{'' if args.misses else ', first 15; --misses for all'})")
            for item in shown:
                print(item)


if __name__ == "__main__":
    main()
