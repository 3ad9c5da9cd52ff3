"""Smoke test of the browser benchmark (bench/browser_bench.py) on a small demo: its own app
server and Chromium, 1 person and then 2 at once, one round of every step. It shows the
command, the steps' waits and the figures work; the timings themselves are not judged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def test_every_step_is_timed_for_one_and_two_people(tmp_path):
    out = tmp_path / "browser.json"
    done = subprocess.run(
        [sys.executable, "bench/browser_bench.py", "--rows", "300", "--sessions", "2",
         "--rounds", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads(out.read_text())
    assert list(report["runs"]) == ["1", "2"]
    for run in report["runs"].values():
        assert run["failures"] == []
        assert list(run["steps"]) == [
            "first visit", "sign in to Overview", "open Leads", "sort", "next page",
            "country filter", "clear filters", "keyword search", "open Contacts",
            "open Overview"]
        assert all(step["n"] == run["sessions"] for step in run["steps"].values())
        assert run["server_peak_mb"] > 0
    assert "| keyword search |" in out.with_suffix(".md").read_text()
