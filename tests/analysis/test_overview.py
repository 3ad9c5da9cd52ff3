"""Every figure of the Overview, on both backends, against counts worked out by hand.

The world: East and West (tests.factories) plus the leads, contacts and unsubscriptions
of tests.worlds.overview, tabled in its docstring. Each figure is checked for a company
manager (every department) and, where the scope matters, for a sales manager of East, who
must never count a West record.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from crm.access import Entity
from crm.analysis import overview
from crm.analysis.overview import OverviewFilter
from crm.lists import filters as list_filters
from crm.lists import listing
from crm.lists.listing import ListQuery
from crm.records.contacts import CONTACTS
from crm.records.leads import LEADS
from tests import factories, worlds

ALL = OverviewFilter()
JAN, FEB, MAR = datetime(2026, 1, 1), datetime(2026, 2, 1), datetime(2026, 3, 1)


@pytest.fixture
def world(db):
    return worlds.overview(db)


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return [tuple(_plain(v) for v in row) for row in frame[list(columns)].itertuples(index=False)]


def _plain(value):
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


# --------------------------------------------------------------------------- headline


def test_the_headline_counts_a_company_managers_whole_company(db, world):
    h = overview.headline(world.users["company_manager"], db, ALL)
    assert (h.leads, h.open_leads, h.vip_leads) == (7, 4, 1)
    assert (h.contacts, h.vip_contacts, h.companies) == (7, 2, 2)
    assert h.vip_contact_share == pytest.approx(2 / 7)


def test_a_sales_manager_counts_only_their_department(db, world):
    h = overview.headline(world.users["sales_east"], db, ALL)
    assert (h.leads, h.open_leads, h.vip_leads, h.contacts, h.vip_contacts, h.companies) == (
        4, 2, 1, 4, 1, 1)


def test_the_period_counts_records_added_on_its_first_to_its_last_day(db, world):
    manager = world.users["company_manager"]
    february = overview.headline(manager, db, OverviewFilter(start=date(2026, 2, 1),
                                                             end=date(2026, 2, 28)))
    assert (february.leads, february.contacts, february.companies) == (3, 1, 0)
    # L5 was added at 23:30 on the last day of March: still March.
    march = overview.headline(manager, db, OverviewFilter(start=date(2026, 3, 1),
                                                          end=date(2026, 3, 31)))
    assert (march.leads, march.contacts) == (2, 2)


def test_the_department_filter_narrows_every_count(db, world):
    west = overview.headline(world.users["company_manager"], db,
                             OverviewFilter(departments=(world.west,)))
    assert (west.leads, west.contacts, west.companies) == (3, 3, 1)


def test_a_sales_manager_choosing_another_department_sees_nothing_of_it(db, world):
    h = overview.headline(world.users["sales_east"], db,
                          OverviewFilter(departments=(world.west,)))
    assert (h.leads, h.contacts, h.companies) == (0, 0, 0)


# ----------------------------------------------------------------------- over time


def test_leads_and_contacts_added_per_month(db, world):
    frame = overview.added_per_month(world.users["company_manager"], db, ALL)
    assert rows(frame, "month", "entity", "added") == [
        (JAN, "contact", 4), (JAN, "lead", 2),
        (FEB, "contact", 1), (FEB, "lead", 3),
        (MAR, "contact", 2), (MAR, "lead", 2),
    ]
    east = overview.added_per_month(world.users["sales_east"], db, ALL)
    assert rows(east, "month", "entity", "added") == [
        (JAN, "contact", 2), (JAN, "lead", 1), (FEB, "contact", 1), (FEB, "lead", 2),
        (MAR, "contact", 1), (MAR, "lead", 1)]


def test_conversion_rate_is_the_share_of_each_months_leads_converted_since(db, world):
    frame = overview.conversion_per_month(world.users["company_manager"], db, ALL)
    assert rows(frame, "month", "added", "converted") == [
        (JAN, 2, 0), (FEB, 3, 2), (MAR, 2, 0)]
    assert frame["rate"].tolist() == pytest.approx([0, 2 / 3, 0])
    east = overview.conversion_per_month(world.users["sales_east"], db, ALL)
    assert rows(east, "month", "added", "converted", "rate") == [
        (JAN, 1, 0, 0.0), (FEB, 2, 1, 0.5), (MAR, 1, 0, 0.0)]


def test_unsubscribes_per_month_by_source_within_the_scope(db, world):
    manager, east = world.users["company_manager"], world.users["sales_east"]
    frame = overview.unsubscribes_per_month(manager, db, Entity.CONTACT, ALL)
    # Imports record their batch ("import:7"): one source, "import".
    assert rows(frame, "month", "source", "unsubscribes") == [
        (FEB, "operator", 1), (MAR, "import", 1), (MAR, "unsubscribe link", 1)]
    assert rows(overview.unsubscribes_per_month(east, db, Entity.CONTACT, ALL),
                "month", "source", "unsubscribes") == [
        (FEB, "operator", 1), (MAR, "unsubscribe link", 1)]
    assert rows(overview.unsubscribes_per_month(east, db, Entity.LEAD, ALL),
                "month", "source", "unsubscribes") == [(MAR, "unsubscribe link", 1)]


def test_the_period_of_unsubscribes_is_when_they_happened(db, world):
    march = OverviewFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
    frame = overview.unsubscribes_per_month(world.users["company_manager"], db,
                                            Entity.CONTACT, march)
    # Westone was added in January but left in March: counted.
    assert rows(frame, "source", "unsubscribes") == [("import", 1), ("unsubscribe link", 1)]


# ------------------------------------------------------------------- newsletter status


def test_newsletter_status_by_department(db, world):
    frame = overview.newsletter_by_department(world.users["company_manager"], db,
                                              Entity.CONTACT, ALL)
    assert rows(frame, "department", "status", "people") == [
        ("East", "not_mailed", 1), ("East", "receiving", 1), ("East", "unsubscribed", 2),
        ("West", "not_mailed", 1), ("West", "receiving", 1), ("West", "unsubscribed", 1)]
    east = overview.newsletter_by_department(world.users["sales_east"], db, Entity.CONTACT,
                                             ALL)
    assert set(east["department"]) == {"East"}


def test_newsletter_status_by_assigned_manager_largest_first(db, world):
    frame = overview.newsletter_by_manager(world.users["company_manager"], db,
                                           Entity.CONTACT, ALL)
    assert rows(frame, "manager", "status", "people") == [
        ("Sales.East", "not_mailed", 1), ("Sales.East", "receiving", 1),
        ("Sales.East", "unsubscribed", 1),
        ("Sales.West", "receiving", 1), ("Sales.West", "unsubscribed", 1),
        ("Sales.East2", "unsubscribed", 1),
        ("Super.Operator", "not_mailed", 1),
    ]
    assert frame["manager_id"].iloc[0] == world.users["sales_east"].id


def test_leads_without_a_manager_are_counted_as_unassigned(db, world):
    frame = overview.newsletter_by_manager(world.users["company_manager"], db, Entity.LEAD,
                                           ALL)
    unassigned = frame[frame["manager"] == overview.UNASSIGNED]
    assert rows(unassigned, "manager_id", "status", "people") == [(None, "not_mailed", 1)]


# ----------------------------------------------------------------------------- leads


def test_leads_by_status_counts_a_converted_disqualified_lead_as_converted(db, world):
    frame = overview.leads_by_status(world.users["company_manager"], db, ALL)
    assert rows(frame, "status", "leads") == [("open", 4), ("disqualified", 1),
                                              ("converted", 2)]
    east = overview.leads_by_status(world.users["sales_east"], db, ALL)
    assert rows(east, "status", "leads") == [("open", 2), ("disqualified", 1),
                                             ("converted", 1)]


def test_every_lead_status_is_listed_even_at_zero(db, world):
    frame = overview.leads_by_status(world.users["company_manager"], db,
                                     OverviewFilter(start=date(2026, 1, 1),
                                                    end=date(2026, 1, 31)))
    assert rows(frame, "status", "leads") == [("open", 2), ("disqualified", 0),
                                              ("converted", 0)]


def test_leads_by_source(db, world):
    frame = overview.leads_by_source(world.users["company_manager"], db, ALL)
    assert rows(frame, "source", "leads") == [("No source", 3), ("Website form", 3),
                                              ("Trade show", 1)]
    assert frame["source_id"].tolist()[:2] == [pd.NA, world.sources["Website form"]]


def test_leads_by_country(db, world):
    frame = overview.leads_by_country(world.users["company_manager"], db, ALL)
    assert rows(frame, "country", "country_code", "leads") == [
        ("Germany", "DE", 2), ("No country", None, 2), ("United Kingdom", "GB", 2),
        ("France", "FR", 1)]
    east = overview.leads_by_country(world.users["sales_east"], db, ALL)
    assert "GB" not in set(east["country_code"])


# ------------------------------------------------------------------------ VIP share


def test_vip_share_of_leads_and_contacts_per_department(db, world):
    frame = overview.vip_by_department(world.users["company_manager"], db, ALL)
    assert rows(frame, "department", "entity", "people", "vip") == [
        ("East", "contact", 4, 1), ("East", "lead", 4, 1),
        ("West", "contact", 3, 1), ("West", "lead", 3, 0)]
    assert frame["share"].tolist() == pytest.approx([0.25, 0.25, 1 / 3, 0])


# ------------------------------------------------------------------------ the page


def test_every_figure_of_the_page_in_one_snapshot(db, world):
    figures = overview.figures(world.users["sales_west"], db, ALL, Entity.LEAD)
    assert figures.headline.leads == 3
    assert set(figures.by_department["department"]) == {"West"}
    assert figures.newsletter_entity is Entity.LEAD
    assert figures.unsubscribes.empty


def test_an_empty_scope_gives_empty_figures_not_errors(db, world):
    nobody = factories.user(db, "new.sales", "sales_manager",
                            factories.department(db, "North"))
    figures = overview.figures(nobody, db, ALL)
    assert figures.headline.leads == 0 and figures.headline.vip_lead_share == 0
    assert figures.added.empty and figures.by_manager.empty
    assert figures.lead_status["leads"].tolist() == [0, 0, 0]


def test_only_company_wide_roles_choose_departments(db, world):
    assert overview.departments(world.users["company_manager"], db) == {
        world.east: "East", world.west: "West"}
    assert overview.departments(world.users["sales_east"], db) == {}


@pytest.mark.parametrize(("choice", "expected"), [
    ("all", (None, None)),
    ("last_12_months", (date(2025, 4, 1), date(2026, 3, 15))),
    ("this_year", (date(2026, 1, 1), date(2026, 3, 15))),
    ("last_year", (date(2025, 1, 1), date(2025, 12, 31))),
])
def test_period_choices(choice, expected):
    assert overview.period_range(choice, date(2026, 3, 15)) == expected


def test_last_12_months_in_january_starts_in_february_of_last_year():
    assert overview.period_range("last_12_months", date(2026, 1, 9)) == (
        date(2025, 2, 1), date(2026, 1, 9))


def test_a_months_bar_covers_that_month_within_the_period():
    flt = OverviewFilter(start=date(2026, 1, 10), end=date(2026, 3, 15))
    assert overview.month_range(date(2026, 1, 1), flt) == (date(2026, 1, 10), date(2026, 1, 31))
    assert overview.month_range(date(2026, 2, 1), flt) == (date(2026, 2, 1), date(2026, 2, 28))
    assert overview.month_range(date(2026, 12, 1), OverviewFilter()) == (
        date(2026, 12, 1), date(2026, 12, 31))


# ------------------------------------------------- the lists agree with the figures


def test_the_date_added_filter_of_the_lists_counts_what_the_period_counts(db, world):
    manager = world.users["company_manager"]
    march = ListQuery(filters={"added": ("2026-03-01..2026-03-31",)})
    assert listing.count(manager, db, LEADS, march) == 2
    assert listing.count(manager, db, CONTACTS, march) == 2
    since = ListQuery(filters={"added": ("2026-02-15..",)})
    assert listing.count(manager, db, LEADS, since) == 3  # L2, L3, L5


def test_the_lead_source_filter_matches_the_source_figure(db, world):
    manager = world.users["company_manager"]
    web = str(world.sources["Website form"])
    assert listing.count(manager, db, LEADS, ListQuery(filters={"source": (web,)})) == 3
    assert listing.count(manager, db, LEADS, ListQuery(filters={"source": ("none",)})) == 3


def test_a_date_range_reads_as_words_in_the_lists_sentence():
    query = ListQuery(filters={"added": ("2026-03-01..2026-03-31",)})
    assert listing.describe(LEADS, query, 2) == "2 leads where added from 2026-03-01 to 2026-03-31"
    since = ListQuery(filters={"added": ("2026-03-01..",)})
    assert listing.describe(LEADS, since, 5) == "5 leads where added since 2026-03-01"


def test_an_unreadable_date_range_matches_nothing(db, world):
    query = ListQuery(filters={"added": ("2026-13-01..2026-03-31",)})
    assert listing.count(world.users["company_manager"], db, LEADS, query) == 0


def test_date_range_values_round_trip():
    assert list_filters.parse_date_range("2026-01-01..2026-03-31") == (date(2026, 1, 1),
                                                                  date(2026, 3, 31))
    assert list_filters.date_range_value(date(2026, 1, 1), None) == "2026-01-01.."
    for bad in ("2026-01-01", "..", "2026-03-31..2026-01-01", "soon..later"):
        with pytest.raises(ValueError):
            list_filters.parse_date_range(bad)


def test_on_postgresql_a_departments_figures_read_leads_and_contacts_from_an_index(
        db, world, monkeypatch):
    """At a million rows each figure read from the table is a scan of every whole record;
    the (department, date added) index carries what the figures group by (migration 14).
    With sequential scans ruled out, every read of leads or contacts in the Overview of a
    department must be an index-only scan: a column missing from the index would show as
    an index scan that visits the table."""
    if db.dialect != "postgres":
        pytest.skip("DuckDB reads only the columns a query names; it has no such index")
    from crm.storage import db as database

    statements: list[tuple[str, tuple]] = []
    run = database._PgSession._run

    def recording(self, sql, params):
        statements.append((sql, tuple(params)))
        return run(self, sql, params)

    monkeypatch.setattr(database._PgSession, "_run", recording)
    overview.figures(world.users["sales_east"], db, ALL)
    monkeypatch.undo()
    assert len(statements) >= 10
    misses = []
    with db.transaction() as tx:
        tx.execute("SET LOCAL enable_seqscan = off")
        tx.execute("SET LOCAL enable_bitmapscan = off")
        for sql, params in statements:
            plan = "\n".join(r["QUERY PLAN"] for r in tx.fetch_all(f"EXPLAIN {sql}", params))
            for line in plan.splitlines():
                if (" on leads " in line or " on contacts " in line) \
                        and "Index Only Scan" not in line:
                    misses.append(f"{line.strip()}\n  in: {sql[:160]}")
    assert misses == []
