"""Which installed environment produced a verdict: the sha256 of the lock it was installed from.

A sponsor may have to show, in an audit, exactly which software reached a verdict. Every package of the venv comes
from requirements/app.lock (hash-checked), so that file's sha256 names the whole environment. It is only worth
recording if the venv really is that lock: the installed packages are compared with it once per process, and a
venv that drifted is recorded as such, never passed off as the locked one.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

LOCK = Path(__file__).resolve().parents[1] / "requirements" / "app.lock"


class Environment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lock_sha256: str | None
    drift: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """One line for `--version`, reports and the app."""
        if self.lock_sha256 is None:
            return "environment: not installed from a lock (no requirements/app.lock beside the code)"
        if self.drift:
            return f"environment: lock sha256 {self.lock_sha256} but {len(self.drift)} package(s) differ from it"
        return f"environment: lock sha256 {self.lock_sha256}"

    @property
    def stamp(self) -> str | None:
        """What provenance and audit records carry: the lock's sha256, marked when the venv is not that lock."""
        if self.lock_sha256 is None:
            return None
        return f"{self.lock_sha256}+drift" if self.drift else self.lock_sha256


@cache
def current() -> Environment:
    if not LOCK.is_file():
        return Environment(lock_sha256=None)
    spec = importlib.util.spec_from_file_location("check_lock", LOCK.with_name("check_lock.py"))
    check_lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_lock)
    return Environment(
        lock_sha256=hashlib.sha256(LOCK.read_bytes()).hexdigest(),
        drift=tuple(check_lock.installed_problems([LOCK])),
    )


def lock_stamp() -> str | None:
    return current().stamp
