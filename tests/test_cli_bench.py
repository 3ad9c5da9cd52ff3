"""The command-line benchmark runs end to end on a small demo (its figures are judged by
people, not by this test): an import that creates the rows, undone, and an export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crm.demo.builder import load_demo
from crm.storage.store import close_store, open_store

ROOT = Path(__file__).resolve().parent.parent


def test_the_command_line_benchmark_imports_undoes_and_exports(tmp_path):
    url = f"duckdb:///{tmp_path / 'bench.duckdb'}"
    load_demo(open_store(url), contacts=200, leads=200)
    close_store(url)  # the benchmark's commands each open the file in a process of their own
    out = tmp_path / "cli.json"
    done = subprocess.run([sys.executable, "bench/cli_bench.py", "--db", url, "--rows", "300",
                           "--repeat", "1", "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    [imported] = report["import"]["runs"]
    assert imported["status"] == 0 and imported["created"] > 150
    [exported] = report["export"]["runs"]
    assert exported["status"] == 0 and exported["bytes"] > 0
    assert report["import"]["median_s"] > 0 and report["export"]["max_peak_mb"] > 0
    db = open_store(url)
    try:  # the import was undone: the demo's contacts are as they were
        assert db.scalar("SELECT count(*) FROM import_batches WHERE undone_at IS NULL") == 0
    finally:
        close_store(url)
