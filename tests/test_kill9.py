"""kill -9 in the middle of an ingest or a screen (issue #19): nothing half-done becomes visible, and running the
command again completes the job. Real processes, real store, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "protocols" / "corpus"
PROTOCOL = CORPUS / "NCT00434512_Prot_000.pdf"  # ~150 pages: parse and indexing take seconds, time to kill
TRIALGUARD = Path(sys.executable).with_name("trialguard")
LISTING = ("import json; from ui.services import build_index; from ui.settings import Settings; "
           "print(json.dumps([[i.protocol_id, i.version, i.criteria_count] for i in "
           "build_index(Settings()).protocols()]))")

pytestmark = pytest.mark.slow


def _env(data: Path) -> dict:
    env = {**os.environ, "TRIALGUARD_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("TRIALGUARD_DB_URL", None)
    return env


def _listing(data: Path) -> list:
    done = subprocess.run([sys.executable, "-c", LISTING], cwd=REPO, env=_env(data), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _killed_after(args: list[str], data: Path, seconds: float) -> int | None:
    process = subprocess.Popen([str(TRIALGUARD), *args], cwd=REPO, env=_env(data), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(seconds)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    return process.wait(timeout=60)


def test_an_ingest_killed_midway_leaves_nothing_visible_and_a_rerun_completes_it(tmp_path):
    if not PROTOCOL.is_file():
        pytest.fail(f"{PROTOCOL} not found: ../shared must sit beside the repo")
    clean = tmp_path / "clean"
    done = subprocess.run([str(TRIALGUARD), "ingest", str(PROTOCOL)], cwd=REPO, env=_env(clean),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    (whole,) = _listing(clean)
    killed_midway = 0
    for seconds in (5, 10):
        data = tmp_path / f"killed_{seconds}"
        code = _killed_after(["ingest", str(PROTOCOL)], data, seconds)
        killed_midway += code == -signal.SIGKILL
        listed = _listing(data)
        assert listed in ([], [whole]), f"killed after {seconds} s, the store shows a partial version: {listed}"
        again = subprocess.run([str(TRIALGUARD), "ingest", str(PROTOCOL)], cwd=REPO, env=_env(data),
                               capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stdout + again.stderr
        assert _listing(data) == [whole]
    assert killed_midway, "no ingest was still running when killed: the test proved nothing"


def test_a_screen_killed_midway_leaves_no_truncated_report(tmp_path):
    lb = REPO.parent / "shared" / "data" / "labs" / "cdisc_pilot01" / "csv" / "sdtm_lb.csv"
    if not lb.is_file():
        pytest.fail(f"{lb} not found: ../shared must sit beside the repo")
    data = tmp_path / "data"
    ingest = subprocess.run([str(TRIALGUARD), "ingest", str(REPO / "protocols" / "manifest.yaml")], cwd=REPO,
                            env=_env(data), capture_output=True, text=True, timeout=600)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    out = tmp_path / "findings.csv"
    args = ["screen", str(lb), "--protocol", "TG-ONC-001", "--out", str(out)]
    complete = subprocess.run([str(TRIALGUARD), *args], cwd=REPO, env=_env(data), capture_output=True, text=True,
                              timeout=600)
    assert complete.returncode in (0, 1, 3), complete.stdout + complete.stderr
    whole = out.read_bytes()
    out.unlink()
    for seconds in (2, 4, 6):
        _killed_after(args, data, seconds)
        if out.exists():
            assert out.read_bytes() == whole, f"killed after {seconds} s: a report that is not the whole report"
            out.unlink()
