"""What PostgreSQL does with the list queries: EXPLAIN ANALYZE of every statement a list view
runs (count, page, filter options), for the views people use most.

    .venv/bin/python bench/explain.py --db postgresql://postgres@127.0.0.1:5432/test?schema=explain

Loads the demo first when the database is empty (`--rows` leads and contacts each, default
100,000), then records the SQL that crm.lists.listing sends for each view and asks PostgreSQL for
its plan with real timings. Each statement's line says which scans it used; the whole plans
go to bench/results/explain-postgresql.md (the README's Speed section sums them up).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm.access.users import get_user  # noqa: E402
from crm.demo.builder import load_demo  # noqa: E402
from crm.lists import listing  # noqa: E402
from crm.lists.listing import ListQuery  # noqa: E402
from crm.records.contacts import CONTACTS  # noqa: E402
from crm.records.leads import LEADS  # noqa: E402
from crm.storage.store import close_store, open_store  # noqa: E402

RESULTS = ROOT / "bench" / "results"


class Recorder:
    """Passes statements to the database and keeps them (the list engine's reads only)."""

    def __init__(self, db: Any) -> None:
        self.db, self.statements = db, []

    def __getattr__(self, name: str) -> Any:  # fetch_frame, fetch_all, fetch_one, scalar
        read = getattr(self.db, name)

        def recorded(sql: str, params: Any = ()) -> Any:
            self.statements.append((sql, tuple(params)))
            return read(sql, params)
        return recorded


def views(db: Any) -> list[tuple[str, str, Any, ListQuery, str | None]]:
    """(title, username, spec, query, filter whose options are counted)."""
    term = str(db.scalar("SELECT lower(last_name) FROM leads GROUP BY 1 ORDER BY count(*) DESC "
                         "LIMIT 1 OFFSET 20"))
    country = str(db.scalar("SELECT country_code FROM leads WHERE country_code IS NOT NULL "
                            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))
    return [
        ("Leads, default view (newest first)", "company.manager", LEADS, ListQuery(), None),
        ("Leads, sorted by name", "company.manager", LEADS,
         ListQuery(sort="name", descending=False), None),
        ("Leads, one department (sales manager)", "sales.manager", LEADS, ListQuery(), None),
        ("Leads, country filter", "company.manager", LEADS,
         ListQuery(filters={"country": [country]}), None),
        ("Leads, keyword search", "company.manager", LEADS, ListQuery(search=term), None),
        ("Leads, country filter options", "company.manager", LEADS, ListQuery(), "country"),
        ("Contacts, default view (newest first)", "company.manager", CONTACTS, ListQuery(),
         None),
        ("Contacts, sorted by company", "company.manager", CONTACTS,
         ListQuery(sort="company", descending=False), None),
    ]


def scans(plan: str) -> str:
    found = re.findall(r"((?:Parallel )?(?:Index Only Scan|Index Scan|Bitmap Index Scan|"
                       r"Seq Scan)(?: Backward)?(?: using \w+)? on \w+)", plan)
    return "; ".join(dict.fromkeys(found)) or "no table scan"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a PostgreSQL database URL")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", default=str(RESULTS / "explain-postgresql.md"))
    args = parser.parse_args(argv)
    db = open_store(args.db)
    try:
        if not db.scalar("SELECT count(*) FROM users"):
            print(f"Loading the demo: {args.rows:,} contacts and {args.rows:,} leads …")
            load_demo(db, contacts=args.rows, leads=args.rows)
        rows = db.scalar("SELECT count(*) FROM leads")
        lines = [f"# EXPLAIN ANALYZE of the list queries (PostgreSQL, {rows:,} leads)", ""]
        summary = ["| view | statement | time ms | scans |", "|---|---|---|---|"]
        for title, username, spec, query, facet in views(db):
            user = get_user(db, username)
            recorder = Recorder(db)
            if facet is None:
                listing.fetch_page(user, recorder, spec, query)
            else:
                listing.options(user, recorder, spec, facet)
            lines += [f"## {title} ({username})", ""]
            for n, (sql, params) in enumerate(recorder.statements, 1):
                plan = "\n".join(r["QUERY PLAN"] for r in db.fetch_all(
                    f"EXPLAIN (ANALYZE, COSTS OFF) {sql}", params))
                took = re.search(r"Execution Time: ([\d.]+) ms", plan)
                kind = "count" if sql.lstrip().upper().startswith("SELECT COUNT") else (
                    "options" if facet else "page")
                summary.append(f"| {title} | {n}: {kind} | {took.group(1) if took else '?'} | "
                               f"{scans(plan)} |")
                lines += [f"Statement {n} ({kind}):", "", "```sql", sql, "```", "", "```",
                          plan, "```", ""]
    finally:
        close_store(args.db)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join([*lines[:2], *summary, "", *lines[2:]]) + "\n")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
