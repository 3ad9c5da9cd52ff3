"""End-to-end fixtures: the real app server and a real headless Chromium.

The server runs `python -m crm.ui.serve` (`streamlit run app.py`, as run.sh starts it) against
a database the test prepared; the browser is Debian's Chromium driven by Playwright (no browser
download). Tests wait on the app's state (`data-test-script-state`), never on sleeps.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
TIMEOUT_MS = 30_000  # a loaded 2-core machine can take seconds for one rerun


@pytest.fixture(scope="session", autouse=True)
def _patient_expectations() -> None:
    """`expect(...)` waits as long as locators do (its own default is 5 s)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "server.log"
        env = {"CRM_UNSUBSCRIBE_KEY": "u" * 48, **os.environ,
               "CRM_DATABASE_URL": database_url, "CRM_COOKIE_KEY": "e" * 48,
               "PYTHONPATH": str(ROOT)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "crm.ui.serve", "--server.port",
             str(self.port), "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"app server exited:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.2)  # polling the server's health endpoint, not waiting on the app
        raise RuntimeError(f"app server did not become healthy:\n{self.log.read_text()}")

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()


@pytest.fixture
def server(db, database_url, tmp_path):
    """The app server over the shared test world (tests.factories.world); modules that need
    other records define their own `server`."""
    from crm.storage.store import close_store
    from tests import factories

    factories.world(db)
    close_store(database_url)  # DuckDB: one process per file; the server is that process now
    app = AppServer(database_url, tmp_path)
    yield app
    app.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: run ./test.sh, which installs it")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


def wait_idle(page) -> None:
    """Wait until Streamlit has finished running the script for the last interaction.

    The quiet network in between lets a run that was just asked for begin; it is not what
    decides (the script state is): a page whose charts or components keep fetching on a
    loaded machine may never be quiet for long, and must not fail the test for that.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_selector(IDLE, state="attached")
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=5_000)
    page.wait_for_selector(IDLE, state="attached")


def sentence(page, text: str) -> None:
    """Wait until the list's count sentence reads exactly `text` ("3 leads" is not "13 leads")
    and the run is over."""
    import re

    page.locator('[data-testid="stMarkdownContainer"] strong',
                 has_text=re.compile(rf"^{re.escape(text)}$")).wait_for()
    wait_idle(page)


def next_frames(page) -> None:
    """Wait until the browser has drawn two more frames. The grid's cell editor keeps the typed
    text in React state; an Enter handled before that state is drawn closes the editor and
    commits nothing (seen with two sessions at once). Wait for this before confirming."""
    page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def address_ends_with(page, tail: str) -> None:
    """Wait until the page's address ends with `tail` (the app writes the view into the URL
    at the end of a run, which may come after the grid is drawn)."""
    import re

    from playwright.sync_api import expect

    expect(page).to_have_url(re.compile(re.escape(tail) + "$"))
