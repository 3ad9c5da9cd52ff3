"""The audit log: who changed what, when, field by field, inside the same transaction."""

from __future__ import annotations

from typing import Any

from crm.common.clock import now
from crm.identity.user import User, stamp_id
from crm.storage.db import Session


def text(value: Any) -> str | None:
    """A value as the audit log keeps it."""
    return None if value is None else str(value)


def record(
    tx: Session,
    actor: User | None,
    entity: str,
    entity_id: int,
    action: str,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    batch_id: int | None = None,
) -> None:
    """One row per changed field; one row with no field for actions without fields."""
    old = old or {}
    new = new or {}
    fields = list(dict.fromkeys([*old, *new]))
    stamp = now()
    actor_id = stamp_id(actor)
    rows = [(f, text(old.get(f)), text(new.get(f))) for f in fields] or [("", None, None)]
    values = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in rows)
    params = [value for field, old_value, new_value in rows
              for value in (stamp, actor_id, entity, entity_id, action, field, old_value,
                            new_value, batch_id)]
    tx.execute(  # one statement for all fields: a statement costs a round trip
        "INSERT INTO audit_log (changed_at, user_id, entity, entity_id, action, field, "
        f"old_value, new_value, batch_id) VALUES {values}", tuple(params))


def history(tx_or_db: Any, entity: str, entity_id: int) -> list[dict[str, Any]]:
    """Changes to one record, newest first. Callers check access to the record first."""
    return tx_or_db.fetch_all(
        "SELECT a.changed_at, coalesce(u.full_name, 'system') AS changed_by, a.action, a.field, "
        "a.old_value, a.new_value FROM audit_log a LEFT JOIN users u ON u.id = a.user_id "
        "WHERE a.entity = ? AND a.entity_id = ? ORDER BY a.changed_at DESC, a.id DESC",
        (entity, entity_id),
    )
