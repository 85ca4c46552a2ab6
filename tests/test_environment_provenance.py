"""The lock's sha256 names the environment that produced a verdict: in assessments, audit records, the eval report
and `trialguard --version`; a venv that drifted from the lock is never passed off as it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reasoning import environment

REPO = Path(__file__).resolve().parents[1]
LOCK_SHA = hashlib.sha256((REPO / "requirements" / "app.lock").read_bytes()).hexdigest()


def test_the_stamp_is_the_locks_sha256_in_this_venv():
    current = environment.current()
    assert current.lock_sha256 == LOCK_SHA
    assert current.drift == (), current.drift
    assert environment.lock_stamp() == LOCK_SHA


def test_a_drifted_venv_is_marked_and_named():
    drifted = environment.Environment(lock_sha256=LOCK_SHA, drift=("pydantic: installed 2.0, app.lock has 2.14.4",))
    assert drifted.stamp == LOCK_SHA + "+drift"
    assert "1 package(s) differ" in drifted.label
    assert environment.Environment(lock_sha256=None).stamp is None


def test_version_names_the_lock():
    from ui.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert LOCK_SHA in result.output and "trialguard 0.1.0" in result.output


def test_the_eval_report_names_the_lock(tmp_path):
    from eval.harness import run_all

    run = run_all(tmp_path, fast=True, only=["conversion"])
    assert LOCK_SHA in run.report.read_text()
    assert json.loads((tmp_path / "metrics.json").read_text())["environment"]["lock_sha256"] == LOCK_SHA
