"""`make bench`: run every benchmark module, print a table and write eval/reports/bench.json.

Each benchmark runs in its own process so one module's caches and memory do not colour another's figures.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import eval.bench as bench_package

ORDER = ["conversion", "parse", "corpus", "retrieval", "ask", "screening"]
OUT = Path("eval/reports/bench.json")


def _modules() -> list[str]:
    found = [m.name for m in pkgutil.iter_modules(bench_package.__path__) if not m.name.startswith("_")]
    return sorted(found, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _run_one(name: str) -> dict:
    code = f"import json, eval.bench.{name} as m; print('BENCH-JSON ' + json.dumps(m.run()))"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    elapsed = round(time.perf_counter() - started, 1)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:], "wall_s": elapsed}
    line = next(l for l in reversed(proc.stdout.splitlines()) if l.startswith("BENCH-JSON "))
    return {**json.loads(line[len("BENCH-JSON "):]), "wall_s": elapsed}


def main(names: list[str]) -> int:
    console = Console()
    results = {}
    for name in names or _modules():
        console.print(f"[bold]bench {name}[/] ...")
        results[name] = _run_one(name)
    table = Table(title="TrialGuard benchmarks (medians)")
    for column in ("benchmark", "figure", "value"):
        table.add_column(column)
    for name, figures in results.items():
        for key, value in figures.items():
            table.add_row(name, key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    console.print(f"written {OUT}")
    return 1 if any("error" in figures for figures in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
