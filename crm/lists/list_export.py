"""Exporting a list: checked rows, the filtered list, or everything the user may export.

Rows stream from the list engine in chunks, inside the export scope (for contacts: only
those assigned to the exporting user), into the one export writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import pandas as pd

from crm.access import Action
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.lists import listing
from crm.lists.export import XLSX_MAX_ROWS, write_csv, write_xlsx
from crm.lists.listing import ListQuery, ListSpec
from crm.storage.db import Database

FORMATS = ("xlsx", "csv")


@dataclass(frozen=True)
class ExportPlan:
    """What an export will hold, said before the file is built."""

    rows: int
    format: str
    sheets: int

    @property
    def split(self) -> bool:
        return self.sheets > 1


def plan(user: User, db: Database, spec: ListSpec, query: ListQuery,
         ids: Sequence[int] | None = None, fmt: str = "xlsx") -> ExportPlan:
    rows = _count(user, db, spec, query, ids, Action.EXPORT)
    sheets = max(1, -(-rows // (XLSX_MAX_ROWS - 1))) if fmt == "xlsx" else 1
    return ExportPlan(rows=rows, format=fmt, sheets=sheets)


def scope_note(user: User, db: Database, spec: ListSpec, query: ListQuery,
               ids: Sequence[int] | None) -> str | None:
    """When the export holds fewer rows than the user sees (contacts: only their own), say so.

    "12 of the 40 checked contacts are assigned to you; the file has those 12."
    """
    seen = _count(user, db, spec, query, ids, Action.VIEW)
    exported = _count(user, db, spec, query, ids, Action.EXPORT)
    if seen == exported:
        return None
    which = "checked" if ids is not None else "matching"
    noun = spec.noun if seen == 1 else spec.noun_plural
    if exported == 0:
        verb = "is" if seen == 1 else "are"
        return f"None of the {seen:,} {which} {noun} {verb} assigned to you; nothing to export."
    if exported == 1:
        return f"1 of the {seen:,} {which} {noun} is assigned to you; the file has that one."
    return (f"{exported:,} of the {seen:,} {which} {noun} are assigned to you; "
            f"the file has those {exported:,}.")


def _count(user: User, db: Database, spec: ListSpec, query: ListQuery,
           ids: Sequence[int] | None, action: Action) -> int:
    condition = listing.where(user, spec, query, action)
    if ids is not None:
        condition = condition & listing.id_condition(spec, ids)
    return int(db.scalar(f"SELECT count(*) FROM {spec.table} {spec.alias} "
                         f"WHERE {condition.sql}", condition.params))


def export(user: User, db: Database, spec: ListSpec, target: str | BinaryIO, *,
           query: ListQuery | None = None, ids: Sequence[int] | None = None,
           fmt: str = "xlsx") -> int:
    """Write the list's export columns (`spec.export`) to `target`; returns how many rows.
    `ids` None means the whole list."""
    if fmt not in FORMATS:
        raise Refusal(f"Unknown export format {fmt!r}; use xlsx or csv.")
    chunks = _readable(spec, listing.iter_rows(user, db, spec, query or ListQuery(),
                                         Action.EXPORT, ids=ids))
    writer = write_xlsx if fmt == "xlsx" else write_csv
    if fmt == "xlsx":
        return writer(target, spec.export_columns, chunks, sheet_name=spec.noun_plural.capitalize())
    return writer(target, spec.export_columns, chunks)


UNASSIGNED = "Unassigned"  # what an export says for no manager (and an import reads back)


def _readable(spec: ListSpec, chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    labelled = {c.key: c.labels for c in spec.columns if c.labels is not None}
    for chunk in chunks:
        present = {key: labels for key, labels in labelled.items() if key in chunk.columns}
        if present:
            chunk = chunk.assign(**{key: chunk[key].map(labels) for key, labels in present.items()})
        if "manager" in chunk.columns:
            chunk = chunk.assign(manager=chunk["manager"].fillna(UNASSIGNED))
        yield chunk


def file_name(spec: ListSpec, fmt: str, stamp: str) -> str:
    return f"{spec.noun_plural}-{stamp}.{fmt}"
