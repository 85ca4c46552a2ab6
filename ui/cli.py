"""The `trialguard` command. Each subcommand lives in ui/commands/<name>.py and registers itself here."""

from __future__ import annotations

import importlib
import importlib.metadata

import click
import typer
from typer.core import TyperGroup

from labs.errors import TrialGuardError


class _Commands(TyperGroup):
    """Turns our own errors (bad input, bad settings) into one clear line and exit code 2, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TrialGuardError as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from exc


app = typer.Typer(
    name="trialguard",
    cls=_Commands,
    help="Catch lab-driven protocol deviations, with every verdict cited to the protocol's own words.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Order is the order shown in --help: the pipeline, from units to the app.
COMMAND_MODULES = ["convert", "criteria", "ingest", "protocols", "ask", "screen", "app", "feedback", "audit", "eval"]

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"ui.commands.{_name}")
    except ModuleNotFoundError as exc:  # a command whose module has not landed yet
        if exc.name != f"ui.commands.{_name}":
            raise
        continue
    _module.register(app)


def _version(show: bool) -> None:
    if show:
        from reasoning.environment import current
        from reasoning.evaluate import ENGINE_VERSION

        typer.echo(f"trialguard {importlib.metadata.version('trialguard')} ({ENGINE_VERSION})")
        environment = current()
        typer.echo(environment.label)
        for problem in environment.drift:
            typer.echo(f"  - {problem}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="The version, and the sha256 of the lock the environment was installed from."),
) -> None:
    """Catch lab-driven protocol deviations, with every verdict cited to the protocol's own words."""


main = app


if __name__ == "__main__":
    app()
