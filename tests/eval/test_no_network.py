"""The default mode never needs the network: ingest, ask and screen run inside a network namespace with no links.

`unshare -n` (root here and in CI) gives the commands a namespace where even loopback is down, so any attempt to
reach a model hub, a telemetry endpoint or a server fails; the commands must still succeed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _offline(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "-n", "bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_ingest_ask_and_screen_work_without_network(tmp_path, repo_root):
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to prove offline operation")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TRIALGUARD_DATA_DIR": str(tmp_path / "data")}
    env.pop("TRIALGUARD_LLM_URL", None)
    env.pop("TRIALGUARD_QDRANT_URL", None)
    # Prove the namespace really is cut off before trusting the rest.
    probe = _offline(f"{sys.executable} -c \"import socket; socket.create_connection(('pypi.org', 443), timeout=3)\"",
                     env, repo_root)
    assert probe.returncode != 0, "the network namespace still reaches the internet"

    labs_csv = tmp_path / "labs.csv"
    labs_csv.write_text(
        "patient_id,test,value,unit,uln,date\n"
        "1003,ALT,250,U/L,40,2024-03-02\n"
        "1004,ALT,30,U/L,40,2024-03-02\n"
    )
    answer = tmp_path / "answer.json"
    findings = tmp_path / "findings.csv"
    script = (
        "set -e\n"
        "trialguard ingest protocols/TG-ONC-001_v1.0.pdf --protocol-id TG-ONC-001 --version 1.0 "
        "--effective-date 2024-01-15\n"
        f"trialguard ask --protocol TG-ONC-001 --date 2024-03-02 --json 'pt 1003: ALT 250 U/L (ULN 40)' > {answer}\n"
        f"set +e; trialguard screen {labs_csv} --protocol TG-ONC-001 --out {findings}; echo screen-exit=$?\n"
    )
    result = _offline(script, env, repo_root)
    assert result.returncode == 0, f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assessment = json.loads(answer.read_text())
    assert assessment["overall"] == "DEVIATION"
    assert any(c["quote"] for f in assessment["findings"] for c in f["citations"])
    assert "screen-exit=1" in result.stdout, result.stdout[-2000:]  # 1 = deviations found
    rows = findings.read_text()
    assert "1003" in rows
