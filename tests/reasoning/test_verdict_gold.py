"""The gold observation × criterion cases: the exact engine must get every one right and miss no violation."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from eval.verdict_eval import GOLD, load_cases, run

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "eval" / "tools" / "make_verdict_cases.py"


def test_engine_gets_every_gold_case_and_misses_no_violation():
    result = run()
    assert result.counts["cases"] >= 200 and result.counts["violations_in_gold"] >= 50
    assert result.misses == [], result.misses[:5]
    assert result.metrics["accuracy"] == 1.0 and result.metrics["missed_violations"] == 0


def test_gold_covers_every_family_and_real_protocols():
    families = {c.family for c in load_cases()}
    for needed in ("unit-exact", "unit-molar", "uln-multiple", "uln-missing", "uln-lab-manual", "condition-known",
                   "condition-unknown", "derived", "derived-missing", "derived-anc", "missing", "sex", "window",
                   "connectors", "exactness"):
        assert needed in families, needed
    units = {o.unit for c in load_cases() for o in c.observations}
    assert {"10^3/uL", "/mm3", "10^9/L", "g/L", "umol/L", "mEq/L", "mmol/mol", "%"} <= units
    assert {"NCT02511106", "NCT02151981", "NCT03861052"} <= {c.protocol_id for c in load_cases()}


def test_generator_is_independent_of_the_engine_and_reproducible():
    tree = ast.parse(GENERATOR.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"reasoning", "labs", "ingest", "retrieval"}
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_verdict_cases", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stored = yaml.safe_load(GOLD.read_text(encoding="utf-8"))
    assert [c for c in stored if c["source"] == "generated"] == module.generate()


def test_demo_references_name_criteria_of_the_hand_read_threshold_table():
    import csv

    with (REPO / "eval" / "gold" / "demo_thresholds.csv").open(newline="", encoding="utf-8") as handle:
        known = {(r["protocol_id"], r["version"], r["kind"], r["label"]) for r in csv.DictReader(handle)}
    demo = {k[0] for k in known}
    for case in load_cases():
        if case.protocol_id in demo:
            assert (case.protocol_id, case.version, case.kind.value, case.label) in known, case.id
