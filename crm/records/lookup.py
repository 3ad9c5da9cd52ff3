"""Finding one lead, contact or company by ID, always inside the user's scope.

A record outside the scope is reported exactly like a record that does not exist.
"""

from __future__ import annotations

from typing import Any

from crm.access import Action, Entity, scope
from crm.identity.user import User
from crm.storage.db import Database, Session


def find(user: User, db: Database | Session, entity: Entity | str, record_id: int,
         action: Action | str = Action.VIEW) -> dict[str, Any] | None:
    entity = Entity(entity)
    allowed = scope(user, entity, action)
    return db.fetch_one(
        f"SELECT * FROM {Entity(entity).table} WHERE id = ? AND {allowed.sql}",
        (record_id, *allowed.params),
    )


def count(user: User, db: Database | Session, entity: Entity | str,
          action: Action | str = Action.VIEW) -> int:
    entity = Entity(entity)
    allowed = scope(user, entity, action)
    return int(db.scalar(f"SELECT count(*) FROM {Entity(entity).table} WHERE {allowed.sql}",
                         allowed.params))
