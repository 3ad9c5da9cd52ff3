"""Benchmarks: demo load, list queries and export at a million rows, beside naive baselines.

    ./bench.sh                       # DuckDB, 1,000,000 leads and contacts
    ./bench.sh --rows 200000         # smaller
    ./bench.sh --db postgresql://postgres@127.0.0.1:5432/test?schema=bench

Figures go to bench/results/latest.json and bench/results/latest.md. Times are medians and
95th percentiles of repeated runs; each target is judged against the same run's figures, and
the baselines are measured in the same run on the same data (machines here are shared).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from crm.access import Entity  # noqa: E402
from crm.access.users import get_user  # noqa: E402
from crm.analysis import overview  # noqa: E402
from crm.demo.builder import load_demo  # noqa: E402
from crm.demo.reference import ANCHOR  # noqa: E402
from crm.lists import list_export, listing  # noqa: E402
from crm.lists.listing import ListQuery  # noqa: E402
from crm.records import contacts, leads  # noqa: E402
from crm.storage.store import close_store, open_store  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGETS = {"list_no_search_p95_ms": 100, "list_search_p95_ms": 300, "export_100k_s": 5,
           "demo_load_s": 120, "overview_total_ms": 1000}
OVERVIEW_FIGURES = {
    "headline": lambda u, tx, f: overview.headline(u, tx, f),
    "added per month": lambda u, tx, f: overview.added_per_month(u, tx, f),
    "conversion per month": lambda u, tx, f: overview.conversion_per_month(u, tx, f),
    "newsletter by department": lambda u, tx, f: overview.newsletter_by_department(
        u, tx, Entity.CONTACT, f),
    "newsletter by manager": lambda u, tx, f: overview.newsletter_by_manager(
        u, tx, Entity.CONTACT, f),
    "unsubscribes per month": lambda u, tx, f: overview.unsubscribes_per_month(
        u, tx, Entity.CONTACT, f),
    "leads by status": lambda u, tx, f: overview.leads_by_status(u, tx, f),
    "leads by source": lambda u, tx, f: overview.leads_by_source(u, tx, f),
    "leads by country": lambda u, tx, f: overview.leads_by_country(u, tx, f),
    "VIP by department": lambda u, tx, f: overview.vip_by_department(u, tx, f),
}


def timed(action: Callable[[], object], repeat: int) -> dict[str, float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(seconds) * 1000, 1),
            "p95_ms": round(p95 * 1000, 1), "runs": repeat}


def list_cases(db, user) -> dict[str, ListQuery]:
    country = listing.options(user, db, leads.LEADS, "country")[0].value
    some_id = int(db.scalar("SELECT max(id) FROM leads") // 2)
    return {
        "no filter": ListQuery(),
        "three filters": ListQuery(filters={"country": (country,), "vip": ("no",),
                                            "newsletter": ("receiving",)}),
        "keyword search": ListQuery(search="schmidt"),
        "sort by name": ListQuery(sort="name", descending=False),
        "ID search": ListQuery(search=f"#{some_id}"),
    }


def contact_cases(db, user) -> dict[str, ListQuery]:
    spec = contacts.CONTACTS
    industry = listing.options(user, db, spec, "industry")[0].value
    tag = listing.options(user, db, spec, "tag")[0].value
    country = listing.options(user, db, spec, "country")[0].value
    some_id = int(db.scalar("SELECT max(id) FROM contacts") // 2)
    return {
        "contacts, no filter": ListQuery(),
        "contacts, industry + tag + country": ListQuery(filters={
            "industry": (industry,), "tag": (tag,), "country": (country,)}),
        "contacts, keyword search": ListQuery(search="schmidt"),
        "contacts, sort by company": ListQuery(sort="company", descending=False),
        "contacts, ID search": ListQuery(search=f"#{some_id}"),
    }


def naive_page(db, query: ListQuery) -> pd.DataFrame:
    """The way to avoid: the whole table in pandas, filtered and sorted on every rerun."""
    frame = db.fetch_frame("SELECT l.*, u.full_name AS manager, c.name AS country "
                           "FROM leads l LEFT JOIN users u ON u.id = l.owner_id "
                           "LEFT JOIN countries c ON c.code = l.country_code")
    if query.search.startswith("#"):
        frame = frame[frame["id"] == int(query.search[1:])]
    elif query.search:
        text = frame["search_text"]
        frame = frame[text.str.contains(query.search.lower(), regex=False)]
    for key, values in query.filters.items():
        if key == "country":
            frame = frame[frame["country_code"].isin(values)]
        elif key == "vip":
            frame = frame[frame["vip"] == (values[0] == "yes")]
    if query.sort == "name":
        frame = frame.sort_values(["last_name", "first_name", "id"])
    else:
        frame = frame.sort_values(["created_at", "id"], ascending=False)
    return frame.head(50)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="leads and contacts each")
    parser.add_argument("--db", help="database URL (default: a new DuckDB file in a temp dir)")
    parser.add_argument("--repeat", type=int, default=20, help="runs per list query")
    parser.add_argument("--baseline-repeat", type=int, default=3)
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--overview-repeat", type=int, default=7,
                        help="runs of the overview page's queries")
    args = parser.parse_args(argv)

    workdir = tempfile.mkdtemp(prefix="crm-bench-")
    url = args.db or f"duckdb:///{workdir}/bench.duckdb"
    db = open_store(url)
    figures: dict[str, object] = {"rows": args.rows, "backend": db.dialect}
    started = time.perf_counter()
    load_demo(db, contacts=args.rows, leads=args.rows, progress=None)
    figures["demo_load_s"] = round(time.perf_counter() - started, 1)
    print(f"demo load of {args.rows:,} contacts + {args.rows:,} leads: "
          f"{figures['demo_load_s']} s", flush=True)

    user = get_user(db, "company.manager")  # sees every department: the largest lists
    cases = list_cases(db, user)
    list_figures = {}
    for name, query in cases.items():
        fast = timed(lambda q=query: listing.fetch_page(user, db, leads.LEADS, q), args.repeat)
        naive = timed(lambda q=query: naive_page(db, q), args.baseline_repeat)
        list_figures[name] = {"engine": fast, "naive_pandas": naive}
        print(f"list, {name}: p50 {fast['median_ms']} ms, p95 {fast['p95_ms']} ms "
              f"(naive pandas p50 {naive['median_ms']} ms)", flush=True)
    for name, query in contact_cases(db, user).items():
        fast = timed(lambda q=query: listing.fetch_page(user, db, contacts.CONTACTS, q),
                     args.repeat)
        list_figures[name] = {"engine": fast}
        print(f"list, {name}: p50 {fast['median_ms']} ms, p95 {fast['p95_ms']} ms", flush=True)
    figures["list"] = list_figures
    figures["overview"] = overview_figures(db, user, args.overview_repeat)

    export_query = _query_of_about(db, user, args.export_rows)
    plan = list_export.plan(user, db, leads.LEADS, export_query)

    def export() -> None:
        list_export.export(user, db, leads.LEADS, io.BytesIO(),
                           query=export_query)

    export_fast = timed(export, 5)

    naive_rows = min(plan.rows, 10_000)  # openpyxl needs minutes for 100,000 rows

    def naive_export() -> None:
        frame = db.fetch_frame(
            "SELECT id, first_name, last_name, email, phone, company_name, country_code, vip, "
            "disqualified, created_at FROM leads LIMIT ?", (naive_rows,))
        frame.to_excel(io.BytesIO(), engine="openpyxl", index=False)

    export_naive = timed(naive_export, 1)
    naive_per_100k = export_naive["median_ms"] / 1000 * 100_000 / naive_rows
    figures["export"] = {"rows": plan.rows, "engine": export_fast,
                         "naive_openpyxl": {**export_naive, "rows": naive_rows,
                                            "per_100k_s": round(naive_per_100k, 1)}}
    print(f"export of {plan.rows:,} rows: p50 {export_fast['median_ms'] / 1000:.2f} s "
          f"(naive openpyxl: {naive_per_100k:.1f} s per 100,000 rows)", flush=True)

    no_search = max(row["engine"]["p95_ms"] for n, row in list_figures.items()
                    if "keyword" not in n)
    figures["verdict"] = {
        "list_no_search_p95_ms": no_search,
        "list_search_p95_ms": max(row["engine"]["p95_ms"] for n, row in list_figures.items()
                                  if "keyword" in n),
        "export_100k_s": round(export_fast["median_ms"] / 1000 * 100_000 / max(plan.rows, 1),
                               2),
        "demo_load_s": figures["demo_load_s"],
        "overview_total_ms": max(case["total"]["median_ms"]
                                 for case in figures["overview"].values()),
        "targets": TARGETS,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(figures, indent=2, default=str))
    (RESULTS / "latest.md").write_text(_markdown(figures))
    print((RESULTS / "latest.md").read_text())
    close_store(url)
    return 0


def overview_figures(db, user, repeat: int) -> dict[str, dict]:
    """Every query of the Overview page (uncached), as the page runs them in one unit of
    work: the total per view, median of `repeat` runs, and each figure alone. Views of a
    company manager (every department) and of a sales manager (one department)."""
    last_year = overview.period_range("last_12_months", ANCHOR.date())
    views = {
        "all time": (user, overview.OverviewFilter()),
        "last 12 months": (user, overview.OverviewFilter(start=last_year[0],
                                                         end=last_year[1])),
        "all time, one department (sales manager)": (get_user(db, "sales.manager"),
                                                     overview.OverviewFilter()),
    }
    results = {}
    for name, (viewer, flt) in views.items():
        total = timed(lambda v=viewer, f=flt: overview.figures(v, db, f, Entity.CONTACT),
                      repeat)
        parts = {}
        with db.transaction() as tx:
            for figure, run in OVERVIEW_FIGURES.items():
                parts[figure] = timed(lambda r=run, v=viewer, f=flt: r(v, tx, f),
                                      repeat)["median_ms"]
        results[name] = {"total": total, "figures_median_ms": parts}
        print(f"overview, {name}: total p50 {total['median_ms']} ms, p95 {total['p95_ms']} ms "
              f"(slowest figure: {max(parts, key=parts.get)}, {max(parts.values())} ms)",
              flush=True)
    return results


def _query_of_about(db, user, rows: int) -> ListQuery:
    """A filter whose result is close to `rows` (countries added largest first)."""
    chosen: list[str] = []
    total = 0
    for option in listing.options(user, db, leads.LEADS, "country"):
        if total >= rows:
            break
        chosen.append(option.value)
        total += option.count
    return ListQuery(filters={"country": tuple(chosen)})


def _markdown(f: dict) -> str:
    v = f["verdict"]
    lines = [
        f"# Benchmark: {f['rows']:,} leads and {f['rows']:,} contacts "
        f"({f['rows'] // 10:,} companies) on {f['backend']}",
        "",
        f"- Demo load: {f['demo_load_s']} s (target ≤ {TARGETS['demo_load_s']} s)",
        f"- List p95 without search (worst case): {v['list_no_search_p95_ms']} ms "
        f"(target ≤ {TARGETS['list_no_search_p95_ms']} ms)",
        f"- List p95 with keyword search: {v['list_search_p95_ms']} ms "
        f"(target ≤ {TARGETS['list_search_p95_ms']} ms)",
        f"- Export: {f['export']['rows']:,} rows in "
        f"{f['export']['engine']['median_ms'] / 1000:.2f} s median, "
        f"{v['export_100k_s']} s per 100,000 rows (target ≤ {TARGETS['export_100k_s']} s)",
        f"- Overview page, every query (uncached), median: {v['overview_total_ms']} ms "
        f"(target ≤ {TARGETS['overview_total_ms']} ms)",
        "",
        "| List query | p50 ms | p95 ms | naive pandas p50 ms |",
        "|---|---|---|---|",
    ]
    for name, row in f["list"].items():
        naive = row.get("naive_pandas", {}).get("median_ms", "–")
        lines.append(f"| {name} | {row['engine']['median_ms']} | {row['engine']['p95_ms']} | "
                     f"{naive} |")
    lines += ["", "| Overview page, every query | total p50 ms | total p95 ms | slowest figure |",
              "|---|---|---|---|"]
    for name, case in f["overview"].items():
        parts = case["figures_median_ms"]
        slowest = max(parts, key=parts.get)
        lines.append(f"| {name} | {case['total']['median_ms']} | {case['total']['p95_ms']} | "
                     f"{slowest} ({parts[slowest]} ms) |")
    naive = f["export"]["naive_openpyxl"]
    lines += ["", f"Naive export (pandas to_excel with openpyxl): {naive['per_100k_s']} s per "
              f"100,000 rows (measured on {naive['rows']:,})", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
