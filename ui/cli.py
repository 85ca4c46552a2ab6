"""The `trialguard` command. Each subcommand lives in ui/commands/<name>.py and registers itself here."""

from __future__ import annotations

import importlib
import sys

import typer

from labs.errors import TrialGuardError

app = typer.Typer(
    name="trialguard",
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


def main() -> None:
    """Entry point that turns our own errors into a one-line message and exit code 2."""
    try:
        app(standalone_mode=False)
    except TrialGuardError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
