"""`trialguard eval`: every gold set, one report, a non-zero exit when a metric falls below its floor."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_command(
        fast: bool = typer.Option(False, "--fast", help="smaller samples where a suite offers them (used by make test)"),
        out: Path = typer.Option(Path("eval/reports/latest"), "--out", help="report folder (Markdown, PNG, JSON)"),
        only: list[str] = typer.Option(None, "--only", help="run just these suites"),
    ) -> None:
        """Run every gold set under eval/ and write the quality report; exit 1 if a floor is not met."""
        from eval.harness import run_all

        console = Console(stderr=True)
        with console.status("evaluating") as status:
            run = run_all(out, fast=fast, only=only, progress=lambda name: status.update(f"evaluating {name}"))
        table = Table(title="TrialGuard quality")
        for column in ("metric", "value", "floor", "status"):
            table.add_column(column)
        for check in run.checks:
            value = "—" if check.value is None else f"{check.value:.4g}"
            status = "[green]ok[/]" if check.ok else f"[red]FAIL[/] {check.reason}"
            table.add_row(check.key, value, check.bound, status + (f" ({check.reason})" if check.ok and check.reason else ""))
        Console().print(table)
        for result in run.results:
            if result.skipped:
                console.print(f"[yellow]{result.suite} not run:[/] {result.skipped}")
        console.print(f"report: {run.report}  (seconds per suite: {run.seconds})")
        if not run.ok:
            raise typer.Exit(1)
