"""How long an Excel import of 100,000 contacts takes end to end, against a naive importer.

Run: .venv/bin/python bench/import_bench.py [--rows 100000] [--existing 1000000] [--repeat 3]
     [--baseline-rows 300] [--db FILE] [--out FILE]

A DuckDB database with `--existing` demo contacts is built once (kept with --db). Each run
reads a generated .xlsx (5% of its rows share an email with an existing contact, 1% carry a
bad email), guesses the mapping, validates, matches against the database and commits with
skip-invalid; the batch is then undone (not timed) so every run starts from the same data.
The baseline reads a sample row by row with openpyxl and adds each contact through the
service a form uses (duplicate look-up, validation, insert per row); its time per row is
scaled to the full file.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm import contacts, importing
from crm.demo import load_demo
from crm.store import open_store
from crm.users import get_user_by_id

HEADERS = ["First name", "Last name", "E-mail", "Phone", "Mobile", "Company", "Country",
           "City", "Newsletter", "VIP"]
FIRST = ["Anna", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hugo", "Ingrid", "José"]
LAST = ["Berg", "Dupont", "Kowalski", "Müller", "Nakamura", "O'Neill", "Rossi", "Smith"]
COUNTRIES = ["Germany", "FR", "Italy", "ES", "Poland", "USA", "UK", "Deutschland"]


def build_file(rows: int, existing_emails: list[str], seed: int = 11) -> bytes:
    import xlsxwriter

    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True})
    sheet = book.add_worksheet("Contacts")
    sheet.write_row(0, 0, HEADERS)
    reuse = rng.random(rows) < 0.05
    bad = rng.random(rows) < 0.01
    for i in range(rows):
        email = (existing_emails[i % len(existing_emails)] if reuse[i] and existing_emails
                 else f"person{i}@bench-{i % 997}.example.com")
        if bad[i]:
            email = f"broken{i}@"
        sheet.write_row(i + 1, 0, [
            FIRST[i % len(FIRST)], f"{LAST[i % len(LAST)]}{i}", email, f"+49 30 {1000000 + i}",
            4917000000000 + i, f"Bench Company {i % 5000}", COUNTRIES[i % len(COUNTRIES)],
            "Berlin", "yes" if i % 3 else "no", "x" if i % 50 == 0 else ""])
    book.close()
    return buffer.getvalue()


def run_import(user, db, data: bytes) -> tuple[dict, importing.ImportResult]:
    times = {}
    started = time.perf_counter()
    table = importing.read_table(data, "bench.xlsx")
    times["read"] = time.perf_counter() - started
    mark = time.perf_counter()
    mapping = importing.guess_mapping("contact", table.headers)
    preview = importing.validate(user, db, "contact", table, mapping)
    times["validate_and_match"] = time.perf_counter() - mark
    mark = time.perf_counter()
    result = importing.commit(user, db, "contact", preview, skip_invalid=True)
    times["commit"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    return times, result


def naive_import(user, db, data: bytes, rows: int) -> float:
    """Row by row: openpyxl cells, a duplicate query and a service insert per row."""
    import openpyxl

    started = time.perf_counter()
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    company_ids: dict[str, int] = {}
    done = 0
    for values in sheet.iter_rows(min_row=2, values_only=True):
        if done >= rows:
            break
        row = dict(zip(HEADERS, values, strict=False))
        if contacts.likely_duplicates(user, db, email=str(row["E-mail"] or "")):
            done += 1
            continue
        name = str(row["Company"])
        try:
            if name in company_ids:
                contacts.create_contact(user, db, {"first_name": row["First name"],
                                                   "last_name": row["Last name"],
                                                   "email": row["E-mail"],
                                                   "company_id": company_ids[name]})
            else:
                company_ids[name] = db.scalar(
                    "SELECT company_id FROM contacts WHERE id = ?", (contacts.create_contact(
                        user, db, {"first_name": row["First name"],
                                   "last_name": row["Last name"], "email": row["E-mail"]},
                        new_company={"name": name}),))
        except Exception:  # noqa: S110 - the naive importer drops bad rows
            pass
        done += 1
    return (time.perf_counter() - started) / max(done, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-rows", type=int, default=300)
    parser.add_argument("--db", help="DuckDB file to build once and reuse")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="crm-import-bench-")
    path = args.db or f"{folder}/bench.duckdb"
    fresh = not Path(path).exists()
    db = open_store(f"duckdb:///{Path(path).resolve()}")
    if fresh:
        started = time.perf_counter()
        load_demo(db, contacts=args.existing, leads=0, progress=lambda m: print(m, flush=True))
        print(f"demo database built in {time.perf_counter() - started:.1f} s")
    existing = db.scalar("SELECT count(*) FROM contacts")
    user_row = db.fetch_one("SELECT id FROM users WHERE role = 'operator' AND active "
                            "ORDER BY id LIMIT 1")
    user = get_user_by_id(db, user_row["id"])
    emails = [r["email"] for r in db.fetch_all(
        "SELECT email FROM contacts WHERE department_id = ? AND email <> '' LIMIT 5000",
        (user.department_id,))]
    data = build_file(args.rows, emails)
    print(f"{args.rows:,}-row file: {len(data) / 1e6:.1f} MB; {existing:,} existing contacts")
    runs = []
    for n in range(args.repeat):
        times, result = run_import(user, db, data)
        runs.append(times)
        print(f"run {n + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items())
              + f" ({result.counts()})", flush=True)
        importing.undo_batch(user, db, result.batch_id, force=True)
    median = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}
    per_row = naive_import(user, db, data, args.baseline_rows)
    baseline = round(per_row * args.rows, 1)
    print("median: " + ", ".join(f"{k} {v:.2f} s" for k, v in median.items()))
    print(f"naive row-by-row openpyxl importer: {per_row * 1000:.1f} ms per row, "
          f"~{baseline:,.0f} s for {args.rows:,} rows ({baseline / median['total']:.0f}x slower)")
    figures = {"rows": args.rows, "existing_contacts": existing, "runs": runs,
               "median_seconds": median, "target_seconds": 10,
               "baseline_ms_per_row": round(per_row * 1000, 2),
               "baseline_sample_rows": args.baseline_rows,
               "baseline_estimated_seconds": baseline}
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
