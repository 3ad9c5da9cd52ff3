"""Leads: the list, inline edits, bulk VIP, adding a lead with duplicate warning, detail."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from crm.access import Action, Entity, require, scope
from crm.identity.user import User
from crm.lists import bulk
from crm.lists.bulk import BulkResult, target_condition  # noqa: F401  (re-exported)
from crm.lists.columns import added_column, country_column, id_column, manager_column
from crm.lists.filters import Filter, added_filter, flag_filter, source_filter
from crm.lists.listing import Column, ListQuery, ListSpec
from crm.records import editing, people
from crm.records.editing import FieldRules
from crm.records.newsletter import never_subscribed_sql, status_sql
from crm.records.people import (
    PERSON_CHECKERS,
    PERSON_FIELDS,
    Duplicate,
    newsletter_column,
    person_list_filters,
)
from crm.storage import audit
from crm.storage.db import Database


class LeadStatus(StrEnum):
    """Where a lead stands: converted wins over disqualified (a converted lead is kept
    read-only as history)."""

    OPEN = "open"
    DISQUALIFIED = "disqualified"
    CONVERTED = "converted"

    @property
    def label(self) -> str:
        return self.value.capitalize()


def _status_case(value: Callable[[LeadStatus], str]) -> str:
    return (f"CASE WHEN l.converted_at IS NOT NULL THEN '{value(LeadStatus.CONVERTED)}' "
            f"WHEN l.disqualified THEN '{value(LeadStatus.DISQUALIFIED)}' "
            f"ELSE '{value(LeadStatus.OPEN)}' END")


# The one definition of a lead's status, for the list, its filter, exports and the overview.
STATUS_SQL = _status_case(lambda s: s.value)
STATUS_LABEL_SQL = _status_case(lambda s: s.label)

LEADS = ListSpec(
    entity=Entity.LEAD,
    alias="l",
    joins=("LEFT JOIN users ow ON ow.id = l.owner_id "
           "LEFT JOIN countries cn ON cn.code = l.country_code"),
    columns=(
        id_column("l"),
        Column("name", "Name",
               "trim(concat_ws(' ', l.first_name, nullif(l.middle_name, ''), l.last_name))",
               sort_sql=("lower(l.last_name)", "lower(l.first_name)"), width=26,
               grid_width="medium"),
        Column("email", "Email", "l.email", sort_sql=("lower(l.email)",), width=30,
               grid_width="medium", editable=True),
        Column("company", "Company", "l.company_name", sort_sql=("lower(l.company_name)",),
               width=28, grid_width="medium"),
        manager_column("l"),
        country_column("l"),
        newsletter_column("l"),
        added_column("l"),
        Column("status", "Status", STATUS_LABEL_SQL, width=12, grid_width="small",
               help="Converted leads are kept read-only as history"),
        Column("phone", "Phone", "l.phone", sortable=False, editable=True),
        Column("vip", "VIP", "l.vip", sortable=False, kind="bool", width=6, grid_width=50,
               editable=True),
        Column("disqualified", "Disqualified", "l.disqualified", sortable=False, kind="bool",
               width=12, grid_width=90, editable=True),
    ),
    filters=(
        flag_filter("disqualified", "Disqualification", "l.disqualified", "Disqualified",
                    "Qualified"),
        Filter(key="status", label="Status", value_sql=STATUS_SQL, label_sql=STATUS_LABEL_SQL,
               option_order="label"),
        *person_list_filters("l"),
        source_filter("l"),
        added_filter("l"),
    ),
    default_sort="created_at",
    default_descending=True,
    grid=("name", "email", "phone", "company", "manager", "country", "newsletter", "created_at",
          "status", "vip", "disqualified"),
    export=("id", "name", "email", "phone", "company", "manager", "country", "newsletter", "vip",
            "disqualified", "status", "created_at"),
    extra_sql=(("owner_id", "l.owner_id"), ("department_id", "l.department_id"),
               ("row_version", "l.row_version"), ("converted", "l.converted_at IS NOT NULL"),
               ("never_subscribed", never_subscribed_sql("l"))),
)

LEAD_FIELDS = (*PERSON_FIELDS, "company_name", "company_email", "company_phone", "website",
               "company_address", "industry_id", "company_type_id")

_CHECKERS = {
    **PERSON_CHECKERS,
    "company_email": editing.check_email,
    "company_phone": editing.check_phone,
    "industry_id": editing.check_reference("industries", "industry"),
    "company_type_id": editing.check_reference("company_types", "company type"),
}
RULES = FieldRules(
    editable=frozenset(LEAD_FIELDS),
    checkers=_CHECKERS,
    read_only_when="converted_at IS NOT NULL",
    read_only_reason="was converted and is kept read-only as history.",
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
    """Inline or detail edits of leads (see crm.records.editing for the rules)."""
    return editing.save_edits(user, db, Entity.LEAD, RULES, edits)


# ----------------------------------------------------------------------- bulk VIP


def set_vip(user: User, db: Database, vip: bool, *, query: ListQuery | None = None,
            ids: Sequence[int] | None = None,
            versions: Mapping[int, int] | None = None) -> BulkResult:
    """Set or remove VIP on checked leads, or on all leads matching `query`.

    Converted leads are history: counted, never changed.
    """
    return bulk.set_flag(user, db, LEADS, "vip", vip, query=query, ids=ids, versions=versions,
                         read_only_sql="l.converted_at IS NOT NULL")


# ----------------------------------------------------------------------- add a lead


def likely_duplicates(user: User, db: Database, **person: Any) -> list[Duplicate]:
    """Leads in the user's scope with the same email, or the same name and phone."""
    return people.likely_duplicates(user, db, Entity.LEAD, **person)


def create_lead(user: User, db: Database, values: dict[str, Any], *,
                department_id: int | None = None, source: str = "manual entry") -> int:
    """Add a lead after validating every field; records the subscription if opted in.

    The department follows the assigned manager; without one it is the user's own
    department, or `department_id` for users who work across departments.
    """
    require(user, Action.ADD, Entity.LEAD)
    with db.transaction() as tx:
        return people.insert_person(tx, user, Entity.LEAD, LEAD_FIELDS, _CHECKERS, values,
                                    department_id=department_id, source=source)


# ----------------------------------------------------------------------- detail


def get_lead(user: User, db: Database, lead_id: int) -> dict[str, Any] | None:
    """Every field of one lead in the user's scope, with names for its references."""
    allowed = scope(user, Entity.LEAD, Action.VIEW, alias="l")
    return db.fetch_one(
        f"SELECT l.*, {status_sql('l')} AS newsletter, ow.full_name AS manager, "
        "cn.name AS country, dp.name AS department, ls.name AS lead_source, "
        "ind.name AS industry, ct.name AS company_type, cb.full_name AS created_by_name, "
        "mb.full_name AS modified_by_name, cv.full_name AS converted_by_name FROM leads l "
        "LEFT JOIN users ow ON ow.id = l.owner_id "
        "LEFT JOIN countries cn ON cn.code = l.country_code "
        "LEFT JOIN departments dp ON dp.id = l.department_id "
        "LEFT JOIN lead_sources ls ON ls.id = l.lead_source_id "
        "LEFT JOIN industries ind ON ind.id = l.industry_id "
        "LEFT JOIN company_types ct ON ct.id = l.company_type_id "
        "LEFT JOIN users cb ON cb.id = l.created_by "
        "LEFT JOIN users mb ON mb.id = l.modified_by "
        "LEFT JOIN users cv ON cv.id = l.converted_by "
        f"WHERE l.id = ? AND {allowed.sql}",
        (lead_id, *allowed.params),
    )


def history(user: User, db: Database, lead_id: int) -> list[dict[str, Any]]:
    """The lead's change history; empty for a lead outside the user's scope."""
    if get_lead(user, db, lead_id) is None:
        return []
    return audit.history(db, "lead", lead_id)
