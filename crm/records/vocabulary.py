"""Reference lists offered in forms: countries, industries, company types, lead sources, tags."""

from __future__ import annotations

from crm.storage.db import Database, Session


def countries(db: Database | Session) -> dict[str, str]:
    """ISO code -> name, by name."""
    return {r["code"]: r["name"] for r in db.fetch_all(
        "SELECT code, name FROM countries ORDER BY name")}


def named(db: Database | Session, table: str) -> dict[int, str]:
    """id -> name for industries, company_types, lead_sources or tags."""
    if table not in {"industries", "company_types", "lead_sources", "tags"}:
        raise ValueError(f"not a vocabulary: {table}")
    return {r["id"]: r["name"] for r in db.fetch_all(f"SELECT id, name FROM {table} ORDER BY name")}
