"""End-to-end fixtures: the real app server and a real headless Chromium.

The server runs `python -m crm.ui.serve` (`streamlit run app.py`, as run.sh starts it) against
a database the test prepared; the browser is Debian's Chromium driven by Playwright (no browser
download). Tests wait on the app's state (`data-test-script-state`), never on sleeps.

Not only fixtures: the helpers every browser test uses (`sign_in`, `wait_idle`, `sentence`, …)
live here too, so that no test module imports another.
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
# Run in every page before the app's own scripts: follows the runs of the script, so that
# `wait_idle` knows whether a run the page asked for has started and finished. It reads the
# protobuf messages on Streamlit's WebSocket (their top-level field numbers only):
# a BackMsg with `rerun_script` (11) asks for a run; a ForwardMsg with `new_session` (4) says
# a run started, one with `script_finished` (6) that it ended, status 2 meaning "stopped for a
# rerun" (another run follows). A widget may send its value a moment after the input (the
# grid waits 150 ms for more typing), and an upload goes over HTTP before its run is asked
# for: so the page is not `settled` until 500 ms after the last input event with no request
# that began since still in flight; timers fire in the order they are due, so a widget's
# shorter wait always ends first, however loaded the machine.
RUN_WATCH = """
(() => {
  const watch = window.__crmRuns = {pending: false, started: false, settled: true, busy: 0};
  const fields = (data) => {
    const bytes = data instanceof Uint8Array ? data
      : data instanceof ArrayBuffer ? new Uint8Array(data) : null;
    const found = new Map();
    if (!bytes) return found;
    let i = 0;
    const varint = () => {
      let value = 0, scale = 1, byte;
      do { byte = bytes[i++]; value += (byte & 0x7f) * scale; scale *= 128; }
      while (byte & 0x80 && i < bytes.length);
      return value;
    };
    while (i < bytes.length) {
      const tag = varint(), field = Math.floor(tag / 8), wire = tag % 8;
      if (wire === 0) found.set(field, varint());
      else if (wire === 2) { const n = varint(); found.set(field, null); i += n; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else break;
    }
    return found;
  };
  const heard = (event) => {
    const msg = fields(event.data);
    if (msg.has(4)) { watch.pending = false; watch.started = true; }
    if (msg.has(6) && watch.started) {
      watch.started = false;
      if (msg.get(6) === 2) watch.pending = true;
    }
  };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (!this.__crmHeard) { this.__crmHeard = true; this.addEventListener("message", heard); }
    if (fields(data).has(11)) watch.pending = true;
    return send.call(this, data);
  };
  let timer;
  const unsettle = () => {
    watch.settled = false;
    clearTimeout(timer);
    timer = setTimeout(() => { watch.settled = watch.busy === 0; }, 500);
  };
  for (const name of ["pointerdown", "pointerup", "mousedown", "mouseup", "click", "keydown",
                      "keyup", "input", "change", "paste", "drop"]) {
    window.addEventListener(name, unsettle, true);
  }
  const xhrSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    if (!watch.settled) {
      watch.busy++;
      this.addEventListener("loadend", () => { watch.busy--; unsettle(); });
    }
    return xhrSend.apply(this, args);
  };
  const fetch = window.fetch;
  window.fetch = function (...args) {
    if (watch.settled) return fetch.apply(window, args);
    watch.busy++;
    return fetch.apply(window, args).finally(() => { watch.busy--; unsettle(); });
  };
})();
"""
IDLE_NOW = """() => {
  const watch = window.__crmRuns, app = document.querySelector("[data-testid=stApp]");
  return !watch.pending && !watch.started && watch.settled && app !== null
    && app.dataset.testScriptState === "notRunning";
}"""


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


@contextlib.contextmanager
def serving(database_url: str, tmp_path: Path) -> Iterator[AppServer]:
    """The app server over the database as the test prepared it, stopped afterwards. A
    module's `server` fixture asks for its records' fixture, then serves them."""
    from crm.storage.store import close_store

    close_store(database_url)  # DuckDB: one process per file; the server is that process now
    app = AppServer(database_url, tmp_path)
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture
def server(db, database_url, tmp_path):
    """The app server over the shared test world (tests.factories.world); modules that need
    other records define their own `server`."""
    from tests import factories

    factories.world(db)
    with serving(database_url, tmp_path) as app:
        yield app


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


def new_context(browser, **options):
    """A browser context of its own (own cookies, own session) whose pages `wait_idle` can
    follow."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RUN_WATCH)
    return context


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = new_context(browser, accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


def wait_idle(page) -> None:
    """Wait until every run of the script that the page asked for has started and finished:
    the page has settled after the last input, no run asked for is still to start ("running"
    next), none is running, and the app says "notRunning".

    Returning as soon as the app said "notRunning" would be too early: after a click, the
    state stays "notRunning" until the server's answer arrives, so a run just asked for has
    not begun yet. An interaction that asks for no run waits only for the page to settle.
    """
    page.wait_for_selector(IDLE, state="attached")
    page.wait_for_function(IDLE_NOW)


def sign_in(page, server, username: str) -> None:
    """Open the app, sign in as `username` and wait for the Overview and its run to end."""
    from tests import factories

    page.goto(server.url)
    # The form is there once the first run is over.
    page.get_by_role("textbox", name="Username").wait_for()
    wait_idle(page)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_label("Password", exact=True).fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").first.wait_for()
    wait_idle(page)


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
