"""Contacts: the list (with company and tag filters), edits, bulk VIP and tags, adding a
contact (company picked or created in the same step), detail with history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm.access import Action, Entity, require, scope
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.lists import bulk
from crm.lists.bulk import BulkResult
from crm.lists.columns import added_column, country_column, id_column, manager_column
from crm.lists.filters import ExistsFilter, added_filter
from crm.lists.listing import Column, ListQuery, ListSpec
from crm.records import companies, editing, people
from crm.records.editing import EditRejected, FieldRules, Problem, RowEdit
from crm.records.newsletter import never_subscribed_sql, status_sql
from crm.records.people import PERSON_CHECKERS, PERSON_FIELDS, Duplicate, newsletter_column
from crm.storage import audit
from crm.storage.db import Database, Session

_DEPARTMENT, _MANAGER, _COUNTRY, _NEWSLETTER, _VIP = people.person_list_filters("c")

CONTACTS = ListSpec(
    entity=Entity.CONTACT,
    alias="c",
    joins=("LEFT JOIN users ow ON ow.id = c.owner_id "
           "LEFT JOIN countries cn ON cn.code = c.country_code "
           "LEFT JOIN companies co ON co.id = c.company_id"),
    columns=(
        id_column("c"),
        Column("name", "Name",
               "trim(concat_ws(' ', c.first_name, nullif(c.middle_name, ''), c.last_name))",
               sort_sql=("lower(c.last_name)", "lower(c.first_name)"), width=26,
               grid_width="medium"),
        # Sorting by phone takes the mobile where there is no phone; the grid and an export
        # show both as stored (raw_phone, mobile).
        Column("phone", "Phone", "coalesce(nullif(c.phone, ''), c.mobile)",
               sort_sql=("coalesce(nullif(c.phone, ''), c.mobile)",)),
        # The name key is already lower-case and plain: no lower() over a million names.
        Column("company", "Company", "co.name", sort_sql=("co.name_key",),
               sort_joins="LEFT JOIN companies co ON co.id = c.company_id", width=28,
               grid_width="medium"),
        country_column("c"),
        newsletter_column("c"),
        added_column("c"),
        manager_column("c"),
        Column("email", "Email", "c.email", sortable=False, width=30, grid_width="medium",
               editable=True),
        Column("raw_phone", "Phone", "c.phone", sortable=False, editable=True),
        Column("mobile", "Mobile", "c.mobile", sortable=False, editable=True),
        Column("vip", "VIP", "c.vip", sortable=False, kind="bool", width=6, grid_width=50,
               editable=True),
        Column("tags", "Tags", "(SELECT string_agg(t.name, ', ' ORDER BY t.name) FROM "
               "contact_tags x JOIN tags t ON t.id = x.tag_id WHERE x.contact_id = c.id)",
               sortable=False, width=24),
    ),
    filters=(
        _DEPARTMENT,
        _MANAGER,
        companies.industry_filter("c.company_id", "c", "contacts"),
        companies.company_type_filter("c.company_id", "c", "contacts"),
        _COUNTRY,
        _NEWSLETTER,
        _VIP,
        ExistsFilter(
            key="tag", label="Tags", sentence_label="tag", value_sql="ctg.tag_id",
            label_sql="tg.name",
            option_from="contacts c JOIN contact_tags ctg ON ctg.contact_id = c.id",
            option_joins="JOIN tags tg ON tg.id = ctg.tag_id", parse=int,
            option_order="label",
            exists_sql=("EXISTS (SELECT 1 FROM contact_tags x WHERE x.contact_id = c.id AND "
                        "x.tag_id IN ({marks}))"),
        ),
        added_filter("c"),
    ),
    default_sort="created_at",
    default_descending=True,
    page_joins=("LEFT JOIN (SELECT x.contact_id, string_agg(t.name, ', ' ORDER BY t.name) "
                "AS names FROM contact_tags x JOIN tags t ON t.id = x.tag_id "
                "WHERE x.contact_id IN (SELECT id FROM page_ids) GROUP BY x.contact_id) ptags "
                "ON ptags.contact_id = c.id"),
    page_columns=(("tags", "ptags.names"),),
    grid=("name", "raw_phone", "mobile", "email", "company", "country", "newsletter",
          "created_at", "manager", "tags", "vip"),
    export=("id", "name", "email", "raw_phone", "mobile", "company", "country", "newsletter",
            "vip", "tags", "manager", "created_at"),
    extra_sql=(("owner_id", "c.owner_id"), ("department_id", "c.department_id"),
               ("company_id", "c.company_id"), ("row_version", "c.row_version"),
               ("never_subscribed", never_subscribed_sql("c"))),
)

CONTACT_FIELDS = (*PERSON_FIELDS, "company_id")


def _check_company(value: Any, tx: Session, row: dict[str, Any]) -> int:
    """A contact's company must exist and sit in the contact's department."""
    if value in (None, ""):
        raise Refusal("A contact needs a company.")
    company = tx.fetch_one("SELECT department_id FROM companies WHERE id = ?", (int(value),))
    if company is None or company["department_id"] != row["department_id"]:
        raise Refusal("Choose a company of the contact's department.")
    return int(value)


CHECKERS = {**PERSON_CHECKERS, "company_id": _check_company}
RULES = FieldRules(editable=frozenset(CONTACT_FIELDS), checkers=CHECKERS)


def save_edits(user: User, db: Database, edits: Sequence[RowEdit]) -> int:
    return editing.save_edits(user, db, Entity.CONTACT, RULES, edits)


def grid_changes(values: dict[str, Any], owner_ids_by_name: dict[str, int]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for column, value in values.items():
        if column == "manager":
            changes["owner_id"] = owner_ids_by_name.get(value, value) if value else None
        elif column == "raw_phone":
            changes["phone"] = value or ""
        else:
            changes[column] = "" if value is None and column in ("email", "mobile") else value
    return changes


def set_vip(user: User, db: Database, vip: bool, *, query: ListQuery | None = None,
            ids: Sequence[int] | None = None,
            versions: Mapping[int, int] | None = None) -> BulkResult:
    return bulk.set_flag(user, db, CONTACTS, "vip", vip, query=query, ids=ids,
                         versions=versions)


def likely_duplicates(user: User, db: Database, **person: Any) -> list[Duplicate]:
    """Contacts in the user's scope with the same email, or the same name and phone."""
    return people.likely_duplicates(user, db, Entity.CONTACT, **person)


def create_contact(user: User, db: Database, values: dict[str, Any], *,
                   new_company: dict[str, Any] | None = None,
                   industry_ids: Sequence[int] = (), department_id: int | None = None,
                   source: str = "manual entry") -> int:
    """Add a contact at an existing company (`values['company_id']`) or at a new company
    created in the same transaction (`new_company`). The contact joins the company's
    department."""
    require(user, Action.ADD, Entity.CONTACT)
    with db.transaction() as tx:
        if new_company is not None:
            try:
                company_id = companies.create_company(
                    user, None, new_company, industry_ids=industry_ids,
                    department_id=department_id, tx=tx)
            except companies.DuplicateCompany as clash:
                raise EditRejected([Problem(None, "company", str(clash))]) from clash
        else:
            company_id = values.get("company_id")
            allowed = scope(user, Entity.COMPANY)
            if not str(company_id or "").strip().isdigit() or not tx.scalar(
                    f"SELECT count(*) FROM companies WHERE id = ? AND {allowed.sql}",
                    (int(company_id), *allowed.params)):
                raise EditRejected([Problem(None, "company_id",
                                            "Choose the contact's company (or add a new one).")])
        company = tx.fetch_one("SELECT department_id, country_code FROM companies WHERE id = ?",
                               (int(company_id),))
        person = {k: v for k, v in values.items() if k != "company_id"}
        # insert_person puts a record in its assigned manager's department; a contact must
        # stay in its company's, so a manager of another department is refused here.
        owner = str(person.get("owner_id") or "").strip()
        if owner.isdigit() and tx.scalar("SELECT department_id FROM users WHERE id = ?",
                                         (int(owner),)) != company["department_id"]:
            raise EditRejected([Problem(None, "owner_id",
                                        "owner id: The assigned manager must be an active "
                                        "sales manager or operator of the company's "
                                        "department.")])
        if not person.get("country_code") and company["country_code"]:
            person["country_code"] = company["country_code"]
        return people.insert_person(
            tx, user, Entity.CONTACT, CONTACT_FIELDS, CHECKERS, person,
            department_id=company["department_id"], source=source,
            fixed={"company_id": int(company_id)})


def get_contact(user: User, db: Database, contact_id: int) -> dict[str, Any] | None:
    allowed = scope(user, Entity.CONTACT, Action.VIEW, alias="c")
    row = db.fetch_one(
        f"SELECT c.*, {status_sql('c')} AS newsletter, ow.full_name AS manager, "
        "cn.name AS country, dp.name AS department, ls.name AS lead_source, "
        "co.name AS company, cb.full_name AS created_by_name, "
        "mb.full_name AS modified_by_name FROM contacts c "
        "LEFT JOIN users ow ON ow.id = c.owner_id "
        "LEFT JOIN countries cn ON cn.code = c.country_code "
        "LEFT JOIN departments dp ON dp.id = c.department_id "
        "LEFT JOIN lead_sources ls ON ls.id = c.lead_source_id "
        "LEFT JOIN companies co ON co.id = c.company_id "
        "LEFT JOIN users cb ON cb.id = c.created_by "
        "LEFT JOIN users mb ON mb.id = c.modified_by "
        f"WHERE c.id = ? AND {allowed.sql}", (contact_id, *allowed.params))
    if row is not None:
        row["tags"] = [r["name"] for r in db.fetch_all(
            "SELECT t.name FROM contact_tags x JOIN tags t ON t.id = x.tag_id "
            "WHERE x.contact_id = ? ORDER BY t.name", (contact_id,))]
    return row


def history(user: User, db: Database, contact_id: int) -> list[dict[str, Any]]:
    if get_contact(user, db, contact_id) is None:
        return []
    return audit.history(db, "contact", contact_id)


