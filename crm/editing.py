"""Saving changes to records: validated, audited field by field, and never a lost update.

Every record carries `row_version`. A change names the version it was based on; if the row
changed since, the save is refused and says who changed it and when. A save of several rows
is one transaction: all rows are written, or none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email

from crm import audit, search
from crm.access import Action, Condition, Entity, scope
from crm.clock import now
from crm.db import Database, Session
from crm.users import User, eligible_owners

TABLES = {Entity.LEAD: "leads", Entity.CONTACT: "contacts", Entity.COMPANY: "companies"}
NOUNS = {Entity.LEAD: "Lead", Entity.CONTACT: "Contact", Entity.COMPANY: "Company"}


class EditRejected(Exception):
    """Nothing was saved; `problems` says why, record by record."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    record_id: int | None
    field: str
    message: str


@dataclass(frozen=True)
class RowEdit:
    """Changes to one record, based on the version the user loaded."""

    record_id: int
    version: int
    changes: Mapping[str, Any]


@dataclass
class FieldRules:
    """What may be edited on an entity and how each value is checked and normalised.

    A checker returns the normalised value or raises ValueError with a message for people.
    """

    editable: frozenset[str]
    checkers: dict[str, Callable[[Any, Session, dict[str, Any]], Any]] = field(
        default_factory=dict)
    read_only_when: str | None = None  # SQL: rows matching it refuse every edit
    read_only_reason: str = ""
    # Columns that follow from the new values (e.g. a company's name key), checked too.
    derive: Callable[[Session, dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    # Work to do once the rows are saved (e.g. refresh what other tables derive from them).
    after_save: Callable[[Session, list[int]], None] | None = None


# ----------------------------------------------------------------------- checkers

_PHONE = re.compile(r"^[0-9+()./\-\s]*(?:(?:ext\.?|x|#)\s*\d+)?$", re.IGNORECASE)


def check_email(value: Any, _tx: Session, _row: dict[str, Any]) -> str:
    text = ("" if value is None else str(value)).strip()
    if not text:
        return ""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as problem:
        raise ValueError(f"“{text}” is not a valid email address ({problem}).") from problem


def check_phone(value: Any, _tx: Session, _row: dict[str, Any]) -> str:
    text = ("" if value is None else str(value)).strip()
    if text and (not _PHONE.match(text) or sum(c.isdigit() for c in text) < 5):
        raise ValueError(f"“{text}” is not a phone number (digits, spaces, + ( ) - . /).")
    return text


def check_text(limit: int = 500) -> Callable[[Any, Session, dict[str, Any]], str]:
    def checker(value: Any, _tx: Session, _row: dict[str, Any]) -> str:
        text = ("" if value is None else str(value)).strip()
        if len(text) > limit:
            raise ValueError(f"At most {limit} characters, not {len(text)}.")
        return text
    return checker


def check_flag(value: Any, _tx: Session, _row: dict[str, Any]) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    raise ValueError(f"Expected yes or no, not {value!r}.")


def check_owner(value: Any, tx: Session, row: dict[str, Any]) -> int | None:
    """The assigned manager must be active sales staff of the record's department."""
    if value is None or value == "":
        return None
    try:
        owner_id: int | None = int(value)
    except (TypeError, ValueError):
        owner_id = None  # not a user id at all: refused like any other non-owner
    if owner_id not in {u.id for u in eligible_owners(tx, row["department_id"])}:
        raise ValueError("The assigned manager must be an active sales manager or operator "
                         "of the record's department.")
    return owner_id


def check_country(value: Any, tx: Session, _row: dict[str, Any]) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    code = str(value).strip().upper()
    if not tx.scalar("SELECT count(*) FROM countries WHERE code = ?", (code,)):
        raise ValueError(f"Unknown country code “{code}”.")
    return code


def check_reference(table: str, noun: str) -> Callable[[Any, Session, dict[str, Any]], Any]:
    def checker(value: Any, tx: Session, _row: dict[str, Any]) -> int | None:
        if value is None or value == "":
            return None
        if not tx.scalar(f"SELECT count(*) FROM {table} WHERE id = ?", (int(value),)):
            raise ValueError(f"Unknown {noun}.")
        return int(value)
    return checker


# ----------------------------------------------------------------------- saving


def save_edits(user: User, db: Database, entity: Entity | str, rules: FieldRules,
               edits: Sequence[RowEdit]) -> int:
    """Apply `edits` in one transaction; returns the number of records changed.

    Raises EditRejected (nothing written) when any record is out of scope, read-only,
    changed by someone else since it was loaded, or given an invalid value.
    """
    entity = Entity(entity)
    table = TABLES[entity]
    # Aliased: the query below joins users, which has a department_id of its own.
    allowed = scope(user, entity, Action.EDIT, alias="t")
    problems: list[Problem] = []
    planned: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    with db.transaction() as tx:
        for edit in edits:
            row = tx.fetch_one(
                f"SELECT t.*, u.full_name AS modified_by_name FROM {table} t "
                f"LEFT JOIN users u ON u.id = t.modified_by WHERE t.id = ? AND {allowed.sql}",
                (edit.record_id, *allowed.params),
            )
            label = f"{NOUNS[entity]} {edit.record_id}"
            if row is None:
                problems.append(Problem(edit.record_id, "", f"{label} does not exist."))
                continue
            if rules.read_only_when and tx.scalar(
                    f"SELECT count(*) FROM {table} WHERE id = ? AND ({rules.read_only_when})",
                    (edit.record_id,)):
                problems.append(Problem(edit.record_id, "", f"{label} {rules.read_only_reason}"))
                continue
            if row["row_version"] != edit.version:
                problems.append(Problem(edit.record_id, "", _conflict(label, row)))
                continue
            old, new = {}, {}
            for name, value in edit.changes.items():
                if name not in rules.editable:
                    problems.append(Problem(edit.record_id, name, f"{name} cannot be edited."))
                    continue
                checker = rules.checkers.get(name, check_text())
                try:
                    normalised = checker(value, tx, row)
                except (ValueError, TypeError) as problem:
                    problems.append(Problem(edit.record_id, name, f"{label}, {name}: {problem}"))
                    continue
                if normalised != row[name]:
                    old[name], new[name] = row[name], normalised
            if new and rules.derive is not None:
                try:
                    new.update(rules.derive(tx, row, new))
                except ValueError as problem:
                    problems.append(Problem(edit.record_id, "", f"{label}: {problem}"))
                    continue
            if new:
                planned.append((row, old, new))
        if problems:
            raise EditRejected(problems)
        stamp = now()
        for row, old, new in planned:
            assignments = ", ".join(f"{name} = ?" for name in new)
            changed = tx.execute(
                f"UPDATE {table} SET {assignments}, updated_at = ?, modified_by = ?, "
                "row_version = row_version + 1 WHERE id = ? AND row_version = ?",
                (*new.values(), stamp, user.id, row["id"], row["row_version"]),
            )
            if changed == 0:  # changed between our read and this write
                current = tx.fetch_one(
                    f"SELECT t.*, u.full_name AS modified_by_name FROM {table} t "
                    "LEFT JOIN users u ON u.id = t.modified_by WHERE t.id = ?", (row["id"],))
                raise EditRejected([Problem(row["id"], "", _conflict(
                    f"{NOUNS[entity]} {row['id']}", current or row))])
            audit.record(tx, user, entity.value, row["id"], "update", old=old, new=new)
        if planned:
            ids = [row["id"] for row, _, _ in planned]
            search.refresh(tx, entity, Condition(
                f"id IN ({', '.join('?' for _ in ids)})", tuple(ids)))
            if rules.after_save is not None:
                rules.after_save(tx, ids)
    return len(planned)


def _conflict(label: str, row: dict[str, Any]) -> str:
    who = row.get("modified_by_name") or "someone else"
    when = row["updated_at"].strftime("%Y-%m-%d %H:%M") if row.get("updated_at") else "recently"
    return (f"{label} was changed by {who} at {when} UTC after you loaded it; nothing was saved. "
            "Reload to see the change, then edit again.")
