"""The embedded Qdrant store shared by several processes (the app, `trialguard ingest/screen/ask`) on one data dir.

qdrant-client's local mode lets one process hold a storage folder at a time, and it reads the folder into memory when
it opens. So no process keeps it open: each operation (a search, an ingest's writes, a listing) opens the store, works
and closes it, under a lock of our own that also covers the open (qdrant-client loads the folder *before* it takes its
own lock, so that lock alone would let a reader load a half-written state). A busy store is waited for, up to
`wait_s`; after that the operation fails with a message naming the folder and what to do. The folder is read only
when a session first calls Qdrant: a search answered from the index's caches takes the lock (microseconds) and
never pays the load (about 50 ms for the demo store, growing with the number of points).

Relies on: an OS advisory file lock on `<store>/.trialguard.lock` (portalocker: flock on POSIX, LockFileEx on Windows)
that every TrialGuard process takes (the OS lets it go when a process dies, kill -9 included); a local filesystem where
those locks work (not every network share honours them); every write going through a write session
(`session(write=True)`), which replaces `<store>/.trialguard-generation` as it begins, under the lock, so another
process's cached listing of versions can tell that the store changed.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import portalocker
from qdrant_client import QdrantClient

from labs.errors import ConfigError

LOCK_FILE = ".trialguard.lock"
GENERATION_FILE = ".trialguard-generation"
DEFAULT_WAIT_S = 30.0


class StoreBusyError(ConfigError):
    """The store stayed locked by another process for longer than the wait allowed."""


class SharedLocalClient:
    """Stands in for a `QdrantClient(path=...)`: every method call runs inside a session, the caller's own when one
    is open (`with client.session(): ...`, nested sessions reuse it), else one opened for that call alone."""

    def __init__(self, path: Path | str, *, wait_s: float = DEFAULT_WAIT_S):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.wait_s = wait_s
        self._thread_lock = threading.RLock()  # threads of one process (Streamlit sessions) take turns
        self._client: QdrantClient | None = None
        self._lock_file = None
        self._depth = 0
        self._wrote = False
        self.opens = 0  # sessions opened, for tests and benchmarks

    # ---- sessions -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self, *, write: bool = False) -> Iterator[SharedLocalClient]:
        """Hold the store for a multi-step operation. `write=True`: it will change the store (stamped at its start)."""
        if not self._thread_lock.acquire(timeout=self.wait_s):
            raise self._busy()
        try:
            if self._depth == 0:
                self._lock_store()
            self._depth += 1
            if write and not self._wrote:
                # stamped as the write begins, under the lock: a writer killed half-way (kill -9) has still
                # told every cached listing to re-read, and no reader can see the stamp before the lock is free
                self._stamp()
                self._wrote = True
            try:
                yield self
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._close()
        finally:
            self._thread_lock.release()

    def _lock_store(self) -> None:
        deadline = time.monotonic() + self.wait_s
        handle = open(self.path / LOCK_FILE, "a+")  # noqa: SIM115 - held until _close
        pause = 0.02
        while True:
            try:
                portalocker.lock(handle, portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING)
                break
            except portalocker.exceptions.LockException:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise self._busy() from None
                time.sleep(pause)
                pause = min(pause * 2, 0.25)
        self._lock_file = handle

    def _live(self) -> QdrantClient:
        """The open client of the current session, loaded on first use."""
        if self._client is not None:
            return self._client
        try:
            self._client = QdrantClient(path=str(self.path))
        except RuntimeError as exc:  # a process that does not take our lock (an older TrialGuard) holds it
            raise ConfigError(
                f"embedded Qdrant store {self.path} is held by a process that does not share it ({exc}); stop "
                "that process, or run a Qdrant server and set TRIALGUARD_QDRANT_URL"
            ) from exc
        self.opens += 1
        return self._client

    def _close(self) -> None:
        try:
            if self._client is not None:
                self._client.close()
        finally:
            self._client = None
            self._wrote = False
            self._release()

    def _stamp(self) -> None:
        tmp = self.path / f"{GENERATION_FILE}.{os.getpid()}.tmp"
        tmp.write_text(uuid.uuid4().hex, encoding="utf-8")
        os.replace(tmp, self.path / GENERATION_FILE)

    def _release(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(Exception):
                portalocker.unlock(self._lock_file)
            self._lock_file.close()
            self._lock_file = None

    def _busy(self) -> StoreBusyError:
        return StoreBusyError(
            f"embedded Qdrant store {self.path} stayed busy for {self.wait_s:g} s (another TrialGuard process is "
            "ingesting or screening); try again when it is done, raise TRIALGUARD_STORE_WAIT_S, or run a Qdrant "
            "server and set TRIALGUARD_QDRANT_URL"
        )

    def generation(self) -> str:
        """A stamp that changes whenever any process finishes a write session ('' before the first)."""
        try:
            return (self.path / GENERATION_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    # ---- the QdrantClient API -----------------------------------------------------------------------------

    def close(self, **_: object) -> None:
        """Nothing stays open between sessions; kept so callers can treat this as a QdrantClient."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if not callable(getattr(QdrantClient, name, None)):
            raise AttributeError(f"{type(self).__name__} forwards QdrantClient methods only, not {name!r}")

        def call(*args, **kwargs):
            with self.session():
                return getattr(self._live(), name)(*args, **kwargs)

        return call


def session(client, *, write: bool = False):
    """`client.session()` for the shared embedded store; nothing to hold for a Qdrant server."""
    if isinstance(client, SharedLocalClient):
        return client.session(write=write)
    return contextlib.nullcontext(client)


def generation(client) -> str | None:
    """The shared store's write stamp; None for a server (its cache is not refreshed from here)."""
    return client.generation() if isinstance(client, SharedLocalClient) else None
