"""How long an Excel import of 100,000 contacts takes end to end, against a naive importer.

Run: .venv/bin/python bench/import_bench.py [--rows 100000] [--existing 1000000] [--repeat 3]
     [--baseline-rows 300] [--db FILE] [--out FILE] [--no-full-sheet]

A DuckDB database with `--existing` demo contacts is built once (kept with --db). Each run
reads a generated .xlsx (5% of its rows share an email with an existing contact, 1% carry a
bad email), guesses the mapping, validates, matches against the database and commits with
skip-invalid; the batch is then undone (not timed) so every run starts from the same data.
The baseline reads a sample row by row with openpyxl and adds each contact through the
service a form uses (duplicate look-up, validation, insert per row); its time per row is
scaled to the full file.

Then a full sheet: a file of 1,048,576 rows (the header and 1,048,575 contacts, five columns,
so that it stays under the upload limit) is imported end to end in a child process, whose
peak memory (max RSS) is reported beside its time.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm import importing
from crm.access.users import get_user_by_id
from crm.demo.builder import load_demo
from crm.records import contacts
from crm.storage.store import close_store, open_store

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


FULL_SHEET_HEADERS = ["First name", "Last name", "E-mail", "Company", "Country"]
FULL_SHEET_MEMORY_TARGET_MB = 4096


def build_full_sheet(path: Path) -> None:
    """As many rows as one sheet holds, written row by row to disk (constant memory)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Contacts")
    sheet.write_row(0, 0, FULL_SHEET_HEADERS)
    for i in range(importing.MAX_ROWS - 1):
        sheet.write_row(i + 1, 0, [FIRST[i % len(FIRST)], f"{LAST[i % len(LAST)]}{i}",
                                   f"sheet{i}@full-{i % 991}.example.org",
                                   f"Sheet Company {i % 20_000}", COUNTRIES[i % len(COUNTRIES)]])
    book.close()


def import_file_child(db_url: str, path: str, username: str) -> int:
    """Child process of --full-sheet: import `path`, print the figures as JSON, undo."""
    from crm.access.users import get_user

    db = open_store(db_url)
    user = get_user(db, username)
    data = Path(path).read_bytes()
    times, result = run_import(user, db, data)
    if result.batch_id is not None:
        importing.undo_batch(user, db, result.batch_id, keep_changed=True)
    print(json.dumps({"times": times, "counts": result.counts()}))
    return 0


def full_sheet(db_url: str, username: str, folder: str) -> dict:
    path = Path(folder) / "full-sheet.xlsx"
    started = time.perf_counter()
    build_full_sheet(path)
    print(f"full sheet: {importing.MAX_ROWS:,} rows, {path.stat().st_size / 1e6:.1f} MB, "
          f"written in {time.perf_counter() - started:.0f} s", flush=True)
    close_store(db_url)  # DuckDB: one process at a time; the child opens the file now
    reply = subprocess.run(
        [sys.executable, __file__, "--import-file", str(path), "--db-url", db_url,
         "--user", username], capture_output=True, text=True, check=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures = json.loads(reply.stdout.strip().splitlines()[-1])
    figures.update({"rows": importing.MAX_ROWS - 1, "file_mb": round(path.stat().st_size / 1e6, 1),
                    "peak_rss_mb": round(peak_mb), "memory_target_mb": FULL_SHEET_MEMORY_TARGET_MB})
    print(f"full sheet imported: total {figures['times']['total']:.1f} s, peak memory "
          f"{peak_mb:,.0f} MB (target <= {FULL_SHEET_MEMORY_TARGET_MB:,} MB), "
          f"{figures['counts']}", flush=True)
    path.unlink()
    return figures


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
    parser.add_argument("--no-full-sheet", action="store_true",
                        help="skip the 1,048,576-row file")
    parser.add_argument("--import-file", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--user", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_file:
        return import_file_child(args.db_url, args.import_file, args.user)
    folder = tempfile.mkdtemp(prefix="crm-import-bench-")
    path = args.db or f"{folder}/bench.duckdb"
    fresh = not Path(path).exists()
    db_url = f"duckdb:///{Path(path).resolve()}"
    db = open_store(db_url)
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
        importing.undo_batch(user, db, result.batch_id, keep_changed=True)
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
    if not args.no_full_sheet:
        figures["full_sheet"] = full_sheet(db_url, user.username, folder)
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
