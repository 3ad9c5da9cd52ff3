"""The list engine shared by leads, contacts, companies and requests.

One function takes (user, list, query) and returns a page of rows and the total count,
computed in SQL inside the user's access scope. A list (`ListSpec`) is declared once: its
columns (`Column`: label, SQL, kind, how the grid and an export show it) and its filters
(the kinds in crm.lists.filters, each with the SQL it adds, its options with counts from the
user's scope, and its words), so a page can say "1,234 leads where country is France and
VIP is yes".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from crm.access import Action, Condition, Entity, scope
from crm.identity.user import User
from crm.lists.export import ExportColumn
from crm.lists.filters import NONE_VALUE, OPTIONS, Filter, Option
from crm.storage import search
from crm.storage.db import Database, Session

PAGE_SIZES = (25, 50, 100, 250)
# Bounds on what a query may ask, whoever builds it (an address, a segment, the CLI): past
# them a value means nothing a list can show, and unbounded it overflows SQL's integers.
MAX_PAGE = 100_000_000  # further than any list's end: asking more means "the last page"
MAX_SEARCH_CHARS = 200


@dataclass(frozen=True)
class Column:
    """A column of a record list, declared once: its key (URL, sort), label, how it is
    selected and sorted in SQL, and how the grid and an export show it.

    A list's grid and export name the columns they show (`ListSpec.grid`, `ListSpec.export`);
    the grid's widgets (crm.ui.list_page) and the export's cells (`export_column`) follow
    from the column's kind, so a label is written once.
    """

    key: str
    label: str
    sql: str
    sort_sql: tuple[str, ...] = ()
    sortable: bool = True
    sort_joins: str = ""  # joins the sort expression needs (the page query adds them)
    # NOT NULL in the table: sorted without "NULLS LAST", which on PostgreSQL would keep a
    # descending sort from walking the column's index backwards.
    never_null: bool = False
    # Stored value -> what people read (newsletter "unsubscribed" -> "Unsubscribed"): how an
    # export writes the column. None: the value as stored.
    labels: Mapping[str, str] | None = None
    # "text" | "int" | "bool" | "datetime"; "owner": an assigned manager, chosen in the grid
    # among the staff who may own the record.
    kind: str = "text"
    width: float = 18  # in an export, in characters
    grid_width: str | int | None = None  # in the grid: "small" / "medium" / "large" / pixels
    grid_format: str = "YYYY-MM-DD"  # a datetime in the grid
    help: str = ""  # the grid header's tooltip
    editable: bool = False  # in the grid, for users who may edit the record

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"unknown column kind {self.kind!r} for {self.key!r}")

    @property
    def order_by(self) -> tuple[str, ...]:
        return self.sort_sql or (self.sql,)

    def export_column(self) -> ExportColumn:
        return ExportColumn(self.key, self.label, "text" if self.kind == "owner" else self.kind,
                            self.width)


COLUMN_KINDS = ("text", "int", "bool", "datetime", "owner")


@dataclass(frozen=True)
class ListSpec:
    """Everything the engine needs to list one entity."""

    entity: Entity  # its table and nouns ("lead", "leads") are the kind's (Entity.table, …)
    alias: str
    joins: str
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...]
    default_sort: str
    default_descending: bool
    extra_sql: tuple[tuple[str, str], ...] = ()  # (name, expr) also selected, not listed
    # For the page query only: joins that may use the CTE `page_ids` (the page's IDs), and
    # column expressions over them that replace same-named ones. Aggregates over related
    # rows (tags, industries, contact counts) are then computed for one page, not the table.
    page_joins: str = ""
    page_columns: tuple[tuple[str, str], ...] = ()
    grid: tuple[str, ...] = ()  # the grid's columns, in order
    export: tuple[str, ...] = ()  # an export's columns, in order

    def __post_init__(self) -> None:
        for key in (*self.grid, *self.export):
            self.column(key)  # a misspelt key fails on import, not on a page

    @property
    def table(self) -> str:
        return self.entity.table

    @property
    def noun(self) -> str:
        return self.entity.noun

    @property
    def noun_plural(self) -> str:
        return self.entity.plural

    @property
    def grid_columns(self) -> tuple[Column, ...]:
        return tuple(self.column(key) for key in self.grid)

    @property
    def grid_editable(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.grid_columns if c.editable)

    @property
    def export_columns(self) -> tuple[ExportColumn, ...]:
        return tuple(self.column(key).export_column() for key in self.export)

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)

    def filter(self, key: str) -> Filter:
        for candidate in self.filters:
            if candidate.key == key:
                return candidate
        raise KeyError(key)

    def filters_for(self, user: User) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if f.shown(user))


@dataclass(frozen=True)
class ListQuery:
    """What the user asked for: filters, search, sort and page. Lives in the URL."""

    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    search: str = ""
    sort: str | None = None
    descending: bool | None = None
    page: int = 1
    page_size: int = 50

    def __post_init__(self) -> None:
        object.__setattr__(self, "search", clean_search(self.search))
        object.__setattr__(self, "page", min(max(1, int(self.page)), MAX_PAGE))

    def with_page(self, page: int) -> ListQuery:
        return replace(self, page=page)


def clean_search(text: str) -> str:
    """Search words as a query may use them: no control characters (PostgreSQL refuses a NUL
    in text), at most MAX_SEARCH_CHARS characters."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c
                   for c in text or "")[:MAX_SEARCH_CHARS]


@dataclass(frozen=True)
class Page:
    rows: pd.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def where(user: User, spec: ListSpec, query: ListQuery,
          action: Action | str = Action.VIEW) -> Condition:
    """Scope AND every active filter AND the search: the one condition for this list."""
    result = scope(user, spec.entity, action, alias=spec.alias)
    allowed = {f.key for f in spec.filters_for(user)}
    for key, values in sorted(query.filters.items()):
        if key not in allowed or not values:
            continue
        extra = spec.filter(key).condition(values)
        if extra is not None:
            result = result & extra
    searched = search.condition(query.search, spec.alias)
    if searched is not None:
        result = result & searched
    return result


def _from(spec: ListSpec) -> str:
    return f"{spec.table} {spec.alias} {spec.joins}"


def _sort_column(spec: ListSpec, query: ListQuery) -> Column:
    key = query.sort if query.sort in {c.key for c in spec.columns if c.sortable} else None
    return spec.column(key or spec.default_sort)


def _order(spec: ListSpec, query: ListQuery) -> str:
    column = _sort_column(spec, query)
    descending = spec.default_descending if query.descending is None else query.descending
    direction = "DESC" if descending else "ASC"
    # The ID breaks ties, so paging through equal values is stable.
    keys = [f"{expr} {direction}{_nulls(column)}" for expr in column.order_by]
    return ", ".join([*keys, f"{spec.alias}.id {direction}"])


def _nulls(column: Column) -> str:
    return "" if column.never_null else " NULLS LAST"


def _select(spec: ListSpec, page: bool = False) -> str:
    override = dict(spec.page_columns) if page else {}
    items = [f"{spec.alias}.id AS id"]
    items += [f"{override.get(c.key, c.sql)} AS {c.key}" for c in spec.columns if c.key != "id"]
    items += [f"{override.get(name, expr)} AS {name}" for name, expr in spec.extra_sql]
    return ", ".join(items)


def fetch_page(user: User, db: Database | Session, spec: ListSpec, query: ListQuery) -> Page:
    """One page of the filtered, searched, sorted list, and the total count, in SQL."""
    condition = where(user, spec, query)
    size = query.page_size if query.page_size in PAGE_SIZES else PAGE_SIZES[1]
    if query.search.strip():
        found = _searched_page(spec, query, condition, size, db)
        if found is not None:
            return found
    total = count(user, db, spec, query, condition=condition)
    pages = max(1, -(-total // size))
    page = min(max(1, query.page), pages)
    order = _order(spec, query)
    # Two steps: find the page's IDs on the base table (joining only what the sort needs),
    # then fetch display columns for those rows alone. Joining first would build every
    # row's display values before the top-N: 20x slower at a million rows.
    rows = _read(
        db, "fetch_frame",
        f"WITH page_ids AS (SELECT {spec.alias}.id FROM {spec.table} {spec.alias} "
        f"{_sort_column(spec, query).sort_joins} WHERE {condition.sql} "
        f"ORDER BY {order} LIMIT ? OFFSET ?) "
        f"SELECT {_select(spec, page=True)} FROM page_ids JOIN {spec.table} {spec.alias} "
        f"ON {spec.alias}.id = page_ids.id {spec.joins} {spec.page_joins} ORDER BY {order}",
        (*condition.params, size, (page - 1) * size),
    )
    return Page(rows=rows, total=total, page=page, page_size=size)


def _searched_page(spec: ListSpec, query: ListQuery, condition: Condition, size: int,
                   db: Database | Session) -> Page | None:
    """A keyword search scans the text once: the matches are kept, then counted and paged.

    Returns None when the asked page lies past the end (the caller then pages normally).
    """
    order = _order(spec, query)
    page = max(1, query.page)
    a = spec.alias
    column = _sort_column(spec, query)
    descending = spec.default_descending if query.descending is None else query.descending
    direction = "DESC" if descending else "ASC"
    keys = [f"{expr} AS sort_{i}" for i, expr in enumerate(column.order_by)]
    by_keys = ", ".join([*(f"sort_{i} {direction}{_nulls(column)}"
                           for i in range(len(column.order_by))), f"id {direction}"])
    # The matches carry their sort keys, so paging them needs no second pass over the table.
    rows = _read(
        db, "fetch_frame",
        f"WITH matches AS MATERIALIZED (SELECT {a}.id, {', '.join(keys)} "
        f"FROM {spec.table} {a} {column.sort_joins} WHERE {condition.sql}), "
        f"page_ids AS (SELECT id FROM matches ORDER BY {by_keys} LIMIT ? OFFSET ?) "
        f"SELECT {_select(spec, page=True)}, (SELECT count(*) FROM matches) AS total_matches "
        f"FROM page_ids JOIN {spec.table} {a} ON {a}.id = page_ids.id {spec.joins} "
        f"{spec.page_joins} "
        f"ORDER BY {order}",
        (*condition.params, size, (page - 1) * size),
    )
    if rows.empty:
        return None if page > 1 else Page(rows=rows.drop(columns="total_matches"), total=0,
                                          page=1, page_size=size)
    total = int(rows["total_matches"].iloc[0])
    return Page(rows=rows.drop(columns="total_matches"), total=total, page=page, page_size=size)


def count(user: User, db: Database | Session, spec: ListSpec, query: ListQuery,
          condition: Condition | None = None) -> int:
    condition = condition or where(user, spec, query)
    # Joins are for display only; the count needs the base table alone.
    return int(_read(db, "scalar",
                     f"SELECT count(*) FROM {spec.table} {spec.alias} WHERE {condition.sql}",
                     condition.params))


def _read(db: Database | Session, method: str, sql: str, params: tuple) -> Any:
    """A list's read, answered from what the same statement returned at this generation of
    the database when there is one (Database.remembered): sorting or paging a list counts
    it once; opening it again, or going back to a view seen, runs nothing. Inside a unit of
    work (a Session) it always runs: that work may have changed the rows."""
    if not isinstance(db, Database):
        return getattr(db, method)(sql, params)
    return db.read_remembered(method, sql, params)


def iter_rows(user: User, db: Database, spec: ListSpec, query: ListQuery,
              action: Action | str = Action.VIEW, ids: Sequence[int] | None = None,
              chunk_rows: int = 50_000):
    """Every row of the list (or of `ids` within it), sorted, as frames of `chunk_rows`.

    Used by exports: the rows stream in chunks and never sit in memory all at once.
    """
    condition = where(user, spec, query, action)
    if ids is not None:
        condition = condition & id_condition(spec, ids)
    with db.transaction() as tx:
        yield from tx.stream_frames(
            f"SELECT {_select(spec)} FROM {_from(spec)} WHERE {condition.sql} "
            f"ORDER BY {_order(spec, query)}",
            condition.params, chunk_rows)


def id_condition(spec: ListSpec, ids: Sequence[int]) -> Condition:
    ids = [int(i) for i in ids]
    if not ids:
        return Condition("FALSE")
    marks = ", ".join("?" for _ in ids)
    return Condition(f"{spec.alias}.id IN ({marks})", tuple(ids))


def options(user: User, db: Database | Session, spec: ListSpec, key: str) -> list[Option]:
    """A filter's values with their counts, computed in the user's scope only.

    Counts follow the scope, not the other active filters, so choosing one filter never
    makes the options of another vanish.
    """
    flt = spec.filter(key)
    if flt.widget != OPTIONS:
        return []
    allowed = scope(user, spec.entity, Action.VIEW, alias=spec.alias)
    source = flt.option_from or f"{spec.table} {spec.alias}"
    order = "label" if flt.option_order == "label" else "n DESC, label"
    rows = db.fetch_all(
        f"SELECT {flt.value_sql} AS value, {flt.label_sql} AS label, count(*) AS n "
        f"FROM {source} {flt.option_joins} WHERE {allowed.sql} "
        f"GROUP BY 1, 2 ORDER BY {order}",
        allowed.params,
    )
    result = []
    for row in rows:
        if row["value"] is None:
            if flt.nullable:
                result.append(Option(NONE_VALUE, flt.none_label, int(row["n"])))
            continue
        result.append(Option(str(row["value"]), str(row["label"]), int(row["n"])))
    return result


def describe(spec: ListSpec, query: ListQuery, total: int,
             labels: dict[str, dict[str, str]] | None = None, user: User | None = None) -> str:
    """"1,234 leads where country is France and VIP is yes, matching “acme”"."""
    noun = spec.noun if total == 1 else spec.noun_plural
    words = definition(spec, query, labels, user)
    text = f"{total:,} {noun}"
    if words.startswith("where"):
        return f"{text} {words}"
    return f"{text}, {words}" if words else text


def definition(spec: ListSpec, query: ListQuery,
               labels: dict[str, dict[str, str]] | None = None, user: User | None = None) -> str:
    """What a query asks, without the count: "where country is France, matching “acme”",
    "matching “acme”", or "" (the whole list). Saved segments show it as their definition."""
    labels = labels or {}
    parts = []
    allowed = {f.key for f in (spec.filters_for(user) if user else spec.filters)}
    for flt in spec.filters:
        values = query.filters.get(flt.key)
        if values and flt.key in allowed:
            parts.append(flt.sentence(values, labels.get(flt.key, {})))
    text = "where " + " and ".join(parts) if parts else ""
    if query.search.strip():
        text += f"{', ' if text else ''}matching “{query.search.strip()}”"
    return text
