"""`trialguard app`: serve the Streamlit app on 127.0.0.1 (first start ingests the demo protocols)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

APP_SCRIPT = Path(__file__).resolve().parents[1] / "app.py"


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """Headless, no usage statistics, bound to loopback unless the operator asks otherwise."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
        "--server.headless", "true",
        "--server.address", address,
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",  # no developer menu or Deploy button for CRAs
    ]


def register(app: typer.Typer) -> None:
    @app.command("app")
    def run_app(
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="port to listen on")] = 8501,
        address: Annotated[
            str, typer.Option("--address", help="interface to bind; keep 127.0.0.1 behind a reverse proxy")
        ] = "127.0.0.1",
    ) -> None:
        """Serve the app on http://127.0.0.1:PORT (the demo protocols are ingested on first start)."""
        from ui.settings import Settings

        Settings()
        for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "1",
                           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}.items():
            os.environ.setdefault(key, value)
        stale = APP_SCRIPT.parent / "pages"
        if stale.exists():  # e.g. a leftover __pycache__: Streamlit would run a legacy multipage app from it
            typer.secho(f"warning: remove {stale}: a pages/ folder beside ui/app.py bypasses the app's navigation",
                        err=True, fg=typer.colors.YELLOW)
        typer.echo(f"TrialGuard on http://{address}:{port}")
        command = streamlit_command(port, address)
        sys.stdout.flush()
        # exec: Ctrl-C and signals from a supervisor reach Streamlit itself
        os.execv(command[0], command)
