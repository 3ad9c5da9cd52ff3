"""Many signed-in people at once, without browsers: the app server's time per step under load.

    .venv/bin/python bench/load_bench.py                     # DuckDB, 100,000 + 100,000, 25 people
    .venv/bin/python bench/load_bench.py --rows 1000000 --rounds 5
    .venv/bin/python bench/load_bench.py --servers 2 \
        --db 'postgresql://postgres@127.0.0.1:5432/test?schema=load'

Why: the target is that 25 people of 25 different users, each pausing 2 s between actions,
get every step's run back within 1.0 s (p95), none stuck or failed, with the server in at
most 800 MB. Browsers cannot measure that on one machine: 25 Chromium pages take the CPU the
server needs (bench/browser_bench.py times what one person feels). So each person here is a
small client of Streamlit's own websocket protocol, all of them coroutines of one process.

How: the demo is loaded into a fresh DuckDB file (or into --db when it is empty), each person
gets a server-side session of their own user minted in the database (`crm.access.auth.
start_session`) and the signed `crm_session` cookie the sign-in would have written; then the
app server starts (`python -m crm.ui.serve`, as run.sh) with the same cookie key. Each person
opens `/_stcore/stream` with subprotocol "streamlit" and the cookie on the handshake
(Streamlit hands it to the app as st.context.cookies), and works as a browser would: a
BackMsg `rerun_script` (ClientState: page, query string, widget states) per action, then
ForwardMsgs (new_session, deltas, page_info_changed, ...) until `script_finished`. A run that
ends early because the app asked for another (FINISHED_EARLY_FOR_RERUN) is followed to the
final one. The time from sending the request to that message is the step's figure.

A list's state lives in its URL (crm/ui/list_state.py), but the app reads the URL only when a
list is opened; afterwards its widgets own the state, as in the browser. So a step inside a
list sends what a browser sends: the changed widget's value (its id read from the last run's
deltas) with the page's current query string; the app then writes the new state back to the
URL (page_info_changed), and that URL is how each step is checked (`q=`, `country=`,
`sort=name`, `page=2`). The steps, every round: open Leads, keyword search, country filter,
clear filters, sort by name, next page, open Contacts, open Overview; after the first visit
(the Overview, signed in by the cookie). Before the people arrive, each new server is warmed
by one untimed visit of three pages (--no-warm-up leaves it cold): a server that has been up
a while has imported its modules, which costs the very first run about a second. A step
fails when the run draws an exception or an error, reports a compile error or a missing page,
or does not do what the step asked; a person is stuck when a run does not end within
--timeout.

Figures, per run of the whole load (--repeat runs, each on a newly started server; medians
over runs): p50/p95 per step, failures, the server's CPU seconds and peak resident memory
(VmHWM from /proc, summed over --servers), this client's CPU and event-loop lag (to show it
is not the bottleneck), and from the server's log (crm/ui/rerun_log.py) the median run time,
queries and database time per page and per step. They go to bench/results/load.json and
load.md (--out). The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402
from google.protobuf.message import DecodeError  # noqa: E402
from streamlit.proto.Alert_pb2 import Alert  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.Element_pb2 import Element  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidHandshake  # noqa: E402
from websockets.typing import Subprotocol  # noqa: E402

from crm.access import auth  # noqa: E402
from crm.access.users import get_user  # noqa: E402
from crm.storage.store import close_store, open_store  # noqa: E402

RESULTS = ROOT / "bench" / "results"
COOKIE_NAME = "crm_session"  # crm/ui/session.py: the signed sign-in cookie
STEPS = ("first visit", "open Leads", "keyword search", "country filter", "clear filters",
         "sort by name", "next page", "open Contacts", "open Overview")
TARGETS = {"step_p95_s": 1.0, "server_memory_mb": 800}
# People with a role of their own come first, so that a few sessions still mix roles.
ROLES_FIRST = ("company.manager", "sales.manager", "operator", "super.operator", "admin")
SESSION_HOURS = 12
WIDGETS = ("text_input", "selectbox", "multiselect", "number_input", "button", "checkbox",
           "radio", "date_input")
LOG_LINE = re.compile(r"rerun /(?P<page>\S*) user=(?P<user>\S+) (?P<ms>\d+) ms; "
                      r"(?P<queries>\d+) queries, (?P<db_ms>\d+) ms in the database(?P<end>.*)$")


# ----------------------------------------------------------------------- the protocol client


class StepFailed(Exception):
    """A step could not be asked for (the page lacks the widget it needs)."""


class SessionLost(Exception):
    """The person cannot go on: a run never ended, or the connection went."""


@dataclass(frozen=True)
class Widget:
    kind: str  # the Element field: text_input, multiselect, button, ...
    id: str
    label: str
    options: tuple[str, ...] = ()


@dataclass
class Run:
    """What one rerun request brought back: how long until the last run of it finished,
    and what that last script run drew."""

    seconds: float = 0.0
    runs: int = 0  # script runs: more than 1 when the app asked for a rerun itself
    widgets: dict[str, Widget] = field(default_factory=dict)  # by label
    headings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class AppClient:
    """One browser tab as the server sees it: a websocket on /_stcore/stream that sends
    BackMsg protobufs and reads ForwardMsg protobufs."""

    def __init__(self, server_url: str, cookie: str, timeout: float) -> None:
        self.ws_url = server_url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self.cookie, self.timeout = cookie, timeout
        self.pages: dict[str, str] = {}  # url path -> page script hash (from `navigation`)
        self.page_hash, self.page_name = "", ""
        self.query = ""  # the address's query string, as the app last wrote it
        self.last = Run()
        self.ended = "the server closed the connection"  # why no more messages come
        self._inbox: asyncio.Queue[tuple[float, ForwardMsg] | None] = asyncio.Queue()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AppClient:
        try:
            self._ws = await connect(
                self.ws_url, subprotocols=[Subprotocol("streamlit")],
                additional_headers={"Cookie": f"{COOKIE_NAME}={self.cookie}"},
                max_size=None, open_timeout=self.timeout)
        except (OSError, InvalidHandshake, TimeoutError) as problem:
            raise SessionLost(f"could not connect to {self.ws_url}: {problem}") from problem
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                received = time.perf_counter()
                msg = ForwardMsg()
                msg.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
                self._inbox.put_nowait((received, msg))
        except ConnectionClosed as closed:
            self.ended = f"the server closed the connection ({closed})"
        except DecodeError as problem:
            self.ended = f"the server sent something that is not a ForwardMsg: {problem}"
        finally:
            self._inbox.put_nowait(None)

    async def open(self, url_path: str) -> Run:
        """Go to a page as its navigation link does (the address's query string is left)."""
        self.query = ""
        return await self._rerun(self.pages.get(url_path, ""), url_path, ())

    async def change(self, *widgets: WidgetState) -> Run:
        """Send new widget values (a typed search, a click) on the current page."""
        return await self._rerun(self.page_hash, self.page_name, widgets)

    def widget(self, label: str, *, prefix: bool = False) -> Widget:
        for shown, found in self.last.widgets.items():
            if shown == label or (prefix and shown.startswith(label)):
                return found
        raise StepFailed(f"no “{label}” on the page")

    def param(self, name: str) -> str | None:
        values = parse_qs(self.query).get(name)
        return values[0] if values else None

    async def _rerun(self, page_hash: str, page_name: str, widgets: Sequence[WidgetState]) -> Run:
        while not self._inbox.empty():  # what came after the last run's end (its status)
            item = self._inbox.get_nowait()
            if item is None:
                raise SessionLost(self.ended)
            self._take(item[1], Run())
        assert self._ws is not None
        request = BackMsg()
        state = request.rerun_script
        state.query_string = self.query
        state.page_script_hash = page_hash
        state.page_name = page_name
        state.widget_states.widgets.extend(widgets)
        run = Run()
        started = time.perf_counter()
        try:
            await self._ws.send(request.SerializeToString())
        except ConnectionClosed as problem:
            raise SessionLost(f"the connection closed: {problem}") from problem
        deadline = started + self.timeout
        while True:
            try:
                item = await asyncio.wait_for(self._inbox.get(), deadline - time.perf_counter())
            except TimeoutError:
                raise SessionLost(f"stuck: the run did not end within {self.timeout:g} s"
                                  ) from None
            if item is None:
                raise SessionLost(f"during a run, {self.ended}")
            received, msg = item
            if self._take(msg, run):
                run.seconds = received - started
                self.last = run
                return run

    def _take(self, msg: ForwardMsg, run: Run) -> bool:
        """Note what `msg` says; True when it ends the request's last script run."""
        kind = msg.WhichOneof("type")
        if kind == "new_session":  # a script run starts: what the page shows starts over
            run.runs += 1
            run.widgets, run.headings = {}, []
            self.page_hash = msg.new_session.page_script_hash
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_name = next((path for path, page_hash in self.pages.items()
                                   if page_hash == self.page_hash), self.page_name)
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            run.problems.append(f"page not found: {msg.page_not_found.page_name!r}")
        elif kind == "session_event" and msg.session_event.HasField(
                "script_compilation_exception"):
            run.problems.append("script compilation error: "
                                + msg.session_event.script_compilation_exception.message)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element, run)
        elif kind == "script_finished":
            if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return False  # the app asked for another run: that one is awaited
            if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                run.problems.append("the script finished with a compile error")
            return True
        return False

    @staticmethod
    def _element(element: Element, run: Run) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            run.problems.append(f"exception on the page: {element.exception.type}: "
                                f"{element.exception.message}"[:300])
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            run.problems.append(f"error on the page: {element.alert.body}"[:300])
        elif kind == "heading":
            run.headings.append(element.heading.body)
        elif kind in WIDGETS:
            proto = getattr(element, kind)
            options = tuple(getattr(proto, "options", ()))
            run.widgets[proto.label] = Widget(kind, proto.id, proto.label, options)


def typed(widget: Widget, text: str) -> WidgetState:
    return WidgetState(id=widget.id, string_value=text)


def chosen(widget: Widget, options: Sequence[str]) -> WidgetState:
    """A multiselect's choice: its options as shown (format_func applied), as the browser
    sends them."""
    state = WidgetState(id=widget.id)
    state.string_array_value.data.extend(options)
    return state


def picked(widget: Widget, option: str) -> WidgetState:
    if option not in widget.options:
        raise StepFailed(f"“{widget.label}” does not offer “{option}”")
    return WidgetState(id=widget.id, string_value=option)


def clicked(widget: Widget) -> WidgetState:
    return WidgetState(id=widget.id, trigger_value=True)


def entered(widget: Widget, value: int) -> WidgetState:
    return WidgetState(id=widget.id, int_value=value)


# ----------------------------------------------------------------------- people and figures


@dataclass
class Person:
    username: str
    token: str  # the server-side session's identity (sid)
    cookie: str  # the signed cookie that carries it


@dataclass
class Figures:
    """Every person's step times and failures in one run of the load."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    failures: list[dict[str, str]] = field(default_factory=list)
    stuck: list[dict[str, str]] = field(default_factory=list)
    # per user: (step, script runs) in order, to pair with the server's log lines
    trace: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


class Visitor:
    """One person working through the steps, with a pause before every action."""

    def __init__(self, person: Person, server_url: str, term: str, pause: float,
                 timeout: float, figures: Figures) -> None:
        self.person, self.server_url, self.term = person, server_url, term
        self.pause, self.timeout, self.figures = pause, timeout, figures
        figures.trace[person.username] = []

    async def run(self, rounds: int, start_after: float) -> None:
        await asyncio.sleep(start_after)  # people arrive a little apart
        step = "first visit"
        try:
            async with AppClient(self.server_url, self.person.cookie, self.timeout) as app:
                await self.step(step, lambda: app.open(""), self.signed_in, pause=False)
                for _ in range(rounds):
                    for step, act, check in self.round(app):
                        await self.step(step, act, check)
        except SessionLost as lost:
            self.figures.stuck.append({"user": self.person.username, "step": step,
                                       "problem": str(lost)})

    def round(self, app: AppClient) -> list[tuple[str, Callable[[], Awaitable[Run]],
                                                   Callable[[Run], str | None]]]:
        term = self.term

        def country() -> Awaitable[Run]:
            widget = app.widget("Country")
            if not widget.options:
                raise StepFailed("the Country filter offers nothing")
            return app.change(chosen(widget, widget.options[:1]))

        def next_page() -> Awaitable[Run]:
            return app.change(entered(app.widget("Page", prefix=True), 2))

        return [
            ("open Leads", lambda: app.open("leads"), lambda run: self.list_shown(run, "Leads")),
            ("keyword search", lambda: app.change(typed(app.widget("Search"), term)),
             lambda _run: self.expect(app, "q", term)),
            ("country filter", country,
             lambda _run: None if app.param("country") else "no country= in the address"),
            ("clear filters", lambda: app.change(clicked(app.widget("Clear filters"))),
             lambda _run: (f"the address still filters: {app.query}" if app.param("country")
                           else self.expect(app, "q", term))),
            ("sort by name", lambda: app.change(picked(app.widget("Sort by"), "Name")),
             lambda _run: self.expect(app, "sort", "name")),
            ("next page", next_page, lambda run: self.second_page(app, run)),
            ("open Contacts", lambda: app.open("contacts"),
             lambda run: self.list_shown(run, "Contacts")),
            ("open Overview", lambda: app.open(""), lambda run: self.shows(run, "Overview")),
        ]

    async def step(self, name: str, act: Callable[[], Awaitable[Run]],
                   check: Callable[[Run], str | None], *, pause: bool = True) -> None:
        if pause:
            await asyncio.sleep(self.pause)  # the person reads, thinks, types
        try:
            run = await act()
        except StepFailed as problem:
            self.fail(name, str(problem))
            return
        self.figures.seconds[name].append(run.seconds)
        self.figures.trace[self.person.username].append((name, run.runs))
        for problem in [*run.problems, check(run)]:
            if problem:
                self.fail(name, problem)

    def fail(self, step: str, problem: str) -> None:
        self.figures.failures.append({"user": self.person.username, "step": step,
                                      "problem": problem})

    @staticmethod
    def shows(run: Run, heading: str) -> str | None:
        return None if heading in run.headings else (
            f"no “{heading}” heading (headings: {', '.join(run.headings[:4]) or 'none'})")

    def signed_in(self, run: Run) -> str | None:
        if "Sign out" not in run.widgets:
            return "not signed in by the cookie (no Sign out button)"
        return self.shows(run, "Overview")

    def list_shown(self, run: Run, title: str) -> str | None:
        if "Search" not in run.widgets:
            return f"the {title} list has no search box"
        return self.shows(run, title)

    @staticmethod
    def expect(app: AppClient, name: str, value: str) -> str | None:
        found = app.param(name)
        return None if found == value else (
            f"the address has {name}={found!r}, not {value!r} ({app.query or 'no query'})")

    def second_page(self, app: AppClient, run: Run) -> str | None:
        pager = next((label for label in run.widgets if label.startswith("Page")), None)
        if pager is None:
            return "no page number after the step"
        pages = re.search(r"\(of ([\d,]+)\)", pager)
        if pages is not None and int(pages[1].replace(",", "")) < 2:
            return None  # a one-page result: there is no next page, and that is right
        return self.expect(app, "page", "2")


async def warm_up(person: Person, server_url: str, timeout: float) -> None:
    """Visit the pages once, untimed, and refuse to go on when the server does not take
    the cookie or a page fails: a broken set-up is not a load figure."""
    try:
        async with AppClient(server_url, person.cookie, timeout) as app:
            for path in ("", "leads", "contacts"):
                run = await app.open(path)
                if "Sign out" not in run.widgets:
                    raise SystemExit("error: the app server did not take the session cookie "
                                     "(the sign-in form was drawn)")
                if run.problems:
                    raise SystemExit(f"error: the warm-up visit of /{path} failed: "
                                     + "; ".join(run.problems))
    except SessionLost as lost:
        raise SystemExit(f"error: the warm-up visit failed: {lost}") from lost


async def drive(people: Sequence[Person], servers: Sequence[str], *, rounds: int, pause: float,
                stagger: float, timeout: float,
                term: str) -> tuple[Figures, tuple[float, float]]:
    """Every person at once, each on a server in turn; returns the figures and the client's
    event-loop lag (99th percentile and longest, seconds)."""
    figures = Figures()
    lags: list[float] = []

    async def watch_lag() -> None:  # how late the loop wakes: would it delay the receipts?
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            lags.append(time.perf_counter() - before - 0.05)

    watcher = asyncio.create_task(watch_lag())
    visitors = [Visitor(person, servers[n % len(servers)], term, pause, timeout, figures)
                for n, person in enumerate(people)]
    await asyncio.gather(*(v.run(rounds, n * stagger) for n, v in enumerate(visitors)))
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    return figures, (percentile(lags, 0.99) if lags else 0.0, max(lags, default=0.0))


# ----------------------------------------------------------------------- database and servers


def prepare(url: str | None, rows: int, folder: Path) -> str:
    """A migrated database with the demo in it: --db as it is unless it is empty."""
    url = url or f"duckdb:///{folder / 'load-bench.duckdb'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in (["init"], ["demo", "--contacts", str(rows), "--leads", str(rows),
                               "--if-empty"]):
        print(f"python -m crm {' '.join(command)} …", flush=True)
        done = subprocess.run([sys.executable, "-m", "crm", "--db", url, *command], cwd=ROOT,
                              env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"error: `python -m crm {command[0]}` failed "
                             f"(exit status {done.returncode})")
    return url


@dataclass
class Setup:
    people: list[Person]  # one per session, each a different user
    warm: Person  # the warm-up visitor: a user to spare, else the first person again
    term: str  # what the keyword search types
    sizes: dict[str, int]  # rows per table


def mint_sessions(url: str, sessions: int, cookie_key: str) -> Setup:
    """A server-side session for each of `sessions` different active users (and one for the
    warm-up), each with its signed cookie; the search term; the table sizes."""
    db = open_store(url)
    try:
        names = [r["username"] for r in db.fetch_all(
            "SELECT username FROM users WHERE active ORDER BY username")]
        names.sort(key=lambda n: (ROLES_FIRST.index(n) if n in ROLES_FIRST
                                  else len(ROLES_FIRST), n))
        if len(names) < sessions:
            raise SystemExit(f"error: {sessions} sessions need as many active users, and the "
                             f"database has {len(names)}")
        expires = int((time.time() + SESSION_HOURS * 3600) * 1000)
        people = []
        for username in names[:sessions + 1]:
            user = get_user(db, username)
            assert user is not None
            token = auth.start_session(db, user, auth.client_key("load-bench"),
                                       hours=SESSION_HOURS)
            cookie = jwt.encode({"username": username, "exp_date": expires, "sid": token},
                                cookie_key, algorithm="HS256")
            people.append(Person(username, token, cookie))
        sizes = {table: int(db.scalar(f"SELECT count(*) FROM {table}"))
                 for table in ("leads", "contacts", "companies")}
        return Setup(people[:sessions], people[-1], search_term(db), sizes)
    finally:
        close_store(url)  # DuckDB: one process per file, and the server is that process


def search_term(db) -> str:
    """The first five letters of the leads' most common plain surname, as one would type."""
    rows = db.fetch_all("SELECT last_name, count(*) AS n FROM leads GROUP BY last_name "
                        "ORDER BY n DESC, last_name LIMIT 50")
    for row in rows:
        name = str(row["last_name"] or "")
        if len(name) >= 4 and name.isascii() and name.isalpha():
            return name.lower()[:5]
    return "a"


def end_sessions(url: str, people: Sequence[Person]) -> None:
    db = open_store(url)
    try:
        for person in people:
            auth.end_session(db, person.token, reason="load benchmark over")
    finally:
        close_store(url)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """One app server process (`python -m crm.ui.serve`), its log, CPU time and memory."""

    def __init__(self, url: str, keys: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, **keys, "CRM_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        env.pop("CRM_RERUN_LOG", None)  # the run lines are part of the figures
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crm.ui.serve", "--server.port", str(self.port),
                 "--server.address", "127.0.0.1", "--server.headless", "true",
                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.peak_mb = 0.0

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"error: the app server exited:\n{self.log.read_text()}")
            try:
                health = f"{self.url}/_stcore/health"  # http, our own server
                with urllib.request.urlopen(health, timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.2)  # polling the health endpoint until the server answers
        self.stop()
        raise SystemExit(f"error: the app server did not become healthy:\n"
                         f"{self.log.read_text()}")

    def _proc(self, name: str) -> str:
        return Path(f"/proc/{self.process.pid}/{name}").read_text()

    def cpu_seconds(self) -> float:
        fields = self._proc("stat").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mb(self, field_name: str) -> float:
        """VmRSS (resident now) or VmHWM (the peak resident size so far)."""
        for line in self._proc("status").splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field_name} in /proc/{self.process.pid}/status")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.peak_mb = self.memory_mb("VmHWM")  # read while the process is there
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ----------------------------------------------------------------------- one run of the load


def median(values: Iterable[float], digits: int = 1) -> float:
    return round(statistics.median(list(values)), digits)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def read_log(log: Path, start: int = 0) -> list[dict[str, str | int]]:
    """The server's run lines (crm/ui/rerun_log.py) from byte `start` on, in the order they
    were written."""
    with log.open("rb") as handle:
        handle.seek(start)
        written = handle.read().decode(errors="replace")
    lines = []
    for text in written.splitlines():
        found = LOG_LINE.search(text)
        if found:
            lines.append({"page": "/" + found["page"], "user": found["user"],
                          "ms": int(found["ms"]), "queries": int(found["queries"]),
                          "db_ms": int(found["db_ms"]), "end": found["end"].strip()})
    return lines


def server_side(lines: list[dict], trace: dict[str, list[tuple[str, int]]]) -> dict:
    """Median run time, queries and database time per page; and per step, where a person's
    log lines pair one for one with the script runs their client saw (a step that the app
    reran itself has several lines, added up)."""
    pages: dict[str, list[dict]] = {}
    for line in lines:
        pages.setdefault(str(line["page"]), []).append(line)
    per_page = {page: _medians(found) | {"p95_ms": percentile([r["ms"] for r in found], 0.95)}
                for page, found in sorted(pages.items())}
    per_user: dict[str, list[dict]] = {}
    for line in lines:
        per_user.setdefault(str(line["user"]), []).append(line)
    steps: dict[str, list[dict]] = {}
    unpaired = []
    for user, runs in trace.items():
        mine = per_user.get(user, [])
        if len(mine) != sum(n for _, n in runs):
            unpaired.append(user)
            continue
        at = 0
        for step, n in runs:
            chain = mine[at:at + n]
            at += n
            steps.setdefault(step, []).append({
                "ms": sum(r["ms"] for r in chain), "queries": sum(r["queries"] for r in chain),
                "db_ms": sum(r["db_ms"] for r in chain)})
    return {"pages": per_page,
            "steps": {s: _medians(steps[s]) for s in STEPS if s in steps},
            "failed_runs": sum(1 for r in lines if "failed" in str(r["end"])),
            "unpaired_users": unpaired}


def _medians(rows: list[dict]) -> dict[str, float | int]:
    return {"runs": len(rows),
            "p50_ms": median(r["ms"] for r in rows),
            "queries_p50": median(r["queries"] for r in rows),
            "db_ms_p50": median(r["db_ms"] for r in rows)}


def one_run(url: str, setup: Setup, keys: dict[str, str], args: argparse.Namespace,
            folder: Path, index: int) -> dict:
    """Start the server(s), warm them up, let everyone work, stop them: this run's
    figures."""
    servers = [AppServer(url, keys, folder / f"server-{index}-{n}.log")
               for n in range(args.servers)]
    try:
        for server in servers:
            server.wait_healthy()
        if args.warm_up:
            for server in servers:
                asyncio.run(warm_up(setup.warm, server.url, args.timeout))
        log_from = [server.log.stat().st_size for server in servers]  # after the warm-up
        start_mb = [server.memory_mb("VmRSS") for server in servers]
        cpu_before = [server.cpu_seconds() for server in servers]
        client_before = time.process_time()
        started = time.perf_counter()
        figures, lag = asyncio.run(drive(
            setup.people, [s.url for s in servers], rounds=args.rounds, pause=args.pause,
            stagger=args.pause / args.sessions if args.stagger is None else args.stagger,
            timeout=args.timeout, term=setup.term))
        wall = time.perf_counter() - started
        client_cpu = time.process_time() - client_before
        cpu = [server.cpu_seconds() - before for server, before in zip(servers, cpu_before,
                                                                        strict=True)]
    finally:
        for server in servers:
            server.stop()
    lines = [line for server, start in zip(servers, log_from, strict=True)
             for line in read_log(server.log, start)]
    steps = {}
    for step, seconds in figures.seconds.items():
        failed = sum(1 for f in figures.failures if f["step"] == step)
        if seconds:
            steps[step] = {"n": len(seconds), "p50_s": median(seconds, 3),
                           "p95_s": round(percentile(seconds, 0.95), 3),
                           "max_s": round(max(seconds), 3), "failures": failed}
    return {
        "wall_s": round(wall, 1),
        "steps": steps,
        "failures": figures.failures,
        "stuck": figures.stuck,
        "servers": [{"cpu_s": round(c, 1), "cpu_share_of_a_core": round(c / wall, 2),
                     "start_mb": round(m, 1), "peak_mb": round(s.peak_mb, 1)}
                    for s, c, m in zip(servers, cpu, start_mb, strict=True)],
        "server_peak_mb": round(sum(s.peak_mb for s in servers), 1),
        "server_cpu_s": round(sum(cpu), 1),
        "client": {"cpu_s": round(client_cpu, 1),
                   "cpu_share_of_a_core": round(client_cpu / wall, 2),
                   "event_loop_lag_p99_ms": round(lag[0] * 1000, 1),
                   "event_loop_lag_max_ms": round(lag[1] * 1000, 1)},
        "server_log": server_side(lines, figures.trace),
    }


def summarise(runs: list[dict]) -> dict:
    """Medians over the runs, step by step; failures added up; memory at its worst."""
    steps = {}
    for step in STEPS:
        found = [r["steps"][step] for r in runs if step in r["steps"]]
        if found:
            steps[step] = {"n": sum(f["n"] for f in found),
                           "p50_s": median((f["p50_s"] for f in found), 3),
                           "p95_s": median((f["p95_s"] for f in found), 3),
                           "failures": sum(f["failures"] for f in found)}
        server = [r["server_log"]["steps"][step] for r in runs
                  if step in r["server_log"]["steps"]]
        if server and step in steps:
            steps[step]["server_ms_p50"] = median(s["p50_ms"] for s in server)
            steps[step]["queries_p50"] = median(s["queries_p50"] for s in server)
            steps[step]["db_ms_p50"] = median(s["db_ms_p50"] for s in server)
    pages = {}
    for page in sorted({p for r in runs for p in r["server_log"]["pages"]}):
        found = [r["server_log"]["pages"][page] for r in runs if page in r["server_log"]["pages"]]
        pages[page] = {"runs": sum(f["runs"] for f in found),
                       **{k: median(f[k] for f in found)
                          for k in ("p50_ms", "p95_ms", "queries_p50", "db_ms_p50")}}
    failures = sum(len(r["failures"]) for r in runs)
    stuck = sum(len(r["stuck"]) for r in runs)
    worst_step = max(steps, key=lambda s: steps[s]["p95_s"]) if steps else None
    peak = max(r["server_peak_mb"] for r in runs)
    return {
        "steps": steps,
        "pages": pages,
        "failures": failures,
        "stuck": stuck,
        "server_peak_mb": peak,
        "server_cpu_s": median(r["server_cpu_s"] for r in runs),
        "wall_s": median(r["wall_s"] for r in runs),
        "client_cpu_s": median(r["client"]["cpu_s"] for r in runs),
        "client_lag_p99_ms": median(r["client"]["event_loop_lag_p99_ms"] for r in runs),
        "client_lag_max_ms": max(r["client"]["event_loop_lag_max_ms"] for r in runs),
        "verdict": {
            "worst_step": worst_step,
            "worst_step_p95_s": steps[worst_step]["p95_s"] if worst_step else None,
            "step_p95_met": bool(steps) and all(
                s["p95_s"] <= TARGETS["step_p95_s"] for s in steps.values()),
            "no_failures": failures == 0 and stuck == 0,
            "memory_met": peak <= TARGETS["server_memory_mb"],
            "targets": TARGETS,
        },
    }


# ----------------------------------------------------------------------- report


def write(report: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(report))


def markdown(report: dict) -> str:
    s, v, a = report["summary"], report["summary"]["verdict"], report["settings"]
    rows = report["rows"]
    lines = [
        f"# Load benchmark: {a['sessions']} people at once ({report['backend']}, "
        f"{rows['leads']:,} leads, {rows['contacts']:,} contacts; {a['servers']} app "
        f"server{'s' if a['servers'] > 1 else ''})",
        "",
        f"{a['sessions']} sessions of {a['sessions']} different users, {a['rounds']} rounds of "
        f"{len(STEPS) - 1} steps after the first visit, {a['pause']:g} s between actions, "
        f"search “{report['search']}”; {a['repeat']} run{'s' if a['repeat'] > 1 else ''}, "
        "figures are medians over runs. Time: from the rerun request to the run's last "
        "message (script_finished). Server columns: from the server's log lines.",
        "",
        "| step | requests | p50 s | p95 s | failures | server ms p50 | queries p50 "
        "| database ms p50 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for step, f in s["steps"].items():
        lines.append(f"| {step} | {f['n']} | {f['p50_s']:.3f} | {f['p95_s']:.3f} | "
                     f"{f['failures']} | {f.get('server_ms_p50', '–')} | "
                     f"{f.get('queries_p50', '–')} | {f.get('db_ms_p50', '–')} |")
    met = {True: "met", False: "missed"}
    lines += [
        "",
        f"- p95 per step ≤ {TARGETS['step_p95_s']} s: {met[v['step_p95_met']]} (worst: "
        f"{v['worst_step']}, {v['worst_step_p95_s']} s)",
        f"- Failed steps: {s['failures']}, stuck or lost sessions: {s['stuck']}",
        f"- Server memory, peak resident (all servers, worst run): {s['server_peak_mb']} MB "
        f"(target ≤ {TARGETS['server_memory_mb']} MB: {met[v['memory_met']]})",
        f"- Server CPU: {s['server_cpu_s']} s over {s['wall_s']} s "
        f"({s['server_cpu_s'] / max(s['wall_s'], 0.001):.0%} of one core; "
        f"{report['cpus']} cores here; load average {' '.join(report['load_average_before'])} "
        f"before, {' '.join(report['load_average_after'])} after)",
        f"- Client (this process, every person): CPU {s['client_cpu_s']} s "
        f"({s['client_cpu_s'] / max(s['wall_s'], 0.001):.0%} of one core); its event loop "
        f"woke late by {s['client_lag_p99_ms']} ms at the 99th percentile, "
        f"{s['client_lag_max_ms']} ms at most",
        "",
        "| page (server log) | runs | p50 ms | p95 ms | queries p50 | database ms p50 |",
        "|---|---|---|---|---|---|",
    ]
    for page, p in s["pages"].items():
        lines.append(f"| {page} | {p['runs']} | {p['p50_ms']} | {p['p95_ms']} | "
                     f"{p['queries_p50']} | {p['db_ms_p50']} |")
    problems = [f for r in report["runs"] for f in (*r["stuck"], *r["failures"])]
    if problems:
        lines += ["", "Failures (first 20):", ""]
        lines += [f"- {p['user']}, {p['step']}: {p['problem']}" for p in problems[:20]]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="database URL (default: a new DuckDB file in a temp dir); "
                        "the demo is loaded into it when it is empty")
    parser.add_argument("--rows", type=int, default=100_000,
                        help="leads and contacts each, when the demo is loaded")
    parser.add_argument("--sessions", type=int, default=25,
                        help="people at once, each a different active user")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of steps per person")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between actions")
    parser.add_argument("--stagger", type=float, default=None,
                        help="seconds between people's arrivals (default: pause / sessions)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the whole load, each on a new server; medians over runs")
    parser.add_argument("--servers", type=int, default=1,
                        help="app servers on the one database, people split between them "
                             "(PostgreSQL only)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds after which a run that has not ended counts as stuck")
    parser.add_argument("--warm-up", action=argparse.BooleanOptionalAction, default=True,
                        help="before the people arrive, one visit (not timed) of the Overview, "
                             "Leads and Contacts on each new server, as a server that has been "
                             "up a while has already imported its modules")
    parser.add_argument("--search", help="the keyword to search for (default: a fragment of "
                        "the most common surname)")
    parser.add_argument("--out", default=str(RESULTS / "load.json"),
                        help="JSON figures; a Markdown table goes beside it (.md)")
    args = parser.parse_args(argv)
    for name in ("sessions", "rounds", "repeat", "servers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.pause < 0 or args.timeout <= 0:
        parser.error("--pause must be at least 0 and --timeout more than 0")
    postgres = bool(args.db) and args.db.startswith(("postgresql://", "postgres://"))
    if args.servers > 1 and not postgres:
        parser.error("--servers 2 or more needs PostgreSQL (--db postgresql://...): DuckDB "
                     "lets only one process open a database file")

    load_before = Path("/proc/loadavg").read_text().split()[:3]  # a shared machine?
    keys = {"CRM_COOKIE_KEY": secrets.token_urlsafe(48),
            "CRM_UNSUBSCRIBE_KEY": secrets.token_urlsafe(48)}
    with tempfile.TemporaryDirectory(prefix="crm-load-") as temp:
        folder = Path(temp)
        url = prepare(args.db, args.rows, folder)
        setup = mint_sessions(url, args.sessions, keys["CRM_COOKIE_KEY"])
        setup.term = args.search or setup.term
        runs = []
        try:
            for index in range(args.repeat):
                print(f"run {index + 1} of {args.repeat}: {args.sessions} people, "
                      f"{args.rounds} rounds, {args.pause:g} s pauses …", flush=True)
                runs.append(one_run(url, setup, keys, args, folder, index))
                print(_line(runs[-1]), flush=True)
        finally:
            end_sessions(url, [*setup.people, setup.warm])
    report = {
        "backend": "PostgreSQL" if postgres else "DuckDB",
        "rows": setup.sizes,
        "search": setup.term,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": Path("/proc/loadavg").read_text().split()[:3],
        "settings": {k: getattr(args, k) for k in ("sessions", "rounds", "pause", "repeat",
                                                   "servers", "timeout", "warm_up")},
        "users": [p.username for p in setup.people],
        "warm_up_user": setup.warm.username if args.warm_up else None,
        "summary": summarise(runs),
        "runs": runs,
    }
    write(report, Path(args.out))
    print(markdown(report))
    return report


def _line(run: dict) -> str:
    worst = max(run["steps"].values(), key=lambda f: f["p95_s"], default=None)
    return (f"  worst step p95 {worst['p95_s'] if worst else '–'} s, "
            f"{len(run['failures'])} failures, {len(run['stuck'])} stuck, server peak "
            f"{run['server_peak_mb']} MB, server CPU {run['server_cpu_s']} s in "
            f"{run['wall_s']} s, client CPU {run['client']['cpu_s']} s")


if __name__ == "__main__":
    verdict = main()["summary"]["verdict"]
    sys.exit(0 if verdict["step_p95_met"] and verdict["no_failures"] and verdict["memory_met"]
             else 1)
