"""A few runs of the app script work at once; the others wait their turn (crm.ui.admission)."""

from __future__ import annotations

import threading

import pytest

from crm.ui import admission


def test_no_more_runs_work_at_once_than_there_are_turns(monkeypatch):
    monkeypatch.setenv("CRM_CONCURRENT_RUNS", "2")
    monkeypatch.setattr(admission, "_TURNS", admission._turns())
    inside, most = 0, 0
    changed = threading.Condition()
    go = threading.Event()

    def run() -> None:
        nonlocal inside, most
        with admission.turn():
            with changed:
                inside += 1
                most = max(most, inside)
                changed.notify_all()
            go.wait()
            with changed:
                inside -= 1

    runs = [threading.Thread(target=run) for _ in range(5)]
    for thread in runs:
        thread.start()
    with changed:
        assert changed.wait_for(lambda: inside == 2, timeout=30)
    assert not admission._TURNS.acquire(blocking=False)  # both turns are taken
    go.set()
    for thread in runs:
        thread.join(timeout=30)
    assert most == 2 and inside == 0
    assert admission._TURNS.acquire(blocking=False)  # every turn was given back
    admission._TURNS.release()


def test_no_limit_when_set_to_zero(monkeypatch):
    monkeypatch.setenv("CRM_CONCURRENT_RUNS", "0")
    assert admission._turns() is None


def test_a_setting_that_is_not_a_number_stops_the_server_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("CRM_CONCURRENT_RUNS", "two")
    with pytest.raises(SystemExit, match="CRM_CONCURRENT_RUNS must be a whole number"):
        admission._turns()
