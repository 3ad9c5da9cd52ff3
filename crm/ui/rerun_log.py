"""One line in the server's log per run of the app script: the page, who, how long the run
took, how many statements it sent the database and how long they took, and how it ended.

    2026-12-02 22:10:01 rerun /leads user=sales.east 212 ms; 7 queries, 96 ms in the database

An operator sees slow pages in production without a profiler; the load benchmark reads the
same lines. `CRM_RERUN_LOG=off` silences them.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from crm.storage.db import counted

log = logging.getLogger("crm.reruns")
if not log.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(_handler)
    log.propagate = False
log.setLevel(logging.WARNING if os.environ.get("CRM_RERUN_LOG") == "off" else logging.INFO)

# How a run that ends by raising ended (Streamlit's st.stop and st.rerun raise).
_ENDINGS = {"StopException": "", "RerunException": " (rerun asked)"}


@dataclass
class Run:
    page: str = "-"
    user: str = "-"


@contextmanager
def logged() -> Iterator[Run]:
    """Time and count the block (one run of the app script) and log it; set the page and
    user on the yielded Run as they become known."""
    run = Run()
    started = time.perf_counter()
    ending = ""
    with counted() as stats:
        try:
            yield run
        except BaseException as exc:
            ending = _ENDINGS.get(type(exc).__name__, f" (failed: {type(exc).__name__})")
            raise
        finally:
            log.info("rerun /%s user=%s %.0f ms; %d queries, %.0f ms in the database%s",
                     run.page, run.user, (time.perf_counter() - started) * 1000, stats.queries,
                     stats.seconds * 1000, ending)
