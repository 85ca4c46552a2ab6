"""Batch screening against known answers: the seeded synthetic CSV (eval/tools/make_screening_csv.py).

Two readings of TG-ONC-001 (both versions, each lab judged against the version in force on its date):
- mode "gold": the criteria of the parsed protocol with their rules taken from eval/gold/demo_thresholds.csv. This
  isolates batch screening + the exact engine from rule extraction; the agreement must be 100 %.
- mode "parsed": the rules as ingest extracted them (end to end); disagreements point at extraction.

compare(mode="gold") -> dict(pairs, agree, agreement, missed_violations, confusion, disagreements[...], ...);
run(fast) -> eval.result.SuiteResult for the eval harness (metrics agreement, missed_violations[, end_to_end_agreement]).
"""

from __future__ import annotations

import csv
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from eval.tools.make_screening_csv import GOLD, MANIFEST, PROTOCOL, generate
from ingest.models import Comparator, LabRule, Protocol


THRESHOLD_END = re.compile(r"(?:[<>≤≥]|below|above)\s*\d+(?:\.\d+)?(?:\s*×\s*(?:ULN|LLN))?")


def load_versions(mode: str = "gold") -> list[Protocol]:
    from ingest import parse_protocol
    from retrieval.manifest import read_manifest

    versions = [parse_protocol(e.file, protocol_id=e.protocol_id, version=e.version, effective_date=e.effective_date)
                for e in read_manifest(MANIFEST) if e.protocol_id == PROTOCOL]
    return [with_gold_rules(p) for p in versions] if mode == "gold" else versions


def with_gold_rules(protocol: Protocol) -> Protocol:
    """The protocol with each gold-listed criterion's rules replaced by the gold rows (quotes kept verbatim)."""
    gold: dict[tuple[str, str], list[dict[str, str]]] = {}
    with GOLD.open(encoding="utf-8") as handle:
        for rec in csv.DictReader(handle):
            if rec["protocol_id"] == protocol.protocol_id and rec["version"] == protocol.version:
                gold.setdefault((rec["kind"], rec["label"]), []).append(rec)
    criteria = []
    for criterion in protocol.criteria:
        rows = gold.get((criterion.kind.value, criterion.label))
        if rows is None:
            criteria.append(criterion)
            continue
        rules = []
        for rec in rows:
            quote = rec["threshold_text"]
            # the gold text may run on into the next rule ("... together with total bilirubin"): end the quote at
            # its own limit, so the words joining two rules stay between their quotes, as in the protocol
            limit = THRESHOLD_END.search(quote or "")
            if limit:
                quote = quote[: limit.end()]
            start = criterion.text.find(quote) if quote else -1
            if start < 0:
                quote, start = criterion.text, 0
            num = lambda t: float(t) if t else None  # noqa: E731
            rules.append(LabRule(
                analyte=rec["analyte"], comparator=Comparator(rec["comparator"]), value=num(rec["value"]),
                low=num(rec["low"]), high=num(rec["high"]), unit=rec["unit"] or None,
                multiple_of=rec["multiple_of"] or None, condition=rec["condition"] or None,
                condition_type=rec["condition_type"] or None, sex=rec["sex"] or None,
                window_days=int(rec["window_days"]) if rec["window_days"] else None,
                window_anchor=rec["window_anchor"] or None, quote=quote, start=start, end=start + len(quote),
            ))
        criteria.append(criterion.model_copy(update={"rules": rules}))
    return protocol.model_copy(update={"criteria": criteria})


def compare(mode: str = "gold", patients: int = 600, seed: int = 7, out_dir: Path | None = None) -> dict:
    """Generate, screen and compare; the details as a dict (see module docstring)."""
    from ingest.patients import read_lab_file
    from reasoning.batch import screen

    with tempfile.TemporaryDirectory() as tmp:
        labs_path, key_path = generate(Path(out_dir or tmp), patients, seed)
        versions = load_versions(mode)
        started = time.perf_counter()
        lab_file = read_lab_file(labs_path)
        result = screen(lab_file, versions, visits="all")
        seconds = time.perf_counter() - started
        with key_path.open(encoding="utf-8") as handle:
            expected = list(csv.DictReader(handle))
    label_of = {c.id: (p.version, c.kind.value, c.label) for p in versions for c in p.criteria}
    got = {(pid, *label_of[cid]): verdict for pid, _version, cid, verdict in result.pair_verdicts}
    disagreements, confusion = [], {}
    for row in expected:
        key = (row["patient_id"], row["version"], row["kind"], row["label"])
        verdict = got.get(key, "NOT JUDGED")
        confusion.setdefault(row["expected"], {}).setdefault(verdict, 0)
        confusion[row["expected"]][verdict] += 1
        if verdict != row["expected"]:
            disagreements.append({"patient_id": key[0], "version": key[1], "criterion": f"{key[2]} {key[3]}",
                                  "expected": row["expected"], "got": verdict})
    pairs = len(expected)
    return {
        "mode": mode, "patients": patients, "seed": seed, "pairs": pairs, "agree": pairs - len(disagreements),
        "agreement": (pairs - len(disagreements)) / pairs if pairs else 0.0,
        "missed_violations": sum(1 for d in disagreements if d["expected"] == "VIOLATES"),
        "expected_verdicts": dict(Counter(r["expected"] for r in expected)), "confusion": confusion,
        "rows_in": result.rows_in, "rows_judged": result.rows_judged, "errors": len(result.errors),
        "out_of_scope": result.out_of_scope, "seconds": round(seconds, 3),
        "disagreement_kinds": dict(Counter(f"{d['criterion']} v{d['version']}: expected {d['expected']}, got {d['got']}"
                                           for d in disagreements)),
        "disagreements": disagreements[:25],
    }


def run(fast: bool = False):
    """The eval-harness suite: agreement with the answer key (gold rules; must be 1.0) and, unless fast, the
    end-to-end agreement with the rules as ingest parsed them (reported, no floor)."""
    from eval.result import SuiteResult

    details = compare("gold", patients=500 if fast else 600)
    metrics = {"agreement": details["agreement"], "missed_violations": float(details["missed_violations"])}
    misses = [f"{d['patient_id']} v{d['version']} {d['criterion']}: expected {d['expected']}, got {d['got']}"
              for d in details["disagreements"]]
    if not fast:
        parsed = compare("parsed", patients=600)
        metrics["end_to_end_agreement"] = parsed["agreement"]
        misses += [f"(parsed rules) {kind}: {n}" for kind, n in parsed["disagreement_kinds"].items()]
    return SuiteResult(
        suite="screening", metrics=metrics,
        counts={"patients": details["patients"], "pairs": details["pairs"], "rows": details["rows_in"],
                "rows_judged": details["rows_judged"]},
        misses=misses, confusion=details["confusion"],
    )


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(compare(sys.argv[1] if len(sys.argv) > 1 else "gold"), indent=1))
