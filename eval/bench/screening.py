"""Batch screening of all 59,580 CDISC Pilot 01 LB rows (LB + DM + TI) with the exact engine.

Figures (medians of 5 runs, each in a fresh subprocess so caches and memory start cold for reading and warm for the
catalog only as they would in a real `trialguard screen`):
- pandas_read_s: `pandas.read_csv` of sdtm_lb.csv alone (the floor: just reading the file);
- screen_s: read_lab_file (LB + DM) + screen against the TI protocol (--visits all: every row placed);
- ratio = screen_s / pandas_read_s (goal <= 5) and screen_s (goal <= 10 s); the same ratio in process CPU time
  too, which other work on a shared machine disturbs less than wall-clock time;
- peak_rss_mb: peak resident memory of the screening subprocess (resource.getrusage), goal <= 1.5 GB;
- vector_queries: 0 (batch screening never queries the vector store; candidates come from the protocol).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "labs" / "cdisc_pilot01" / "csv"
RUNS = 5

_READ = """
import json, time, pandas as pd
t, c = time.perf_counter(), time.process_time(); frame = pd.read_csv({lb!r})
s, cpu = time.perf_counter() - t, time.process_time() - c
print("BENCH " + json.dumps({{"s": s, "cpu_s": cpu, "rows": len(frame)}}))
"""

_SCREEN = """
import json, resource, time
from ingest.patients import read_lab_file
from ingest.patients.sdtm_ti import read_ti
from reasoning.batch import screen
protocol = read_ti({ti!r})
import labs; labs.analyte("ALT")  # the catalog loads once per process, as in the CLI before reading
t, c = time.perf_counter(), time.process_time()
result = screen(read_lab_file({lb!r}), [protocol], visits="all")
s, cpu = time.perf_counter() - t, time.process_time() - c
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("BENCH " + json.dumps({{"s": s, "cpu_s": cpu, "rows": result.rows_in, "judged": result.rows_judged,
      "accounted": result.accounted(), "findings": len(result.findings), "peak_rss_mb": peak}}))
"""


def _subprocess(code: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "benchmark subprocess failed")
    line = next(l for l in reversed(proc.stdout.splitlines()) if l.startswith("BENCH "))
    return json.loads(line[len("BENCH "):])


def run(runs: int = RUNS) -> dict:
    lb, ti = str(DATA / "sdtm_lb.csv"), str(DATA / "sdtm_ti.csv")
    reads, screens = [], []
    for _ in range(runs):  # interleaved, so both see the same machine load
        reads.append(_subprocess(_READ.format(lb=lb)))
        screens.append(_subprocess(_SCREEN.format(lb=lb, ti=ti)))
    read_s = statistics.median(r["s"] for r in reads)
    screen_s = statistics.median(r["s"] for r in screens)
    read_cpu = statistics.median(r["cpu_s"] for r in reads)
    screen_cpu = statistics.median(r["cpu_s"] for r in screens)
    last = screens[-1]
    peak = statistics.median(r["peak_rss_mb"] for r in screens)
    return {
        "rows": last["rows"],
        "rows_judged": last["judged"],
        "rows_accounted": last["accounted"],
        "findings_reported": last["findings"],
        "pandas_read_s": round(read_s, 3),
        "screen_s": round(screen_s, 3),
        "ratio_vs_pandas_read": round(screen_s / read_s, 2),
        "pandas_read_cpu_s": round(read_cpu, 3),
        "screen_cpu_s": round(screen_cpu, 3),
        "cpu_ratio_vs_pandas_read": round(screen_cpu / read_cpu, 2),
        "goal_ratio": 5.0,
        "goal_screen_s": 10.0,
        "peak_rss_mb": round(peak, 1),
        "goal_peak_mb": 1536,
        "vector_queries": 0,
        "goals_met": screen_s <= 5.0 * read_s and screen_s <= 10.0 and peak <= 1536,
        "runs": runs,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
