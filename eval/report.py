"""The quality report: Markdown with every metric against its floor, plus PNG plots, plus metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402

from eval.floors import FloorCheck  # noqa: E402
from eval.result import SuiteResult  # noqa: E402
from reasoning.environment import current as current_environment  # noqa: E402


def _confusion_png(result: SuiteResult, out: Path) -> str | None:
    if not result.confusion:
        return None
    labels = sorted({*result.confusion, *(g for row in result.confusion.values() for g in row)})
    grid = [[result.confusion.get(e, {}).get(g, 0) for g in labels] for e in labels]
    fig, ax = plt.subplots(figsize=(1.4 * len(labels) + 2, 1.2 * len(labels) + 1.5))
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("engine verdict")
    ax.set_ylabel("gold verdict")
    for i, row in enumerate(grid):
        for j, n in enumerate(row):
            ax.text(j, i, str(n), ha="center", va="center")
    ax.set_title(f"{result.suite}: confusion matrix")
    return _save(fig, out / f"{result.suite}_confusion.png")


def _bar_png(result: SuiteResult, out: Path) -> str | None:
    if not result.per_analyte:
        return None
    names = sorted(result.per_analyte)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(names)), 3.5))
    ax.bar(names, [result.per_analyte[n] for n in names])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.tick_params(axis="x", rotation=90)
    ax.set_title(f"{result.suite}: accuracy per analyte")
    return _save(fig, out / f"{result.suite}_per_analyte.png")


def _recall_png(result: SuiteResult, out: Path) -> str | None:
    if not result.recall_at_k:
        return None
    ks = sorted(result.recall_at_k)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(ks, [result.recall_at_k[k] for k in ks], marker="o")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k")
    ax.set_title(f"{result.suite}: recall@k")
    return _save(fig, out / f"{result.suite}_recall_at_k.png")


def _latency_png(result: SuiteResult, out: Path) -> str | None:
    if not result.latencies_ms:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(result.latencies_ms, bins=30)
    ax.set_xlabel("ms")
    ax.set_ylabel("count")
    ax.set_title(f"{result.suite}: latency")
    return _save(fig, out / f"{result.suite}_latency.png")


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path.name


def write_report(results: list[SuiteResult], checks: list[FloorCheck], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    environment = current_environment()
    lines = ["# TrialGuard quality report", "", environment.label + ".", "", "## Floors", "", "| metric | value | floor | status |",
             "|---|---|---|---|"]
    for check in checks:
        value = "—" if check.value is None else f"{check.value:.4g}"
        status = "ok" if check.ok else "**BELOW FLOOR**"
        lines.append(f"| {check.key} | {value} | {check.bound} | {status}{' (' + check.reason + ')' if check.reason else ''} |")
    for result in results:
        lines += ["", f"## {result.suite}", ""]
        if result.skipped:
            lines.append(f"Not run: {result.skipped}")
            continue
        lines += [f"- {name}: {value:.4g}" for name, value in sorted(result.metrics.items())]
        lines += [f"- {name}: {value}" for name, value in sorted(result.counts.items())]
        for plot in (_confusion_png, _bar_png, _recall_png, _latency_png):
            name = plot(result, out)
            if name:
                lines.append(f"\n![{name}]({name})")
        if result.markdown:
            lines += ["", result.markdown.rstrip()]
        if result.misses:
            lines += ["", f"Misses ({len(result.misses)}):", ""]
            lines += [f"- {miss}" for miss in result.misses[:50]]
            if len(result.misses) > 50:
                lines.append(f"- ... and {len(result.misses) - 50} more (metrics.json has them all)")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    (out / "metrics.json").write_text(json.dumps({
        "environment": {"lock_sha256": environment.lock_sha256, "drift": list(environment.drift)},
        "metrics": {r.suite: r.metrics for r in results},
        "counts": {r.suite: r.counts for r in results},
        "skipped": {r.suite: r.skipped for r in results if r.skipped},
        "floors": [c.model_dump() for c in checks],
        "misses": {r.suite: r.misses for r in results},
    }, indent=2))
    return out / "report.md"
