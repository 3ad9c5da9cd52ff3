"""The one source of "now" (UTC, naive: both backends store TIMESTAMP without zone)."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_fixed: ContextVar[datetime | None] = ContextVar("crm_clock_fixed", default=None)


def now() -> datetime:
    fixed = _fixed.get()
    if fixed is not None:
        return fixed
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@contextmanager
def fixed_at(moment: datetime) -> Iterator[None]:
    """Inside, `now()` is `moment` (for this thread or task only): the demo data writes its
    past through the same services people use, dated when it happened."""
    token = _fixed.set(moment.replace(microsecond=0))
    try:
        yield
    finally:
        _fixed.reset(token)
