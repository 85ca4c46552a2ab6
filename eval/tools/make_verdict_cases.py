"""Generate the seeded part of eval/gold/verdict_cases.yaml: observation × criterion cases with expected verdicts.

The expected verdict of every case is computed HERE, with plain arithmetic that shares no code with the engine
(reasoning/evaluate.py) or labs/: the threshold, the comparison, the ULN multiple, Cockcroft-Gault and CKD-EPI
2021 are written out below. Where a unit conversion is inexact (molar ↔ mass units), values are drawn at least
5 % away from the limit, so that no rounding convention can change the answer; exact families (10^9/L ↔
10^3/uL ↔ /mm3, g/dL ↔ g/L, mmol/L ↔ mEq/L, ms ↔ msec) also get exact-boundary cases.

Rules come from eval/gold/demo_thresholds.csv (every lab threshold of the demo protocols, read by hand) and a
short list of thresholds of the real protocols in ../shared/data (referenced by id, version and label; the rule
is restated in our own words, the sponsor's text is not copied).

    .venv/bin/python eval/tools/make_verdict_cases.py            # rewrites the generated block of the YAML
"""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
THRESHOLDS = ROOT / "eval" / "gold" / "demo_thresholds.csv"
OUT = ROOT / "eval" / "gold" / "verdict_cases.yaml"
HAND = ROOT / "eval" / "gold" / "verdict_cases_hand.yaml"
SEED = 20261127

SYMBOL = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}
NAMES = {"NEUT": "ANC", "PLAT": "Platelet count", "HGB": "Hemoglobin", "BILI": "Total bilirubin", "ALT": "ALT",
         "AST": "AST", "CRCL": "Creatinine clearance", "CREAT": "Serum creatinine", "QTCF": "QTcF",
         "LVEF": "LVEF", "HBA1C": "HbA1c", "EGFR": "eGFR", "GLUC": "Fasting glucose", "TRIG": "Triglycerides",
         "K": "Potassium", "HBVDNA": "HBV DNA", "INR": "INR", "ALB": "Serum albumin", "TSH": "TSH", "HCG": "hCG"}
# other spellings of a unit and the EXACT factor from the rule's unit (value_in_other = value × factor)
EXACT_UNITS = {
    "10^9/L": [("10^3/uL", Decimal(1)), ("/mm3", Decimal(1000)), ("x10^9/L", Decimal(1)), ("cells/uL", Decimal(1000))],
    "g/dL": [("g/L", Decimal(10))],
    "mmol/L": [("mEq/L", Decimal(1))],
    "ms": [("msec", Decimal(1))],
}
# inexact conversions (textbook factors, not the engine's): value_in_other = f(value)
INEXACT_UNITS = {
    ("CREAT", "mg/dL"): ("umol/L", lambda v: v * 88.42),
    ("BILI", "mg/dL"): ("umol/L", lambda v: v * 17.1),
    ("GLUC", "mg/dL"): ("mmol/L", lambda v: v / 18.016),
    ("TRIG", "mg/dL"): ("mmol/L", lambda v: v * 0.01129),
    ("HBA1C", "%"): ("mmol/mol", lambda v: (v - 2.15) * 10.929),
}
TYPICAL_ULN = {"ALT": ("40", "U/L"), "AST": ("35", "U/L"), "BILI": ("1.2", "mg/dL"), "CREAT": ("1.1", "mg/dL"),
               "TSH": ("4.2", "mIU/L")}
TYPICAL_LLN = {"TSH": ("0.4", "mIU/L")}

# thresholds of real protocols in ../shared/data (our own restatement; referenced by id/version/label)
REAL = [
    dict(protocol_id="NCT02511106", version="6.0", kind="exclusion", label="10•1", analyte="NEUT", comparator="<",
         value="1.5", unit="10^9/L"),
    dict(protocol_id="NCT02511106", version="6.0", kind="exclusion", label="10•2", analyte="PLAT", comparator="<",
         value="100", unit="10^9/L"),
    dict(protocol_id="NCT02511106", version="6.0", kind="exclusion", label="10•3", analyte="HGB", comparator="<",
         value="90", unit="g/L"),
    dict(protocol_id="NCT02511106", version="6.0", kind="exclusion", label="10•4", analyte="ALT", comparator=">",
         value="2.5", multiple_of="ULN"),
    dict(protocol_id="NCT02511106", version="6.0", kind="exclusion", label="10•5", analyte="AST", comparator=">",
         value="2.5", multiple_of="ULN"),
    dict(protocol_id="NCT02511106", version="6.0", kind="exclusion", label="8•1", analyte="QTCF", comparator=">",
         value="470", unit="ms"),
    dict(protocol_id="NCT02511106", version="6.0", kind="exclusion", label="10•7", analyte="CRCL", comparator="<",
         value="50", unit="mL/min"),
    dict(protocol_id="NCT02151981", version="5", kind="exclusion", label="8•7", analyte="CREAT", comparator=">",
         value="1.5", multiple_of="ULN"),
    dict(protocol_id="NCT03861052", version="a", kind="exclusion", label="18", analyte="EGFR", comparator="<",
         value="30", unit="mL/min/1.73m2"),
]


# ------------------------------------------------------------------------------------------------ plain arithmetic
def holds(x: Decimal, comparator: str, value: Decimal | None, low: Decimal | None = None, high: Decimal | None = None) -> bool:
    if comparator == "between":
        return low <= x <= high
    return {"<": x < value, "<=": x <= value, ">": x > value, ">=": x >= value}[comparator]


def verdict(kind: str, threshold_holds: bool) -> str:
    if kind == "inclusion":
        return "MEETS" if threshold_holds else "VIOLATES"
    if kind == "dose_modification" and threshold_holds:
        return "NEEDS_REVIEW"  # an action is due; whether it was taken is not in the lab data
    return "VIOLATES" if threshold_holds else "MEETS"


def cockcroft_gault(age: float, weight: float, female: bool, scr_mg_dl: float) -> float:
    return (140 - age) * weight / (72 * scr_mg_dl) * (0.85 if female else 1.0)


def ckd_epi_2021(scr_mg_dl: float, age: float, female: bool) -> float:
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = scr_mg_dl / kappa
    return 142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.200 * 0.9938**age * (1.012 if female else 1.0)


def dtext(x: Decimal) -> str:
    return format(x.normalize(), "f")


def num(x: Decimal | float) -> float:
    return float(dtext(Decimal(str(x))))


def rnd(x: float, places: int = 2) -> Decimal:
    return Decimal(str(round(x, places))).normalize()


# ------------------------------------------------------------------------------------------------ rules
def rule_of(row: dict) -> dict:
    rule = {"analyte": row["analyte"], "comparator": row["comparator"]}
    for key in ("value", "low", "high"):
        if row.get(key) not in (None, ""):
            rule[key] = num(Decimal(row[key]))
    if row.get("unit"):
        rule["unit"] = row["unit"]
    if row.get("multiple_of"):
        rule["multiple_of"] = row["multiple_of"]
    for key in ("condition", "condition_type", "sex"):
        if row.get(key):
            rule[key] = row[key]
    rule["quote"] = quote_of(rule)
    return rule


def quote_of(rule: dict) -> str:
    name = NAMES.get(rule["analyte"], rule["analyte"])
    if rule["comparator"] == "between":
        limit = f"{dtext(Decimal(str(rule['low'])))} to {dtext(Decimal(str(rule['high'])))}"
    else:
        limit = f"{SYMBOL[rule['comparator']]} {dtext(Decimal(str(rule['value'])))}"
    unit = f" × {rule['multiple_of']}" if rule.get("multiple_of") else (f" {rule['unit']}" if rule.get("unit") else "")
    text = f"{name} {limit}{unit}"
    if rule.get("sex"):
        text += " (men)" if rule["sex"] == "M" else " (women)"
    if rule.get("condition"):
        text += f" ({rule['condition_type'] or 'if'} {rule['condition']})"
    return text


def base_case(row: dict, rules: list[dict], family: str, note: str) -> dict:
    return {
        "id": "",
        "source": "generated",
        "family": family,
        "protocol_id": row["protocol_id"],
        "version": str(row["version"]),
        "label": row["label"],
        "kind": row["kind"],
        "rules": rules,
        "why": note,
    }


def sides(rule: dict) -> list[tuple[str, Decimal]]:
    """(name, value in the rule's unit): a value where the threshold holds, one where it fails, the boundary."""
    c = rule["comparator"]
    if c == "between":
        low, high = Decimal(str(rule["low"])), Decimal(str(rule["high"]))
        return [("middle", (low + high) / 2), ("below", rnd(float(low) * 0.9)), ("above", rnd(float(high) * 1.1)),
                ("low boundary", low), ("high boundary", high)]
    v = Decimal(str(rule["value"]))
    up = c in (">", ">=")
    far_hold = rnd(float(v) * (1.25 if up else 0.75))
    far_fail = rnd(float(v) * (0.75 if up else 1.25))
    step = Decimal(1).scaleb(min(v.normalize().as_tuple().exponent, -1))
    return [("holds", far_hold), ("fails", far_fail), ("boundary", v),
            ("just past", v + step if c in ("<", "<=") else v - step)]


def expected_for(rule: dict, kind: str, x: Decimal) -> str:
    v = Decimal(str(rule["value"])) if rule.get("value") is not None else None
    lo = Decimal(str(rule["low"])) if rule.get("low") is not None else None
    hi = Decimal(str(rule["high"])) if rule.get("high") is not None else None
    return verdict(kind, holds(x, rule["comparator"], v, lo, hi))


def applies(rule: dict, conditions: dict[str, bool], sex: str | None) -> bool | None:
    if rule.get("sex") and sex and rule["sex"] != sex:
        return False
    if rule.get("condition"):
        present = conditions.get(rule["condition"])
        if present is None:
            return None
        return present if rule.get("condition_type") != "unless" else not present
    return True


# ------------------------------------------------------------------------------------------------ generation
def absolute_cases(row: dict, rng: random.Random) -> list[dict]:
    rule = rule_of(row)
    out = []
    demo = {"sex": rule["sex"]} if rule.get("sex") else {}
    if rule.get("condition"):
        demo["conditions"] = {rule["condition"]: rule.get("condition_type") != "unless"}
    for name, x in sides(rule):
        case = base_case(row, [rule], "absolute", f"{dtext(x)} {rule.get('unit', '')} {name}")
        case["observations"] = [{"analyte": rule["analyte"], "value": num(x), "unit": rule.get("unit")}]
        case["demographics"] = demo
        case["expected"] = expected_for(rule, row["kind"], x)
        out.append(case)
        # the same value in another spelling of the unit (exact factor: boundaries stay boundaries)
        for other, factor in EXACT_UNITS.get(rule.get("unit", ""), [])[:2] if name != "just past" else []:
            case = base_case(row, [rule], "unit-exact", f"{dtext(x)} {rule['unit']} = {dtext(x * factor)} {other}")
            case["observations"] = [{"analyte": rule["analyte"], "value": num(x * factor), "unit": other}]
            case["demographics"] = demo
            case["expected"] = expected_for(rule, row["kind"], x)
            out.append(case)
        key = (rule["analyte"], rule.get("unit"))
        if key in INEXACT_UNITS and name in ("holds", "fails", "middle", "below", "above"):
            other, fn = INEXACT_UNITS[key]
            converted = rnd(fn(float(x)), 1)
            case = base_case(row, [rule], "unit-molar", f"{dtext(x)} {rule['unit']} ≈ {dtext(converted)} {other} (≥5 % from the limit)")
            case["observations"] = [{"analyte": rule["analyte"], "value": num(converted), "unit": other}]
            case["demographics"] = demo
            case["expected"] = expected_for(rule, row["kind"], x)
            out.append(case)
    if rule.get("unit"):
        case = base_case(row, [rule], "missing", "value without a unit: never assumed")
        case["observations"] = [{"analyte": rule["analyte"], "value": num(sides(rule)[0][1]), "unit": None}]
        case["demographics"] = demo
        case["expected"] = "INDETERMINATE"
        out.append(case)
    return out


def multiple_cases(row: dict, rng: random.Random) -> list[dict]:
    rule = rule_of(row)
    which = rule["multiple_of"]
    limit_text, unit = (TYPICAL_ULN if which == "ULN" else TYPICAL_LLN).get(rule["analyte"], ("50", "U/L"))
    ref = Decimal(limit_text)
    k = Decimal(str(rule["value"]))
    up = rule["comparator"] in (">", ">=")
    out = []
    cond_states = [None]
    if rule.get("condition"):
        cond_states = [True, False, None]
    for present in cond_states:
        conditions = {} if present is None else {rule["condition"]: present}
        applicable = applies(rule, conditions, None)
        for name, x in [("boundary", k * ref), ("inside", rnd(float(k * ref) * (1.15 if up else 0.85), 1)),
                        ("outside", rnd(float(k * ref) * (0.85 if up else 1.15), 1))]:
            bound = {"uln" if which == "ULN" else "lln": num(ref)}
            case = base_case(row, [rule], "uln-multiple",
                             f"{dtext(x)} {unit} = {dtext(x / ref)} × {which} {dtext(ref)}; limit {rule['comparator']} {dtext(k)}")
            case["observations"] = [{"analyte": rule["analyte"], "value": num(x), "unit": unit, **bound}]
            case["demographics"] = {"conditions": conditions} if conditions else {}
            judged = verdict(row["kind"], holds(x, rule["comparator"], k * ref))
            if applicable is None:
                case["family"] = "condition-unknown"
                # the other branch is "rule does not apply": no violation there, so only a violation is in doubt
                case["expected"] = "MEETS" if judged == "MEETS" else "INDETERMINATE"
            elif applicable is False:
                case["family"] = "condition-known"
                case["expected"] = "NOT_APPLICABLE"
            else:
                case["family"] = "condition-known" if conditions else "uln-multiple"
                case["expected"] = judged
            out.append(case)
    if rule.get("condition"):
        return out
    # no ULN anywhere → indeterminate; the study lab manual's range by sex → judged with that ULN
    case = base_case(row, [rule], "uln-missing", f"no {which} given and no lab manual")
    case["observations"] = [{"analyte": rule["analyte"], "value": num(k * ref * 2), "unit": unit}]
    case["expected"] = "INDETERMINATE"
    out.append(case)
    female, male = ref, rnd(float(ref) * 1.25, 1)
    ranges = [{"analyte": rule["analyte"], which.lower(): num(female), "unit": unit, "sex": "F", "source": "lab manual"},
              {"analyte": rule["analyte"], which.lower(): num(male), "unit": unit, "sex": "M", "source": "lab manual"}]
    x = rnd(float(k * female) * (1.1 if up else 0.9), 1)  # past the limit for women, not necessarily for men
    for sex, ref_sex in (("F", female), ("M", male)):
        case = base_case(row, [rule], "uln-lab-manual", f"{which} {dtext(ref_sex)} from the lab manual for sex {sex}")
        case["observations"] = [{"analyte": rule["analyte"], "value": num(x), "unit": unit}]
        case["demographics"] = {"sex": sex}
        case["reference_ranges"] = ranges
        case["expected"] = verdict(row["kind"], holds(x, rule["comparator"], k * ref_sex))
        out.append(case)
    case = base_case(row, [rule], "uln-lab-manual", "lab manual ULN depends on sex, sex unknown")
    case["observations"] = [{"analyte": rule["analyte"], "value": num(x), "unit": unit}]
    case["reference_ranges"] = ranges
    same = verdict(row["kind"], holds(x, rule["comparator"], k * female)) == verdict(row["kind"], holds(x, rule["comparator"], k * male))
    case["expected"] = "INDETERMINATE" if not same else verdict(row["kind"], holds(x, rule["comparator"], k * female))
    if not same:  # the engine cannot pick a ULN without the sex
        out.append(case)
    return out


def derived_cases(row: dict, rng: random.Random) -> list[dict]:
    rule = rule_of(row)
    limit = float(rule["value"])
    out = []
    tries = 0
    while len(out) < 6 and tries < 500:
        tries += 1
        age = rng.randint(25, 85)
        weight = rng.randint(45, 110)
        female = rng.random() < 0.5
        scr = round(rng.uniform(0.5, 3.5), 2)
        if rule["analyte"] == "CRCL":
            value = cockcroft_gault(age, weight, female, scr)
        else:
            value = ckd_epi_2021(scr, age, female)
        if abs(value - limit) / limit < 0.05:
            continue
        in_umol = len(out) % 2 == 1
        obs = {"analyte": "CREAT", "value": round(scr * 88.42, 0) if in_umol else scr,
               "unit": "umol/L" if in_umol else "mg/dL"}
        if in_umol and abs((obs["value"] / 88.42 - scr) / scr) > 0.01:
            continue
        case = base_case(row, [rule], "derived", f"{rule['analyte']} = {value:.1f} from creatinine {scr} mg/dL, "
                                                   f"age {age}, {weight} kg, {'F' if female else 'M'}")
        case["observations"] = [obs]
        case["demographics"] = {"age_years": age, "weight_kg": weight, "sex": "F" if female else "M"}
        case["expected"] = verdict(row["kind"], holds(Decimal(str(value)), rule["comparator"], Decimal(str(limit))))
        out.append(case)
    # missing demographics → indeterminate, naming them
    case = base_case(row, [rule], "derived-missing", "age/weight/sex needed to derive the value")
    case["observations"] = [{"analyte": "CREAT", "value": 1.0, "unit": "mg/dL"}]
    case["demographics"] = {"age_years": 60}
    case["expected"] = "INDETERMINATE"
    out.append(case)
    return out


def sex_cases(rows: list[dict]) -> list[dict]:
    rules = [rule_of(r) for r in rows]
    row = rows[0]
    out = []
    by_sex = {r["sex"]: r for r in rules}
    for value in (Decimal("11.5"), Decimal("12"), Decimal("12.5"), Decimal("13"), Decimal("14")):
        for sex in ("F", "M", None):
            if sex:
                expected = expected_for(by_sex[sex], row["kind"], value)
            else:
                both = {expected_for(r, row["kind"], value) for r in rules}
                expected = both.pop() if len(both) == 1 else "INDETERMINATE"
            case = base_case(row, rules, "sex", f"Hb {value} g/dL, sex {sex or 'unknown'}")
            case["observations"] = [{"analyte": rules[0]["analyte"], "value": num(value), "unit": rules[0]["unit"]}]
            case["demographics"] = {"sex": sex} if sex else {}
            case["expected"] = expected
            out.append(case)
    return out


def anc_cases(row: dict) -> list[dict]:
    rule = rule_of(row)
    out = []
    for wbc, pct in (("3.75", "40"), ("3.7", "40"), ("5.0", "60"), ("2.0", "25")):
        anc = Decimal(wbc) * Decimal(pct) / 100
        case = base_case(row, [rule], "derived-anc", f"ANC = {wbc} × {pct} % = {dtext(anc)} 10^9/L")
        case["observations"] = [{"analyte": "WBC", "value": num(Decimal(wbc)), "unit": "10^9/L"},
                                {"analyte": "NEUTLE", "value": num(Decimal(pct)), "unit": "%"}]
        case["expected"] = expected_for(rule, row["kind"], anc)
        out.append(case)
    return out


def generate() -> list[dict]:
    rng = random.Random(SEED)
    with THRESHOLDS.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cases: list[dict] = []
    seen_rules: set[tuple] = set()
    sex_rows: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row["analyte"], row["comparator"], row["value"], row["low"], row["high"], row["unit"],
               row["multiple_of"], row["condition"], row["condition_type"], row["kind"])
        if row["sex"]:
            sex_rows.setdefault((row["protocol_id"], row["version"], row["label"], row["analyte"]), []).append(row)
            continue
        if key in seen_rules:  # the same threshold restated in another protocol or version: one set is enough
            continue
        seen_rules.add(key)
        if row["analyte"] in ("CRCL", "EGFR"):
            cases += derived_cases(row, rng)
        elif row["multiple_of"]:
            cases += multiple_cases(row, rng)
        else:
            cases += absolute_cases(row, rng)
        if row["analyte"] == "NEUT" and row["kind"] == "inclusion" and row["value"] == "1.5":
            cases += anc_cases(row)
    for group in sex_rows.values():
        if group[0]["analyte"] == "HGB":
            cases += sex_cases(group)
    for real in REAL:
        row = {**{k: "" for k in ("low", "high", "unit", "multiple_of", "condition", "condition_type", "sex")}, **real}
        if row["analyte"] in ("CRCL", "EGFR"):
            produced = derived_cases(row, rng)
        elif row["multiple_of"]:
            produced = multiple_cases(row, rng)
        else:
            produced = absolute_cases(row, rng)
        for case in produced:
            case["family"] = "real-" + case["family"]
        cases += produced
    for n, case in enumerate(cases, 1):
        case["id"] = f"gen-{n:04d}"
        for obs in case["observations"]:
            if obs.get("unit") is None:
                obs.pop("unit", None)
    return cases


class _NoAliases(yaml.SafeDumper):
    """Write every case out in full (no &id/*id anchors): each case reads on its own."""

    def ignore_aliases(self, data) -> bool:
        return True


def main() -> None:
    cases = generate()
    header = (
        "# Observation × criterion gold cases for the exact engine (eval/verdict_eval.py).\n"
        "# GENERATED by eval/tools/make_verdict_cases.py (seed %d) — expected verdicts by plain arithmetic,\n"
        "# independent of reasoning/ and labs/ — followed by the hand-written edge cases of\n"
        "# eval/gold/verdict_cases_hand.yaml. Each case references its criterion (protocol_id, version, label)\n"
        "# and carries the rule inline, so it runs without Qdrant or the parser.\n" % SEED
    )
    hand = yaml.safe_load(HAND.read_text(encoding="utf-8")) if HAND.exists() else []
    OUT.write_text(header + yaml.dump(cases + (hand or []), Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=120),
                   encoding="utf-8")
    print(f"wrote {OUT}: {len(cases)} generated + {len(hand or [])} hand-written cases")


if __name__ == "__main__":
    main()
