"""Shared test setup: offline by construction, and paths to the real data beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI replays the same generated examples every run (a red build is reproducible); locally they vary run to run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# No test may reach a model hub or phone home; set before any library import reads them.
for _key, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "1",
                     "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(_key, _value)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real data not found at {SHARED_DATA}: ../shared must sit beside the repo")
    return SHARED_DATA


def pytest_collection_modifyitems(session, config, items):
    """The lock checks run first: a venv that drifted from the lock is named before anything fails mysteriously."""
    items.sort(key=lambda item: item.path.name != "test_lock.py")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A CLI run's own data dir (store, audit DB, logs) under tmp_path; returns tmp_path."""
    monkeypatch.setenv("TRIALGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRIALGUARD_DB_URL", raising=False)
    return tmp_path
