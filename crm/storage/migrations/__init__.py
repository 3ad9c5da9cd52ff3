"""Versioned schema migrations, applied in order at startup and by `python -m crm init`.

Each migration module has `STATEMENTS` (SQL for both backends), optionally `POSTGRES_ONLY`
and `DUCKDB_ONLY`, and optionally `apply(tx)` for data. Applying is idempotent: the versions
already recorded in `schema_migrations` are skipped. On PostgreSQL an advisory lock makes
app servers that start together apply each migration once.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from datetime import UTC, datetime

from crm.storage.db import Database

_ADVISORY_LOCK_KEY = 727_001
_local_lock = threading.Lock()


def available() -> list[tuple[int, str]]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("m") and module.name[1:5].isdigit():
            found.append((int(module.name[1:5]), module.name))
    return sorted(found)


def migrate(db: Database) -> list[int]:
    """Apply every pending migration; returns the versions applied now."""
    applied_now: list[int] = []
    with _local_lock:
        with db.transaction() as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
            )
        for version, name in available():
            with db.transaction() as tx:
                if db.dialect == "postgres":
                    tx.execute("SELECT pg_advisory_xact_lock(?)", (_ADVISORY_LOCK_KEY,))
                done = tx.scalar(
                    "SELECT count(*) FROM schema_migrations WHERE version = ?", (version,)
                )
                if done:
                    continue
                module = importlib.import_module(f"{__name__}.{name}")
                extra = "POSTGRES_ONLY" if db.dialect == "postgres" else "DUCKDB_ONLY"
                for statement in [*getattr(module, "STATEMENTS", []), *getattr(module, extra, [])]:
                    tx.execute(statement)
                if hasattr(module, "apply"):
                    module.apply(tx)
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, datetime.now(UTC).replace(tzinfo=None)),
                )
                applied_now.append(version)
    return applied_now


def current_version(db: Database) -> int:
    return db.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations") or 0
