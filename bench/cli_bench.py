"""Command-line import and export as an operator runs them: wall time and peak memory.

Run: .venv/bin/python bench/cli_bench.py --db FILE_OR_URL [--rows 100000] [--repeat 3] [--out FILE]

The database must already hold the demo data (e.g. `python -m crm --db FILE demo --contacts
1000000 --leads 1000000`). Each run starts a fresh `python -m crm` process, as an operator
would, and measures it from start to exit (interpreter start, imports, the work, writing the
file) with the child's peak memory (max RSS) from the kernel:

- import: `python -m crm import contacts FILE --user operator --skip-invalid` of a generated
  `.xlsx` (`--rows` contacts; 5% share an email with an existing contact, 1% carry a bad
  email), after which the batch is undone (not timed) so every run starts from the same data;
- export: `python -m crm export leads --user company.manager -o FILE.xlsx`: every lead.

Targets (issue 15): import of 100,000 rows into 1M in 6 s or less; export of 1M rows in 8 s
or less at 400 MB or less.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPORTER = "operator"  # operators upload files (a department of their own: Europe)
sys.path.insert(0, str(ROOT))

from bench.import_bench import build_file  # noqa: E402


def timed(args: list[str]) -> dict:
    """Run `python -m crm ARGS` in a child; wall seconds, peak MB, exit status and output."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "crm", *args], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "CRM_RERUN_LOG": "off"})
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": round(time.perf_counter() - started, 2),
            "peak_mb": round(usage.ru_maxrss / 1024, 1),
            "status": child.returncode, "output": output.strip()}


def existing_emails(db: str, count: int) -> list[str]:
    """Read in a child process: an embedded database stays locked while a process holds it."""
    script = ("import sys, json; from crm.storage.store import open_store; "
              "db = open_store(sys.argv[1]); print(json.dumps([r['email'] for r in db.fetch_all("
              "'SELECT email FROM contacts WHERE email IS NOT NULL ORDER BY id LIMIT ?', "
              "(int(sys.argv[2]),))]))")
    found = subprocess.run([sys.executable, "-c", script, db, str(count)], cwd=ROOT,
                           capture_output=True, text=True, check=True)
    return json.loads(found.stdout.strip().splitlines()[-1])


def newest_batch(db: str) -> tuple[str, int]:
    """The newest import batch's ID and how many records it created."""
    listed = timed(["--db", db, "imports", "list", "--user", IMPORTER])
    for line in listed["output"].splitlines()[1:]:  # newest first
        words = line.split()
        # batch, entity, date, time, the importer's name (any words), then four counts
        counts = [w for w in words[4:] if w.replace(",", "").isdigit()]
        return words[0], int(counts[0].replace(",", ""))
    raise SystemExit(f"no import batch to undo:\n{listed['output']}")


def summary(runs: list[dict]) -> dict:
    """Median and worst peak; each run's output cut to its last lines for the record."""
    return {"median_s": statistics.median(r["seconds"] for r in runs),
            "max_peak_mb": max(r["peak_mb"] for r in runs),
            "runs": [{**r, "output": r["output"][-400:]} for r in runs]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/cli.json")
    options = parser.parse_args()

    results: dict = {"db": options.db.split("?")[0].rsplit("/", 1)[-1], "rows": options.rows}
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "contacts.xlsx"
        source.write_bytes(build_file(options.rows, existing_emails(options.db, 5_000)))
        imports = []
        for _ in range(options.repeat):
            run = timed(["--db", options.db, "import", "contacts", str(source),
                         "--user", IMPORTER, "--skip-invalid"])
            if run["status"] != 0:
                raise SystemExit(f"import failed:\n{run['output']}")
            batch, created = newest_batch(options.db)
            if created < options.rows // 2:  # a benchmark of refusals would measure nothing
                raise SystemExit(f"only {created:,} of {options.rows:,} rows were imported:\n"
                                 f"{run['output']}")
            run["created"] = created
            imports.append(run)
            undo = timed(["--db", options.db, "imports", "undo", batch,
                          "--user", IMPORTER])
            if undo["status"] != 0:
                raise SystemExit(f"undo failed:\n{undo['output']}")
            print(f"import {options.rows:,} rows: {run['seconds']} s, {run['peak_mb']} MB",
                  flush=True)
        results["import"] = summary(imports)
        exports = []
        for _ in range(options.repeat):
            target = Path(folder) / "leads.xlsx"
            run = timed(["--db", options.db, "export", "leads", "--user", "company.manager",
                         "-o", str(target)])
            if run["status"] != 0:
                raise SystemExit(f"export failed:\n{run['output']}")
            run["bytes"] = target.stat().st_size
            exports.append(run)
            print(f"export all leads: {run['seconds']} s, {run['peak_mb']} MB", flush=True)
        results["export"] = summary(exports)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: {"median_s": v["median_s"], "max_peak_mb": v["max_peak_mb"]}
                      for k, v in results.items() if isinstance(v, dict)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
