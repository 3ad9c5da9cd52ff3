"""Opening the workspace database: connect once per process, migrate once per process."""

from __future__ import annotations

import threading

from crm.common import config
from crm.storage import db, migrations

_migrated: set[str] = set()
_lock = threading.Lock()


def open_store(url: str | None = None) -> db.Database:
    """The migrated database for `url` (default: `CRM_DATABASE_URL` or the DuckDB file)."""
    url = url or config.database_url()
    database = db.connect(url)
    with _lock:
        if url not in _migrated:
            migrations.migrate(database)
            _migrated.add(url)
    return database


def close_store(url: str) -> None:
    with _lock:
        _migrated.discard(url)
    db.forget(url)
