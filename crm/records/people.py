"""What leads and contacts share: person fields and their checks, list filters, likely
duplicates and adding a person (validated, audited, subscription recorded)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crm.access import Action, Entity, may_work_in_department, owns_what_they_add, scope
from crm.identity.entities import person_table
from crm.identity.user import User
from crm.lists.filters import (
    Filter,
    country_filter,
    department_filter,
    flag_filter,
    manager_filter,
)
from crm.lists.listing import Column
from crm.records import editing
from crm.records.editing import EditRejected, Problem
from crm.records.newsletter import LOOKS, NewsletterStatus, status_sql
from crm.storage.db import Session
from crm.storage.writer import Writer

PERSON_FIELDS = ("first_name", "middle_name", "last_name", "title", "email", "secondary_email",
                 "phone", "mobile", "country_code", "city", "address", "description",
                 "lead_source_id", "vip", "disqualified", "owner_id")

PERSON_CHECKERS: dict[str, Callable[[Any, Session, dict[str, Any]], Any]] = {
    "email": editing.check_email, "secondary_email": editing.check_email,
    "phone": editing.check_phone, "mobile": editing.check_phone,
    "vip": editing.check_flag, "disqualified": editing.check_flag,
    "owner_id": editing.check_owner, "country_code": editing.check_country,
    "lead_source_id": editing.check_reference("lead_sources", "lead source"),
    "description": editing.check_text(5000),
}

STATUS_LABEL = "CASE {expr} " + " ".join(
    f"WHEN '{s.value}' THEN '{LOOKS[s].label}'" for s in NewsletterStatus) + " END"
STATUS_RANK = "CASE {expr} " + " ".join(
    f"WHEN '{s.value}' THEN {i}" for i, s in enumerate(NewsletterStatus)) + " END"


def newsletter_column(alias: str) -> Column:
    """The Newsletter column of a person list: sorted by status order, exported as labels."""
    return Column("newsletter", "Newsletter", status_sql(alias),
                  sort_sql=(STATUS_RANK.format(expr=status_sql(alias)),),
                  labels={s.value: LOOKS[s].label for s in NewsletterStatus}, width=24)


# ----------------------------------------------------------------------- filters


def person_list_filters(alias: str) -> tuple[Filter, ...]:
    """Filters that leads and contacts share (department, manager, country, newsletter, VIP)."""
    status = status_sql(alias)
    return (
        department_filter(alias),
        manager_filter(alias),
        country_filter(alias),
        Filter(key="newsletter", label="Newsletter", value_sql=status,
               label_sql=STATUS_LABEL.format(expr=status), option_order="label"),
        flag_filter("vip", "VIP", f"{alias}.vip", "VIP", "Not VIP"),
    )


# ----------------------------------------------------------------------- duplicates


@dataclass(frozen=True)
class Duplicate:
    id: int
    name: str
    email: str
    reason: str


def likely_duplicates(user: User, db: Any, entity: Entity, *, email: str = "",
                      first_name: str = "", last_name: str = "", phone: str = "",
                      exclude_id: int | None = None) -> list[Duplicate]:
    """People in the user's scope with the same email, or the same name and phone."""
    allowed = scope(user, entity, Action.VIEW, alias="p")
    found: dict[int, Duplicate] = {}
    digits = "".join(c for c in phone if c.isdigit())
    checks = []
    if email.strip():
        checks.append(("same email", "lower(p.email) = lower(?)", (email.strip(),)))
    if first_name.strip() and last_name.strip() and len(digits) >= 5:
        checks.append((
            "same name and phone",
            "lower(p.first_name) = lower(?) AND lower(p.last_name) = lower(?) AND "
            "(regexp_replace(p.phone, '[^0-9]', '', 'g') = ? "
            "OR regexp_replace(p.mobile, '[^0-9]', '', 'g') = ?)",
            (first_name.strip(), last_name.strip(), digits, digits),
        ))
    for reason, sql, params in checks:
        rows = db.fetch_all(
            "SELECT p.id, trim(concat_ws(' ', p.first_name, p.last_name)) AS name, p.email "
            f"FROM {person_table(entity)} p WHERE {sql} AND {allowed.sql} "
            + ("AND p.id <> ? " if exclude_id is not None else "")
            + "ORDER BY p.id LIMIT 10",
            (*params, *allowed.params, *([exclude_id] if exclude_id is not None else [])),
        )
        for row in rows:
            if row["id"] not in found:
                found[row["id"]] = Duplicate(row["id"], row["name"], row["email"], reason)
    return list(found.values())


# ----------------------------------------------------------------------- adding


def insert_person(tx: Session, user: User, entity: Entity, fields: Sequence[str],
                  checkers: Mapping[str, Callable[[Any, Session, dict[str, Any]], Any]],
                  values: Mapping[str, Any], *, department_id: int | None = None,
                  source: str = "manual entry", fixed: Mapping[str, Any] | None = None) -> int:
    """Validate and insert a lead or contact inside `tx`; raises EditRejected (nothing written).

    The department is the assigned manager's; else `department_id`; else the user's own.
    `fixed` holds values already checked by the caller (for example a contact's company).
    """
    noun = entity.value
    unknown = set(values) - set(fields) - {"newsletter_opt_in"}
    if unknown:
        raise EditRejected([Problem(None, f, f"{f} is not a {noun} field.") for f in unknown])
    owner_department = None
    if str(values.get("owner_id") or "").strip().isdigit():  # else check_owner refuses it
        owner_department = tx.scalar("SELECT department_id FROM users WHERE id = ?",
                                     (int(values["owner_id"]),))
    department = owner_department or department_id or user.department_id
    if department is None or not may_work_in_department(user, department):
        raise EditRejected([Problem(None, "department_id",
                                    f"Choose a department you work in for this {noun}.")])
    row: dict[str, Any] = {"department_id": department, **(fixed or {})}
    problems: list[Problem] = []
    for name in fields:
        if name not in values or name in (fixed or {}):
            continue
        checker = checkers.get(name, editing.check_text())
        try:
            row[name] = checker(values[name], tx, row)
        except (ValueError, TypeError) as problem:
            problems.append(Problem(None, name, f"{name.replace('_', ' ')}: {problem}"))
    if not (row.get("first_name") or row.get("last_name")):
        problems.append(Problem(None, "last_name", f"A {noun} needs a first or last name."))
    if problems:
        raise EditRejected(problems)
    opted_in = values.get("newsletter_opt_in", True) in (True, 1, "1", "true", "True", "yes")
    row["newsletter_opt_in"] = opted_in
    if row.get("owner_id") is None:
        row["owner_id"] = user.id if owns_what_they_add(user) else None
    return Writer(tx, user).insert(entity, row, subscribed_by=source)
