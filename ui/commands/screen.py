"""`trialguard screen FILE... --protocol ID`: screen whole lab exports (CSV, SDTM LB, FHIR) against a protocol.

Exit codes: 0 = every judged row clean; 1 = deviations found (also when some rows had errors: a deviation is the
more urgent news, and the summary and --errors file still list the errors); 3 = no deviation, but rows that could
not be judged (the screen is incomplete); 2 = bad usage or bad input (missing columns, empty file, unknown
protocol).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingest.models import Protocol
from labs.errors import TrialGuardError

EXIT_CLEAN, EXIT_DEVIATIONS, EXIT_USAGE, EXIT_ROW_ERRORS = 0, 1, 2, 3


class FileFormat(str, Enum):
    auto = "auto"
    csv = "csv"
    sdtm = "sdtm"
    fhir = "fhir"


class VisitScope(str, Enum):
    screening = "screening"
    all = "all"


def load_protocol_versions(spec: str, settings) -> list[Protocol]:
    """Every version of the protocol `spec` names: an SDTM TI file, a protocol document or manifest, or an id
    (looked up in the index when it holds it, else in the demo manifest of TRIALGUARD_PROTOCOLS_DIR)."""
    path = Path(spec)
    if path.is_file() or path.is_dir():
        from retrieval.manifest import is_manifest, read_manifest

        if is_manifest(path):
            return _from_manifest(read_manifest(path), None, path)
        if path.suffix.lower() in (".csv", ".xpt") and _is_ti(path):
            from ingest.patients.sdtm_ti import read_ti

            return [read_ti(path)]
        from ingest import parse_protocol

        return [parse_protocol(path)]
    manifest = Path(settings.protocols_dir) / "manifest.yaml"
    if settings.qdrant_url or Path(settings.qdrant_path).exists():
        from retrieval.errors import UnknownProtocolError
        from ui.services import build_index

        index = build_index(settings)
        try:
            return [index.protocol(spec, info.version) for info in index.versions(spec)]
        except UnknownProtocolError:
            if not manifest.is_file():
                raise
    if manifest.is_file():
        from retrieval.manifest import read_manifest

        return _from_manifest(read_manifest(manifest), spec, manifest)
    raise TrialGuardError(f"protocol {spec!r}: not a file, no index in {settings.data_dir} and no manifest in "
                          f"{settings.protocols_dir}; run `trialguard ingest` or give the protocol file")


def _is_ti(path: Path) -> bool:
    if path.suffix.lower() == ".xpt":
        return "ti" in path.stem.lower()
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        return "IETESTCD" in handle.readline().upper()


def _from_manifest(entries, protocol_id: str | None, where: Path) -> list[Protocol]:
    from ingest import parse_protocol

    ids = sorted({e.protocol_id for e in entries})
    if protocol_id is None:
        if len(ids) != 1:
            raise TrialGuardError(f"{where} lists several protocols ({', '.join(ids)}): pass one id with --protocol "
                                  f"and set TRIALGUARD_PROTOCOLS_DIR to that folder")
        protocol_id = ids[0]
    chosen = [e for e in entries if e.protocol_id == protocol_id]
    if not chosen:
        raise TrialGuardError(f"protocol {protocol_id!r} is neither ingested nor in {where} (it lists {', '.join(ids)})")
    return [parse_protocol(e.file, protocol_id=e.protocol_id, version=e.version, effective_date=e.effective_date,
                           lab_manual=e.lab_manual)
            for e in chosen]


def exit_code(result) -> int:
    if result.deviations:
        return EXIT_DEVIATIONS
    if result.errors:
        return EXIT_ROW_ERRORS
    return EXIT_CLEAN


def render_summary(result, console: Console, sets: dict[str, str] | None = None) -> None:
    """`sets`: criterion id -> eligibility set name, for criteria of a protocol with several sets of their kind."""
    from reasoning.models import OverallVerdict, Verdict

    sets = sets or {}

    def named(criterion_id: str, kind: str, label: str) -> str:
        where = f" [dim]({escape(sets[criterion_id])})[/dim]" if criterion_id in sets else ""
        return f"{kind} {escape(label)}{where}"

    overall = list(result.patients.values())
    head = Table(title=f"Screening {escape(', '.join(result.files))} against {escape(result.protocol_id)} "
                       f"(versions {escape(', '.join(result.versions))}; visits: {result.visits})", show_header=False)
    head.add_column("what")
    head.add_column("count", justify="right")
    for label, value in (
        ("rows read", result.rows_in),
        ("rows judged", result.rows_judged),
        ("rows with errors (not judged)", len(result.errors)),
        ("rows judged with a warning", len(result.warnings)),
        ("rows out of scope", sum(result.out_of_scope.values())),
        ("patients judged", len(overall)),
        ("  with a deviation", sum(v is OverallVerdict.DEVIATION for v in overall)),
        ("  needing review", sum(v is OverallVerdict.NEEDS_REVIEW for v in overall)),
        ("  without deviation", sum(v is OverallVerdict.NO_DEVIATION for v in overall)),
        ("deviations (patient × criterion)", len(result.deviations)),
        ("criteria no lab value decides (not judged)", len(result.criteria_not_lab)),
    ):
        head.add_row(label, str(value))
    console.print(head)
    if result.criteria:
        table = Table(title="Per criterion (patients)")
        for column in ("version", "criterion", "VIOLATES", "NEEDS REVIEW", "INDETERMINATE", "MEETS"):
            table.add_column(column, justify="right" if column.isupper() or " " in column else "left")
        for c in result.criteria:
            table.add_row(c.version, named(c.criterion_id, c.kind.value, c.label),
                          *[str(c.counts.get(v.value, 0)) for v in (Verdict.VIOLATES, Verdict.NEEDS_REVIEW,
                                                                     Verdict.INDETERMINATE, Verdict.MEETS)])
        console.print(table)
    if result.out_of_scope:
        scope = Table(title="Rows out of scope (not judged, by reason)")
        scope.add_column("reason", overflow="fold")
        scope.add_column("rows", justify="right")
        for reason, count in sorted(result.out_of_scope.items(), key=lambda kv: -kv[1]):
            scope.add_row(escape(reason), str(count))
        console.print(scope)
    if result.errors or result.warnings:
        from collections import Counter

        kinds = Counter(f"{e.severity}: {e.reason.split(':')[0][:70]}" for e in [*result.errors, *result.warnings])
        errs = Table(title="Row problems (first kinds; every row is in --errors)")
        errs.add_column("problem", overflow="fold")
        errs.add_column("rows", justify="right")
        for reason, count in kinds.most_common(8):
            errs.add_row(escape(reason), str(count))
        console.print(errs)
    for deviation in result.deviations[:10]:
        f = deviation.finding
        page = f.citations[0].page if f.citations else "?"
        why = [line for line in f.arithmetic if line.rstrip().endswith("VIOLATES")] or [f.rationale]
        quotes = " | ".join(c.quote for c in f.citations)
        console.print(f"[bold red]DEVIATION[/] {escape(deviation.patient_id)} "
                      f"{named(f.criterion_id, f.criterion_kind.value, f.label)} "
                      f"(v{escape(deviation.version)}, p. {page}): {escape('; '.join(why))}\n"
                      f"    [dim]\"{escape(quotes[:300])}\"[/]")
    if len(result.deviations) > 10:
        console.print(f"... and {len(result.deviations) - 10} more deviations (see --out / --dv)")
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]")


def register(app: typer.Typer) -> None:
    @app.command()
    def screen(
        files: list[Path] = typer.Argument(..., help="lab files: plain CSV, SDTM LB (.csv/.xpt) or FHIR (.json/.ndjson)"),
        protocol: str = typer.Option(..., "--protocol", "-p", help="protocol id, or an SDTM TI / protocol file"),
        file_format: FileFormat = typer.Option(FileFormat.auto, "--format", help="input format (auto-detected)"),
        out: Path | None = typer.Option(None, "--out", help="findings file: .csv or .json"),
        dv: Path | None = typer.Option(None, "--dv", help="SDTM DV records of the deviations (.csv or .xpt)"),
        errors: Path | None = typer.Option(None, "--errors", help="every row not judged, with row number and reason"),
        visits: VisitScope = typer.Option(VisitScope.screening, "--visits",
                                          help="screening: labs up to reference start vs eligibility; all: also "
                                               "on-study labs vs discontinuation criteria"),
        llm: bool = typer.Option(False, "--llm", help="send INDETERMINATE / rule-less findings to the LLM"),
        dm: Path | None = typer.Option(None, "--dm", help="SDTM DM file (default: the DM beside the LB file)"),
        ranges: Path | None = typer.Option(None, "--ranges",
                                           help="reference ranges (lab manual CSV/XLSX) incl. named external ranges"),
    ) -> None:
        """Screen lab files against a protocol: summary, deviations, SDTM DV and an errors file.

        Exit code 0 clean, 1 deviations found (even if some rows had errors), 3 rows with errors but no
        deviation, 2 bad usage or input."""
        from ingest.patients import read_lab_files
        from reasoning.batch import screen as run_screen
        from ui.settings import Settings

        settings = Settings()
        console = Console(width=160)
        lab_file = read_lab_files(files, file_format.value, dm)
        versions = load_protocol_versions(protocol, settings)
        from ui.corrections import apply_corrections  # reviewers' rule corrections count in batch too (ui helper)

        versions = [apply_corrections(p) for p in versions]
        reference_ranges = []
        if ranges is not None:
            from ingest.lab_manual import read_lab_manual

            manual = read_lab_manual(ranges)
            reference_ranges = manual.ranges
            for problem in manual.problems:
                console.print(f"[yellow]ranges: {escape(problem)}[/]")
        client = None
        if llm:
            from reasoning.llm import LLMClient

            client = LLMClient.from_settings(settings)
        with Progress(TextColumn("screening"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("criteria", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = run_screen(lab_file, versions, visits=visits.value, reference_ranges=reference_ranges,
                                llm=client, progress=advance)
        sets = {c.id: c.criteria_set for p in versions for c in p.criteria if c.criteria_set != c.kind.value}
        render_summary(result, console, sets)
        from ui.reports import write_dv, write_errors, write_findings

        for target, writer, what in ((out, write_findings, "findings"), (dv, write_dv, "SDTM DV"),
                                     (errors, write_errors, "errors")):
            if target is not None:
                console.print(f"{what}: {writer(result, target)}")
        raise typer.Exit(exit_code(result))
