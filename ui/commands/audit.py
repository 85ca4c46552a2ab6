"""`trialguard audit verify`: recompute the audit trail's hash chain and name the first record that breaks it."""

from __future__ import annotations

import typer

# Its own code: 1 means "deviations found" for `screen`, 2 bad usage/input, 3 row errors.
NOT_INTACT = 4


def register(app: typer.Typer) -> None:
    audit = typer.Typer(help="The audit trail: prove that no record was changed after it was written.",
                        no_args_is_help=True)

    @audit.command("verify")
    def verify() -> None:
        """Exit 0 when every record checks; 4 when the trail is not intact (each problem is printed)."""
        from ui.audit import open_store
        from ui.settings import Settings

        store = open_store(Settings())
        report = store.verify_chain()
        store.records()  # reads every record back, so unreadable ones are named too
        typer.echo(f"{store.location}: {report.summary}")
        for problem in [*report.problems, *store.unreadable]:
            typer.echo(f"  - {problem}", err=True)
        if not report.intact or store.unreadable:
            raise typer.Exit(NOT_INTACT)

    @audit.command("grants")
    def grants(role: str = typer.Argument(..., help="the PostgreSQL role the app connects as")) -> None:
        """The SQL a PostgreSQL store's owner runs so the app's role can append and read, and nothing more."""
        from ui.audit import app_role_grants

        for statement in app_role_grants(role):
            typer.echo(statement + ";")

    app.add_typer(audit, name="audit")
