"""Bulk actions on checked rows or on every row matching the filters, set-based and audited.

One transaction, one audit insert and one update whatever the number of rows: setting VIP
on 800,000 matching contacts costs two statements, not 800,000.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crm.access import Action, Condition
from crm.identity.user import User
from crm.lists.listing import ListQuery, ListSpec, id_condition, where
from crm.storage.db import Database
from crm.storage.writer import Writer

FLAGS = frozenset({"vip"})


@dataclass(frozen=True)
class BulkResult:
    changed: int
    unchanged: int
    skipped_read_only: int = 0

    def sentence(self, verb: str, noun: str = "leads", singular: str = "lead") -> str:
        text = f"{verb} {self.changed:,} {singular if self.changed == 1 else noun}"
        notes = []
        if self.unchanged:
            notes.append(f"{self.unchanged:,} already {'was' if self.unchanged == 1 else 'were'}")
        if self.skipped_read_only:
            notes.append(f"{self.skipped_read_only:,} converted, left unchanged")
        return text + (f" ({'; '.join(notes)})" if notes else "") + "."


def target_condition(user: User, spec: ListSpec, query: ListQuery,
                     ids: Sequence[int] | None, action: Action = Action.EDIT) -> Condition:
    """Checked rows (`ids`) or, when None, every row matching the query, within scope."""
    condition = where(user, spec, query, action)
    if ids is not None:
        condition = condition & id_condition(spec, ids)
    return condition


def set_flag(user: User, db: Database, spec: ListSpec, column: str, value: bool, *,
             query: ListQuery | None = None, ids: Sequence[int] | None = None,
             versions: Mapping[int, int] | None = None,
             read_only_sql: str | None = None) -> BulkResult:
    """Set a yes/no column on checked rows, or on all rows matching `query`; one transaction.

    Rows matching `read_only_sql` (for example converted leads) are counted, not changed.
    `versions` ({id: version on screen}) refuses the change when a checked row moved on
    since the user saw it (writer.Conflict), so a stale "Remove VIP" cannot undo someone
    else's "Set VIP" unseen.
    """
    if column not in FLAGS:
        raise ValueError(f"{column} is not a bulk-editable flag")
    condition = target_condition(user, spec, query or ListQuery(), ids,
                                 Action.VIP if column == "vip" else Action.EDIT)
    a, table = spec.alias, spec.table
    writable = f"NOT ({read_only_sql})" if read_only_sql else "TRUE"
    locked = read_only_sql or "FALSE"
    with db.transaction() as tx:
        writer = Writer(tx, user)
        if versions:
            writer.check_versions(spec.entity, versions)
        counts = tx.fetch_one(
            f"SELECT count(*) FILTER (WHERE {locked}) AS read_only, "
            f"count(*) FILTER (WHERE {writable} AND {a}.{column} = ?) AS unchanged, "
            f"count(*) FILTER (WHERE {writable} AND {a}.{column} <> ?) AS changing "
            f"FROM {table} {a} WHERE {condition.sql}",
            (value, value, *condition.params),
        )
        writer.update_where(spec.entity, condition & Condition(writable), {column: value},
                            alias=a)
    return BulkResult(int(counts["changing"]), int(counts["unchanged"]),
                      int(counts["read_only"]))
