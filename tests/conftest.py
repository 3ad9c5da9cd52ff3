"""Shared fixtures. Every database test runs on DuckDB and on PostgreSQL.

Backends come from `--backends` or `CRM_TEST_BACKENDS` (default: both). A run told to use
PostgreSQL fails, not skips, when it cannot connect: the fixture raises.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest

os.environ.setdefault("CRM_BCRYPT_ROUNDS", "4")

from crm.storage.db import Database
from crm.storage.store import close_store, open_store
from tests.mailing_fixtures import PUBLIC_URL, SMTP_SETTINGS

PG_BASE = os.environ.get("CRM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown_text: str) -> str:
    """What the screen shows of Markdown text that crm.ui.text escaped: every backslash
    escape of a punctuation character is dropped (`Saved\\.` shows as `Saved.`), so a test
    asserts the words the user reads; the invisible word joiner that keeps an address from
    becoming a link is dropped too."""
    return _ESCAPED.sub(r"\1", markdown_text).replace("\u2060", "")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default=os.environ.get("CRM_TEST_BACKENDS", "duckdb,postgres"),
        help="comma-separated database backends to run the suite on: duckdb, postgres",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = [b.strip() for b in metafunc.config.getoption("backends").split(",") if b]
        unknown = set(backends) - {"duckdb", "postgres"}
        if unknown:
            raise pytest.UsageError(f"unknown backend(s): {', '.join(sorted(unknown))}")
        metafunc.parametrize("backend", backends)


@pytest.fixture
def database_url(backend: str, tmp_path) -> Iterator[str]:
    """A URL for a new, empty database on `backend`, removed afterwards."""
    if backend == "duckdb":
        yield f"duckdb:///{tmp_path}/crm.duckdb"
        return
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{PG_BASE}?schema={schema}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """An empty, migrated database."""
    database = open_store(database_url)
    yield database
    close_store(database_url)


@pytest.fixture
def app_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app (through AppTest) reads this test's database and a known cookie key."""
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    monkeypatch.setenv("CRM_COOKIE_KEY", "k" * 48)


@pytest.fixture
def mail_env(monkeypatch, tmp_path):
    """No SMTP server configured, the outbox in tmp_path, a known signing key."""
    for name in SMTP_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRM_UNSUBSCRIBE_KEY", "u" * 48)
    monkeypatch.setenv("CRM_PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("CRM_MAIL_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("CRM_MAIL_RATE", "1000")
    return tmp_path / "outbox"
