"""`trialguard protocols`: what the index holds, protocol by protocol and version by version."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    @app.command()
    def protocols() -> None:
        """List ingested protocols: versions, effective dates, criteria counts."""
        from ui.services import build_index
        from ui.settings import Settings

        infos = build_index(Settings()).protocols()
        if not infos:
            typer.echo("no protocols ingested yet: run `trialguard ingest protocols/manifest.yaml`")
            return
        table = Table(title="Ingested protocols")
        for column in ("protocol", "version", "effective", "criteria", "context", "lab rules", "title", "file"):
            table.add_column(column)
        for info in infos:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(info.counts_by_kind.items()) if k != "context")
            table.add_row(
                info.protocol_id, info.version, str(info.effective_date or "-"),
                f"{info.criteria_count} ({kinds})" if kinds else str(info.criteria_count), str(info.context_count),
                str(info.rules_count), info.title or "-", info.source_file.rsplit("/", 1)[-1],
            )
        Console(width=200).print(table)
