"""`trialguard feedback export`: the audit trail as JSONL, or reviewer overrides as eval cases."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    feedback = typer.Typer(help="Reviewer feedback and the audit trail.", no_args_is_help=True)

    @feedback.command("export")
    def export(
        as_eval: Annotated[
            bool,
            typer.Option("--as-eval", help="only overrides, as eval cases (the GoldCase format of eval/gold/verdict_cases.yaml)"),
        ] = False,
        out: Annotated[Path | None, typer.Option("--out", help="file to write; default: stdout")] = None,
    ) -> None:
        """Write every audit record (or, with --as-eval, each override as an eval case) as JSON lines."""
        from ui.audit import open_store
        from ui.feedback_export import export_lines
        from ui.settings import Settings

        store = open_store(Settings())
        lines, skipped = export_lines(store, as_eval)
        for note in [*skipped, *store.unreadable]:
            typer.echo(f"skipped: {note}", err=True)
        text = "".join(line + "\n" for line in lines)
        if out is None:
            sys.stdout.write(text)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            typer.echo(f"{len(lines)} {'eval cases' if as_eval else 'records'} -> {out}", err=True)

    app.add_typer(feedback, name="feedback")
