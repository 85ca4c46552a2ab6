"""`trialguard ingest`: parse protocol documents and index them, one version beside the others."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from labs.errors import ConfigError, TrialGuardError
from ui.ingest_report import IngestReport, Level

_MARK = {Level.OK: "[green]ok   [/]", Level.CHECK: "[yellow]CHECK[/]", Level.ERROR: "[bold red]ERROR[/]"}

DOCUMENT_SUFFIXES = {".pdf", ".docx", ".html", ".htm", ".txt", ".md", ".json"}


def _jobs(paths: list[Path], protocol_id: str | None, version: str | None, effective_date: dt.date | None,
          lab_manual: Path | None = None):
    """(file, protocol_id, version, effective_date, title, lab manual) per document; a manifest supplies metadata."""
    from retrieval.manifest import is_manifest, read_manifest

    jobs = []
    for path in paths:
        if is_manifest(path):
            if protocol_id or version or effective_date or lab_manual:
                raise ConfigError(
                    f"{path}: a manifest carries its own --protocol-id/--version/--effective-date/--lab-manual"
                )
            jobs += [(e.file, e.protocol_id, e.version, e.effective_date, e.title, e.lab_manual)
                     for e in read_manifest(path)]
        elif path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in DOCUMENT_SUFFIXES)
            jobs += [(f, protocol_id, version, effective_date, None, lab_manual) for f in files]
        else:
            jobs.append((path, protocol_id, version, effective_date, None, lab_manual))
    if (protocol_id or version) and len(jobs) > 1:
        raise ConfigError("--protocol-id/--version apply to one document; give one PATH or use a manifest.yaml")
    return jobs


def print_checklist(console: Console, report: IngestReport) -> None:
    """The same checklist the app's Protocols page shows; items about one criterion name its id for
    `trialguard criteria` and the Corrections page."""
    for item in report.items:
        where = f"  [dim]({escape(item.criterion_id)})[/]" if item.criterion_id else ""
        console.print(f"  {_MARK[item.level]} {item.topic}: {escape(item.text)}{where}", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        paths: Annotated[list[Path], typer.Argument(exists=True, help="protocol files, folders, or a manifest.yaml")],
        protocol_id: Annotated[Optional[str], typer.Option("--protocol-id", help="default: read from the document")] = None,
        version: Annotated[Optional[str], typer.Option("--version", help="default: read from the document")] = None,
        effective_date: Annotated[
            Optional[dt.datetime], typer.Option("--effective-date", formats=["%Y-%m-%d"], help="YYYY-MM-DD")
        ] = None,
        lab_manual: Annotated[
            Optional[Path], typer.Option("--lab-manual", exists=True, help="study lab manual (CSV/XLSX/PDF/DOCX)")
        ] = None,
        allow_empty: Annotated[bool, typer.Option(
            "--allow-empty", help="ingest a document in which no inclusion or exclusion criterion is found")] = False,
    ) -> None:
        """Parse protocol documents and index their criteria (the same file again changes nothing)."""
        from ingest import parse_protocol
        from ui.demo_protocols import require_eligibility
        from ui.services import build_index
        from ui.ingest_report import ingest_report
        from ui.settings import Settings

        console = Console()
        jobs = _jobs(list(paths), protocol_id, version, effective_date.date() if effective_date else None,
                     lab_manual)
        index = build_index(Settings())
        failed: list[str] = []
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            for file, pid, ver, eff, title, manual in jobs:
                try:
                    task = progress.add_task(f"parse {file.name}", total=None)
                    protocol = parse_protocol(file, protocol_id=pid, version=ver, effective_date=eff, lab_manual=manual)
                    require_eligibility(protocol, file, allow_empty)
                    if title:  # the manifest's title is curated; a title read from a running header is not
                        protocol = protocol.model_copy(update={"title": title})
                    progress.update(task, description=f"index {protocol.protocol_id} {protocol.version}")

                    def advance(done: int, total: int, task=task) -> None:
                        progress.update(task, completed=done, total=total)

                    result = index.ingest(protocol, progress=advance)
                    progress.update(task, completed=1, total=1) if result.skipped else None
                    report = ingest_report(protocol, already_ingested=result.skipped, given_version=ver,
                                           given_date=eff)
                    what = "ALREADY INGESTED (same file): nothing changed" if result.skipped else (
                        f"ingested, {result.points} segments in {result.seconds:.1f} s")
                    if result.replaced_sha256:
                        what += f" (replaced file {result.replaced_sha256[:12]})"
                    progress.console.print(
                        f"[bold]{escape(protocol.protocol_id)} {escape(protocol.version)}[/] "
                        f"(effective {protocol.effective_date or 'unknown'}): {what} · {report.count.sentence()}",
                        highlight=False,
                    )
                    print_checklist(progress.console, report)
                except TrialGuardError as exc:  # this document only: the others are still ingested
                    failed.append(str(exc))
                    progress.console.print(f"[bold red]not ingested:[/] {escape(str(exc))}")
        if failed:
            raise typer.Exit(2)
