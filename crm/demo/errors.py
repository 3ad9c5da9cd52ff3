"""Why the demo data cannot be loaded."""

from __future__ import annotations

from crm.common.errors import Refusal


class DemoError(Refusal):
    """The demo data cannot be loaded (for instance: the database is not empty)."""


class DatabaseNotEmpty(DemoError):
    """Demo data loads only into an empty database (another server may have loaded it)."""
