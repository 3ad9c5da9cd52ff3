"""Installation settings kept in the database (for example: this is a demo database)."""

from __future__ import annotations

from crm.storage.db import Database, Session


def get(db: Database | Session, name: str, default: str | None = None) -> str | None:
    value = db.scalar("SELECT value FROM app_settings WHERE name = ?", (name,))
    return default if value is None else value


def put(tx: Session, name: str, value: str) -> None:
    tx.execute("DELETE FROM app_settings WHERE name = ?", (name,))
    tx.execute("INSERT INTO app_settings (name, value) VALUES (?, ?)", (name, value))


def is_demo(db: Database | Session) -> bool:
    return get(db, "demo") == "1"
