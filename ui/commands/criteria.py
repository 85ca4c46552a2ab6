"""`trialguard criteria FILE`: a protocol's criteria as parsed (label, kind, section, page, text, lab rules)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ingest.models import LabRule, Protocol


def _rule_json(rule: LabRule) -> dict[str, object]:
    return {
        "analyte": rule.analyte,
        "comparator": rule.comparator.value,
        "value": rule.value,
        "low": rule.low,
        "high": rule.high,
        "unit": rule.unit,
        "multiple_of": rule.multiple_of,
        "offset_from": rule.offset_from,
        "measure": rule.measure,
        "condition": rule.condition,
        "condition_type": rule.condition_type,
        "sex": rule.sex.value if rule.sex else None,
        "window_days": rule.window_days,
        "window_anchor": rule.window_anchor,
        "alternatives": [alternative.model_dump() for alternative in rule.alternatives],
        "quote": rule.quote,
    }


def protocol_json(protocol: Protocol) -> dict[str, object]:
    """The JSON shape of `trialguard criteria --json` (documented in the README)."""
    return {
        "protocol_id": protocol.protocol_id,
        "version": protocol.version,
        "effective_date": protocol.effective_date.isoformat() if protocol.effective_date else None,
        "title": protocol.title,
        "source_file": protocol.source_file,
        "eligibility_sets": [s.model_dump(mode="json") for s in protocol.eligibility_sets],
        "problems": protocol.problems,
        "criteria": [
            {
                "id": c.id,
                "label": c.label,
                "parent_label": c.parent_label,
                "kind": c.kind.value,
                "criteria_set": c.criteria_set,
                "section": " ".join(part for part in (c.section_number, c.section_title) if part) or None,
                "page": c.page_start,
                "page_end": c.page_end,
                "text": c.text,
                "char_start": c.char_start,
                "char_end": c.char_end,
                "rules": [_rule_json(rule) for rule in c.rules],
            }
            for c in protocol.criteria
        ],
    }


def _sets_table(protocol: Protocol) -> Table:
    """Per eligibility set: its count, section, pages and how the section was found."""
    table = Table(title="eligibility sets")
    for column in ("set", "kind", "criteria", "section", "pages", "found by"):
        table.add_column(column, overflow="fold")
    for found in protocol.eligibility_sets:
        pages = str(found.page_start) if found.page_start == found.page_end else f"{found.page_start}–{found.page_end}"
        section = " ".join(part for part in (found.section_number, found.section_title) if part)
        where = found.found_by + (" (synopsis only)" if found.source == "synopsis" else "")
        table.add_row(found.name, found.kind.value, str(found.count), section, pages, where)
    return table


def register(app: typer.Typer) -> None:
    @app.command()
    def criteria(
        file: Path = typer.Argument(..., help="protocol: PDF, DOCX, HTML, TXT/MD or a ClinicalTrials.gov JSON"),
        as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
        protocol_id: str | None = typer.Option(None, "--protocol-id", help="override the NCT id found"),
        version: str | None = typer.Option(None, "--version", help="override the version found"),
        kind: list[str] = typer.Option([], "--kind", help="only these kinds (inclusion, exclusion, ...)"),
    ) -> None:
        """Parse a protocol and show its criteria with labels, pages and lab rules."""
        from ingest.protocol import parse_protocol
        from ui.ingest_report import count_criteria
        from ui.rule_text import describe_rule

        # Parse completely before printing anything: an unreadable file gives an error and no partial output.
        protocol = parse_protocol(file, protocol_id=protocol_id, version=version)
        if kind:
            wanted = {k.lower() for k in kind}
            protocol = protocol.model_copy(update={"criteria": [c for c in protocol.criteria if c.kind.value in wanted]})
        if as_json:
            typer.echo(json.dumps(protocol_json(protocol), ensure_ascii=False, indent=2))
            return
        console = Console(width=180)
        console.print(_sets_table(protocol))
        several = {c.criteria_set for c in protocol.criteria if c.criteria_set != c.kind.value}
        table = Table(
            title=f"{protocol.protocol_id} version {protocol.version} — {count_criteria(protocol).sentence()}",
            show_lines=True,
        )
        columns = ("kind", "set", "label", "section", "page", "text", "lab rules") if several else (
            "kind", "label", "section", "page", "text", "lab rules")
        for column in columns:
            table.add_column(column, overflow="fold")
        for c in protocol.criteria:
            pages = str(c.page_start) if c.page_start == c.page_end else f"{c.page_start}–{c.page_end}"
            section = " ".join(part for part in (c.section_number, c.section_title) if part)
            text = c.text if len(c.text) <= 400 else c.text[:400] + " …"
            row = [c.kind.value, c.label, section, pages, text, "\n".join(describe_rule(r) for r in c.rules) or "-"]
            if several:
                row.insert(1, c.criteria_set)
            table.add_row(*row)
        console.print(table)
        # Problems last, in red, so they are the last thing on the screen: a protocol whose criteria were not
        # found (or found only in its synopsis) must not pass unnoticed.
        for problem in protocol.problems:
            console.print(f"[bold red]problem:[/] {problem}", markup=True, highlight=False)
