"""Companies: the list, edits, adding one (unique per country, compared loosely), detail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crm.access import (
    Action,
    Entity,
    may_work_in_department,
    owns_what_they_add,
    require,
    scope,
)
from crm.common.errors import Refusal
from crm.common.names import company_name_key
from crm.identity.user import User
from crm.lists.columns import added_column, country_column, id_column, manager_column
from crm.lists.filters import (
    ExistsFilter,
    country_filter,
    department_filter,
    manager_filter,
)
from crm.lists.listing import Column, ListSpec
from crm.records import editing
from crm.records.editing import EditRejected, FieldRules, Problem, RowEdit
from crm.storage import audit, search
from crm.storage.db import Database, Session
from crm.storage.writer import Writer

INDUSTRY_NAMES = ("(SELECT string_agg(i.name, ', ' ORDER BY i.name) FROM company_industries ci "
                  "JOIN industries i ON i.id = ci.industry_id WHERE ci.company_id = {a}.id)")
CONTACT_COUNT = ("(SELECT count(*) FROM contacts c WHERE c.company_id = {a}.id "
                 "AND c.department_id = {a}.department_id)")


def industry_filter(company_id_sql: str, alias: str, entity_table: str) -> ExistsFilter:
    """Industry of a company (one company may have several), reached from `company_id_sql`."""
    return ExistsFilter(
        key="industry", label="Industry", value_sql="ci.industry_id", label_sql="ind.name",
        option_from=(f"{entity_table} {alias} JOIN company_industries ci "
                     f"ON ci.company_id = {company_id_sql}"),
        option_joins="JOIN industries ind ON ind.id = ci.industry_id",
        parse=int, option_order="label",
        exists_sql=(f"EXISTS (SELECT 1 FROM company_industries x WHERE x.company_id = "
                    f"{company_id_sql} AND x.industry_id IN ({{marks}}))"),
    )


def company_type_filter(company_id_sql: str, alias: str, entity_table: str) -> ExistsFilter:
    return ExistsFilter(
        key="company_type", label="Company type", value_sql="cty.company_type_id",
        label_sql="ctn.name",
        option_from=(f"{entity_table} {alias} JOIN companies cty ON cty.id = {company_id_sql}"),
        option_joins="JOIN company_types ctn ON ctn.id = cty.company_type_id",
        parse=int, option_order="label",
        exists_sql=(f"{company_id_sql} IN (SELECT id FROM companies WHERE company_type_id IN "
                    f"({{marks}}))"),
    )


COMPANIES = ListSpec(
    entity=Entity.COMPANY,
    alias="co",
    joins=("LEFT JOIN users ow ON ow.id = co.owner_id "
           "LEFT JOIN countries cn ON cn.code = co.country_code "
           "LEFT JOIN company_types ct ON ct.id = co.company_type_id"),
    columns=(
        id_column("co"),
        Column("name", "Name", "co.name", sort_sql=("lower(co.name)",), width=30,
               grid_width="large", editable=True),
        Column("industry", "Industry", INDUSTRY_NAMES.format(a="co"), sortable=False, width=26,
               grid_width="medium"),
        Column("company_type", "Company type", "ct.name",
               sort_joins="LEFT JOIN company_types ct ON ct.id = co.company_type_id", width=16),
        country_column("co"),
        Column("contacts", "Contacts", CONTACT_COUNT.format(a="co"), kind="int", width=10,
               grid_width="small"),
        manager_column("co"),
        added_column("co"),
        Column("website", "Website", "co.website", sortable=False, width=28),
        Column("email", "Email", "co.email", sortable=False, width=28),
        Column("phone", "Phone", "co.phone", sortable=False),
    ),
    filters=(
        department_filter("co"),
        manager_filter("co"),
        industry_filter("co.id", "co", "companies"),
        company_type_filter("co.id", "co", "companies"),
        country_filter("co"),
    ),
    default_sort="name",
    default_descending=False,
    page_joins=(
        "LEFT JOIN (SELECT ci.company_id, string_agg(i.name, ', ' ORDER BY i.name) AS names "
        "FROM company_industries ci JOIN industries i ON i.id = ci.industry_id "
        "WHERE ci.company_id IN (SELECT id FROM page_ids) GROUP BY ci.company_id) pind "
        "ON pind.company_id = co.id "
        "LEFT JOIN (SELECT c.company_id, c.department_id, count(*) AS n FROM contacts c "
        "WHERE c.company_id IN (SELECT id FROM page_ids) GROUP BY c.company_id, "
        "c.department_id) pcnt ON pcnt.company_id = co.id "
        "AND pcnt.department_id = co.department_id"),
    page_columns=(("industry", "pind.names"), ("contacts", "coalesce(pcnt.n, 0)")),
    grid=("name", "industry", "company_type", "country", "contacts", "manager", "created_at"),
    export=("id", "name", "industry", "company_type", "country", "contacts", "manager",
            "website", "email", "phone", "created_at"),
    extra_sql=(("owner_id", "co.owner_id"), ("department_id", "co.department_id"),
               ("row_version", "co.row_version")),
)

COMPANY_FIELDS = ("name", "alternative_names", "website", "email", "phone", "country_code",
                  "city", "address", "company_type_id", "owner_id")


def _check_name(value: Any, _tx: Session, _row: dict[str, Any]) -> str:
    text = ("" if value is None else str(value)).strip()
    if not text:
        raise Refusal("A company needs a name.")
    if len(text) > 300:
        raise Refusal("At most 300 characters.")
    return text


CHECKERS = {
    "name": _check_name,
    "email": editing.check_email, "phone": editing.check_phone,
    "owner_id": editing.check_owner, "country_code": editing.check_country,
    "company_type_id": editing.check_reference("company_types", "company type"),
}


@dataclass(frozen=True)
class SameCompany:
    """An existing company with the same loose name in the same country."""

    id: int | None  # None when it lies outside the user's scope
    name: str


class DuplicateCompany(Refusal):
    def __init__(self, same: SameCompany) -> None:
        where = f" (ID {same.id})" if same.id is not None else " in another department"
        super().__init__(f"A company named like “{same.name}” already exists in this "
                         f"country{where}. Use it, or tell the names apart (for example by "
                         "adding the city).")
        self.same = same


def same_company(user: User, tx: Session | Database, name: str, country_code: str | None,
                 exclude_id: int | None = None) -> SameCompany | None:
    """The company this name would collide with: same loose name key and country."""
    key = company_name_key(name)
    row = tx.fetch_one(
        "SELECT id, name, department_id FROM companies WHERE name_key = ? AND "
        + ("country_code IS NULL" if country_code is None else "country_code = ?")
        + (" AND id <> ?" if exclude_id is not None else ""),
        tuple(v for v in (key, country_code, exclude_id) if v is not None),
    )
    if row is None:
        return None
    allowed = scope(user, Entity.COMPANY)
    visible = tx.scalar(f"SELECT count(*) FROM companies WHERE id = ? AND {allowed.sql}",
                        (row["id"], *allowed.params))
    # Outside the scope the company does not exist for this user: no ID, no name.
    return SameCompany(row["id"], row["name"]) if visible else SameCompany(None, name)


def _derive(user_getter):
    def derive(tx: Session, row: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        if "name" not in new and "country_code" not in new:
            return {}
        name = new.get("name", row["name"])
        country = new.get("country_code", row["country_code"])
        clash = same_company(user_getter(), tx, name, country, exclude_id=row["id"])
        if clash is not None:
            raise DuplicateCompany(clash)
        return {}  # the writer keeps the name key (and the contacts' search text) in step
    return derive


def _rules(user: User) -> FieldRules:
    return FieldRules(editable=frozenset(COMPANY_FIELDS), checkers=CHECKERS,
                      derive=_derive(lambda: user))


def save_edits(user: User, db: Database, edits: Sequence[RowEdit]) -> int:
    return editing.save_edits(user, db, Entity.COMPANY, _rules(user), edits)


def save_company(user: User, db: Database, edit: RowEdit, industry_ids: Sequence[int]) -> None:
    """The company form: fields and industries in one unit of work, over the version the
    user saw (industries alone count too: a stale form refuses, naming who changed it)."""
    with db.transaction() as tx:
        allowed = scope(user, Entity.COMPANY, Action.EDIT)
        if not tx.scalar(f"SELECT count(*) FROM companies WHERE id = ? AND {allowed.sql}",
                         (edit.record_id, *allowed.params)):
            raise EditRejected([Problem(edit.record_id, "",
                                        f"Company {edit.record_id} does not exist.")])
        writer = Writer(tx, user)
        writer.check_versions(Entity.COMPANY, {edit.record_id: edit.version})
        editing.save_edits_in(tx, user, Entity.COMPANY, _rules(user), [edit])
        writer.set_links(Entity.COMPANY, "industries", edit.record_id, industry_ids)




def grid_changes(values: dict[str, Any], owner_ids_by_name: dict[str, int]) -> dict[str, Any]:
    changes = {}
    for column, value in values.items():
        if column == "manager":
            changes["owner_id"] = owner_ids_by_name.get(value, value) if value else None
        else:
            changes[column] = value
    return changes


def create_company(user: User, db: Database | None, values: dict[str, Any], *,
                   industry_ids: Sequence[int] = (), department_id: int | None = None,
                   tx: Session | None = None) -> int:
    """Add a company; refuses a loose duplicate in the same country (DuplicateCompany)."""
    require(user, Action.ADD, Entity.COMPANY)
    if tx is None:
        assert db is not None
        with db.transaction() as own:
            return create_company(user, None, values, industry_ids=industry_ids,
                                  department_id=department_id, tx=own)
    unknown = set(values) - set(COMPANY_FIELDS)
    if unknown:
        raise EditRejected([Problem(None, f, f"{f} is not a company field.") for f in unknown])
    owner_department = None
    if str(values.get("owner_id") or "").strip().isdigit():
        owner_department = tx.scalar("SELECT department_id FROM users WHERE id = ?",
                                     (int(values["owner_id"]),))
    department = owner_department or department_id or user.department_id
    if department is None or not may_work_in_department(user, department):
        raise EditRejected([Problem(None, "department_id",
                                    "Choose a department you work in for this company.")])
    row: dict[str, Any] = {"department_id": department}
    problems = []
    for name in COMPANY_FIELDS:
        if name in values:
            try:
                row[name] = CHECKERS.get(name, editing.check_text())(values[name], tx, row)
            except (ValueError, TypeError) as problem:
                problems.append(Problem(None, name, f"{name.replace('_', ' ')}: {problem}"))
    if "name" not in row and not any(p.field == "name" for p in problems):
        problems.append(Problem(None, "name", "A company needs a name."))
    if problems:
        raise EditRejected(problems)
    clash = same_company(user, tx, row["name"], row.get("country_code"))
    if clash is not None:
        raise DuplicateCompany(clash)
    if row.get("owner_id") is None:
        row["owner_id"] = user.id if owns_what_they_add(user) else None
    return Writer(tx, user).insert(Entity.COMPANY, row, links={"industries": industry_ids})


def set_industries(user: User, db: Database, company_id: int,
                   industry_ids: Sequence[int]) -> None:
    allowed = scope(user, Entity.COMPANY, Action.EDIT)
    with db.transaction() as tx:
        if not tx.scalar(f"SELECT count(*) FROM companies WHERE id = ? AND {allowed.sql}",
                         (company_id, *allowed.params)):
            raise EditRejected([Problem(company_id, "", f"Company {company_id} does not exist.")])
        Writer(tx, user).set_links(Entity.COMPANY, "industries", company_id, industry_ids)


def get_company(user: User, db: Database, company_id: int) -> dict[str, Any] | None:
    allowed = scope(user, Entity.COMPANY, Action.VIEW, alias="co")
    row = db.fetch_one(
        f"SELECT co.*, ow.full_name AS manager, cn.name AS country, ct.name AS company_type, "
        f"dp.name AS department, {INDUSTRY_NAMES.format(a='co')} AS industries "
        "FROM companies co LEFT JOIN users ow ON ow.id = co.owner_id "
        "LEFT JOIN countries cn ON cn.code = co.country_code "
        "LEFT JOIN company_types ct ON ct.id = co.company_type_id "
        "LEFT JOIN departments dp ON dp.id = co.department_id "
        f"WHERE co.id = ? AND {allowed.sql}", (company_id, *allowed.params))
    if row is not None:
        row["industry_ids"] = [r["industry_id"] for r in db.fetch_all(
            "SELECT industry_id FROM company_industries WHERE company_id = ?", (company_id,))]
    return row


def history(user: User, db: Database, company_id: int) -> list[dict[str, Any]]:
    """The company's change history; empty for a company outside the user's scope."""
    if get_company(user, db, company_id) is None:
        return []
    return audit.history(db, "company", company_id)


def company_contacts(user: User, db: Database, company_id: int) -> list[dict[str, Any]]:
    """The company's contacts that the user may see."""
    allowed = scope(user, Entity.CONTACT, Action.VIEW, alias="c")
    return db.fetch_all(
        "SELECT c.id, trim(concat_ws(' ', c.first_name, c.last_name)) AS name, c.title, "
        "c.email, c.phone, ow.full_name AS manager FROM contacts c "
        "LEFT JOIN users ow ON ow.id = c.owner_id "
        f"WHERE c.company_id = ? AND {allowed.sql} ORDER BY lower(c.last_name), c.id",
        (company_id, *allowed.params))


def choices(user: User, db: Database, text: str = "", limit: int = 50) -> dict[int, str]:
    """Companies in the user's scope whose name contains `text`, for pickers."""
    allowed = scope(user, Entity.COMPANY, Action.EDIT, alias="co")
    rows = db.fetch_all(
        "SELECT co.id, co.name, cn.name AS country FROM companies co "
        "LEFT JOIN countries cn ON cn.code = co.country_code "
        f"WHERE {allowed.sql} AND lower(co.name) LIKE ? ESCAPE '\\' "
        "ORDER BY lower(co.name), co.id LIMIT ?",
        (*allowed.params, f"%{search.escape_like(text.strip().lower())}%", limit))
    return {r["id"]: f"{r['name']} ({r['country'] or 'no country'})" for r in rows}


