"""Saved segments: a list's filters and search kept under a name, private or shared.

A segment is a definition, not a set of records. Every viewer evaluates it with the list
engine's `where(viewer, spec, query)`, inside their own scope, exactly as the list page would
when the segment is opened: sharing a segment never shares a record the viewer may not see,
and the count beside a segment is the count its list shows. A filter the viewer cannot use
(the department filter, for staff who see one department) does not apply for them, as on the
list page; `left_out` names such filters so the screen can say so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import Any, BinaryIO

from crm.access import (
    Action,
    Condition,
    Entity,
    Visibility,
    may_change_segment,
    require,
    scope,
    segment_scope,
    segment_visibilities,
)
from crm.common.clock import now
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.lists import list_export, listing
from crm.lists.listing import ListQuery, ListSpec
from crm.records.kinds import PEOPLE_LISTS
from crm.storage.db import Database, IntegrityError

MAX_NAME_LENGTH = 100
MAX_COMPARED = 3


class SegmentError(Refusal):
    """A segment change that cannot be made, with the reason (fit for the screen)."""


SPECS = PEOPLE_LISTS


def spec_of(entity: Entity | str) -> ListSpec:
    """The list a segment is a view of."""
    try:
        return SPECS[Entity(entity)]
    except (KeyError, ValueError):
        raise SegmentError("Segments are saved from the Leads or the Contacts list.") from None


@dataclass(frozen=True)
class Segment:
    id: int
    entity: Entity
    name: str
    filters: dict[str, tuple[str, ...]]
    search: str
    owner_id: int
    owner_name: str
    visibility: Visibility
    department_id: int | None
    department_name: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def spec(self) -> ListSpec:
        return spec_of(self.entity)

    @property
    def query(self) -> ListQuery:
        """The list query the segment stands for (default sort, first page)."""
        return ListQuery(filters=dict(self.filters), search=self.search)

    def owned_by(self, user: User) -> bool:
        return may_change_segment(user, self.owner_id)

    def shared_with(self) -> str:
        """"Only its owner", "Europe department", "Whole company"."""
        if self.visibility is Visibility.COMPANY:
            return "Whole company"
        if self.visibility is Visibility.DEPARTMENT:
            return f"{self.department_name or 'Its'} department"
        return "Only its owner"

    def left_out(self, user: User) -> list[str]:
        """Labels of the segment's filters that do not apply for `user` (they cannot use
        them on the list either)."""
        usable = {f.key for f in self.spec.filters_for(user)}
        known = {f.key: f.label for f in self.spec.filters}
        return [known[k] for k in self.filters if k in known and k not in usable]


VISIBILITY_LABELS = {
    Visibility.PRIVATE: "Only me",
    Visibility.DEPARTMENT: "My department",
    Visibility.COMPANY: "The whole company",
}
_AUDIENCE = {Visibility.PRIVATE: "nobody", Visibility.DEPARTMENT: "your department",
             Visibility.COMPANY: "the whole company"}


# ----------------------------------------------------------------------- saving


def save_segment(user: User, db: Database, entity: Entity | str, name: str,
                 query: ListQuery, visibility: Visibility | str = Visibility.PRIVATE) -> int:
    """Keep the list's current filters and search under `name`; returns the segment's id.

    Only filters the user can use on the list are kept (those are the ones it applied), and
    only with values; sort and page are the list's business, not the segment's.
    """
    spec = spec_of(entity)
    clean = _clean_name(name)
    chosen = _visibility(user, visibility)
    usable = {f.key for f in spec.filters_for(user)}
    filters = {k: list(v) for k, v in sorted(query.filters.items()) if k in usable and v}
    stamp = now()
    with db.transaction() as tx:
        _refuse_duplicate_name(tx, user, spec.entity, clean)
        try:
            return int(tx.scalar(
                "INSERT INTO segments (entity, name, filters, search, owner_id, visibility, "
                "department_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (spec.entity.value, clean, json.dumps(filters), query.search.strip(), user.id,
                 chosen.value, _shared_department(user, chosen), stamp, stamp)))
        except IntegrityError:
            raise SegmentError(_duplicate_message(clean, spec)) from None


def rename_segment(user: User, db: Database, segment_id: int, name: str) -> None:
    segment = _owned(user, db, segment_id, "rename")
    clean = _clean_name(name)
    with db.transaction() as tx:
        _refuse_duplicate_name(tx, user, segment.entity, clean, exclude_id=segment.id)
        tx.execute("UPDATE segments SET name = ?, updated_at = ? WHERE id = ?",
                   (clean, now(), segment.id))


def share_segment(user: User, db: Database, segment_id: int,
                  visibility: Visibility | str) -> None:
    """Change whom the segment is shared with (its owner's choice, within what they may)."""
    segment = _owned(user, db, segment_id, "share")
    chosen = _visibility(user, visibility)
    db.execute("UPDATE segments SET visibility = ?, department_id = ?, updated_at = ? "
               "WHERE id = ?",
               (chosen.value, _shared_department(user, chosen), now(), segment.id))


def delete_segment(user: User, db: Database, segment_id: int) -> None:
    segment = _owned(user, db, segment_id, "delete")
    db.execute("DELETE FROM segments WHERE id = ?", (segment.id,))


# ----------------------------------------------------------------------- reading


_SELECT = (
    "SELECT s.id, s.entity, s.name, s.filters, s.search, s.owner_id, "
    "coalesce(ow.full_name, '') AS owner_name, s.visibility, s.department_id, "
    "dp.name AS department_name, s.created_at, s.updated_at FROM segments s "
    "LEFT JOIN users ow ON ow.id = s.owner_id "
    "LEFT JOIN departments dp ON dp.id = s.department_id"
)


def segments_for(user: User, db: Database, entity: Entity | str | None = None) -> list[Segment]:
    """The segments the user sees (own and shared with them), newest first."""
    visible = segment_scope(user, alias="s")
    condition = visible
    if entity is not None:
        condition = condition & Condition("s.entity = ?", (Entity(entity).value,))
    rows = db.fetch_all(f"{_SELECT} WHERE {condition.sql} ORDER BY s.created_at DESC, s.id DESC",
                        condition.params)
    return [_segment(r) for r in rows]


def get_segment(user: User, db: Database, segment_id: int) -> Segment | None:
    """One segment the user sees; None for a missing one and for one not shared with them."""
    visible = segment_scope(user, alias="s")
    row = db.fetch_one(f"{_SELECT} WHERE s.id = ? AND {visible.sql}",
                       (int(segment_id), *visible.params))
    return _segment(row) if row else None


def condition(user: User, segment: Segment, action: Action | str = Action.VIEW) -> Condition:
    """The segment's records for this viewer: their scope AND the segment's definition."""
    return listing.where(user, segment.spec, segment.query, action)


def sizes(user: User, db: Database, segments: Sequence[Segment]) -> dict[int, int]:
    """Live counts for many segments: one scan per entity, a FILTER clause per segment."""
    counts: dict[int, int] = {}
    for entity in Entity:
        group = [s for s in segments if s.entity is entity]
        if not group:
            continue
        spec = spec_of(entity)
        parts = [condition(user, s) for s in group]
        allowed = scope(user, entity, Action.VIEW, alias=spec.alias)
        row = db.fetch_one(
            "SELECT " + ", ".join(f"count(*) FILTER (WHERE {p.sql}) AS s{i}"
                                  for i, p in enumerate(parts))
            + f" FROM {spec.table} {spec.alias} WHERE {allowed.sql}",
            (*(v for p in parts for v in p.params), *allowed.params))
        counts.update({s.id: int(row[f"s{i}"] or 0) for i, s in enumerate(group)})
    return counts


def size(user: User, db: Database, segment: Segment) -> int:
    return listing.count(user, db, segment.spec, segment.query)


# ----------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Overlap:
    """How many records are in every one of `members` (at least those; maybe others too)."""

    members: tuple[int, ...]
    size: int


@dataclass(frozen=True)
class Comparison:
    segments: tuple[Segment, ...]
    overlaps: tuple[Overlap, ...]  # every combination: each alone, each pair, all three
    in_any: int

    def size_of(self, *segment_ids: int) -> int:
        wanted = tuple(sorted(segment_ids))
        return next(o.size for o in self.overlaps if o.members == wanted)

    def only_in(self, segment_id: int) -> int:
        """Records in this segment and in none of the others (inclusion–exclusion)."""
        others = [s.id for s in self.segments if s.id != segment_id]
        total = 0
        for k in range(len(others) + 1):
            for chosen in combinations(others, k):
                total += (-1) ** k * self.size_of(segment_id, *chosen)
        return total


def compare(user: User, db: Database, segment_ids: Sequence[int]) -> Comparison:
    """The size of every overlap of two or three segments of the same list, in one query.

    Each segment is evaluated in the viewer's scope, so the overlaps are too.
    """
    unique = list(dict.fromkeys(int(i) for i in segment_ids))
    if not 2 <= len(unique) <= MAX_COMPARED:
        raise SegmentError("Choose two or three segments to compare.")
    found = [get_segment(user, db, i) for i in unique]
    if any(s is None for s in found):
        raise SegmentError("That segment does not exist.")
    chosen = tuple(s for s in found if s is not None)
    if len({s.entity for s in chosen}) > 1:
        raise SegmentError("Compare segments of the same list: leads with leads, "
                           "contacts with contacts.")
    spec = chosen[0].spec
    parts = {s.id: condition(user, s) for s in chosen}
    groups = [tuple(sorted(c)) for k in range(1, len(chosen) + 1)
              for c in combinations(parts, k)]
    clauses, params = [], []
    for n, group in enumerate(groups):
        clauses.append(f"count(*) FILTER (WHERE {' AND '.join(f'({parts[i].sql})' for i in group)})"
                       f" AS g{n}")
        params += [v for i in group for v in parts[i].params]
    any_of = " OR ".join(f"({p.sql})" for p in parts.values())
    params += [v for p in parts.values() for v in p.params]
    row = db.fetch_one(
        f"SELECT count(*) AS in_any, {', '.join(clauses)} FROM {spec.table} {spec.alias} "
        f"WHERE {any_of}", params)
    overlaps = tuple(Overlap(group, int(row[f"g{n}"] or 0)) for n, group in enumerate(groups))
    return Comparison(segments=chosen, overlaps=overlaps, in_any=int(row["in_any"] or 0))


# ----------------------------------------------------------------------- exporting


def export(user: User, db: Database, segment: Segment, target: str | BinaryIO,
           fmt: str = "xlsx") -> int:
    """The segment's rows as the list export writes them (contacts: only the exporter's)."""
    return list_export.export(user, db, segment.spec, target,
                              query=segment.query, fmt=fmt)


def export_plan(user: User, db: Database, segment: Segment,
                fmt: str = "xlsx") -> list_export.ExportPlan:
    return list_export.plan(user, db, segment.spec, segment.query, fmt=fmt)


def export_note(user: User, db: Database, segment: Segment) -> str | None:
    return list_export.scope_note(user, db, segment.spec, segment.query, None)


# ----------------------------------------------------------------------- helpers


def _segment(row: dict[str, Any]) -> Segment:
    try:
        stored = json.loads(row["filters"] or "{}")
    except json.JSONDecodeError:
        stored = {}
    filters = {str(k): tuple(str(v) for v in values) for k, values in stored.items()
               if isinstance(values, list)}
    return Segment(
        id=int(row["id"]), entity=Entity(row["entity"]), name=row["name"], filters=filters,
        search=row["search"] or "", owner_id=int(row["owner_id"]),
        owner_name=row["owner_name"], visibility=Visibility(row["visibility"]),
        department_id=row["department_id"], department_name=row["department_name"],
        created_at=row["created_at"], updated_at=row["updated_at"])


def _clean_name(name: str) -> str:
    clean = " ".join((name or "").split())
    if not clean:
        raise SegmentError("Give the segment a name.")
    if len(clean) > MAX_NAME_LENGTH:
        raise SegmentError(f"A segment name has at most {MAX_NAME_LENGTH} characters.")
    return clean


def _visibility(user: User, visibility: Visibility | str) -> Visibility:
    try:
        chosen = Visibility(visibility)
    except ValueError:
        raise SegmentError(f"Unknown sharing choice {visibility!r}.") from None
    if chosen is Visibility.COMPANY:
        require(user, Action.SHARE, Entity.SEGMENT)
    if chosen not in segment_visibilities(user):
        raise SegmentError(f"You cannot share a segment with {_AUDIENCE[chosen]}.")
    return chosen


def _shared_department(user: User, visibility: Visibility) -> int | None:
    return user.department_id if visibility is Visibility.DEPARTMENT else None


def _refuse_duplicate_name(tx, user: User, entity: Entity, name: str,
                           exclude_id: int | None = None) -> None:
    clash = tx.scalar(
        "SELECT count(*) FROM segments WHERE owner_id = ? AND entity = ? "
        "AND lower(name) = lower(?) AND id <> ?",
        (user.id, entity.value, name, exclude_id or -1))
    if clash:
        raise SegmentError(_duplicate_message(name, spec_of(entity)))


def _duplicate_message(name: str, spec: ListSpec) -> str:
    return f"You already have a segment of {spec.noun_plural} named “{name}”."


def _owned(user: User, db: Database, segment_id: int, verb: str) -> Segment:
    segment = get_segment(user, db, segment_id)
    if segment is None:
        raise SegmentError("That segment does not exist.")
    if not segment.owned_by(user):
        raise SegmentError(f"Only {segment.owner_name or 'its owner'} can {verb} this segment.")
    return segment
