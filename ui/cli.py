"""The `trialguard` command. Each subcommand lives in ui/commands/<name>.py and registers itself here."""

from __future__ import annotations

import importlib
import importlib.metadata

import click
import typer
from typer.core import TyperGroup

from labs.errors import TrialGuardError


# Exit codes, each with one meaning (the README lists them): 0 done/clean, 1 deviations found (screen), 2 bad
# input or usage, 3 row errors but no deviation (screen), 4 audit trail not intact, 70 a fault of TrialGuard's own.
INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h)


class _Commands(TyperGroup):
    """Turns our own errors (bad input, bad settings) into one clear line and exit code 2, not a traceback; any
    other exception is a fault of ours: one line naming the command and a log file holding the traceback, exit 70
    (never 1, which means 'deviations found')."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TrialGuardError as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from exc
        # usage errors, --help, exits: typer's own (it vendors click) and click's, both left to typer to report
        except (typer.TyperException, typer.Exit, typer.Abort, click.exceptions.ClickException,
                click.exceptions.Exit, click.exceptions.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug: said in one line, the traceback kept in a log
            log = _log_fault(exc)
            typer.secho(
                f"internal error in `trialguard {ctx.invoked_subcommand or ''}` ({type(exc).__name__}): a fault of "
                f"TrialGuard's, not of the input. The traceback is in {log}; please send it to whoever runs TrialGuard.",
                err=True, fg=typer.colors.RED,
            )
            raise typer.Exit(INTERNAL_ERROR) from exc


def _log_fault(exc: Exception) -> str:
    import datetime as dt
    import sys
    import traceback

    from ui.settings import Settings

    try:
        log = Settings().data_dir / "logs" / "cli-errors.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"--- {dt.datetime.now(dt.UTC).isoformat()} trialguard {' '.join(sys.argv[1:])}\n")
            handle.write("".join(traceback.format_exception(exc)))
        return str(log.resolve())
    except Exception:  # noqa: BLE001 - no writable data dir (or bad settings): the traceback goes to stderr
        traceback.print_exception(exc)
        return "the output above (the log file could not be written)"


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
