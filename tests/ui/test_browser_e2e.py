"""End to end in a real browser: `trialguard app` on a free port, headless Debian Chromium through Playwright.

A CRA asks a question that yields a cited DEVIATION, sends it to review, a reviewer confirms it, and the
confirmation is then read back from the audit store. Screenshots go to test-artifacts/ (gitignored).
Never `playwright install`: the browser is Debian's chromium (`make browser` / apt-get install chromium).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

import httpx
import pytest
from conftest import DEMO_PROTOCOL, REPO

from ui.audit import Action, AuditStore

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]
ARTIFACTS = REPO / "test-artifacts"
QUESTION = "Patient 1003 ALT 250 U/L (ULN 40) on 2024-03-02"
REVIEWER = "Dr E2E Reviewer"
TRUSTED_HEADER = "X-Trusted-User"  # what an SSO proxy would set
PROXY_SECRET = "correct horse battery staple"  # shared between the proxy and the app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`trialguard app` exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).text.strip() == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url}/_stcore/health did not answer ok within {timeout_s} s:\n{log.read_text()[-3000:]}")


def _idle(page) -> None:
    """Streamlit shows its "Running..." status widget while a script run is in flight; click only after it."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=90_000)


class HeaderProxy:
    """A minimal stand-in for an SSO reverse proxy: forwards 127.0.0.1:<port> to the app and sets the
    trusted user header on every request it forwards (dropping any the client sent), as oauth2-proxy does."""

    def __init__(self, upstream_port: int, user: str, secret: str | None = PROXY_SECRET):
        self.upstream_port, self.user, self.secret = upstream_port, user, secret
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):  # either side hung up
            pass
        finally:
            writer.close()

    async def _client(self, c_reader, c_writer) -> None:
        try:
            head = await c_reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            c_writer.close()
            return
        lines = [line for line in head.split(b"\r\n")[:-2]
                 if not line.lower().startswith((TRUSTED_HEADER.lower().encode() + b":", b"x-trialguard-proxy-secret:"))]
        lines.append(f"{TRUSTED_HEADER}: {self.user}".encode())
        if self.secret is not None:
            lines.append(f"X-TrialGuard-Proxy-Secret: {self.secret}".encode())
        u_reader, u_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        u_writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        # one request per connection is enough here: the header matters on the websocket upgrade
        await asyncio.gather(self._pipe(c_reader, u_writer), self._pipe(u_reader, c_writer))

    def __enter__(self) -> Self:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", self.port), self.loop).result(10)
        return self

    def __exit__(self, *exc) -> None:
        async def shutdown() -> None:
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@pytest.fixture
def served_app(tmp_path):
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's browser with `make browser` "
                    "(apt-get install -y chromium); never `playwright install`")
    trialguard = Path(sys.executable).with_name("trialguard")
    if not trialguard.is_file():
        pytest.fail(f"{trialguard} not found: install the project (`make install`)")
    protocols = tmp_path / "protocols"
    protocols.mkdir()
    pid, version, effective, file = DEMO_PROTOCOL
    (protocols / "manifest.yaml").write_text(
        f"protocols:\n  - protocol_id: {pid}\n    version: \"{version}\"\n    effective_date: {effective}\n"
        f"    file: {REPO / 'protocols' / file}\n"
    )
    data = tmp_path / "data"
    port = _free_port()
    env = {**os.environ, "TRIALGUARD_DATA_DIR": str(data), "TRIALGUARD_PROTOCOLS_DIR": str(protocols),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "1",
           "TRIALGUARD_TRUSTED_USER_HEADER": TRUSTED_HEADER, "TRIALGUARD_TRUSTED_USER_SECRET": PROXY_SECRET}
    env.pop("TRIALGUARD_DB_URL", None)
    env.pop("TRIALGUARD_LLM_URL", None)
    log = tmp_path / "app.log"
    with log.open("w") as out:
        # `-m ui.cli` from the checkout: the code under test, whichever checkout the `trialguard` script points to
        process = subprocess.Popen([sys.executable, "-m", "ui.cli", "app", "--port", str(port)], cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield url, data
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: the app and nothing else
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log, ARTIFACTS / "browser_e2e_app.log")


def test_ask_deviation_confirm_and_find_the_audit_record(served_app):
    from playwright.sync_api import expect, sync_playwright

    url, data = served_app
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(90_000)  # the first page load ingests the demo protocol
            expect.set_options(timeout=90_000)
            page.goto(url)
            expect(page.get_by_role("heading", name="Ask")).to_be_visible()

            reviewer = page.locator('input[aria-label="Reviewer name"]')
            reviewer.fill(REVIEWER)
            reviewer.press("Enter")
            _idle(page)

            question = page.locator('textarea[aria-label="Question"]')
            question.fill(QUESTION)
            page.get_by_role("button", name="Assess question").click()
            _idle(page)
            badge = page.get_by_text("Overall verdict: DEVIATION")
            expect(badge).to_be_visible()
            expect(page.locator("mark").first).to_be_visible()  # the cited words, highlighted
            expect(page.get_by_text("quote verified verbatim").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "e2e_1_ask_deviation.png"), full_page=True)

            page.get_by_role("button", name="Send to review").click()
            _idle(page)
            expect(page.get_by_text("Sent to review as item")).to_be_visible()
            item_text = page.get_by_text("Sent to review as item").first.inner_text()
            item_id = item_text.rsplit(" ", 1)[-1].rstrip(".")

            page.get_by_role("link", name="Review").click()
            expect(page.get_by_role("heading", name="Review")).to_be_visible()
            expect(page.get_by_role("combobox", name="Item")).to_have_value(re.compile(item_id))  # queued item chosen
            _idle(page)
            page.get_by_role("button", name="Record decision").click()  # "Confirm" is the default decision
            expect(page.get_by_text(f"Recorded: confirmed by {REVIEWER}")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "e2e_2_review_confirmed.png"), full_page=True)

            # behind an SSO proxy that sets the configured header, the user comes from it and is not typed
            with HeaderProxy(int(url.rsplit(":", 1)[1]), "alice@hospital.example") as proxy:
                sso = browser.new_page()
                sso.goto(f"http://127.0.0.1:{proxy.port}")
                expect(sso.get_by_text("Signed in as alice@hospital.example")).to_be_visible()
                expect(sso.locator('input[aria-label="Reviewer name"]')).to_have_count(0)
                sso.screenshot(path=str(ARTIFACTS / "e2e_3_sso_user.png"))
                sso.close()
            # a local process that sends the user header without the proxy's secret is not believed
            with HeaderProxy(int(url.rsplit(":", 1)[1]), "mallory@local", secret="guessed-wrong-secret") as forger:
                forged = browser.new_page()
                forged.goto(f"http://127.0.0.1:{forger.port}")
                expect(forged.locator('input[aria-label="Reviewer name"]')).to_have_count(1)
                expect(forged.get_by_text("Signed in as mallory@local")).to_have_count(0)
                forged.close()
        finally:
            browser.close()

    store = AuditStore(f"sqlite:///{(data / 'trialguard.db').resolve()}")
    history = store.records(item_id=item_id)
    assert [r.action for r in history] == [Action.SUBMITTED, Action.CONFIRMED]
    confirmed = history[-1]
    assert confirmed.actor == REVIEWER and not confirmed.actor_verified
    snapshot = confirmed.assessment
    assert snapshot.overall.value == "DEVIATION" and snapshot.question == QUESTION
    cited = [c for f in snapshot.findings if f.verdict.value == "VIOLATES" for c in f.citations]
    assert cited and all(c.verified and c.page >= 1 for c in cited)
    assert confirmed.protocol_sha256 == snapshot.provenance.protocol_sha256 and confirmed.engine_version


SIDE_PROTOCOL = """# Study TG-SIDE-8 clinical study protocol, version 1.0

## 5.1 Inclusion criteria

1. Adults aged 18 years or older at consent.
2. Haemoglobin of at least 9 g/dL.

## 5.2 Exclusion criteria

1. ALT above 3 x ULN.
"""


def test_the_cli_ingests_and_screens_while_the_app_is_open(served_app, tmp_path):
    """A data manager's `trialguard ingest` and `screen` on the data dir of an app a CRA has open: neither is
    refused, and the CRA's page lists the new protocol after a reload, with no restart of the app."""
    from playwright.sync_api import expect, sync_playwright

    url, data = served_app
    ARTIFACTS.mkdir(exist_ok=True)
    env = {**os.environ, "TRIALGUARD_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "DO_NOT_TRACK": "1", "TRIALGUARD_STORE_WAIT_S": "120"}
    for key in ("TRIALGUARD_DB_URL", "TRIALGUARD_LLM_URL", "TRIALGUARD_QDRANT_URL"):
        env.pop(key, None)
    trialguard = [sys.executable, "-m", "ui.cli"]  # the checkout's code, as the served app runs it
    side = tmp_path / "side.md"
    side.write_text(SIDE_PROTOCOL)
    labs = tmp_path / "labs.csv"
    labs.write_text("USUBJID,LBTESTCD,LBORRES,LBORRESU,LBORNRHI,LBDTC\nS-1,ALT,200,U/L,40,2025-02-03\n")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(90_000)
            expect.set_options(timeout=90_000)
            page.goto(f"{url}/protocols")
            expect(page.get_by_role("heading", name="Protocols").first).to_be_visible()
            _idle(page)

            ingest = subprocess.run([*trialguard, "ingest", str(side), "--protocol-id", "TG-SIDE-8", "--version",
                                     "1.0"], env=env, cwd=REPO, text=True, capture_output=True, timeout=300)
            assert ingest.returncode == 0, ingest.stdout + ingest.stderr
            screen = subprocess.run([*trialguard, "screen", str(labs), "--protocol", "TG-SIDE-8"], env=env,
                                    cwd=REPO, text=True, capture_output=True, timeout=300)
            assert screen.returncode == 1 and "DEVIATION S-1" in screen.stdout, screen.stdout + screen.stderr

            page.reload()
            _idle(page)
            page.get_by_role("combobox", name="Protocol").first.click()
            expect(page.get_by_role("option", name="TG-SIDE-8")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "e2e_4_cli_ingest_seen.png"), full_page=True)
        finally:
            browser.close()
