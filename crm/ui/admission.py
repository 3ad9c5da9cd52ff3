"""How many runs of the app script work at once in this server process.

Every session's rerun runs in its own thread, and Python runs one thread at a time: with 25
people at once, 25 half-done runs take turns every few milliseconds, each finishes late, and
the switching itself costs CPU (a list rerun took 60 ms of CPU alone and 160 ms with 25 people
in the load benchmark). Runs wait here for one of a few turns instead, first come first
served, and then work without that contention. The database calls inside a turn release the
interpreter, so two turns (the default) keep two cores busy.

`CRM_CONCURRENT_RUNS` sets the number of turns (0: no limit).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def _turns() -> threading.BoundedSemaphore | None:
    raw = os.environ.get("CRM_CONCURRENT_RUNS", "2").strip()
    try:
        turns = int(raw)
    except ValueError:
        raise SystemExit(f"CRM_CONCURRENT_RUNS must be a whole number, not {raw!r}") from None
    return threading.BoundedSemaphore(turns) if turns > 0 else None


_TURNS = _turns()


@contextmanager
def turn() -> Iterator[None]:
    """Wait for a turn, and give it back when the block ends (however it ends)."""
    if _TURNS is None:
        yield
        return
    with _TURNS:
        yield
