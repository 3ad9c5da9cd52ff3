"""Leads: the list, inline edits, bulk VIP, adding a lead with duplicate warning, detail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crm import audit, bulk, editing, search
from crm.access import (
    Action,
    Condition,
    Entity,
    may_work_in_department,
    owns_what_they_add,
    scope,
    sees_all_departments,
)
from crm.bulk import BulkResult, target_condition  # noqa: F401  (re-exported)
from crm.clock import now
from crm.db import Database
from crm.editing import EditRejected, FieldRules, Problem
from crm.export import ExportColumn
from crm.listing import Column, Filter, ListQuery, ListSpec
from crm.newsletter import LOOKS, NewsletterStatus, status_sql
from crm.users import User

_STATUS_LABEL = "CASE {expr} " + " ".join(
    f"WHEN '{s.value}' THEN '{LOOKS[s].label}'" for s in NewsletterStatus) + " END"
_STATUS_RANK = "CASE {expr} " + " ".join(
    f"WHEN '{s.value}' THEN {i}" for i, s in enumerate(NewsletterStatus)) + " END"


def flag_filter(key: str, label: str, column: str, yes: str, no: str) -> Filter:
    """A yes/no filter on a boolean column."""
    return Filter(
        key=key, label=label,
        value_sql=f"CASE WHEN {column} THEN 'yes' ELSE 'no' END",
        label_sql=f"CASE WHEN {column} THEN '{yes}' ELSE '{no}' END",
        match=lambda values: (Condition(f"{column} = ?", (values[0] == "yes",))
                              if len(set(values)) == 1 else Condition("TRUE")),
        parse=_yes_no,
        option_order="label",
        says_value=True,
    )


def _yes_no(value: str) -> str:
    if value not in ("yes", "no"):
        raise ValueError(value)
    return value


def person_list_filters(alias: str) -> tuple[Filter, ...]:
    """Filters that leads and contacts share (assigned manager, country, newsletter, VIP)."""
    status = status_sql(alias)
    return (
        Filter(key="department", label="Department", value_sql=f"{alias}.department_id",
               label_sql="dp.name",
               option_joins=f"JOIN departments dp ON dp.id = {alias}.department_id",
               parse=int, shown=sees_all_departments, option_order="label"),
        Filter(key="manager", label="Assigned manager", value_sql=f"{alias}.owner_id",
               label_sql="ow.full_name",
               option_joins=f"LEFT JOIN users ow ON ow.id = {alias}.owner_id",
               parse=int, nullable=True, none_label="Unassigned", option_order="label"),
        Filter(key="country", label="Country", value_sql=f"{alias}.country_code",
               label_sql="cn.name",
               option_joins=f"LEFT JOIN countries cn ON cn.code = {alias}.country_code",
               nullable=True, none_label="No country"),
        Filter(key="newsletter", label="Newsletter", value_sql=status,
               label_sql=_STATUS_LABEL.format(expr=status), option_order="label"),
        flag_filter("vip", "VIP", f"{alias}.vip", "VIP", "Not VIP"),
    )


LEADS = ListSpec(
    entity=Entity.LEAD,
    table="leads",
    alias="l",
    joins=("LEFT JOIN users ow ON ow.id = l.owner_id "
           "LEFT JOIN countries cn ON cn.code = l.country_code"),
    columns=(
        Column("id", "ID", "l.id"),
        Column("name", "Name",
               "trim(concat_ws(' ', l.first_name, nullif(l.middle_name, ''), l.last_name))",
               sort_sql=("lower(l.last_name)", "lower(l.first_name)")),
        Column("email", "Email", "l.email", sort_sql=("lower(l.email)",)),
        Column("company", "Company", "l.company_name", sort_sql=("lower(l.company_name)",)),
        Column("manager", "Assigned manager", "ow.full_name",
               sort_sql=("lower(ow.full_name)",),
               sort_joins="LEFT JOIN users ow ON ow.id = l.owner_id"),
        Column("country", "Country", "cn.name",
               sort_joins="LEFT JOIN countries cn ON cn.code = l.country_code"),
        Column("newsletter", "Newsletter", status_sql("l"),
               sort_sql=(_STATUS_RANK.format(expr=status_sql("l")),)),
        Column("created_at", "Date added", "l.created_at"),
    ),
    filters=(
        flag_filter("disqualified", "Disqualification", "l.disqualified", "Disqualified",
                    "Qualified"),
        *person_list_filters("l"),
    ),
    default_sort="created_at",
    default_descending=True,
    noun="lead",
    noun_plural="leads",
    extra_sql=(("phone", "l.phone"), ("vip", "l.vip"), ("disqualified", "l.disqualified"),
               ("owner_id", "l.owner_id"), ("department_id", "l.department_id"),
               ("row_version", "l.row_version"), ("converted", "l.converted_at IS NOT NULL")),
)

PERSON_FIELDS = ("first_name", "middle_name", "last_name", "title", "email", "secondary_email",
                 "phone", "mobile", "country_code", "city", "address", "description",
                 "lead_source_id", "vip", "disqualified", "owner_id")
LEAD_FIELDS = (*PERSON_FIELDS, "company_name", "company_email", "company_phone", "website",
               "company_address", "industry_id", "company_type_id")

_CHECKERS = {
    "email": editing.check_email, "secondary_email": editing.check_email,
    "company_email": editing.check_email,
    "phone": editing.check_phone, "mobile": editing.check_phone,
    "company_phone": editing.check_phone,
    "vip": editing.check_flag, "disqualified": editing.check_flag,
    "owner_id": editing.check_owner, "country_code": editing.check_country,
    "lead_source_id": editing.check_reference("lead_sources", "lead source"),
    "industry_id": editing.check_reference("industries", "industry"),
    "company_type_id": editing.check_reference("company_types", "company type"),
    "description": editing.check_text(5000),
}
RULES = FieldRules(
    editable=frozenset(LEAD_FIELDS),
    checkers=_CHECKERS,
    read_only_when="converted_at IS NOT NULL",
    read_only_reason="was converted and is kept read-only as history.",
)
GRID_EDITABLE_COLUMNS = ("email", "phone", "manager", "vip", "disqualified")

EXPORT_COLUMNS = (
    ExportColumn("id", "ID", "int", 9),
    ExportColumn("name", "Name", width=26),
    ExportColumn("email", "Email", width=30),
    ExportColumn("phone", "Phone", width=18),
    ExportColumn("company", "Company", width=28),
    ExportColumn("manager", "Assigned manager", width=22),
    ExportColumn("country", "Country", width=18),
    ExportColumn("newsletter", "Newsletter", width=24),
    ExportColumn("vip", "VIP", "bool", 6),
    ExportColumn("disqualified", "Disqualified", "bool", 12),
    ExportColumn("created_at", "Date added", "datetime", 17),
)


def grid_changes(values: dict[str, Any], owner_ids_by_name: dict[str, int]) -> dict[str, Any]:
    """Grid columns to lead fields: the manager's name becomes the owner's id.

    A name with no eligible owner behind it stays a name, which the owner check refuses,
    rather than silently unassigning the lead.
    """
    changes = {}
    for column, value in values.items():
        if column == "manager":
            changes["owner_id"] = owner_ids_by_name.get(value, value) if value else None
        else:
            changes[column] = "" if value is None and column in ("email", "phone") else value
    return changes


def save_edits(user: User, db: Database, edits: Sequence[editing.RowEdit]) -> int:
    """Inline or detail edits of leads (see crm.editing for the rules)."""
    return editing.save_edits(user, db, Entity.LEAD, RULES, edits)


# ----------------------------------------------------------------------- bulk VIP


def set_vip(user: User, db: Database, vip: bool, *, query: ListQuery | None = None,
            ids: Sequence[int] | None = None) -> BulkResult:
    """Set or remove VIP on checked leads, or on all leads matching `query`.

    Converted leads are history: counted, never changed.
    """
    return bulk.set_flag(user, db, LEADS, "vip", vip, query=query, ids=ids,
                         read_only_sql="l.converted_at IS NOT NULL")


# ----------------------------------------------------------------------- add a lead


@dataclass(frozen=True)
class Duplicate:
    id: int
    name: str
    email: str
    reason: str


def likely_duplicates(user: User, db: Database, *, email: str = "", first_name: str = "",
                      last_name: str = "", phone: str = "",
                      exclude_id: int | None = None) -> list[Duplicate]:
    """Leads in the user's scope with the same email, or the same name and phone."""
    allowed = scope(user, Entity.LEAD, Action.VIEW, alias="l")
    found: dict[int, Duplicate] = {}
    digits = "".join(c for c in phone if c.isdigit())
    checks = []
    if email.strip():
        checks.append(("same email", "lower(l.email) = lower(?)", (email.strip(),)))
    if first_name.strip() and last_name.strip() and len(digits) >= 5:
        checks.append((
            "same name and phone",
            "lower(l.first_name) = lower(?) AND lower(l.last_name) = lower(?) AND "
            "(regexp_replace(l.phone, '[^0-9]', '', 'g') = ? "
            "OR regexp_replace(l.mobile, '[^0-9]', '', 'g') = ?)",
            (first_name.strip(), last_name.strip(), digits, digits),
        ))
    for reason, sql, params in checks:
        rows = db.fetch_all(
            "SELECT l.id, trim(concat_ws(' ', l.first_name, l.last_name)) AS name, l.email "
            f"FROM leads l WHERE {sql} AND {allowed.sql} ORDER BY l.id LIMIT 10",
            (*params, *allowed.params),
        )
        for row in rows:
            if row["id"] != exclude_id and row["id"] not in found:
                found[row["id"]] = Duplicate(row["id"], row["name"], row["email"], reason)
    return list(found.values())


def create_lead(user: User, db: Database, values: dict[str, Any], *,
                department_id: int | None = None, source: str = "manual entry") -> int:
    """Add a lead after validating every field; records the subscription if opted in.

    The department follows the assigned manager; without one it is the user's own
    department, or `department_id` for users who work across departments.
    """
    problems: list[Problem] = []
    unknown = set(values) - set(LEAD_FIELDS) - {"newsletter_opt_in"}
    if unknown:
        raise EditRejected([Problem(None, f, f"{f} is not a lead field.") for f in unknown])
    with db.transaction() as tx:
        owner_department = None
        if str(values.get("owner_id") or "").strip().isdigit():  # else check_owner refuses it
            owner_department = tx.scalar("SELECT department_id FROM users WHERE id = ?",
                                         (int(values["owner_id"]),))
        department = owner_department or department_id or user.department_id
        if department is None or not may_work_in_department(user, department):
            raise EditRejected([Problem(None, "department_id",
                                        "Choose a department you work in for this lead.")])
        row: dict[str, Any] = {"department_id": department}
        for name in LEAD_FIELDS:
            if name not in values:
                continue
            checker = _CHECKERS.get(name, editing.check_text())
            try:
                row[name] = checker(values[name], tx, row)
            except (ValueError, TypeError) as problem:
                problems.append(Problem(None, name, f"{name.replace('_', ' ')}: {problem}"))
        if not (row.get("first_name") or row.get("last_name")):
            problems.append(Problem(None, "last_name", "A lead needs a first or last name."))
        if problems:
            raise EditRejected(problems)
        stamp = now()
        opted_in = bool(values.get("newsletter_opt_in", True))
        row.update({"newsletter_opt_in": opted_in, "created_at": stamp, "updated_at": stamp,
                    "created_by": user.id, "modified_by": user.id})
        if "owner_id" not in row or row["owner_id"] is None:
            row["owner_id"] = user.id if owns_what_they_add(user) else None
        columns = ", ".join(row)
        new_id = tx.scalar(
            f"INSERT INTO leads ({columns}) VALUES ({', '.join('?' for _ in row)}) RETURNING id",
            tuple(row.values()),
        )
        audit.record(tx, user, "lead", new_id, "create",
                     new={k: v for k, v in row.items() if v not in (None, "")})
        if opted_in:
            tx.execute(
                "INSERT INTO subscription_events (entity, entity_id, event, occurred_at, "
                "user_id, source) VALUES ('lead', ?, 'subscribed', ?, ?, ?)",
                (new_id, stamp, user.id, source),
            )
        search.refresh(tx, Entity.LEAD, Condition("id = ?", (new_id,)))
    return new_id


# ----------------------------------------------------------------------- detail


def get_lead(user: User, db: Database, lead_id: int) -> dict[str, Any] | None:
    """Every field of one lead in the user's scope, with names for its references."""
    allowed = scope(user, Entity.LEAD, Action.VIEW, alias="l")
    return db.fetch_one(
        f"SELECT l.*, {status_sql('l')} AS newsletter, ow.full_name AS manager, "
        "cn.name AS country, dp.name AS department, ls.name AS lead_source, "
        "ind.name AS industry, ct.name AS company_type, cb.full_name AS created_by_name, "
        "mb.full_name AS modified_by_name FROM leads l "
        "LEFT JOIN users ow ON ow.id = l.owner_id "
        "LEFT JOIN countries cn ON cn.code = l.country_code "
        "LEFT JOIN departments dp ON dp.id = l.department_id "
        "LEFT JOIN lead_sources ls ON ls.id = l.lead_source_id "
        "LEFT JOIN industries ind ON ind.id = l.industry_id "
        "LEFT JOIN company_types ct ON ct.id = l.company_type_id "
        "LEFT JOIN users cb ON cb.id = l.created_by "
        "LEFT JOIN users mb ON mb.id = l.modified_by "
        f"WHERE l.id = ? AND {allowed.sql}",
        (lead_id, *allowed.params),
    )


def history(user: User, db: Database, lead_id: int) -> list[dict[str, Any]]:
    """The lead's change history; empty for a lead outside the user's scope."""
    if get_lead(user, db, lead_id) is None:
        return []
    return audit.history(db, "lead", lead_id)
