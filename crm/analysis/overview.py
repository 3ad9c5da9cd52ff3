"""Figures for the Overview page: what the signed-in user's scope holds, month by month.

Every figure is one GROUP BY query inside the user's access scope, narrowed by the page's
department and period (`OverviewFilter`). The period is the date added, with the same
definition as the lists' "Date added" filter, so a bar opens a list with exactly the bar's
count. Frames returned here are the aggregated rows only (a few hundred at most), never
records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from crm.access import Action, Condition, Entity, department_ids, scope, sees_several_departments
from crm.identity.entities import PEOPLE
from crm.identity.user import User
from crm.lists.filters import date_range_condition, date_range_value
from crm.records.leads import STATUS_SQL as LEAD_STATUS_SQL
from crm.records.leads import LeadStatus
from crm.records.newsletter import NewsletterStatus, status_sql
from crm.storage.db import Database, Session

TABLES = {e: (e.table, e.value[0]) for e in PEOPLE}  # (table, alias): leads l, contacts c
UNASSIGNED = "Unassigned"
NO_SOURCE = "No source"
NO_COUNTRY = "No country"



# Imports record their batch as the source ("import:17"): one category, not one per batch.
UNSUBSCRIBE_SOURCE_SQL = ("CASE WHEN e.source LIKE 'import:%' THEN 'import' "
                          "WHEN e.source = '' THEN 'not recorded' ELSE e.source END")


@dataclass(frozen=True)
class OverviewFilter:
    """The sidebar of the Overview: departments (none chosen: all in scope) and a period of
    days added (an open end: no limit)."""

    departments: tuple[int, ...] = ()
    start: date | None = None
    end: date | None = None

    def list_filters(self) -> dict[str, tuple[str, ...]]:
        """The same narrowing as list filters, for opening a list from a chart."""
        filters: dict[str, tuple[str, ...]] = {}
        if self.departments:
            filters["department"] = tuple(str(d) for d in self.departments)
        if self.start or self.end:
            filters["added"] = (date_range_value(self.start, self.end),)
        return filters


def records(user: User, entity: Entity, flt: OverviewFilter, alias: str,
            dated: bool = True) -> Condition:
    """The user's scope of `entity`, in the chosen departments (and period, when `dated`)."""
    condition = scope(user, entity, Action.VIEW, alias=alias)
    if flt.departments:
        marks = ", ".join("?" for _ in flt.departments)
        condition = condition & Condition(f"{alias}.department_id IN ({marks})",
                                          tuple(flt.departments))
    if dated and (flt.start or flt.end):
        condition = condition & date_range_condition(f"{alias}.created_at", flt.start, flt.end)
    return condition


# ------------------------------------------------------------------- headline figures


@dataclass(frozen=True)
class Headline:
    leads: int
    open_leads: int
    vip_leads: int
    contacts: int
    vip_contacts: int
    companies: int

    @property
    def vip_lead_share(self) -> float:
        return self.vip_leads / self.leads if self.leads else 0.0

    @property
    def vip_contact_share(self) -> float:
        return self.vip_contacts / self.contacts if self.contacts else 0.0


def headline(user: User, db: Database | Session, flt: OverviewFilter) -> Headline:
    """The counts above the charts: leads (open, VIP), contacts (VIP), companies."""
    leads = records(user, Entity.LEAD, flt, "l")
    contacts = records(user, Entity.CONTACT, flt, "c")
    companies = records(user, Entity.COMPANY, flt, "co")
    lead_row = db.fetch_one(
        "SELECT count(*) AS leads, count(*) FILTER (WHERE NOT l.disqualified AND "
        "l.converted_at IS NULL) AS open_leads, count(*) FILTER (WHERE l.vip) AS vip_leads "
        f"FROM leads l WHERE {leads.sql}", leads.params)
    contact_row = db.fetch_one(
        "SELECT count(*) AS contacts, count(*) FILTER (WHERE c.vip) AS vip_contacts "
        f"FROM contacts c WHERE {contacts.sql}", contacts.params)
    company_count = db.scalar(f"SELECT count(*) FROM companies co WHERE {companies.sql}",
                              companies.params)
    counts = {**lead_row, **contact_row, "companies": company_count}
    return Headline(**{k: int(v or 0) for k, v in counts.items()})


# ----------------------------------------------------------------------- over time


def added_per_month(user: User, db: Database | Session, flt: OverviewFilter) -> pd.DataFrame:
    """Leads and contacts added each month: month, entity ('lead' / 'contact'), added."""
    parts, params = [], []
    for entity, (table, alias) in TABLES.items():
        condition = records(user, entity, flt, alias)
        parts.append(f"SELECT '{entity}' AS entity, date_trunc('month', {alias}.created_at) "
                     f"AS month, count(*) AS added FROM {table} {alias} "
                     f"WHERE {condition.sql} GROUP BY 2")
        params += condition.params
    frame = _fetch(db, " UNION ALL ".join(parts) + " ORDER BY month, entity", params)
    return frame[["month", "entity", "added"]]


def conversion_per_month(user: User, db: Database | Session,
                         flt: OverviewFilter) -> pd.DataFrame:
    """Of the leads added each month, how many have been converted since (a cohort rate):
    month, added, converted, rate. The rate of a month can still rise later."""
    condition = records(user, Entity.LEAD, flt, "l")
    frame = _fetch(
        db,
        "SELECT date_trunc('month', l.created_at) AS month, count(*) AS added, "
        "count(*) FILTER (WHERE l.converted_at IS NOT NULL) AS converted "
        f"FROM leads l WHERE {condition.sql} GROUP BY 1 ORDER BY 1",
        condition.params,
    )
    return frame.assign(rate=ratio(frame["converted"], frame["added"]))


def unsubscribes_per_month(user: User, db: Database | Session, entity: Entity,
                           flt: OverviewFilter) -> pd.DataFrame:
    """Unsubscriptions of leads or contacts each month, by their source: month, source,
    unsubscribes. The period is when the unsubscription happened; the person must be in
    the user's scope and chosen departments."""
    table, alias = TABLES[Entity(entity)]
    people = records(user, entity, flt, alias, dated=False)
    when = date_range_condition("e.occurred_at", flt.start, flt.end)
    return _fetch(
        db,
        f"SELECT date_trunc('month', e.occurred_at) AS month, {UNSUBSCRIBE_SOURCE_SQL} "
        f"AS source, count(*) AS unsubscribes FROM subscription_events e "
        f"JOIN {table} {alias} ON {alias}.id = e.entity_id "
        f"WHERE e.entity = ? AND e.event = 'unsubscribed' AND {people.sql} AND {when.sql} "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        (str(entity), *people.params, *when.params),
    )


# ------------------------------------------------------------------- newsletter status


def newsletter_by_department(user: User, db: Database | Session, entity: Entity,
                             flt: OverviewFilter) -> pd.DataFrame:
    """People by newsletter status today, per department: department_id, department,
    status, people (one row per department and status that has anyone)."""
    table, alias = TABLES[Entity(entity)]
    condition = records(user, entity, flt, alias)
    return _fetch(
        db,
        f"SELECT g.department_id, dp.name AS department, g.status, g.people FROM ("
        f"SELECT {alias}.department_id, {status_sql(alias)} AS status, count(*) AS people "
        f"FROM {table} {alias} WHERE {condition.sql} GROUP BY 1, 2) g "
        "JOIN departments dp ON dp.id = g.department_id ORDER BY dp.name, g.status",
        condition.params,
    )


def newsletter_by_manager(user: User, db: Database | Session, entity: Entity,
                          flt: OverviewFilter) -> pd.DataFrame:
    """People by newsletter status today, per assigned manager: manager_id (None when
    unassigned), manager, status, people; managers with the most people first."""
    table, alias = TABLES[Entity(entity)]
    condition = records(user, entity, flt, alias)
    frame = _fetch(
        db,
        f"SELECT g.owner_id AS manager_id, coalesce(ow.full_name, '{UNASSIGNED}') AS manager, "
        "g.status, g.people, sum(g.people) OVER (PARTITION BY g.owner_id) AS total FROM ("
        f"SELECT {alias}.owner_id, {status_sql(alias)} AS status, count(*) AS people "
        f"FROM {table} {alias} WHERE {condition.sql} GROUP BY 1, 2) g "
        "LEFT JOIN users ow ON ow.id = g.owner_id "
        "ORDER BY total DESC, manager, g.owner_id, g.status",
        condition.params,
    )
    frame["manager_id"] = frame["manager_id"].astype("Int64")
    return frame.drop(columns="total")


# ----------------------------------------------------------------------------- leads


def leads_by_status(user: User, db: Database | Session, flt: OverviewFilter) -> pd.DataFrame:
    """Leads open, disqualified and converted: status, leads (every status, even at 0)."""
    condition = records(user, Entity.LEAD, flt, "l")
    rows = db.fetch_all(
        f"SELECT {LEAD_STATUS_SQL} AS status, count(*) AS leads FROM leads l "
        f"WHERE {condition.sql} GROUP BY 1", condition.params)
    found = {r["status"]: int(r["leads"]) for r in rows}
    return pd.DataFrame({"status": [s.value for s in LeadStatus],
                         "leads": [found.get(s.value, 0) for s in LeadStatus]})


def leads_by_source(user: User, db: Database | Session, flt: OverviewFilter) -> pd.DataFrame:
    """Leads by lead source: source_id (None: no source), source, leads; largest first."""
    condition = records(user, Entity.LEAD, flt, "l")
    frame = _fetch(
        db,
        f"SELECT g.source_id, coalesce(ls.name, '{NO_SOURCE}') AS source, g.leads FROM ("
        "SELECT l.lead_source_id AS source_id, count(*) AS leads FROM leads l "
        f"WHERE {condition.sql} GROUP BY 1) g "
        "LEFT JOIN lead_sources ls ON ls.id = g.source_id ORDER BY g.leads DESC, source",
        condition.params,
    )
    frame["source_id"] = frame["source_id"].astype("Int64")
    return frame


def leads_by_country(user: User, db: Database | Session, flt: OverviewFilter) -> pd.DataFrame:
    """Leads by country: country_code (None: no country), country, leads; largest first."""
    condition = records(user, Entity.LEAD, flt, "l")
    return _fetch(
        db,
        f"SELECT g.country_code, coalesce(cn.name, '{NO_COUNTRY}') AS country, g.leads FROM ("
        "SELECT l.country_code, count(*) AS leads FROM leads l "
        f"WHERE {condition.sql} GROUP BY 1) g "
        "LEFT JOIN countries cn ON cn.code = g.country_code ORDER BY g.leads DESC, country",
        condition.params,
    )


# ------------------------------------------------------------------------ VIP share


def vip_by_department(user: User, db: Database | Session, flt: OverviewFilter) -> pd.DataFrame:
    """VIP share of leads and of contacts per department: entity, department_id,
    department, people, vip, share."""
    parts, params = [], []
    for entity, (table, alias) in TABLES.items():
        condition = records(user, entity, flt, alias)
        parts.append(f"SELECT '{entity}' AS entity, {alias}.department_id, count(*) AS people, "
                     f"count(*) FILTER (WHERE {alias}.vip) AS vip FROM {table} {alias} "
                     f"WHERE {condition.sql} GROUP BY 2")
        params += condition.params
    frame = _fetch(
        db,
        "SELECT g.entity, g.department_id, dp.name AS department, g.people, g.vip FROM ("
        + " UNION ALL ".join(parts) + ") g JOIN departments dp ON dp.id = g.department_id "
        "ORDER BY dp.name, g.entity",
        params,
    )
    return frame.assign(share=ratio(frame["vip"], frame["people"]))


# ------------------------------------------------------------------------ the page


@dataclass(frozen=True)
class Figures:
    """Everything the Overview draws, for one user, filter and newsletter entity."""

    headline: Headline
    added: pd.DataFrame
    conversion: pd.DataFrame
    newsletter_entity: Entity
    by_department: pd.DataFrame
    by_manager: pd.DataFrame
    unsubscribes: pd.DataFrame
    lead_status: pd.DataFrame
    lead_source: pd.DataFrame
    lead_country: pd.DataFrame
    vip: pd.DataFrame
    filter: OverviewFilter = field(default_factory=OverviewFilter)


def figures(user: User, db: Database, flt: OverviewFilter,
            newsletter_entity: Entity = Entity.CONTACT) -> Figures:
    """Every figure of the page in one unit of work (one consistent snapshot)."""
    with db.transaction() as tx:
        return Figures(
            headline=headline(user, tx, flt),
            added=added_per_month(user, tx, flt),
            conversion=conversion_per_month(user, tx, flt),
            newsletter_entity=Entity(newsletter_entity),
            by_department=newsletter_by_department(user, tx, newsletter_entity, flt),
            by_manager=newsletter_by_manager(user, tx, newsletter_entity, flt),
            unsubscribes=unsubscribes_per_month(user, tx, newsletter_entity, flt),
            lead_status=leads_by_status(user, tx, flt),
            lead_source=leads_by_source(user, tx, flt),
            lead_country=leads_by_country(user, tx, flt),
            vip=vip_by_department(user, tx, flt),
            filter=flt,
        )


def departments(user: User, db: Database) -> dict[int, str]:
    """The departments the user may narrow the overview to: those they reach when there are
    several (every one for roles that see all), else none (their scope is one already)."""
    if not sees_several_departments(user):
        return {}
    reached = department_ids(user)
    rows = db.fetch_all("SELECT id, name FROM departments ORDER BY name")
    return {int(r["id"]): r["name"] for r in rows if reached is None or r["id"] in reached}


def statuses() -> list[str]:
    """Newsletter statuses in their legend order (red, turquoise, gray)."""
    return [s.value for s in NewsletterStatus]


# --------------------------------------------------------------------------- helpers


def _fetch(db: Database | Session, sql: str, params: Sequence) -> pd.DataFrame:
    """An aggregate as a frame, months as timestamps and counts as integers on both backends
    (PostgreSQL's driver hands over Python objects)."""
    frame = db.fetch_frame(sql, params)
    if "month" in frame.columns:
        frame["month"] = pd.to_datetime(frame["month"])
    for column in ("added", "converted", "people", "vip", "leads", "unsubscribes"):
        if column in frame.columns:
            frame[column] = frame[column].astype("int64")
    return frame


def ratio(part: pd.Series, whole: pd.Series) -> pd.Series:
    """part ÷ whole per row, 0 where the whole is 0 (a month with no leads converts none)."""
    return (part / whole.where(whole > 0)).fillna(0.0).astype(float)


# --------------------------------------------------------------------------- periods

PERIODS = {
    "all": "All time",
    "last_12_months": "Last 12 months",
    "this_year": "This year",
    "last_year": "Last year",
    "custom": "Custom range",
}


def period_range(choice: str, today: date) -> tuple[date | None, date | None]:
    """The days a period choice covers; "last 12 months" starts on the first of a month, so
    every monthly bar counts a whole month (this one up to today)."""
    if choice == "last_12_months":
        month = today.year * 12 + today.month - 1 - 11
        return date(month // 12, month % 12 + 1, 1), today
    if choice == "this_year":
        return date(today.year, 1, 1), today
    if choice == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    return None, None


def month_range(month: date, flt: OverviewFilter) -> tuple[date, date]:
    """The days of one month, within the filter's period (a bar's slice of the period)."""
    start = date(month.year, month.month, 1)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    end = following - timedelta(days=1)
    if flt.start and flt.start > start:
        start = flt.start
    if flt.end and flt.end < end:
        end = flt.end
    return start, end
