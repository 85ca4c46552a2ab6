"""A seeded synthetic lab CSV around every lab threshold of TG-ONC-001, with the answer key computed independently.

Usage: python -m eval.tools.make_screening_csv --out DIR [--patients 600] [--seed 7]
Writes DIR/screening_labs.csv (plain CSV: patient_id, test, value, unit, uln, lln, date, visit, age, sex,
weight_kg, reference_start) and DIR/screening_expected.csv (patient_id, version, kind, label, expected).

The answer key uses only eval/gold/demo_thresholds.csv, plain arithmetic and this module's own conversion factors;
it never calls labs/ or reasoning/. How it decides:
- the version in force on a lab's date is the latest effective date <= that date (from protocols/manifest.yaml);
- screening labs are dated 7 days before reference start (inside every 14-day window); on-study labs 30 days after;
- inclusion: every requirement must hold; exclusion and discontinuation: any rule holding excludes; rules whose
  condition (Gilbert's syndrome, liver metastases, ...) is unknown are evaluated both ways, and a criterion whose
  verdict differs between the branches is INDETERMINATE (the CSV carries no condition, so it is always unknown);
- CrCl is Cockcroft-Gault from the creatinine row, age, weight and sex, rounded to 1 decimal;
- values sit below, exactly at, and above each limit. Exact-boundary values are written only in the limit's unit or
  a unit an exact power of ten away; values written in a unit with a non-decimal factor (umol/L, mmol/L) stay >= 2 %
  from the limit, so rounding a conversion cannot change the answer.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import random
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GOLD = ROOT / "eval" / "gold" / "demo_thresholds.csv"
MANIFEST = ROOT / "protocols" / "manifest.yaml"
PROTOCOL = "TG-ONC-001"

# (unit written, factor: value in written unit = value in gold unit × factor, exact?) per analyte, gold unit first.
UNITS: dict[str, list[tuple[str, float, bool]]] = {
    "NEUT": [("10^9/L", 1, True), ("10^3/uL", 1, True), ("cells/uL", 1000, True), ("GI/L", 1, True)],
    "PLAT": [("10^9/L", 1, True), ("10^3/uL", 1, True), ("cells/uL", 1000, True), ("GI/L", 1, True)],
    "HGB": [("g/dL", 1, True), ("g/L", 10, True), ("mmol/L", 0.6206, False)],
    "CREAT": [("mg/dL", 1, True), ("umol/L", 88.4, False)],
    "QTCF": [("ms", 1, True)],
    "LVEF": [("%", 1, True)],
}
# Analytes judged as multiples of the lab's ULN: (unit, ULN in that unit) choices; the ratio needs no conversion.
ULN_UNITS: dict[str, list[tuple[str, float]]] = {
    "ALT": [("U/L", 40.0), ("ukat/L", 0.68)],
    "AST": [("U/L", 35.0), ("ukat/L", 0.6)],
    "BILI": [("mg/dL", 1.2), ("umol/L", 21.0)],
}
# Criteria whose rules the text joins other than the kind's natural way, read from the protocol text:
# v2.0 discontinuation 2 = "ALT or AST > 3 × ULN together with total bilirubin > 2 × ULN".
GROUPS = {("2.0", "discontinuation", "2"): [["ALT", "AST"], ["BILI"]]}
# Screening gets the inclusion/exclusion analytes; on-study labs the discontinuation analytes.
FACTORS_EXACT = [0.5, 0.9, 1.0, 1.0, 1.1, 2.0]
FACTORS_FAR = [0.5, 0.8, 0.97, 1.03, 1.25, 2.0]


@dataclass(frozen=True)
class Rule:
    version: str
    kind: str
    label: str
    analyte: str
    comparator: str
    value: float | None
    low: float | None
    high: float | None
    unit: str
    multiple_of: str
    condition: str
    condition_type: str


def load_rules() -> list[Rule]:
    rules = []
    with GOLD.open(encoding="utf-8") as handle:
        for rec in csv.DictReader(handle):
            if rec["protocol_id"] != PROTOCOL or rec["kind"] not in ("inclusion", "exclusion", "discontinuation"):
                continue
            num = lambda t: float(t) if t else None  # noqa: E731
            rules.append(Rule(rec["version"], rec["kind"], rec["label"], rec["analyte"], rec["comparator"],
                              num(rec["value"]), num(rec["low"]), num(rec["high"]), rec["unit"], rec["multiple_of"],
                              rec["condition"], rec["condition_type"]))
    return rules


def effective_dates() -> list[tuple[dt.date, str]]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    dates = [(dt.date.fromisoformat(str(p["effective_date"])), str(p["version"]))
             for p in data["protocols"] if p["protocol_id"] == PROTOCOL]
    return sorted(dates)


def version_on(day: dt.date, dates: list[tuple[dt.date, str]]) -> str | None:
    valid = [v for d, v in dates if d <= day]
    return valid[-1] if valid else None


def holds(x: float, rule: Rule, limit_scale: float = 1.0) -> bool:
    if rule.comparator == "between":
        return rule.low * limit_scale <= x <= rule.high * limit_scale
    limit = rule.value * limit_scale
    return {"<": x < limit, "<=": x <= limit, ">": x > limit, ">=": x >= limit}[rule.comparator]


def cockcroft_gault(age: float, weight: float, sex: str, creat_mg_dl: float) -> float:
    value = (140 - age) * weight / (72 * creat_mg_dl) * (0.85 if sex == "F" else 1.0)
    return round(value, 1)


def expected_verdict(rules: list[Rule], kind: str, values: dict[str, float], key: tuple[str, str, str]) -> str | None:
    """values: analyte -> value in gold unit (ULN analytes: multiple of ULN). None: no rule has a value."""
    judged = [r for r in rules if r.analyte in values]
    if not judged:
        return None
    conditions = sorted({r.condition for r in judged if r.condition})
    outcomes = set()
    for combo in itertools.product([True, False], repeat=len(conditions)):
        present = dict(zip(conditions, combo))
        applicable = [r for r in judged if not r.condition
                      or (present[r.condition] if r.condition_type != "unless" else not present[r.condition])]
        states = {id(r): holds(values[r.analyte], r) for r in applicable}
        groups = GROUPS.get(key)
        if kind == "inclusion":
            condition_holds = all(states.values())  # every requirement met
            violates = not condition_holds
        elif groups:
            violates = bool(applicable) and all(
                any(states[id(r)] for r in applicable if r.analyte in group) for group in groups)
        else:
            violates = any(states.values())
        outcomes.add("VIOLATES" if violates else ("MEETS" if applicable or kind != "inclusion" else "MEETS"))
    return outcomes.pop() if len(outcomes) == 1 else "INDETERMINATE"


def _fmt(x: float) -> str:
    return f"{float(f'{x:.10g}'):.6g}" if abs(x) < 1e6 else f"{x:.0f}"


def generate(out_dir: Path, patients: int = 600, seed: int = 7) -> tuple[Path, Path]:
    rng = random.Random(seed)
    rules = load_rules()
    dates = effective_dates()
    by_criterion: dict[tuple[str, str, str], list[Rule]] = {}
    for r in rules:
        by_criterion.setdefault((r.version, r.kind, r.label), []).append(r)
    out_dir.mkdir(parents=True, exist_ok=True)
    labs_path, key_path = out_dir / "screening_labs.csv", out_dir / "screening_expected.csv"
    lab_rows: list[dict[str, object]] = []
    expected_rows: list[dict[str, object]] = []
    first = dates[0][0]
    span = (dates[-1][0] - first).days + 200
    for n in range(1, patients + 1):
        pid = f"SYN-{n:04d}"
        age, weight, sex = rng.randint(25, 85), round(rng.uniform(45, 120), 1), rng.choice("MF")
        lab_day = first + dt.timedelta(days=rng.randint(1, span))
        start = lab_day + dt.timedelta(days=7)
        on_study_day = start + dt.timedelta(days=30)
        base = {"age": age, "sex": sex, "weight_kg": weight, "reference_start": start.isoformat()}
        for phase, day, kinds in (("SCREENING", lab_day, ("inclusion", "exclusion")),
                                  ("CYCLE 2", on_study_day, ("discontinuation",))):
            version = version_on(day, dates)
            phase_rules = [r for r in rules if r.version == version and r.kind in kinds]
            gold_values: dict[str, float] = {}
            for analyte in sorted({r.analyte for r in phase_rules}):
                targets = [r for r in phase_rules if r.analyte == analyte]
                target = rng.choice(targets)
                limit = target.value if target.comparator != "between" else rng.choice([target.low, target.high])
                if analyte in ("CRCL", "CREAT"):
                    if "CREAT" in gold_values:  # one creatinine row serves CrCl and the creatinine exclusion
                        continue
                    crcl_limit = next((r.value for r in phase_rules if r.analyte == "CRCL"), None)
                    creat_limit = next((r.value for r in phase_rules if r.analyte == "CREAT"), None)
                    aim_crcl = crcl_limit is not None and (creat_limit is None or rng.random() < 0.6)
                    for attempt in range(50):
                        aim_crcl = aim_crcl or (attempt > 0 and crcl_limit is not None)
                        if aim_crcl:
                            crcl_target = crcl_limit * rng.choice([0.6, 0.9, 0.95, 1.05, 1.1, 1.6])
                            creat = (140 - age) * weight * (0.85 if sex == "F" else 1.0) / (72 * crcl_target)
                            creat = max(0.3, round(creat, 2))
                        else:
                            creat = float(f"{creat_limit * rng.choice(FACTORS_EXACT):.10g}")
                        unit, f, exact = rng.choice(UNITS["CREAT"])
                        if not exact and not aim_crcl and abs(creat - creat_limit) < 0.02 * creat_limit:
                            unit, f = "mg/dL", 1
                        written = round(creat * f, 1) if f != 1 else creat
                        creat_mg = written / f
                        crcl = cockcroft_gault(age, weight, sex, creat_mg)
                        if crcl_limit is None or abs((140 - age) * weight / (72 * creat_mg)
                                                     * (0.85 if sex == "F" else 1.0) - crcl_limit) >= 0.6:
                            break
                        # CrCl too close to its limit for rounding: aim another creatinine at CrCl instead
                    gold_values["CREAT"] = creat_mg
                    if crcl_limit is not None:
                        gold_values["CRCL"] = crcl
                    lab_rows.append({"patient_id": pid, "test": "creatinine", "value": _fmt(written), "unit": unit,
                                     "date": day.isoformat(), "visit": phase, **base})
                    continue
                if analyte in ULN_UNITS:
                    unit, uln = rng.choice(ULN_UNITS[analyte])
                    factor = rng.choice(FACTORS_EXACT)
                    multiple = limit * factor
                    written = float(f"{multiple * uln:.10g}")
                    gold_values[analyte] = float(f"{written / uln:.12g}") if factor != 1.0 else multiple
                    lab_rows.append({"patient_id": pid, "test": analyte, "value": _fmt(written), "unit": unit,
                                     "uln": _fmt(uln), "date": day.isoformat(), "visit": phase, **base})
                    continue
                unit, f, exact = rng.choice(UNITS.get(analyte, [(target.unit, 1, True)]))
                factor = rng.choice(FACTORS_EXACT if exact else FACTORS_FAR)
                gold_value = float(f"{limit * factor:.10g}")
                written = float(f"{gold_value * f:.6g}")
                gold_values[analyte] = gold_value if exact else written / f
                lab_rows.append({"patient_id": pid, "test": analyte, "value": _fmt(written), "unit": unit,
                                 "date": day.isoformat(), "visit": phase, **base})
            for (version_key, kind, label), criterion_rules in by_criterion.items():
                if version_key != version or kind not in kinds:
                    continue
                verdict = expected_verdict(criterion_rules, kind, gold_values, (version_key, kind, label))
                if verdict is not None:
                    expected_rows.append({"patient_id": pid, "version": version, "kind": kind, "label": label,
                                          "expected": verdict})
    columns = ["patient_id", "test", "value", "unit", "uln", "lln", "date", "visit", "age", "sex", "weight_kg",
               "reference_start"]
    with labs_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for row in lab_rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    with key_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["patient_id", "version", "kind", "label", "expected"])
        writer.writeheader()
        writer.writerows(expected_rows)
    return labs_path, key_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--patients", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    labs_path, key_path = generate(args.out, args.patients, args.seed)
    print(f"wrote {labs_path} and {key_path}")


if __name__ == "__main__":
    main()
