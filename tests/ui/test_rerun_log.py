"""The server logs one line per run of the app script: page, user, duration, statements and
their time, and how the run ended."""

from __future__ import annotations

import logging
import re

import pytest

from crm.ui import rerun_log
from tests import factories
from tests.pages import sign_in


@pytest.fixture
def world(db, app_env):
    return factories.world(db)


@pytest.fixture
def lines():
    found: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record.getMessage())

    handler = Keep()
    rerun_log.log.addHandler(handler)
    yield found
    rerun_log.log.removeHandler(handler)


def test_a_run_is_logged_with_its_page_user_and_the_statements_it_sent(db, lines):
    with rerun_log.logged() as run:
        run.page, run.user = "leads", "sales.east"
        db.scalar("SELECT 1")
        with db.transaction() as tx:
            tx.fetch_all("SELECT 2 AS two")
            tx.execute("SELECT 3")
    db.scalar("SELECT 4")  # after the run: not counted
    assert len(lines) == 1
    assert re.fullmatch(r"rerun /leads user=sales\.east \d+ ms; 3 queries, \d+ ms in the "
                        r"database", lines[0]), lines[0]


def test_a_run_that_fails_says_so_and_the_error_goes_on(lines):
    with pytest.raises(ZeroDivisionError), rerun_log.logged():
        1 / 0  # noqa: B018
    assert lines[0].endswith("(failed: ZeroDivisionError)")


def test_the_app_logs_each_run_of_a_signed_in_page(world, lines):
    sign_in("sales.east")
    signed_in = [line for line in lines if "user=sales.east" in line]
    assert signed_in, lines
    assert re.match(r"rerun /\S* user=sales\.east \d+ ms; [1-9]\d* queries", signed_in[-1])
    assert any(line.startswith("rerun /sign-in user=- ") for line in lines)
