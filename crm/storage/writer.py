"""The one write path for records: leads, contacts, companies, requests and deals, and the
links of people to tags and of companies to industries.

Every change to such a record goes through a `Writer` bound to the caller's unit of work.
In this one place it

- stamps `updated_at` and `modified_by` and bumps `row_version` (a new record is version 1);
- refuses with `Conflict`, writing nothing, a change based on a version that is no longer
  the record's, saying who changed it and when;
- writes one audit entry per changed field (one per record for creations and deletions);
- refreshes the search text the change affects (a company's name is in its contacts' text);
- keeps a person's newsletter state and their subscription events together, and applies the
  suppression list: an address that unsubscribed is unsubscribed under every lead and contact
  holding it, including records that get that address later.

What changes what a person is (their subscription, a delivery, their tags, a deal) is a
change like any other: it bumps the version, so an undo or a stale save notices it.

One record or a million are written the same way: `update` for one record, `update_where`
for every record matching a condition, `update_from` for a frame of per-record values (an
import). Each costs a fixed number of statements whatever the number of rows.

Nothing else in `crm/` writes these tables (tests/storage/test_write_path.py reads the source).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from crm.common.clock import now
from crm.common.errors import Refusal
from crm.common.names import company_name_key
from crm.identity.entities import PEOPLE, Entity
from crm.identity.user import SYSTEM, User, stamp_id
from crm.storage import audit, search
from crm.storage.db import Condition, Session, column_types, ids_condition, temporary_table

# Link tables: (table, the record's column, the linked thing's column), by link and entity.
LINKS: dict[str, dict[Entity, tuple[str, str, str]]] = {
    "tags": {Entity.LEAD: ("lead_tags", "lead_id", "tag_id"),
             Entity.CONTACT: ("contact_tags", "contact_id", "tag_id")},
    "industries": {Entity.COMPANY: ("company_industries", "company_id", "industry_id")},
}
BOOLEAN_COLUMNS = frozenset({"vip", "disqualified", "newsletter_opt_in"})
# Kept by this module or derived from other columns: never in the audit log.
BOOKKEEPING = frozenset({"updated_at", "created_by", "modified_by", "row_version",
                         "search_text", "name_key", "company_key", "email_domain",
                         "matched_contact_id", "matched_lead_id", "matched_company_id"})
# Request columns that hint at a record (derived, refreshed elsewhere): cleared on deletion.
HINTS = {Entity.LEAD: "matched_lead_id", Entity.CONTACT: "matched_contact_id",
         Entity.COMPANY: "matched_company_id"}

# Who made a change that no signed-in user made, by its audit action.
SYSTEM_CHANGES = {
    "unsubscribe link": "the person, through their unsubscribe link",
    "delivery": "a newsletter delivery",
    "suppressed address": "an unsubscribe of the same address",
    "bounce": "a bounce of the address",
}
SUPPRESSED = "suppressed address"  # the source of unsubscribes that follow the address

# The address an unsubscribe belongs to: the same in every place that compares addresses.
ADDRESS_SQL = "lower(trim({column}))"


def address(email: str | None) -> str:
    """An email address as the suppression list keeps it (see ADDRESS_SQL)."""
    return (email or "").strip().lower()


# --------------------------------------------------------------------------- refusals


@dataclass(frozen=True)
class Problem:
    record_id: int | None
    field: str
    message: str


class EditRejected(Refusal):
    """Nothing was saved; `problems` says why, record by record."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class Conflict(EditRejected):
    """Records moved on since the version the user saw; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.record_ids = [p.record_id for p in problems]


# --------------------------------------------------------------------------- the writer


@dataclass
class Writer:
    """Writes records inside `tx` on behalf of `actor`: a user, SYSTEM (the command line, the
    demo, the mail sender, a migration) or None (a person's own unsubscribe link); the last
    two stamp no user id. `batch_id` ties audit entries to an import."""

    tx: Session
    actor: User | None
    batch_id: int | None = None
    stamp: datetime = field(default_factory=now)

    @property
    def actor_id(self) -> int | None:
        return stamp_id(self.actor)

    # ------------------------------------------------------------------ inserting

    def insert(self, entity: Entity, row: Mapping[str, Any], *,
               subscribed_by: str | None = None,
               links: Mapping[str, Sequence[int]] | None = None) -> int:
        """Insert one record (with `links`, e.g. a company's industries); returns its id.

        For a person who is opted in, `subscribed_by` records the subscription event (its
        source); None when the caller carries the person's history over itself.
        """
        entity = Entity(entity)
        row = {**_derived(entity, row), "updated_at": self.stamp, "created_by": self.actor_id,
               "modified_by": self.actor_id, "row_version": 1}
        row.setdefault("created_at", self.stamp)
        new_id = int(self.tx.scalar(
            f"INSERT INTO {Entity(entity).table} ({', '.join(row)}) "
            f"VALUES ({', '.join('?' for _ in row)}) RETURNING id", tuple(row.values())))
        linked = {}
        for link, values in (links or {}).items():
            link_table, own, other = LINKS[link][entity]
            linked[link] = list(dict.fromkeys(int(v) for v in values))
            for value in linked[link]:
                self.tx.execute(f"INSERT INTO {link_table} ({own}, {other}) VALUES (?, ?)",
                                (new_id, value))
        audit.record(self.tx, self.actor, entity.value, new_id, "create",
                     new={**{k: v for k, v in row.items()
                             if v not in (None, "") and k not in BOOKKEEPING},
                          **{k: v for k, v in linked.items() if v}},
                     batch_id=self.batch_id)
        opted_in = row.get("newsletter_opt_in", True)
        self._after(entity, [new_id], set(row), created=True,
                    subscribed_by=subscribed_by if opted_in else None)
        return new_id

    def insert_frame(self, entity: Entity, frame: pd.DataFrame, *,
                     subscribed_by: str | None = None) -> np.ndarray:
        """Insert many records at once; `frame` holds their `id`s (drawn with `new_ids`) and
        columns. Returns the ids."""
        entity = Entity(entity)
        frame = frame.copy()
        stamps = pd.Series(self.stamp, index=frame.index).astype("datetime64[s]")
        if "created_at" in frame:
            frame["created_at"] = frame["created_at"].astype("datetime64[s]").fillna(stamps)
        else:
            frame["created_at"] = stamps
        frame["updated_at"] = frame.get("updated_at", stamps)
        for column in ("created_by", "modified_by"):
            if column not in frame:
                frame[column] = pd.array([self.actor_id] * len(frame), dtype="Int64")
        frame["row_version"] = 1
        if entity is Entity.COMPANY and "name_key" not in frame:
            frame["name_key"] = [company_name_key(n) for n in frame["name"]]
        ids = frame["id"].to_numpy(dtype=np.int64)
        if not len(ids):
            return ids
        self.tx.insert_frame(Entity(entity).table, frame)
        self._audit_frame(entity, pd.DataFrame({"entity_id": ids, "field": "",
                                                "old_value": None, "new_value": None}),
                          "create")
        self._after(entity, ids.tolist(), set(frame.columns), created=True,
                    subscribed_by=subscribed_by)
        return ids

    def load_frame(self, entity: Entity, frame: pd.DataFrame) -> None:
        """Records that come with their own past (the demo data: created and changed before
        today, by their own users, with their subscription events written beside them).
        Audited as created when and by whom each says; their search text is made."""
        entity = Entity(entity)
        if frame.empty:
            return
        table = Entity(entity).table
        columns = ", ".join(frame.columns)
        # Staged, then inserted with the search text made on the way in: writing every row
        # once, where an insert and then an update of the search text writes it twice (and
        # on PostgreSQL updates every index twice).
        with temporary_table(self.tx, column_types(self.tx, table, list(frame.columns)),
                             frame) as staged:
            self.tx.execute(f"INSERT INTO {table} ({columns}, search_text) SELECT {columns}, "
                            f"{search.search_text_sql(entity)} FROM {staged} AS {table}")
        these = ids_condition(frame["id"].tolist(), "t.id")
        self.tx.execute(
            "INSERT INTO audit_log (changed_at, user_id, entity, entity_id, action, field) "
            f"SELECT t.created_at, t.created_by, ?, t.id, 'create', '' FROM {table} t "
            f"WHERE {these.sql}", (entity.value, *these.params))

    def load_links(self, entity: Entity, link: str, frame: pd.DataFrame) -> None:
        """Links of records loaded with `load_frame`, in the same unit of work."""
        self.tx.insert_frame(LINKS[link][Entity(entity)][0], frame)

    # ------------------------------------------------------------------ updating

    def update(self, entity: Entity, record_id: int, new: Mapping[str, Any], *,
               version: int | None = None, action: str = "update") -> dict[str, Any]:
        """Change one record; returns the columns that changed (old values).

        With `version` (the one the user saw) a record changed since is refused (Conflict).
        """
        entity = Entity(entity)
        table = Entity(entity).table
        row = self.tx.fetch_one(f"SELECT * FROM {table} WHERE id = ?", (record_id,))
        if row is None:
            raise EditRejected([Problem(record_id, "",
                                        f"{Entity(entity).title} {record_id} does not exist.")])
        if version is not None and row["row_version"] != version:
            raise self.conflict(entity, [record_id])
        new = _derived(entity, new)
        changed = {c: v for c, v in new.items() if not _same(row[c], v)}
        if not changed:
            return {}
        assignments = ", ".join(f"{c} = ?" for c in changed)
        written = self.tx.execute(
            f"UPDATE {table} SET {assignments}, updated_at = ?, modified_by = ?, "
            "row_version = row_version + 1 WHERE id = ? AND row_version = ?",
            (*changed.values(), self.stamp, self.actor_id, record_id, row["row_version"]))
        if written == 0:  # changed between our read and this write
            raise self.conflict(entity, [record_id])
        audited = [c for c in changed if c not in BOOKKEEPING]
        if audited:
            audit.record(self.tx, self.actor, entity.value, record_id, action,
                         old={c: row[c] for c in audited}, new={c: changed[c] for c in audited},
                         batch_id=self.batch_id)
        self._after(entity, [record_id], set(changed))
        return {c: row[c] for c in changed}

    def update_where(self, entity: Entity, where: Condition, new: Mapping[str, Any], *,
                     alias: str = "t", versions: Mapping[int, int] | None = None,
                     action: str = "update") -> int:
        """Set `new` on every record matching `where` (over `alias`) that differs from it;
        returns how many changed. `versions` ({id: version seen}) refuses the whole change
        when one of those records moved on."""
        entity = Entity(entity)
        table, a = Entity(entity).table, alias
        if versions:
            self.check_versions(entity, versions)
        new = _derived(entity, new)
        if not new:
            return 0
        differs = Condition(" OR ".join(f"{a}.{c} IS DISTINCT FROM ?" for c in new),
                            tuple(new.values()))
        change = where & differs
        needs_ids = self._needs_ids(entity, set(new))
        ids = ([int(r["id"]) for r in self.tx.fetch_all(
            f"SELECT {a}.id FROM {table} {a} WHERE {change.sql}", change.params)]
            if needs_ids else None)
        for column, value in new.items():
            if column in BOOKKEEPING:
                continue
            self.tx.execute(
                "INSERT INTO audit_log (changed_at, user_id, entity, entity_id, action, field, "
                f"old_value, new_value, batch_id) SELECT ?, ?, ?, {a}.id, ?, ?, "
                f"{_text_sql(f'{a}.{column}', column)}, ?, ? FROM {table} {a} "
                f"WHERE ({where.sql}) AND {a}.{column} IS DISTINCT FROM ?",
                (self.stamp, self.actor_id, entity.value, action, column, audit.text(value),
                 self.batch_id, *where.params, value))
        assignments = ", ".join(f"{c} = ?" for c in new)
        changed = self.tx.execute(
            f"UPDATE {table} SET {assignments}, updated_at = ?, modified_by = ?, "
            f"row_version = row_version + 1 WHERE id IN (SELECT {a}.id FROM {table} {a} "
            f"WHERE {change.sql})",
            (*new.values(), self.stamp, self.actor_id, *change.params))
        if ids:
            self._after(entity, ids, set(new))
        return max(changed, 0) if ids is None else len(ids)

    def update_from(self, entity: Entity, frame: pd.DataFrame,
                    given: pd.DataFrame | None = None, *,
                    versions: Sequence[int] | None = None,
                    action: str = "update") -> np.ndarray:
        """Per-record values: `frame` has `id` and columns; a cell is written where `given`
        (same shape, default: the cell is not empty) says so. `versions` are the versions
        the user saw, per row: a record that moved on refuses the whole change. Returns the
        ids of the records that changed."""
        entity = Entity(entity)
        table = Entity(entity).table
        columns = [c for c in frame.columns if c != "id"]
        if frame.empty or not columns:
            return np.array([], dtype=np.int64)
        given = frame[columns].notna() if given is None else given[columns]
        incoming = frame[["id", *columns]].reset_index(drop=True).copy()
        for column in columns:
            incoming[f"set_{column}"] = given[column].to_numpy(dtype=bool)
        types = column_types(self.tx, table, ["id", *columns]) + "".join(
            f", set_{c} BOOLEAN" for c in columns)
        if versions is not None:
            incoming["seen_version"] = np.asarray(versions, dtype=np.int64)
            types += ", seen_version BIGINT"
        with temporary_table(self.tx, types, incoming) as u:
            join = f"FROM {table} t JOIN {u} u ON u.id = t.id"
            if versions is not None:  # every row read (and locked) before any is written
                rows = self.tx.fetch_all(
                    f"SELECT t.id, t.row_version, u.seen_version {join} ORDER BY t.id"
                    + _lock(self.tx, "t"))
                moved = [int(r["id"]) for r in rows if r["row_version"] != r["seen_version"]]
                if moved:
                    raise self.conflict(entity, moved)
            differs = " OR ".join(f"(u.set_{c} AND t.{c} IS DISTINCT FROM u.{c})"
                                  for c in columns)
            ids = np.array([int(r["id"]) for r in self.tx.fetch_all(
                f"SELECT t.id {join} WHERE {differs} ORDER BY t.id")], dtype=np.int64)
            if not len(ids):
                return ids
            for column in columns:
                if column in BOOKKEEPING:
                    continue
                self.tx.execute(
                    "INSERT INTO audit_log (changed_at, user_id, entity, entity_id, action, "
                    "field, old_value, new_value, batch_id) SELECT ?, ?, ?, t.id, ?, ?, "
                    f"{_text_sql('t.' + column, column)}, {_text_sql('u.' + column, column)}, "
                    f"? {join} WHERE u.set_{column} AND t.{column} IS DISTINCT FROM u.{column}",
                    (self.stamp, self.actor_id, entity.value, action, column, self.batch_id))
            assignments = ", ".join(
                f"{c} = CASE WHEN u.set_{c} THEN u.{c} ELSE {table}.{c} END" for c in columns)
            self.tx.execute(
                f"UPDATE {table} SET {assignments}, updated_at = ?, modified_by = ?, "
                f"row_version = {table}.row_version + 1 FROM {u} u WHERE {table}.id = u.id "
                f"AND {table}.id IN (SELECT unnest(CAST(? AS BIGINT[])))",
                (self.stamp, self.actor_id, ids.tolist()))
        if entity is Entity.COMPANY and "name" in columns:
            self._name_keys(ids.tolist())
        self._after(entity, ids.tolist(), set(columns))
        return ids

    def check_versions(self, entity: Entity, versions: Mapping[int, int]) -> None:
        """Refuse (Conflict) when any of these records is no longer at the version seen."""
        entity = Entity(entity)
        found = ids_condition(list(versions))
        rows = self.tx.fetch_all(
            f"SELECT id, row_version FROM {Entity(entity).table} WHERE {found.sql} ORDER BY id"
            + _lock(self.tx), found.params)
        moved = [int(r["id"]) for r in rows if r["row_version"] != versions[int(r["id"])]]
        if moved:
            raise self.conflict(entity, moved)

    # ------------------------------------------------------------------ deleting

    def delete_where(self, entity: Entity, where: Condition, *, alias: str = "t",
                     action: str = "delete") -> int:
        """Delete the records matching `where`, with their links and their own subscription
        events; one audit entry each. Callers make sure nothing else points to them."""
        entity = Entity(entity)
        table, a = Entity(entity).table, alias
        ids = [int(r["id"]) for r in self.tx.fetch_all(
            f"SELECT {a}.id FROM {table} {a} WHERE {where.sql}", where.params)]
        if not ids:
            return 0
        self._audit_frame(entity, pd.DataFrame({"entity_id": np.array(ids, dtype=np.int64),
                                                "field": "", "old_value": None,
                                                "new_value": None}), action)
        for links in LINKS.values():
            if entity in links:
                link_table, own, _ = links[entity]
                gone = ids_condition(ids, own)
                self.tx.execute(f"DELETE FROM {link_table} WHERE {gone.sql}", gone.params)
        if entity in PEOPLE:
            gone = ids_condition(ids, "entity_id")
            self.tx.execute(f"DELETE FROM subscription_events WHERE entity = ? AND {gone.sql}",
                            (entity.value, *gone.params))
        if entity in HINTS:
            hint = ids_condition(ids, HINTS[entity])
            self.tx.execute(f"UPDATE requests SET {HINTS[entity]} = NULL WHERE {hint.sql}",
                            hint.params)
        gone = ids_condition(ids)
        self.tx.execute(f"DELETE FROM {table} WHERE {gone.sql}", gone.params)
        return len(ids)

    # ------------------------------------------------------------------ links

    def add_links(self, entity: Entity, link: str, value_id: int, label: str,
                  where: Condition, *, alias: str = "t") -> int:
        """Link every record matching `where` to `value_id` (a tag) where it is not yet."""
        return self._links(entity, link, value_id, label, where, alias, adding=True)

    def remove_links(self, entity: Entity, link: str, value_id: int, label: str,
                     where: Condition, *, alias: str = "t") -> int:
        return self._links(entity, link, value_id, label, where, alias, adding=False)

    def set_links(self, entity: Entity, link: str, record_id: int,
                  value_ids: Iterable[int]) -> bool:
        """One record's links become exactly `value_ids`; False when they already were."""
        entity = Entity(entity)
        link_table, own, other = LINKS[link][entity]
        before = [int(r[other]) for r in self.tx.fetch_all(
            f"SELECT {other} FROM {link_table} WHERE {own} = ? ORDER BY {other}", (record_id,))]
        after = sorted(dict.fromkeys(int(i) for i in value_ids))
        if before == after:
            return False
        self.tx.execute(f"DELETE FROM {link_table} WHERE {own} = ?", (record_id,))
        for value in after:
            self.tx.execute(f"INSERT INTO {link_table} ({own}, {other}) VALUES (?, ?)",
                            (record_id, value))
        self._bump(entity, ids_condition([record_id]))
        audit.record(self.tx, self.actor, entity.value, record_id, "update",
                     old={link: before}, new={link: after}, batch_id=self.batch_id)
        return True

    def copy_links(self, entity: Entity, link: str, source: Entity, source_id: int,
                   record_id: int) -> int:
        """Give a record the links another record has (a converted lead's tags to its
        contact); returns how many it gained."""
        entity, source = Entity(entity), Entity(source)
        link_table, own, other = LINKS[link][entity]
        source_table, source_own, _ = LINKS[link][source]
        before = [int(r[other]) for r in self.tx.fetch_all(
            f"SELECT {other} FROM {link_table} WHERE {own} = ? ORDER BY {other}", (record_id,))]
        theirs = [int(r[other]) for r in self.tx.fetch_all(
            f"SELECT {other} FROM {source_table} WHERE {source_own} = ? ORDER BY {other}",
            (source_id,))]
        added = [v for v in theirs if v not in before]
        if added:
            self.set_links(entity, link, record_id, [*before, *added])
        return len(added)

    def merge_link_values(self, link: str, sources: Sequence[int], target: int,
                          names: Mapping[int, str]) -> int:
        """Every record linked to one of `sources` is linked to `target` instead (merging
        tags), audited as the change it is on each record. Returns how many gained it."""
        gained = 0
        for entity in LINKS[link]:
            link_table, own, other = LINKS[link][entity]
            for source in sources:
                has_source = Condition(f"EXISTS (SELECT 1 FROM {link_table} sx WHERE "
                                       f"sx.{own} = t.id AND sx.{other} = ?)", (source,))
                gained += self.add_links(entity, link, target, names[target], has_source)
                self.remove_links(entity, link, source, names[source], Condition("TRUE"))
        return gained

    def touch(self, entity: Entity, record_id: int, what: str, value: Any,
              old: Any = None) -> None:
        """Something kept beside the record changed (a deal linked to the person): the
        record's version moves on and the audit log says what."""
        entity = Entity(entity)
        self._bump(entity, ids_condition([record_id]))
        audit.record(self.tx, self.actor, entity.value, record_id, "update",
                     old={what: old}, new={what: value}, batch_id=self.batch_id)

    # ------------------------------------------------------------------ newsletter

    def set_subscription(self, entity: Entity, where: Condition, subscribed: bool, *,
                         source: str, note: str = "", alias: str = "t",
                         action: str = "update",
                         unsubscribed_at: datetime | None = None) -> int:
        """Subscribe or unsubscribe the people matching `where`: the row's state, its
        subscription event and the audit entry together. Returns how many changed.

        `unsubscribed_at` dates an unsubscribe that happened earlier (a converted lead's)."""
        entity = Entity(entity)
        table, a = Entity(entity).table, alias
        # Find the people once: `where` may be costly (an address match over a million
        # rows) and the event, the audit and the update each read the same rows again.
        ids = [int(r["id"]) for r in self.tx.fetch_all(
            f"SELECT {a}.id FROM {table} {a} WHERE ({where.sql}) "
            f"AND {a}.newsletter_opt_in <> ?", (*where.params, subscribed))]
        if not ids:
            return 0
        change = ids_condition(ids, f"{a}.id")
        event = (f"CASE WHEN {a}.unsubscribed_at IS NOT NULL THEN 'resubscribed' "
                 "ELSE 'subscribed' END" if subscribed else "'unsubscribed'")
        self.tx.execute(
            "INSERT INTO subscription_events (entity, entity_id, event, occurred_at, user_id, "
            f"source, note) SELECT ?, {a}.id, {event}, ?, ?, ?, ? FROM {table} {a} "
            f"WHERE {change.sql}",
            (entity.value, self.stamp, self.actor_id, source, note, *change.params))
        return self.update_where(entity, change, {
            "newsletter_opt_in": subscribed,
            "unsubscribed_at": None if subscribed else (unsubscribed_at or self.stamp)},
            alias=a, action=action)

    def suppress(self, addresses: Iterable[str], *, source: str, note: str = "",
                 origin: tuple[Entity, int] | None = None, action: str = "update") -> int:
        """Put addresses on the suppression list and unsubscribe every lead and contact that
        holds one of them. Returns how many people were unsubscribed by it."""
        wanted = sorted({address(a) for a in addresses} - {""})
        if not wanted:
            return 0
        entity, entity_id = origin if origin is not None else (None, None)
        self.tx.execute(
            "INSERT INTO suppressions (address, suppressed_at, source, note, user_id, entity, "
            "entity_id) SELECT a, ?, ?, ?, ?, ?, ? FROM (SELECT unnest(CAST(? AS VARCHAR[])) "
            "AS a) x WHERE NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.address = x.a)",
            (self.stamp, source, note, self.actor_id,
             entity.value if entity is not None else None, entity_id, wanted))
        holding = Condition(
            f"{ADDRESS_SQL.format(column='t.email')} IN "
            "(SELECT unnest(CAST(? AS VARCHAR[])))", (wanted,))
        return sum(self.set_subscription(person, holding, False, source=source, note=note,
                                         action=action) for person in PEOPLE)

    def lift_suppression(self, email: str) -> None:
        """The address may be mailed again (only the person's own link, or an admin)."""
        self.tx.execute("DELETE FROM suppressions WHERE address = ?", (address(email),))

    def apply_suppressions(self, entity: Entity, where: Condition) -> int:
        """People matching `where` whose address is suppressed are unsubscribed."""
        held = Condition(
            "EXISTS (SELECT 1 FROM suppressions s WHERE s.address = "
            f"{ADDRESS_SQL.format(column='t.email')})")
        return self.set_subscription(entity, where & held, False, source=SUPPRESSED,
                                     note="this address was unsubscribed before",
                                     action=SUPPRESSED)

    def record_delivery(self, entity: Entity, record_id: int, sent_at: datetime) -> None:
        """A newsletter reached the person: their `last_mailed_at` (never moved back)."""
        row = self.tx.fetch_one(f"SELECT last_mailed_at FROM {Entity(entity).table} "
                                "WHERE id = ?", (record_id,))
        if row is None or (row["last_mailed_at"] is not None
                           and row["last_mailed_at"] >= sent_at):
            return
        self.update(entity, record_id, {"last_mailed_at": sent_at}, action="delivery")

    # ------------------------------------------------------------------ refusing

    def conflict(self, entity: Entity, record_ids: Sequence[int]) -> Conflict:
        """The refusal for records that moved on, naming who changed each and when."""
        entity = Entity(entity)
        problems = []
        for record_id in record_ids[:20]:
            who, when = last_change(self.tx, entity, record_id)
            at = f" at {when:%Y-%m-%d %H:%M} UTC" if when is not None else ""
            problems.append(Problem(record_id, "", (
                f"{Entity(entity).title} {record_id} was changed by {who}{at} after you loaded it; "
                "nothing was saved. Reload to see the change, then edit again.")))
        if len(record_ids) > 20:
            problems.append(Problem(None, "", f"… and {len(record_ids) - 20:,} more "
                                    f"{Entity(entity).title.lower()} records changed meanwhile."))
        return Conflict(problems)

    # ------------------------------------------------------------------ internals

    def _links(self, entity: Entity, link: str, value_id: int, label: str,
               where: Condition, alias: str, *, adding: bool) -> int:
        entity = Entity(entity)
        link_table, own, other = LINKS[link][entity]
        table, a = Entity(entity).table, alias
        has = (f"EXISTS (SELECT 1 FROM {link_table} lk WHERE lk.{own} = {a}.id "
               f"AND lk.{other} = ?)")
        wanted = where & Condition(("NOT " if adding else "") + has, (value_id,))
        self.tx.execute(
            "INSERT INTO audit_log (changed_at, user_id, entity, entity_id, action, field, "
            f"old_value, new_value, batch_id) SELECT ?, ?, ?, {a}.id, 'update', ?, ?, ?, ? "
            f"FROM {table} {a} WHERE {wanted.sql}",
            (self.stamp, self.actor_id, entity.value, link, None if adding else label,
             label if adding else None, self.batch_id, *wanted.params))
        self._bump(entity, Condition(f"id IN (SELECT {a}.id FROM {table} {a} "
                                      f"WHERE {wanted.sql})", wanted.params))
        if adding:
            return max(0, self.tx.execute(
                f"INSERT INTO {link_table} ({own}, {other}) SELECT {a}.id, ? FROM {table} {a} "
                f"WHERE {wanted.sql}", (value_id, *wanted.params)))
        return max(0, self.tx.execute(
            f"DELETE FROM {link_table} WHERE {other} = ? AND {own} IN "
            f"(SELECT {a}.id FROM {table} {a} WHERE {wanted.sql})",
            (value_id, *wanted.params)))

    def _bump(self, entity: Entity, where: Condition) -> None:
        """A change kept beside the record (its links): the record's version moves on."""
        self.tx.execute(
            f"UPDATE {Entity(entity).table} SET updated_at = ?, modified_by = ?, "
            f"row_version = row_version + 1 WHERE {where.sql}",
            (self.stamp, self.actor_id, *where.params))

    def _audit_frame(self, entity: Entity, fields: pd.DataFrame, action: str) -> None:
        if fields.empty:
            return
        frame = fields.assign(user_id=pd.array([self.actor_id] * len(fields), dtype="Int64"),
                              entity=entity.value, action=action,
                              batch_id=pd.array([self.batch_id] * len(fields), dtype="Int64"))
        frame["changed_at"] = pd.Series(self.stamp, index=frame.index).astype("datetime64[s]")
        self.tx.insert_frame("audit_log", frame[["changed_at", "user_id", "entity", "entity_id",
                                                 "action", "field", "old_value", "new_value",
                                                 "batch_id"]])

    def _needs_ids(self, entity: Entity, columns: set[str]) -> bool:
        dependent = search.DEPENDENTS.get(entity)
        return (search.affected(entity, columns)
                or (dependent is not None and not dependent[0].isdisjoint(columns))
                or (entity in PEOPLE and "email" in columns)
                or (entity is Entity.COMPANY and "name" in columns))

    def _name_keys(self, ids: list[int]) -> None:
        for row in self.tx.fetch_all(
                f"SELECT id, name FROM companies WHERE {ids_condition(ids).sql}",
                ids_condition(ids).params):
            self.tx.execute("UPDATE companies SET name_key = ? WHERE id = ?",
                            (company_name_key(row["name"]), row["id"]))

    def _after(self, entity: Entity, ids: list[int], columns: set[str], *,
               created: bool = False, subscribed_by: str | None = None) -> None:
        """What follows from a change: search text, dependants' search text, subscription
        events of new people and the suppression list."""
        if not ids:
            return
        these = ids_condition(ids)
        if (created or search.affected(entity, columns)) and entity in search.SEARCHED:
            search.refresh(self.tx, entity, these)
        dependent = search.DEPENDENTS.get(entity)
        if dependent is not None and not created and not dependent[0].isdisjoint(columns):
            _, other, foreign_key = dependent
            search.refresh(self.tx, other, ids_condition(ids, foreign_key))
        if entity not in PEOPLE:
            return
        if created and subscribed_by is not None:
            opted = ids_condition(ids, "p.id")
            self.tx.execute(
                "INSERT INTO subscription_events (entity, entity_id, event, occurred_at, "
                f"user_id, source) SELECT ?, p.id, 'subscribed', ?, ?, ? FROM {entity.table} p "
                f"WHERE {opted.sql} AND p.newsletter_opt_in",
                (entity.value, self.stamp, self.actor_id, subscribed_by, *opted.params))
        if created or "email" in columns:
            self.apply_suppressions(entity, ids_condition(ids, "t.id"))


# --------------------------------------------------------------------------- helpers


def carry_over_unsubscribes(tx: Session) -> None:
    """Suppress the address of everyone unsubscribed (the list started after them: an older
    database, the demo data), then unsubscribe anyone else who holds such an address."""
    for entity in PEOPLE:
        tx.execute(
            "INSERT INTO suppressions (address, suppressed_at, source, entity, entity_id) "
            "SELECT address, suppressed_at, 'carried over', ?, entity_id FROM (SELECT "
            f"{ADDRESS_SQL.format(column='email')} AS address, unsubscribed_at AS "
            "suppressed_at, id AS entity_id, row_number() OVER (PARTITION BY "
            f"{ADDRESS_SQL.format(column='email')} ORDER BY unsubscribed_at, id) AS n "
            f"FROM {entity.table} WHERE NOT newsletter_opt_in AND unsubscribed_at IS NOT NULL "
            "AND trim(email) <> '') x WHERE n = 1 AND NOT EXISTS "
            "(SELECT 1 FROM suppressions s WHERE s.address = x.address)", (entity.value,))
    writer = Writer(tx, SYSTEM)
    for entity in PEOPLE:
        writer.apply_suppressions(entity, Condition("TRUE"))


def last_change(tx: Session, entity: Entity, record_id: int) -> tuple[str, datetime | None]:
    """Who last changed a record, in words, and when (from the audit log)."""
    row = tx.fetch_one(
        "SELECT a.changed_at, a.action, u.full_name FROM audit_log a "
        "LEFT JOIN users u ON u.id = a.user_id WHERE a.entity = ? AND a.entity_id = ? "
        "ORDER BY a.changed_at DESC, a.id DESC LIMIT 1", (Entity(entity).value, record_id))
    if row is None:
        return "someone else", None
    if row["full_name"]:
        return row["full_name"], row["changed_at"]
    return SYSTEM_CHANGES.get(row["action"], "the system"), row["changed_at"]


def new_ids(tx: Session, entity: Entity, count: int) -> np.ndarray:
    """`count` fresh ids for `entity`, drawn from its sequence in one statement."""
    if count == 0:
        return np.array([], dtype=np.int64)
    source = "range(?)" if tx.dialect == "duckdb" else "generate_series(1, ?)"
    found = tx.fetch_frame(
        f"SELECT nextval('{Entity(entity).table}_id_seq') AS id FROM {source}", (count,))
    return found["id"].to_numpy(dtype=np.int64)


def _derived(entity: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(values)
    if entity is Entity.COMPANY and "name" in values and "name_key" not in values:
        values["name_key"] = company_name_key(values["name"])
    return values


def _same(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is None and new is None
    try:
        return bool(old == new)
    except (TypeError, ValueError):
        return False


def _text_sql(expression: str, column: str) -> str:
    """A column's value as the audit log writes it (Python's str() of the same value)."""
    if column in BOOLEAN_COLUMNS:
        return f"CASE WHEN {expression} THEN 'True' WHEN NOT {expression} THEN 'False' END"
    return f"CAST({expression} AS VARCHAR)"


def _lock(tx: Session, alias: str = "") -> str:
    """Rows read to check their versions stay as read until the change is written: PostgreSQL
    locks them; DuckDB refuses a concurrent write to the same rows at commit instead."""
    if tx.dialect != "postgres":
        return ""
    return f" FOR UPDATE OF {alias}" if alias else " FOR UPDATE"
