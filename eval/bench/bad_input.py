"""Benchmark of bad input (issue #19): generated malformed lab files, questions and documents, and tamper attempts
on the audit store; it counts what each became.

Deterministic (seeded), so two runs on the same code give the same counts. An outcome is one of: read (the
input was used, every faulty part reported row by row), a clear error (a TrialGuardError naming the input), or a
crash (any other exception: a defect). For lab files it also counts rows written but not accounted for (judged +
errors + out of scope) and VIOLATES verdicts resting on an impossible value; for the audit store, tamper attempts
and how many `verify_chain` detected. The goal of each defect count is 0.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import shutil
import sqlite3
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NUMBERS = ["inf", "-inf", "Infinity", "NaN", "1e400", "-1e400", "-5", "0", "", "abc", "1,200", "=1+1", "<5",
           "5..2", "٣", "1e-400", "0x10", "  7 ", "65", "2.6", "150", "40"]
DATES = ["today", "now", "2024-03-02junk", "10/03/2024", "3024-01-01", "1600-01-01", "2024-02-30", "",
         "2024-13-01", "31/12/2023", "2023-06-01T10:00:00Z", "20240301", "2024-03-01"]
TESTS = ["ALT", "SGPT", "creatinine", "platelets", "", "???", '=HYPERLINK("x")', "INR"]
UNITS = ["U/L", "IU/L", "mg/dL", "umol/L", "10^9/L", "/uL", "", "furlongs", "mg/dl"]
QUESTIONS = ["ALT {v} U/L (ULN {u}) on {d}", "pt 7: SGPT {v} (ULN {u}) {d}", "creatinine: {v} mg/dL on {d}",
             "INR {v} on {d}", "platelets {v}/µl on {d}", "ALT {v} on {d} and AST {u} U/L"]
GOOD = {"value": ["65", "150", "2.6", "90", "1.8"], "uln": ["40", "1.2"], "lln": ["", "10"],
        "date": ["2024-03-01", "2023-11-20"], "unit": ["U/L", "mg/dL", "10^9/L"]}
COLUMNS = ["patient_id", "test", "value", "unit", "uln", "lln", "date"]
RULES = [("inclusion", "I1", "ALT ≤ 2.5 × ULN."), ("exclusion", "E1", "Serum creatinine > 2.0 mg/dL."),
         ("inclusion", "I2", "Platelet count ≥ 100 × 10^9/L.")]


def _protocol():
    from ingest.models import CriterionKind, Protocol
    from ingest.protocol import protocol_from_document
    from ingest.readers.models import ExtractedDocument, ExtractedPage

    text = "5.1 Inclusion Criteria\n" + "\n".join(f"{label}. {t}" for kind, label, t in RULES if kind == "inclusion")
    text += "\n5.2 Exclusion Criteria\n" + "\n".join(f"{label}. {t}" for kind, label, t in RULES if kind == "exclusion")
    document = ExtractedDocument(path="bench.txt", kind="text", pages=[ExtractedPage(number=1, text=text)],
                                 protocol_id="BENCH", version="1.0")
    protocol: Protocol = protocol_from_document(document, sha256="bench")
    assert any(c.kind is CriterionKind.INCLUSION for c in protocol.criteria)
    return protocol.model_copy(update={"effective_date": __import__("datetime").date(2000, 1, 1)})


def _impossible(finding) -> bool:
    for o in finding.observations:
        for name in ("value", "uln", "lln"):
            v = getattr(o, name, None)
            if v is not None and (not math.isfinite(float(v)) or float(v) < 0 or (name == "uln" and float(v) <= 0)):
                return True
        if o.date is not None and not 1900 <= o.date.year <= 2100:
            return True
    return False


def _lab_files(rng: random.Random, n: int, folder: Path):
    for i in range(n):
        def cell(kind: str, hostile: list[str]) -> str:  # mostly plausible values, so rows are judged too
            return rng.choice(GOOD[kind]) if rng.random() < 0.7 else rng.choice(hostile)

        rows = [[rng.choice(["P1", "P2", "=cmd", "", "\u2028x"]), rng.choice(TESTS), cell("value", NUMBERS),
                 cell("unit", UNITS), cell("uln", NUMBERS), cell("lln", NUMBERS), cell("date", DATES)]
                for _ in range(rng.randint(1, 10))]
        if i % 2:  # plain CSV, some lines mangled (extra field, missing fields, open quote)
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(COLUMNS)
            for j, row in enumerate(rows):
                if rng.random() < 0.2:
                    row = [row + ["extra"], row[:-2], row[:3] + ['"open' + row[3]] + row[4:]][j % 3]
                writer.writerow(row)
            path = folder / f"labs_{i}.csv"
            path.write_text(buffer.getvalue(), encoding="utf-8")
        else:  # FHIR Bundle, some elements of the wrong JSON shape
            entries = []
            for row in rows:
                resource = {"resourceType": "Observation", "status": "final",
                            "code": {"coding": [{"code": row[1], "display": row[1]}]} if rng.random() < 0.8 else [row[1]],
                            "subject": {"reference": f"Patient/{row[0]}"} if rng.random() < 0.8 else row[0],
                            "effectiveDateTime": row[6],
                            "valueQuantity": {"value": row[2], "unit": row[3]},
                            "referenceRange": [{"high": {"value": row[4], "unit": row[3]}}]
                            if rng.random() < 0.8 else ["x"]}
                entries.append({"resource": resource})
            path = folder / f"labs_{i}.json"
            path.write_text(json.dumps({"resourceType": "Bundle", "entry": entries}), encoding="utf-8")
        yield path, len(rows)


def _documents(rng: random.Random, folder: Path):
    demo = (REPO / "protocols" / "TG-ONC-001_v1.0.pdf").read_bytes()
    made = {
        "random.pdf": bytes(rng.randrange(256) for _ in range(4000)),
        "truncated.pdf": demo[: len(demo) // 2],
        "header_only.pdf": b"%PDF-1.7\n",
        "empty.txt": b"",
        "nuls.html": b"\x00" * 100,
        "utf16.txt": "5.1 Inclusion Criteria\n1. ALT \u2264 2.5 \u00d7 ULN.\n".encode("utf-16"),
        "cover_letter.txt": b"Dear Investigator,\nPlease find the agreement enclosed.\nKind regards\n",
        "shifted.txt": "".join(chr(ord(c) - 29) if c.isalpha() else c for c in "Protocol Inclusion Criteria "
                                * 40).encode("utf-8"),
        "binary.docx": bytes(rng.randrange(256) for _ in range(2000)),
        "bad.json": b'{"protocolSection": [1, 2',
    }
    for name, data in made.items():
        path = folder / name
        path.write_bytes(data)
        yield path


def _tamper_attempts(folder: Path) -> tuple[int, int]:
    from ui.audit import Action, AuditStore
    from ui.audit_chain import record_hash

    def fresh() -> Path:
        db = folder / f"audit_{len(list(folder.glob('audit_*.db')))}.db"
        store = AuditStore(f"sqlite:///{db}")
        from reasoning.models import Assessment, OverallVerdict, Provenance

        assessment = Assessment(protocol_id="BENCH", version="1.0", overall=OverallVerdict.DEVIATION,
                                summary="bench", provenance=Provenance(engine_version="bench", created_at=__import__(
                                    "datetime").datetime.now(__import__("datetime").UTC)))
        items = [store.submit(assessment, actor=f"Dr {n}") for n in "ABCD"]
        store.review(items[0].item_id, Action.CONFIRMED, actor="Dr A")
        store.engine.dispose()
        return db

    def forged_append(conn):
        conn.row_factory = sqlite3.Row
        last = dict(conn.execute("SELECT * FROM audit_records ORDER BY id DESC LIMIT 1").fetchone())
        row = last | {"id": last["id"] + 1, "actor": "Mallory", "prev_hash": last["record_hash"],
                      "created_at": "2020-01-01 00:00:00.000000"}
        row["record_hash"] = record_hash(row["prev_hash"], row | {"created_at": __import__("datetime").datetime(2020, 1, 1)})
        conn.execute(f"INSERT INTO audit_records ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                     list(row.values()))

    attempts = [
        ["DROP TRIGGER audit_records_no_update", "UPDATE audit_records SET actor = 'Mallory' WHERE id = 2"],
        ["DROP TRIGGER audit_records_no_update", "UPDATE audit_records SET reason = 'ok' WHERE id = 5"],
        ["DROP TRIGGER audit_records_no_delete", "DELETE FROM audit_records WHERE id = 3"],
        ["DROP TRIGGER audit_records_no_delete", "DELETE FROM audit_records WHERE id = 5"],
        ["INSERT INTO audit_records (item_id, item_kind, action, actor, actor_verified, created_at) "
         "VALUES ('x', 'assessment', 'confirmed', 'Mallory', 0, '2026-01-01 00:00:00')"],
        ["REPLACE INTO audit_records (id, item_id, item_kind, action, actor, actor_verified, created_at, prev_hash, "
         "record_hash) SELECT id, item_id, item_kind, action, 'Mallory', actor_verified, created_at, prev_hash, "
         "record_hash FROM audit_records WHERE id = 1"],
        [forged_append],
        ["DROP TRIGGER audit_records_no_update"],
    ]
    detected = 0
    for steps in attempts:
        db = fresh()
        with sqlite3.connect(db) as conn:
            for step in steps:
                step(conn) if callable(step) else conn.execute(step)
        report = AuditStore(f"sqlite:///{db}").verify_chain()
        detected += not report.intact
    return len(attempts), detected


def run(seed: int = 0, lab_files: int = 120, questions: int = 120) -> dict:
    from ingest import parse_protocol
    from ingest.patients import read_lab_file
    from labs.errors import TrialGuardError
    from reasoning.batch import screen
    from reasoning.models import Verdict
    from retrieval.question import parse_question

    rng = random.Random(seed)
    protocol = _protocol()
    counts = {"inputs_tried": 0, "read": 0, "clear_errors": 0, "crashes": 0, "rows_written": 0,
              "rows_judged": 0, "rows_unaccounted": 0, "violates_on_impossible_values": 0, "row_errors_reported": 0}
    crashes: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="tg-bad-input-"))
    try:
        for path, written in _lab_files(rng, lab_files, folder):
            counts["inputs_tried"] += 1
            counts["rows_written"] += written
            try:
                result = screen(read_lab_file(path), [protocol])
            except TrialGuardError:
                counts["clear_errors"] += 1
                continue
            except Exception as exc:  # noqa: BLE001 - counted: the defect this bench is for
                counts["crashes"] += 1
                crashes.append(f"{path.name}: {type(exc).__name__}: {exc}"[:200])
                continue
            counts["read"] += 1
            counts["row_errors_reported"] += len(result.errors)
            counts["rows_judged"] += result.rows_judged
            counts["rows_unaccounted"] += abs(result.rows_in - result.accounted()) + max(0, written - result.rows_in)
            counts["violates_on_impossible_values"] += sum(
                pf.finding.verdict is Verdict.VIOLATES and _impossible(pf.finding) for pf in result.findings)
        for _ in range(questions):
            text = rng.choice(QUESTIONS).format(v=rng.choice(NUMBERS), u=rng.choice(NUMBERS), d=rng.choice(DATES))
            counts["inputs_tried"] += 1
            try:
                parsed = parse_question(text)
            except TrialGuardError:
                counts["clear_errors"] += 1
                continue
            except Exception as exc:  # noqa: BLE001
                counts["crashes"] += 1
                crashes.append(f"question {text!r}: {type(exc).__name__}: {exc}"[:200])
                continue
            counts["read"] += 1
            counts["violates_on_impossible_values"] += sum(
                not math.isfinite(float(o.value)) or float(o.value) < 0 for o in parsed.observations)
        documents_refused = 0
        for path in _documents(rng, folder):
            counts["inputs_tried"] += 1
            try:
                parsed_protocol = parse_protocol(path)
            except TrialGuardError:
                counts["clear_errors"] += 1
                documents_refused += 1
                continue
            except Exception as exc:  # noqa: BLE001
                counts["crashes"] += 1
                crashes.append(f"{path.name}: {type(exc).__name__}: {exc}"[:200])
                continue
            counts["read"] += 1
            from ui.demo_protocols import require_eligibility

            try:
                require_eligibility(parsed_protocol, path)
            except TrialGuardError:
                documents_refused += 1
        tamper_tried, tamper_detected = _tamper_attempts(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {**counts, "documents_refused": documents_refused, "tamper_attempts": tamper_tried,
            "tamper_detected": tamper_detected,
            "goals_met": counts["crashes"] == 0 and counts["rows_unaccounted"] == 0
            and counts["violates_on_impossible_values"] == 0 and tamper_detected == tamper_tried,
            "first_crashes": crashes[:5]}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
