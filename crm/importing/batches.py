"""The import history and undo of a whole batch.

Undo removes what the batch created and restores, on what it updated, exactly the fields the
import changed (from the before-images). It never damages:

- a record that moved on since the import (edited, unsubscribed, mailed, tagged, given a
  deal: anything bumps its version) is never overwritten or removed;
- a created record that something points to (a deal, a request, a mailing it received, a
  conversion) is never removed;
- subscription state is never touched (an import's opt-out stays on the suppression list).

Undo refuses, listing those records and why, and changes nothing; told to go ahead
(`keep_changed`) it undoes the rest and leaves those records exactly as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm.access import Action, Condition, Entity, import_batch_scope, scope
from crm.common.clock import now
from crm.common.errors import Refusal
from crm.identity.entities import person_table
from crm.identity.user import User
from crm.importing.commit import DEFAULTS, TEXT_COLUMNS, batch_tags
from crm.storage.db import Database, Session, ids_condition
from crm.storage.writer import Writer, last_change


class UndoRefused(Refusal):
    """The batch cannot be undone (as asked); nothing was changed."""

    def __init__(self, message: str, kept: dict[int, str] | None = None) -> None:
        super().__init__(message)
        self.kept = kept or {}

    @property
    def changed_ids(self) -> list[int]:
        return list(self.kept)


@dataclass(frozen=True)
class UndoResult:
    batch_id: int
    removed: int
    restored: int
    removed_companies: int
    kept: dict[int, str] = field(default_factory=dict)  # left as they are, and why


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
        "b.rejected_count AS rejected, b.on_duplicate, b.undone_at, b.kept_count AS kept, "
        "ub.full_name AS undone_by FROM import_batches b "
        "LEFT JOIN users u ON u.id = b.user_id LEFT JOIN users ub ON ub.id = b.undone_by "
        f"WHERE {where} ORDER BY b.created_at DESC, b.id DESC LIMIT ?", (*params, limit))


def undo_batch(user: User, db: Database, batch_id: int,
               keep_changed: bool = False) -> UndoResult:
    """Undo a whole batch in one transaction. Records that changed since the import or that
    other records point to are listed in UndoRefused (nothing changed); with `keep_changed`
    the rest is undone and those are left exactly as they are."""
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
        table = person_table(entity)
        allowed = scope(user, entity, Action.UNDO_IMPORT, alias="t")
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
        kept = _kept(tx, entity, items[present])
        if kept and not keep_changed:
            raise UndoRefused(_refusal(entity, batch_id, kept), kept)
        doable = items[present & ~items["entity_id"].isin(list(kept))]
        writer = Writer(tx, user, batch_id=batch_id, stamp=stamp)
        created = [int(i) for i in doable.loc[doable["action"] == "create", "entity_id"]]
        removed = writer.delete_where(entity, ids_condition(created, "t.id"),
                                      action="undo import") if created else 0
        restored = _restore(writer, entity, doable[doable["action"] == "update"])
        _untag(writer, entity, batch_id, doable.loc[doable["action"] == "update", "entity_id"])
        removed_companies = _remove_companies(writer, batch_id) \
            if entity is Entity.CONTACT else 0
        tx.execute("UPDATE import_batches SET undone_at = ?, undone_by = ?, kept_count = ? "
                   "WHERE id = ?", (stamp, user.id, len(kept), batch_id))
    return UndoResult(batch_id, removed, restored, removed_companies, kept)


def _kept(tx: Session, entity: Entity, items: pd.DataFrame) -> dict[int, str]:
    """The batch's records undo must leave alone, each with the reason."""
    kept: dict[int, str] = {}
    moved = items["current_version"].astype("int64") != items["row_version"].astype("int64")
    for record_id in items.loc[moved, "entity_id"].astype("int64"):
        who, when = last_change(tx, entity, int(record_id))
        at = f" at {when:%Y-%m-%d %H:%M} UTC" if when is not None else ""
        kept[int(record_id)] = f"changed by {who}{at} after the import"
    created = [int(i) for i in items.loc[(items["action"] == "create") & ~moved, "entity_id"]]
    if created:
        for record_id, reason in _linked(tx, entity, created).items():
            kept.setdefault(record_id, reason)
    return kept


def _linked(tx: Session, entity: Entity, ids: list[int]) -> dict[int, str]:
    """Created records that other records point to, and what points to them."""
    noun = entity.value
    these = ids_condition(ids, "x.id")
    checks = [
        (f"deals d WHERE d.{noun}_id = x.id", "has a deal"),
        (f"requests r WHERE r.{noun}_id = x.id", "a request became a deal with it"),
        (f"mailing_recipients m WHERE m.entity = '{noun}' AND m.entity_id = x.id",
         "is a recipient of a mailing"),
    ]
    if entity is Entity.LEAD:
        checks.append(("leads c WHERE c.id = x.id AND c.converted_at IS NOT NULL",
                       "was converted"))
    else:
        checks.append(("leads c WHERE c.contact_id = x.id", "a lead was converted into it"))
        checks.append(("contacts c WHERE c.id = x.id AND c.source_lead_id IS NOT NULL",
                       "was made from a lead"))
    found: dict[int, str] = {}
    for source, reason in checks:
        for row in tx.fetch_all(f"SELECT x.id FROM {person_table(entity)} x WHERE {these.sql} AND "
                                f"EXISTS (SELECT 1 FROM {source})", these.params):
            found.setdefault(int(row["id"]), reason)
    return found


def _refusal(entity: Entity, batch_id: int, kept: dict[int, str]) -> str:
    shown = "; ".join(f"{entity.value} {i}: {why}" for i, why in list(kept.items())[:20])
    more = f"; and {len(kept) - 20:,} more" if len(kept) > 20 else ""
    return (f"Nothing was undone: {len(kept):,} records of import batch {batch_id} must stay "
            f"as they are ({shown}{more}). Undo the rest to undo everything else and leave "
            "those records untouched.")


def _restore(writer: Writer, entity: Entity, updated: pd.DataFrame) -> int:
    """Exactly the fields the import changed, back to their values before it."""
    if updated.empty:
        return 0
    images = [json.loads(i) if i else {} for i in updated["before_image"]]
    # Consent is never restored: an undo must not undo anyone's unsubscribe.
    images = [{k: v for k, v in i.items() if k not in ("id", "newsletter_opt_in",
                                                        "unsubscribed_at")} for i in images]
    columns = sorted({c for i in images for c in i})
    if not columns:
        return len(images)
    frame = pd.DataFrame({"id": updated["entity_id"].astype("int64").to_numpy()})
    given = pd.DataFrame({c: [c in i for i in images] for c in columns})
    for column in columns:
        values = [i.get(column) for i in images]
        if column in DEFAULTS:
            frame[column] = pd.array(values, dtype="boolean")
        elif column not in TEXT_COLUMNS and column != "country_code":
            frame[column] = pd.array(values, dtype="Int64")
        else:
            frame[column] = pd.Series(values, dtype=object)
    writer.update_from(entity, frame, given,
                       versions=updated["current_version"].astype("int64").to_numpy(),
                       action="undo import")
    return len(images)


def _untag(writer: Writer, entity: Entity, batch_id: int, updated: pd.Series) -> None:
    """Take off the updated records exactly the tags the batch put on them (the records the
    batch created go with their tags)."""
    if updated.empty:
        return
    these = ids_condition(updated.astype("int64").tolist(), "t.id")
    for row in writer.tx.fetch_all(
            "SELECT DISTINCT b.tag_id, g.name FROM import_batch_tags b JOIN tags g "
            "ON g.id = b.tag_id WHERE b.batch_id = ? ORDER BY b.tag_id", (batch_id,)):
        writer.remove_links(entity, "tags", int(row["tag_id"]), row["name"],
                            these & batch_tags(batch_id, row["tag_id"]))


def _remove_companies(writer: Writer, batch_id: int) -> int:
    """Companies the batch created that nothing uses and nobody changed since."""
    unused = ("NOT EXISTS (SELECT 1 FROM contacts c WHERE c.company_id = t.id) "
              "AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.company_id = t.id) "
              "AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.company_id = t.id) "
              "AND t.row_version = 1")
    return writer.delete_where(Entity.COMPANY, Condition(
        "t.id IN (SELECT company_id FROM import_batch_companies WHERE batch_id = ?) AND "
        + unused, (batch_id,)), action="undo import")
