"""The import history and undo of a whole batch.

Undo removes what the batch created and restores what it updated from the before-images. A
record edited since the import (its version moved on) is not silently overwritten: undo
names those records and goes ahead only when told to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crm import search
from crm.access import Action, Condition, Entity, import_batch_scope, scope
from crm.clock import now
from crm.db import Database
from crm.importing.commit import DEFAULTS, TEXT_COLUMNS, _audit, _column_types
from crm.importing.preview import TABLES, temporary_table
from crm.users import User


class UndoRefused(ValueError):
    """The batch cannot be undone (as asked); nothing was changed."""

    def __init__(self, message: str, changed_ids: list[int] | None = None) -> None:
        super().__init__(message)
        self.changed_ids = changed_ids or []


@dataclass(frozen=True)
class UndoResult:
    batch_id: int
    removed: int
    restored: int
    removed_companies: int
    overwritten: list[int]  # records changed since the import that undo was forced over


def list_batches(user: User, db: Database, entity: Entity | str | None = None,
                 limit: int = 200) -> list[dict[str, Any]]:
    """Newest first: who, when, file, counts, and whether (and by whom) it was undone."""
    visible = import_batch_scope(user, alias="b")
    where, params = visible.sql, list(visible.params)
    if entity is not None:
        where += " AND b.entity = ?"
        params.append(Entity(entity).value)
    return db.fetch_all(
        "SELECT b.id, b.entity, b.file_name, b.created_at, u.full_name AS imported_by, "
        "b.created_count AS created, b.updated_count AS updated, b.skipped_count AS skipped, "
        "b.rejected_count AS rejected, b.on_duplicate, b.undone_at, "
        "ub.full_name AS undone_by FROM import_batches b "
        "LEFT JOIN users u ON u.id = b.user_id LEFT JOIN users ub ON ub.id = b.undone_by "
        f"WHERE {where} ORDER BY b.created_at DESC, b.id DESC LIMIT ?", (*params, limit))


def undo_batch(user: User, db: Database, batch_id: int, force: bool = False) -> UndoResult:
    """Undo a whole batch in one transaction; raises UndoRefused (nothing changed) when a
    record changed since the import, unless `force`."""
    visible = import_batch_scope(user, alias="b")
    stamp = now()
    with db.transaction() as tx:
        batch = tx.fetch_one(f"SELECT * FROM import_batches b WHERE b.id = ? AND {visible.sql}",
                             (batch_id, *visible.params))
        if batch is None:
            raise UndoRefused(f"Import batch {batch_id} does not exist.")
        if batch["undone_at"] is not None:
            raise UndoRefused(f"Import batch {batch_id} was already undone.")
        entity = Entity(batch["entity"])
        table, noun = TABLES[entity], entity.value
        allowed = scope(user, entity, Action.EDIT, alias="t")
        items = tx.fetch_frame(
            f"SELECT i.entity_id, i.action, i.before_image, i.row_version, "
            f"t.row_version AS current_version, ({allowed.sql}) AS allowed "
            f"FROM import_batch_items i LEFT JOIN {table} t ON t.id = i.entity_id "
            "WHERE i.batch_id = ? ORDER BY i.entity_id", (*allowed.params, batch_id))
        present = items["current_version"].notna()
        outside = present & ~items["allowed"].fillna(False).astype(bool)
        if outside.any():
            raise UndoRefused(f"{int(outside.sum()):,} records of import batch {batch_id} are "
                              "outside your access; ask someone who may work with them.")
        changed = present & (items["current_version"] != items["row_version"])
        changed_ids = [int(i) for i in items.loc[changed, "entity_id"]]
        if changed_ids and not force:
            shown = ", ".join(str(i) for i in changed_ids[:20])
            more = f" and {len(changed_ids) - 20:,} more" if len(changed_ids) > 20 else ""
            raise UndoRefused(
                f"{len(changed_ids):,} records were changed after the import (IDs {shown}{more}); "
                "undo would discard those changes. Undo anyway to go ahead.", changed_ids)
        created = items[(items["action"] == "create") & present]["entity_id"].astype("int64")
        updated = items[(items["action"] == "update") & present]
        removed = _remove(tx, entity, batch_id, created)
        restored = _restore(tx, user, entity, updated, stamp)
        removed_companies = 0
        if entity is Entity.CONTACT:
            removed_companies = _remove_companies(tx, batch_id)
        _audit(tx, user, noun, created.to_numpy(), "delete", batch_id, stamp)
        _audit(tx, user, noun, updated["entity_id"].to_numpy(), "undo import", batch_id, stamp)
        if restored:
            search.refresh(tx, entity, Condition(
                "id IN (SELECT entity_id FROM import_batch_items WHERE batch_id = ? "
                "AND action = 'update')", (batch_id,)))
        tx.execute("UPDATE import_batches SET undone_at = ?, undone_by = ? WHERE id = ?",
                   (stamp, user.id, batch_id))
    return UndoResult(batch_id, removed, restored, removed_companies,
                      changed_ids if force else [])


def _remove(tx, entity: Entity, batch_id: int, created: pd.Series) -> int:
    if created.empty:
        return 0
    table, noun = TABLES[entity], entity.value
    ids = (f"(SELECT entity_id FROM import_batch_items WHERE batch_id = {int(batch_id)} "
           "AND action = 'create')")
    tx.execute(f"DELETE FROM {noun}_tags WHERE {noun}_id IN {ids}")
    tx.execute(f"DELETE FROM subscription_events WHERE entity = ? AND entity_id IN {ids}",
               (noun,))
    tx.execute(f"DELETE FROM mailing_recipients WHERE entity = ? AND entity_id IN {ids}",
               (noun,))
    tx.execute(f"DELETE FROM {table} WHERE id IN {ids}")
    return len(created)


def _restore(tx, user: User, entity: Entity, updated: pd.DataFrame, stamp) -> int:
    if updated.empty:
        return 0
    table = TABLES[entity]
    images = pd.DataFrame([json.loads(i) for i in updated["before_image"]])
    columns = [c for c in images.columns if c != "id"]
    for column in columns:
        if column in DEFAULTS:
            images[column] = images[column].astype("boolean")
        elif column not in TEXT_COLUMNS and column != "country_code":
            images[column] = pd.array(images[column].to_numpy(), dtype="Int64")
        else:
            images[column] = images[column].astype(object).where(images[column].notna(), None)
    with temporary_table(tx, _column_types(tx, table, ["id", *columns]),
                         images[["id", *columns]]) as before:
        assignments = ", ".join(f"{c} = b.{c}" for c in columns)
        tx.execute(f"UPDATE {table} SET {assignments}, updated_at = ?, modified_by = ?, "
                   f"row_version = {table}.row_version + 1 FROM {before} b "
                   f"WHERE {table}.id = b.id", (stamp, user.id))
    return len(images)


def _remove_companies(tx, batch_id: int) -> int:
    """Companies the batch created that no contact uses any more."""
    orphans = tx.fetch_frame(
        "SELECT company_id FROM import_batch_companies bc WHERE bc.batch_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM contacts c WHERE c.company_id = bc.company_id) AND NOT EXISTS "
        "(SELECT 1 FROM leads l WHERE l.company_id = bc.company_id)", (batch_id,))
    if orphans.empty:
        return 0
    ids = orphans["company_id"].to_numpy(dtype=np.int64).tolist()
    marks = ", ".join("?" for _ in ids)
    tx.execute(f"DELETE FROM company_industries WHERE company_id IN ({marks})", ids)
    tx.execute(f"DELETE FROM companies WHERE id IN ({marks})", ids)
    return len(ids)
