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
                    for problem in protocol.problems:
                        # Lab-manual rows name their file first (rows left out); anything else is about the protocol.
                        if manual is not None and problem.startswith(Path(manual).name):
                            progress.console.print(f"[yellow]not used:[/] {problem}")
                        else:
                            progress.console.print(f"[bold red]problem:[/] {problem}")
                    for found in protocol.eligibility_sets:
                        pages = f"pp. {found.page_start}-{found.page_end}" if found.page_end > found.page_start else (
                            f"p. {found.page_start}")
                        progress.console.print(
                            f"  {found.kind.value} set '{found.name}': {found.count} criteria, "
                            f"{found.section_number or ''} {found.section_title}, {pages} (found by {found.found_by})"
                        )
                    require_eligibility(protocol, file, allow_empty)
                    if title:  # the manifest's title is curated; a title read from a running header is not
                        protocol = protocol.model_copy(update={"title": title})
                    progress.update(task, description=f"index {protocol.protocol_id} {protocol.version}")

                    def advance(done: int, total: int, task=task) -> None:
                        progress.update(task, completed=done, total=total)

                    result = index.ingest(protocol, progress=advance)
                    progress.update(task, completed=1, total=1) if result.skipped else None
                    what = "unchanged, skipped" if result.skipped else f"{result.points} segments in {result.seconds:.1f} s"
                    if result.replaced_sha256:
                        what += f" (replaced file {result.replaced_sha256[:12]})"
                    progress.console.print(
                        f"{protocol.protocol_id} {protocol.version} "
                        f"(effective {protocol.effective_date or 'unknown'}): {what}"
                    )
                except TrialGuardError as exc:  # this document only: the others are still ingested
                    failed.append(str(exc))
                    progress.console.print(f"[bold red]not ingested:[/] {escape(str(exc))}")
        if failed:
            raise typer.Exit(2)
