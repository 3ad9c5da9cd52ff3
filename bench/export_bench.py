"""How long an Excel export of a large lead list takes, against the naive pandas way.

Run: .venv/bin/python bench/export_bench.py --rows 100000 --repeat 5 [--out FILE]

The frames (the seven lead-list columns, in 50,000-row chunks as the list engine reads them) are
built once; each run then writes them to a temporary .xlsx. The baseline writes the same rows
with `DataFrame.to_excel(engine="openpyxl")`, fewer times because it is slow.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

CHUNK_ROWS = 50_000
FIRST = ["Anna", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hugo", "Ingrid", "José"]
LAST = ["Berg", "Dupont", "Kowalski", "Müller", "Nakamura", "O'Neill", "Rossi", "Smith"]
COMPANIES = ["Acme GmbH", "Nordlicht AG", "Blue River Ltd", "=HYPERLINK(\"x\")", "Soleil SARL"]
MANAGERS = ["Alice Smith", "Bob Jones", "Carla Díaz", None]
COUNTRIES = ["DE", "FR", "IT", "ES", "PL", "US", "GB", None]
STATUSES = ["Subscribed", "Receiving newsletters", "Unsubscribed"]


def lead_chunks(rows: int, chunk_rows: int = CHUNK_ROWS, seed: int = 7) -> list[pd.DataFrame]:
    """Lead-list frames with realistic text, some gaps and the odd formula-looking value."""
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, rows, chunk_rows):
        n = min(chunk_rows, rows - start)
        ids = np.arange(start, start + n)
        first = rng.choice(FIRST, n)
        last = rng.choice(LAST, n)
        chunks.append(
            pd.DataFrame(
                {
                    "name": pd.Series(np.char.add(np.char.add(first, " "), last), dtype="str"),
                    "email": pd.Series([f"lead{i}@example.com" for i in ids], dtype="str"),
                    "company_name": pd.Series(rng.choice(COMPANIES, n), dtype="str"),
                    "assigned_manager": pd.Series(rng.choice(np.array(MANAGERS), n), dtype="str"),
                    "country": pd.Series(rng.choice(np.array(COUNTRIES), n), dtype="str"),
                    "newsletter_status": pd.Series(rng.choice(STATUSES, n), dtype="str"),
                    "created_at": pd.Timestamp("2019-01-01")
                    + pd.to_timedelta(rng.integers(0, 6 * 365 * 24 * 60, n), unit="min"),
                }
            )
        )
    return chunks


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: with few samples p95 is the slowest run."""
    ordered = sorted(samples)
    rank = max(1, int(np.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def timed(action: Callable[[Path], object], repeat: int) -> dict:
    seconds = []
    with tempfile.TemporaryDirectory(prefix="export-bench-") as folder:
        for attempt in range(repeat):
            target = Path(folder) / f"run{attempt}.xlsx"
            started = time.perf_counter()
            action(target)
            seconds.append(time.perf_counter() - started)
            target.unlink()
    return {
        "runs": repeat,
        "median_s": round(statistics.median(seconds), 3),
        "p95_s": round(percentile(seconds, 0.95), 3),
        "seconds": [round(s, 3) for s in seconds],
    }


def run(rows: int = 100_000, repeat: int = 5, baseline_repeat: int = 2) -> dict:
    from crm.lists.export import ExportColumn, write_xlsx

    columns = [
        ExportColumn("name", "Name", width=24),
        ExportColumn("email", "Email", width=30),
        ExportColumn("company_name", "Company", width=24),
        ExportColumn("assigned_manager", "Assigned sales manager", width=22),
        ExportColumn("country", "Country", width=10),
        ExportColumn("newsletter_status", "Newsletter", width=22),
        ExportColumn("created_at", "Date added", kind="datetime", width=17),
    ]
    chunks = lead_chunks(rows)
    whole = pd.concat(chunks, ignore_index=True)
    results = {
        "rows": rows,
        "columns": len(columns),
        "chunk_rows": CHUNK_ROWS,
        "library": f"rustpy-xlsxwriter {version('rustpy-xlsxwriter')}",
        "write_xlsx": timed(lambda path: write_xlsx(path, columns, iter(chunks)), repeat),
    }
    if baseline_repeat > 0:
        results["pandas_to_excel_openpyxl"] = timed(
            lambda path: whole.to_excel(path, engine="openpyxl", index=False), baseline_repeat
        )
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline-repeat", type=int, default=2,
                        help="runs of the slow pandas/openpyxl baseline (0 skips it)")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:  # run as a script from anywhere
        sys.path.insert(0, root)
    results = run(args.rows, args.repeat, args.baseline_repeat)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
