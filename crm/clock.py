"""The one source of "now" (UTC, naive: both backends store TIMESTAMP without zone)."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
