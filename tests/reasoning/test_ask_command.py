"""`trialguard ask` end to end through the typer app, on a data dir with the demo protocols ingested."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_env(monkeypatch, demo_index):
    """The CLI on the session's indexed demo store (no re-ingest): build_index returns it."""
    from ui import services

    monkeypatch.delenv("TRIALGUARD_LLM_URL", raising=False)
    monkeypatch.setattr(services, "build_index", lambda settings: demo_index)
    from ui.cli import app

    return app


def test_ask_readable_and_json(cli_env):
    runner = CliRunner()
    question = "Patient 1003 has ALT of 230 U/L (ULN 40) on 2024-07-01"
    shown = runner.invoke(cli_env, ["ask", "--protocol", "TG-ONC-001", question], terminal_width=160)
    assert shown.exit_code == 0, shown.output
    assert "DEVIATION" in shown.output and "5.75 × ULN 40 U/L" in shown.output and "page" in shown.output
    raw = runner.invoke(cli_env, ["ask", "--protocol", "TG-ONC-001", "--json", "--date", "2024-03-02", question])
    data = json.loads(raw.output)
    assert data["version"] == "1.0" and data["overall"] == "DEVIATION"
    assert all(c["verified"] for f in data["findings"] for c in f["citations"])


def test_ask_llm_without_url_is_a_clear_error(cli_env):
    result = CliRunner().invoke(cli_env, ["ask", "--protocol", "TG-ONC-001", "--llm", "ALT 65 U/L (ULN 40)"])
    assert result.exit_code == 2
    assert "TRIALGUARD_LLM_URL" in (result.output + str(result.exception))
