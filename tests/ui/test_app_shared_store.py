"""The app open on a data dir while `trialguard ingest` (another process) adds a version: the app shows it on its
next run, without a restart, and the CLI is never refused because the app is open."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

FRESH = """# Study TG-SIDE-5 clinical study protocol, version {version}

## 5.1 Inclusion criteria

1. Adults aged 18 years or older at consent.
2. Absolute neutrophil count of at least {anc} x 10^9/L.

## 5.2 Exclusion criteria

1. Total bilirubin above 1.5 x ULN.
"""


def _ingest(path, version: str, effective: str) -> None:
    env = {**os.environ, "TRIALGUARD_STORE_WAIT_S": "120"}
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ingest", str(path), "--protocol-id", "TG-SIDE-5", "--version", version,
         "--effective-date", effective],
        cwd=REPO, env=env, text=True, capture_output=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _versions(app) -> set[tuple[str, str]]:
    frame = app.dataframe[0].value
    return set(zip(frame["protocol"], frame["version"]))


def test_the_open_app_shows_a_version_the_cli_ingested(app_env, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    # a data dir of its own: the protocol added here must not show in the session's other app tests
    monkeypatch.setenv("TRIALGUARD_DATA_DIR", str(tmp_path / "data"))
    app = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=120)
    app.run()
    app.switch_page("views/protocols.py").run()
    assert not app.exception and not app.error
    before = _versions(app)
    assert not any(pid == "TG-SIDE-5" for pid, _ in before)
    for version, anc, effective in (("1.0", 1.5, "2024-01-01"), ("1.1", 1.0, "2024-09-01")):
        path = tmp_path / f"side_{version}.md"
        path.write_text(FRESH.format(version=version, anc=anc))
        _ingest(path, version, effective)  # the app's process is alive, its index built and cached
        app.run()
        assert not app.exception and not app.error, [e.value for e in app.error]
        assert ("TG-SIDE-5", version) in _versions(app)
    assert before <= _versions(app)
