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

from crm.access import Action, Entity, require, scope
from crm.access.users import eligible_owners
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.storage.db import Database, Session
from crm.storage.writer import Conflict, EditRejected, Problem, Writer

__all__ = ["Conflict", "EditRejected", "FieldRules", "Problem", "RowEdit", "save_edits"]


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
    # A check of the new values together (e.g. a company's name unique in its country);
    # returns further columns to write, or raises ValueError.
    derive: Callable[[Session, dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None


# ----------------------------------------------------------------------- checkers

_PHONE = re.compile(r"^[0-9+()./\-\s]*(?:(?:ext\.?|x|#)\s*\d+)?$", re.IGNORECASE)


def check_email(value: Any, _tx: Session, _row: dict[str, Any]) -> str:
    text = ("" if value is None else str(value)).strip()
    if not text:
        return ""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as problem:
        raise Refusal(f"“{text}” is not a valid email address ({problem}).") from problem


def check_phone(value: Any, _tx: Session, _row: dict[str, Any]) -> str:
    text = ("" if value is None else str(value)).strip()
    if text and (not _PHONE.match(text) or sum(c.isdigit() for c in text) < 5):
        raise Refusal(f"“{text}” is not a phone number (digits, spaces, + ( ) - . /).")
    return text


def check_text(limit: int = 500) -> Callable[[Any, Session, dict[str, Any]], str]:
    def checker(value: Any, _tx: Session, _row: dict[str, Any]) -> str:
        text = ("" if value is None else str(value)).strip()
        if len(text) > limit:
            raise Refusal(f"At most {limit} characters, not {len(text)}.")
        return text
    return checker


def check_flag(value: Any, _tx: Session, _row: dict[str, Any]) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    raise Refusal(f"Expected yes or no, not {value!r}.")


def check_owner(value: Any, tx: Session, row: dict[str, Any]) -> int | None:
    """The assigned manager must be active sales staff of the record's department."""
    if value is None or value == "":
        return None
    try:
        owner_id: int | None = int(value)
    except (TypeError, ValueError):
        owner_id = None  # not a user id at all: refused like any other non-owner
    if owner_id not in {u.id for u in eligible_owners(tx, row["department_id"])}:
        raise Refusal("The assigned manager must be an active sales manager or operator "
                      "of the record's department.")
    return owner_id


def check_country(value: Any, tx: Session, _row: dict[str, Any]) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    code = str(value).strip().upper()
    if not tx.scalar("SELECT count(*) FROM countries WHERE code = ?", (code,)):
        raise Refusal(f"Unknown country code “{code}”.")
    return code


def check_reference(table: str, noun: str) -> Callable[[Any, Session, dict[str, Any]], Any]:
    def checker(value: Any, tx: Session, _row: dict[str, Any]) -> int | None:
        if value is None or value == "":
            return None
        if not tx.scalar(f"SELECT count(*) FROM {table} WHERE id = ?", (int(value),)):
            raise Refusal(f"Unknown {noun}.")
        return int(value)
    return checker


# ----------------------------------------------------------------------- saving


def save_edits(user: User, db: Database, entity: Entity | str, rules: FieldRules,
               edits: Sequence[RowEdit]) -> int:
    """Apply `edits` in one transaction; returns the number of records changed.

    Raises EditRejected (nothing written) when any record is out of scope, read-only, or
    given an invalid value, and Conflict when one changed since the version it was based on
    (a field the user did not touch included: what they saw is what they change).
    """
    with db.transaction() as tx:
        return save_edits_in(tx, user, entity, rules, edits)


def save_edits_in(tx: Session, user: User, entity: Entity | str, rules: FieldRules,
                  edits: Sequence[RowEdit]) -> int:
    """`save_edits` inside the caller's unit of work (with more changes that belong to it)."""
    entity = Entity(entity)
    table = Entity(entity).table
    allowed = scope(user, entity, Action.EDIT)
    if any("vip" in edit.changes for edit in edits):  # the table has its own row for VIP
        require(user, Action.VIP, entity)
    problems: list[Problem] = []
    planned: list[tuple[RowEdit, dict[str, Any]]] = []
    writer = Writer(tx, user)
    moved: list[int] = []
    for edit in edits:
        row = tx.fetch_one(f"SELECT * FROM {table} WHERE id = ? AND {allowed.sql}",
                           (edit.record_id, *allowed.params))
        label = f"{Entity(entity).title} {edit.record_id}"
        if row is None:
            problems.append(Problem(edit.record_id, "", f"{label} does not exist."))
            continue
        if rules.read_only_when and tx.scalar(
                f"SELECT count(*) FROM {table} WHERE id = ? AND ({rules.read_only_when})",
                (edit.record_id,)):
            problems.append(Problem(edit.record_id, "", f"{label} {rules.read_only_reason}"))
            continue
        if row["row_version"] != edit.version:
            moved.append(edit.record_id)
            continue
        new = {}
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
                new[name] = normalised
        if new and rules.derive is not None:
            try:
                new.update(rules.derive(tx, row, new))
            except ValueError as problem:
                problems.append(Problem(edit.record_id, "", f"{label}: {problem}"))
                continue
        if new:
            planned.append((edit, new))
    if moved:
        raise writer.conflict(entity, moved)
    if problems:
        raise EditRejected(problems)
    for edit, new in planned:
        writer.update(entity, edit.record_id, new, version=edit.version)
    return len(planned)
