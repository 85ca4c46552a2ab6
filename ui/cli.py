"""The `trialguard` command. Each subcommand lives in ui/commands/<name>.py and registers itself here."""

from __future__ import annotations

import importlib

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
COMMAND_MODULES = ["convert", "criteria", "ingest", "protocols", "ask", "screen", "app", "feedback", "eval"]

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"ui.commands.{_name}")
    except ModuleNotFoundError as exc:  # a command whose module has not landed yet
        if exc.name != f"ui.commands.{_name}":
            raise
        continue
    _module.register(app)


@app.callback()
def _root() -> None:
    """Catch lab-driven protocol deviations, with every verdict cited to the protocol's own words."""


main = app
