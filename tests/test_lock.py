"""Every package of both venvs is the lock's, and a lock that no longer matches its sources stops `make` at once."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOCKS = REPO / "requirements"


def check_lock():
    spec = importlib.util.spec_from_file_location("check_lock", LOCKS / "check_lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_this_venv_is_exactly_the_app_lock():
    drift = check_lock().installed_problems([LOCKS / "app.lock"])
    assert not drift, f"{sys.prefix} differs from requirements/app.lock:\n" + "\n".join(drift)


def test_the_llm_venv_is_exactly_its_locks():
    python = REPO / ".venv-llm" / "bin" / "python"
    if not python.exists():
        pytest.skip(".venv-llm is not built here (make llm-env builds it; make test always does)")
    result = subprocess.run(
        [python, LOCKS / "check_lock.py", "installed", LOCKS / "llm.lock", LOCKS / "llm-weights.lock"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_locks_match_their_sources():
    assert check_lock().source_problems() == []


def test_the_locks_hash_every_package_and_take_torch_from_the_cpu_wheel():
    for name in ("app.lock", "llm.lock", "llm-weights.lock"):
        lines = (LOCKS / name).read_text(encoding="utf-8").splitlines()
        pins = [i for i, line in enumerate(lines) if line[:1].isalnum() and "==" in line]
        assert pins, name
        unhashed = [lines[i] for i in pins if not lines[i + 1].strip().startswith("--hash=sha256:")]
        assert not unhashed, f"{name}: pins without a hash: {unhashed}"
    app = check_lock().read_lock(LOCKS / "app.lock")
    assert app["torch"] == "2.13.0+cpu"
    assert not {"torchvision", "torchaudio", "torchcodec"} & check_lock().read_lock(LOCKS / "llm.lock").keys()


def checkout_copy(tmp_path: Path) -> Path:
    """What `make` reads before any install: the Makefile, pyproject.toml and the locks."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, copy / name)
    shutil.copytree(LOCKS, copy / "requirements", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.mark.parametrize(
    "edit, named",
    [
        (('"rapidfuzz==3.14.6"', '"rapidfuzz==3.14.5"'), "rapidfuzz: pyproject.toml pins 3.14.5, app.lock has 3.14.6"),
        (('"typer==0.29.2",', '"typer==0.29.2",\n    "left-pad==1.0",'), "left-pad: in pyproject.toml but not in"),
    ],
    ids=["other-version", "missing"],
)
def test_make_test_stops_at_once_naming_what_the_lock_lacks(tmp_path, edit, named):
    copy = checkout_copy(tmp_path)
    pyproject = copy / "pyproject.toml"
    assert edit[0] in pyproject.read_text(encoding="utf-8")
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(edit[0], edit[1]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(["make", "test"], cwd=copy, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode != 0
    assert named in result.stderr
    assert "make lock" in result.stderr
    assert not (copy / ".venv").exists(), "nothing may be installed from a lock that does not match"


def test_installed_drift_is_named_package_by_package(tmp_path):
    lock = tmp_path / "app.lock"
    text = (LOCKS / "app.lock").read_text(encoding="utf-8")
    pydantic = check_lock().read_lock(LOCKS / "app.lock")["pydantic"]
    lock.write_text(text.replace(f"pydantic=={pydantic} ", "pydantic==0.0.1 "), encoding="utf-8")
    drift = check_lock().installed_problems([lock])
    assert drift == [f"pydantic: installed {pydantic}, app.lock has 0.0.1"]
