"""Click to drawn result, in real Chromium: what people feel, step by step.

    .venv/bin/python bench/browser_bench.py                     # DuckDB, 100,000 + 100,000
    .venv/bin/python bench/browser_bench.py --rows 1000000      # the issue's scale
    .venv/bin/python bench/browser_bench.py --db postgresql://postgres@127.0.0.1:5432/test?schema=bb

Loads the demo into a fresh database (unless --db names one that has data), starts the app
server (`python -m crm.ui.serve`) and drives headless Chromium through a person's steps: the
first visit, sign-in to the drawn Overview, open Leads, a keyword search, a country filter,
clear the filters, sort by another column, the next page, open Contacts, back to the
Overview. Each step is timed from the click (or key) until the page shows its result (the
list's count sentence changed, the address holds the new sort or page, the heading is
there) and Streamlit says the run is over. It runs with 1 person and then with `--sessions`
people at once (default 3), each in their own browser context, for `--rounds` rounds.

Figures (p50/p95 per step, failures, the app server's CPU seconds and peak memory) go to
bench/results/browser.json and .md. Browser and server share this machine: with several
Chromium pages the browsers take most of the CPU, so the server's own capacity is measured
without browsers by bench/load_bench.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm.demo.builder import load_demo  # noqa: E402
from crm.demo.reference import DEMO_PASSWORD  # noqa: E402
from crm.storage.store import close_store, open_store  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
STEPS = ("first visit", "sign in to Overview", "open Leads", "sort", "next page",
         "country filter", "clear filters", "keyword search", "open Contacts", "open Overview")
USERS = ("company.manager", "sales.manager", "operator", "super.operator", "admin")
TIMEOUT_MS = 120_000
# The list's count sentence ("1,234 leads where …") is the first bold text of the main area.
SENTENCE = '[data-testid="stMain"] [data-testid="stMarkdownContainer"] strong'
_DONE = """([selector, before, url]) => {
    const app = document.querySelector('[data-testid=stApp]');
    if (!app || app.dataset.testScriptState !== 'notRunning') return false;
    if (url !== null) return location.href.includes(url);
    const shown = document.querySelector(selector);
    return shown !== null && shown.textContent !== before;
}"""


@dataclass
class Figures:
    seconds: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    failures: list[str] = field(default_factory=list)


class Session:
    """One person's browser context, timing each step until the page shows its result."""

    def __init__(self, page, url: str, figures: Figures) -> None:
        self.page, self.url, self.figures = page, url, figures

    async def sentence(self) -> str | None:
        found = self.page.locator(SENTENCE).first
        return await found.text_content() if await found.count() else None

    async def timed(self, step: str, act, *, url: str | None = None,
                    heading: str | None = None) -> None:
        """Run `act` (the click) and wait until its result is drawn and the run is over."""
        before = await self.sentence()
        started = time.perf_counter()
        await act()
        if heading is not None:
            await self.page.get_by_role("heading", name=heading, exact=True).first.wait_for(
                timeout=TIMEOUT_MS)
            await self.page.wait_for_function(_DONE, arg=[SENTENCE, None, ""],
                                              timeout=TIMEOUT_MS)
        else:
            await self.page.wait_for_function(_DONE, arg=[SENTENCE, before, url],
                                              timeout=TIMEOUT_MS)
        self.figures.seconds[step].append(time.perf_counter() - started)

    async def idle(self) -> None:
        await self.page.wait_for_function(_DONE, arg=[SENTENCE, None, ""], timeout=TIMEOUT_MS)

    async def run(self, username: str, term: str) -> None:
        page = self.page
        started = time.perf_counter()
        await page.goto(self.url)
        await page.get_by_role("textbox", name="Username").wait_for(timeout=TIMEOUT_MS)
        await self.idle()
        self.figures.seconds["first visit"].append(time.perf_counter() - started)
        await page.get_by_role("textbox", name="Username").fill(username)
        await page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
        await self.timed("sign in to Overview",
                         page.get_by_role("button", name="Sign in").click, heading="Overview")
        await page.wait_for_function("document.cookie.includes('crm_session=')",
                                     timeout=TIMEOUT_MS)
        await self.timed("open Leads", page.get_by_role("link", name="Leads").click)

        async def sort_by_name() -> None:
            await page.get_by_role("combobox", name="Sort by", exact=True).click()
            await page.get_by_role("option", name="Name", exact=True).click()
        await self.timed("sort", sort_by_name, url="sort=name")
        await self.timed("next page",
                         page.locator('[data-testid="stNumberInputStepUp"]').first.click,
                         url="page=2")

        async def pick_country() -> None:
            box = page.get_by_role("combobox", name="Country", exact=True)
            # Scrolled to first: a click that scrolls the sidebar only focuses the box.
            await box.scroll_into_view_if_needed()
            await box.click()
            if not await page.get_by_role("option").count():
                await box.press("ArrowDown")  # the click focused it without opening the list
            # The first country offered (the list starts with "Select all").
            await page.locator('[role=option]:not([data-key="__select_all__"])').first.click()
            await page.keyboard.press("Escape")
            # The list of countries closes; a click while it is open only closes it.
            await page.get_by_role("listbox").wait_for(state="detached", timeout=TIMEOUT_MS)
        await self.timed("country filter", pick_country)
        await self.timed("clear filters",
                         page.get_by_role("button", name="Clear filters").click)
        search = page.get_by_role("textbox", name="Search")

        async def type_search() -> None:
            await search.fill(term)
            await search.press("Enter")
        await self.timed("keyword search", type_search)
        await self.timed("open Contacts", page.get_by_role("link", name="Contacts").click)
        await self.timed("open Overview", page.get_by_role("link", name="Overview").click,
                         heading="Overview")


class ServerWatch:
    """The app server's CPU seconds and peak resident memory, read from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb, self._stop = pid, 0.0, threading.Event()
        self._cpu_start = self._cpu()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            self.peak_mb = max(self.peak_mb, self._rss_mb())

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {"server_cpu_s": round(self._cpu() - self._cpu_start, 1),
                "server_peak_mb": round(max(self.peak_mb, self._rss_mb()), 1)}


async def drive(url: str, sessions: int, rounds: int, term: str,
                shots: Path | None = None) -> Figures:
    from playwright.async_api import async_playwright

    figures = Figures()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                   args=CHROMIUM_ARGS, headless=True)

        async def person(n: int) -> None:
            for _ in range(rounds):
                context = await browser.new_context(viewport={"width": 1400, "height": 900})
                context.set_default_timeout(TIMEOUT_MS)
                try:
                    await Session(await context.new_page(), url, figures).run(
                        USERS[n % len(USERS)], term)
                except Exception as problem:  # a failed session is a figure, not a crash
                    figures.failures.append(f"{USERS[n % len(USERS)]}: {problem}"[:300])
                    if shots is not None:
                        shots.mkdir(parents=True, exist_ok=True)
                        await context.pages[0].screenshot(
                            path=shots / f"failed-{n}-{len(figures.failures)}.png")
                finally:
                    await context.close()

        await asyncio.gather(*(person(n) for n in range(sessions)))
        await browser.close()
    return figures


def summarise(figures: Figures) -> dict[str, dict[str, float | int]]:
    table = {}
    for step, seconds in figures.seconds.items():
        if not seconds:
            continue
        ordered = sorted(seconds)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        table[step] = {"n": len(seconds), "p50_s": round(statistics.median(seconds), 3),
                       "p95_s": round(p95, 3)}
    return table


def prepare(url: str | None, rows: int, folder: Path) -> tuple[str, int]:
    """A database with the demo in it: `url` as it is when it has data, else loaded; and
    how many leads it holds (what the report is about, whatever --rows said)."""
    url = url or f"duckdb:///{folder / 'browser-bench.duckdb'}"
    db = open_store(url)
    if not db.scalar("SELECT count(*) FROM users"):
        print(f"Loading the demo: {rows:,} contacts and {rows:,} leads …", flush=True)
        load_demo(db, contacts=rows, leads=rows)
    held = int(db.scalar("SELECT count(*) FROM leads"))
    close_store(url)  # DuckDB: one process per file, and the server is that process
    return url, held


def search_term(url: str) -> str:
    """A last name a few hundred people share, as someone would type it."""
    db = open_store(url)
    try:
        name = db.scalar("SELECT lower(last_name) FROM leads GROUP BY 1 ORDER BY count(*) DESC "
                         "LIMIT 1 OFFSET 20")
    finally:
        close_store(url)
    return str(name or "a")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="database URL (default: a fresh DuckDB file)")
    parser.add_argument("--rows", type=int, default=100_000,
                        help="leads and contacts each, when the demo is loaded")
    parser.add_argument("--sessions", type=int, default=3, help="people at once, after 1")
    parser.add_argument("--rounds", type=int, default=5, help="visits per person")
    parser.add_argument("--out", default=str(RESULTS / "browser.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url, held = prepare(args.db, args.rows, Path(folder))
        term = search_term(url)
        server = AppServer(url, Path(folder))
        try:
            report = {"database": url.split("?")[0].split(":")[0], "rows": held,
                      "search": term, "runs": {}}
            for sessions in dict.fromkeys((1, args.sessions)):
                watch = ServerWatch(server._process.pid)
                started = time.perf_counter()
                figures = asyncio.run(drive(server.url, sessions, args.rounds, term,
                                            Path(args.out).parent / "browser-failures"))
                report["runs"][str(sessions)] = {
                    "sessions": sessions, "steps": summarise(figures),
                    "failures": figures.failures,
                    "wall_s": round(time.perf_counter() - started, 1), **watch.stop()}
        finally:
            server.stop()
    write(report, Path(args.out))
    return report


def write(report: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# Browser benchmark ({report['database']}, {report['rows']:,} leads and about "
             f"as many contacts; search “{report['search']}”)", ""]
    runs = list(report["runs"].values())
    lines.append("| step | " + " | ".join(f"{r['sessions']} at once: p50 / p95 s"
                                           for r in runs) + " |")
    lines.append("|---|" + "---|" * len(runs))
    for step in STEPS:
        cells = []
        for run in runs:
            figure = run["steps"].get(step)
            cells.append(f"{figure['p50_s']:.2f} / {figure['p95_s']:.2f}" if figure else "—")
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    lines.append("")
    for run in runs:
        lines.append(f"- {run['sessions']} at once: {len(run['failures'])} failed sessions, "
                     f"server CPU {run['server_cpu_s']} s over {run['wall_s']} s, peak "
                     f"memory {run['server_peak_mb']} MB")
        lines += [f"  - {failure}" for failure in run["failures"]]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
