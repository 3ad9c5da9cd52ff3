"""Smoke test of the load benchmark (bench/load_bench.py) on a small database: a real app
server, two people of two users signed in by the cookie, one round of every step over
Streamlit's websocket protocol. It shows the protocol client, the sign-in by cookie, the
steps' checks and the figures work; the timings themselves are not judged here."""

from __future__ import annotations

import importlib.util
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

from crm.demo.builder import load_demo
from crm.storage.store import close_store

BENCH = Path(__file__).resolve().parents[1] / "bench" / "load_bench.py"


@pytest.fixture(scope="module")
def load_bench() -> ModuleType:
    """bench/ is not a package: the module is loaded from its file."""
    spec = importlib.util.spec_from_file_location("load_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while defined
    spec.loader.exec_module(module)
    return module


def test_every_step_runs_without_failures(load_bench, db, database_url, tmp_path):
    load_demo(db, contacts=300, leads=300)
    close_store(database_url)  # DuckDB: one process per file; the server opens it next
    out = tmp_path / "load.json"

    # In a thread of its own: the benchmark runs its own event loop (asyncio.run), and a
    # browser test earlier in this worker leaves Playwright's loop running in this thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        report = pool.submit(load_bench.main, [
            "--db", database_url, "--sessions", "2", "--rounds", "1", "--pause", "0.2",
            "--repeat", "1", "--timeout", "30", "--out", str(out)]).result()

    summary = report["summary"]
    assert [p["problem"] for r in report["runs"] for p in (*r["stuck"], *r["failures"])] == []
    assert summary["failures"] == 0 and summary["stuck"] == 0
    assert list(summary["steps"]) == list(load_bench.STEPS)
    for step, figures in summary["steps"].items():
        assert figures["n"] == 2, step  # both people did it once
        assert figures["p50_s"] > 0, step
    assert len(set(report["users"])) == 2
    run = report["runs"][0]
    assert run["server_peak_mb"] > 0 and all(s["peak_mb"] > 0 for s in run["servers"])
    assert run["server_log"]["unpaired_users"] == []  # every run of the steps was logged
    assert summary["steps"]["keyword search"]["queries_p50"] > 0
    assert json.loads(out.read_text())["summary"] == summary
    assert "| keyword search |" in out.with_suffix(".md").read_text()
