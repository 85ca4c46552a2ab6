"""`trialguard ask --protocol ID [--date D] [--json] [--llm/--no-llm] "question"`: one cited assessment."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from reasoning.models import Assessment, OverallVerdict, Verdict
from reasoning.verdict_words import kind_name, words

BADGE = {
    OverallVerdict.DEVIATION: ("DEVIATION", "bold white on red", "a protocol deviation was found"),
    OverallVerdict.NEEDS_REVIEW: ("NEEDS REVIEW", "bold black on yellow", "a reviewer must decide"),
    OverallVerdict.NO_DEVIATION: ("NO DEVIATION", "bold white on green", "no deviation in the criteria judged"),
}
VERDICT_STYLE = {
    Verdict.VIOLATES: "bold red",
    Verdict.NEEDS_REVIEW: "bold yellow",
    Verdict.INDETERMINATE: "yellow",
    Verdict.MEETS: "green",
    Verdict.NOT_APPLICABLE: "dim",
}


def render(assessment: Assessment, console: Console, sets: dict[str, str] | None = None) -> None:
    """The readable form: badge in words, findings with arithmetic, quoted clauses with section and page.

    `sets`: criterion id -> eligibility set name, for criteria of a protocol with several sets of their kind.
    """
    word, style, meaning = BADGE[assessment.overall]
    console.print(
        Panel(
            f"[{style}] {word} [/] {escape(meaning)}\n{escape(assessment.summary)}",
            title=f"{escape(assessment.protocol_id)} v{escape(assessment.version)}",
            expand=False,
        )
    )
    if assessment.findings:
        table = Table(show_lines=True)
        table.add_column("criterion: verdict", max_width=24)
        table.add_column("why (arithmetic)", overflow="fold")
        for f in assessment.findings:
            why = escape("\n".join(f.arithmetic) or f.rationale)
            if f.engine_verdict is not None or f.llm_verdict is not None:
                engine = (f.engine_verdict or f.verdict).value
                why += escape(f"\nengine: {engine}; LLM: {f.llm_verdict.value if f.llm_verdict else '-'}")
            extra = [n for n in f.notes if not n.startswith("LLM rationale")]
            if extra:
                why += "\n[dim]" + escape("; ".join(extra)) + "[/dim]"
            criterion = f"{kind_name(f.criterion_kind)} {escape(f.label)}"
            if f.criterion_id in (sets or {}):  # one of several sets of its kind: say which
                criterion += f"\n[dim]set: {escape(sets[f.criterion_id])}[/dim]"
            table.add_row(
                f"{criterion}\n[{VERDICT_STYLE[f.verdict]}]{escape(words(f.verdict, f.criterion_kind))}[/]", why
            )
        console.print(table)
        console.print("[bold]Protocol text[/bold]")
        for f in assessment.findings:
            for c in f.citations:
                mark = "verbatim" if c.verified else "NOT FOUND VERBATIM"
                where = f"{c.section + ', ' if c.section else ''}page {c.page}"
                console.print(f"  {escape(c.label)} ({escape(where)}, {mark}): “{escape(' '.join(c.quote.split()))}”")
    for note in assessment.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    p = assessment.provenance
    model = f", model {p.model}" if p.model else ""
    console.print(
        f"[dim]{p.engine_version}{escape(model)}, LLM used: {'yes' if p.llm_used else 'no'}, "
        f"protocol sha256 {(p.protocol_sha256 or '-')[:12]}, {p.created_at:%Y-%m-%d %H:%M:%S} UTC[/dim]"
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def ask(
        question: str = typer.Argument(..., help='e.g. "Patient 1003 has ALT of 65 U/L (ULN 40) on 2024-03-02"'),
        protocol: str = typer.Option(..., "--protocol", help="protocol id, e.g. TG-ONC-001"),
        date: str | None = typer.Option(None, "--date", help="judge against the version in force on this date (YYYY-MM-DD)"),
        as_json: bool = typer.Option(False, "--json", help="print the Assessment as JSON"),
        llm: bool | None = typer.Option(
            None, "--llm/--no-llm", help="ask the LLM at TRIALGUARD_LLM_URL too (default: when configured)"
        ),
    ) -> None:
        """Does a lab value deviate from the protocol? A verdict per criterion, cited and with the arithmetic."""
        from labs.errors import ConfigError
        from ui import services
        from ui.settings import Settings

        from ingest.patients.dates import DateError, parse_date

        on_date = None
        if date:
            try:  # the same documented formats and 1900-2100 range as lab files and questions
                on_date = parse_date(date)
            except DateError as exc:
                raise ConfigError(f"--date: {exc}") from None
        settings = Settings()
        if llm and not settings.llm_url:
            raise ConfigError("--llm needs TRIALGUARD_LLM_URL (and TRIALGUARD_LLM_MODEL) to point at a vLLM server")
        assessor = services.build_assessor(settings, llm=llm)
        _ensure_protocol(assessor.index, protocol, settings)
        assessment = assessor.ask(question, protocol, on_date, use_llm=llm is not False)
        if as_json:
            typer.echo(assessment.model_dump_json(indent=2))
        else:
            parsed = assessor.index.protocol(assessment.protocol_id, assessment.version)
            sets = {c.id: c.criteria_set for c in parsed.criteria if c.criteria_set != c.kind.value}
            render(assessment, Console(), sets)


def _ensure_protocol(index, protocol_id: str, settings) -> None:
    """A fresh data dir holds nothing yet: ingest the demo protocols once so `ask` works out of the box."""
    if any(info.protocol_id == protocol_id for info in index.protocols()):
        return
    from ui.demo_protocols import ensure_demo_protocols

    ensure_demo_protocols(index, settings.protocols_dir)
