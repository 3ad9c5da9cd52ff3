"""The Overview page through Streamlit's AppTest, and its charts' ways into the lists: every
bar opens a list whose count is the bar's, inside the user's scope.

The world is tests.worlds.overview, the one of tests/analysis/test_overview.py (East and West, leads
L1–L5, contacts C1–C3).
"""

from __future__ import annotations

import io
import json
from datetime import date

import openpyxl
import pytest

from crm.access import Entity
from crm.analysis import overview
from crm.analysis.overview import OverviewFilter
from crm.analysis.segments import spec_of
from crm.lists import listing
from crm.records.newsletter import LOOKS, NewsletterStatus
from crm.ui import charts
from crm.ui import overview as panels
from crm.ui.list_links import ListLink
from tests import worlds
from tests.conftest import shown
from tests.pages import metrics, open_leads, sentence, sign_in


@pytest.fixture
def world(db, app_env):
    return worlds.overview(db)


def links(at) -> dict[str, list[str]]:
    """Each plain link beside a chart: its words and the list URL it opens."""
    found: dict[str, list[str]] = {}
    for link in at.get("page_link"):
        target = link.proto.page + (f"?{link.proto.query_string}" if link.proto.query_string
                                    else "")
        found.setdefault(link.proto.label, []).append(target)
    return found


def chart_specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def count_of(user, db, link: ListLink) -> int:
    return listing.count(user, db, spec_of(link.entity),
                         listing.ListQuery(filters=link.filters, search=link.search))


# ----------------------------------------------------------------------- the page


def test_a_sales_manager_sees_their_departments_figures(world):
    at = sign_in("sales.east")
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    assert metrics(at) == {"Leads": "4", "Open leads": "2", "Contacts": "4", "Companies": "1",
                           "VIP share of contacts": "25.0%", "VIP share of leads": "25.0%"}
    assert shown(at.caption[0].value).startswith("The East department, all time.")
    assert not at.sidebar.multiselect  # one department: nothing to choose
    assert "Department: East" in [c.value for c in at.sidebar.caption]


def test_every_chart_has_a_caption_a_download_and_a_way_into_the_list(world):
    at = sign_in("company.manager")
    titles = [m.value.strip("*") for m in at.markdown if m.value.startswith("**")]
    assert titles == [
        "Leads and contacts added per month", "Conversion rate per month",
        "Newsletter status of contacts by department", "Unsubscribes of contacts per month",
        "Newsletter status of contacts by assigned manager", "Leads by status",
        "Leads by source", "Leads by country", "VIP share by department"]
    assert len(at.get("vega_lite_chart")) == 9
    assert [b.proto.label for b in at.get("download_button")] == ["Data (.xlsx)"] * 9
    assert links(at) == {
        "Open in the lead list": ["leads"] * 5,
        "Open in the contact list": ["contacts"] * 3,
        "Open the unsubscribed in the contact list": ["contacts?newsletter=unsubscribed"],
        "Open the VIPs in the contact list": ["contacts?vip=yes"],
        "Open the VIPs in the lead list": ["leads?vip=yes"],
    }


def test_newsletter_charts_use_the_three_status_colours(world):
    at = sign_in("company.manager")
    colours = [LOOKS[s].colour for s in NewsletterStatus]
    status_charts = [spec for spec in chart_specs(at)
                     if spec.get("encoding", {}).get("color", {}).get("field") == "status_label"]
    assert len(status_charts) == 2
    for spec in status_charts:
        assert spec["encoding"]["color"]["scale"]["range"] == colours
        assert spec["encoding"]["color"]["scale"]["domain"] == [
            LOOKS[s].label for s in NewsletterStatus]


def test_choosing_a_department_narrows_every_figure_and_every_link(world):
    at = sign_in("company.manager")
    at.sidebar.multiselect(key="overview_departments").select(world.west).run()
    assert not at.exception
    assert metrics(at)["Leads"] == "3" and metrics(at)["Contacts"] == "3"
    assert shown(at.caption[0].value).startswith("West, all time.")
    assert links(at)["Open in the contact list"] == [f"contacts?department={world.west}"] * 3


def test_a_custom_period_counts_records_added_in_it_and_opens_lists_with_date_added(world):
    at = sign_in("company.manager")
    at.sidebar.selectbox(key="overview_period").select("custom").run()
    at.sidebar.date_input(key="overview_range").set_value(
        (date(2026, 2, 1), date(2026, 2, 28))).run()
    assert not at.exception
    assert metrics(at)["Leads"] == "3" and metrics(at)["Contacts"] == "1"
    assert shown(at.caption[0].value).startswith(
        "All departments, added from 2026-02-01 to 2026-02-28.")
    assert links(at)["Open in the lead list"][0] == "leads?added=2026-02-01..2026-02-28"
    # Unsubscribed today, whenever they left: the period is not a filter of that link.
    assert links(at)["Open the unsubscribed in the contact list"] == [
        "contacts?newsletter=unsubscribed"]


def test_the_newsletter_charts_switch_to_leads(world):
    at = sign_in("company.manager")
    at.radio(key="overview_newsletter_entity").set_value(Entity.LEAD).run()
    assert not at.exception
    titles = [m.value.strip("*") for m in at.markdown if m.value.startswith("**")]
    assert "Newsletter status of leads by assigned manager" in titles
    assert "Unsubscribes of leads per month" in titles


def test_an_empty_period_says_there_is_nothing_to_count(world):
    at = sign_in("company.manager")
    at.sidebar.selectbox(key="overview_period").select("custom").run()
    at.sidebar.date_input(key="overview_range").set_value(
        (date(2020, 1, 1), date(2020, 1, 31))).run()
    assert not at.exception
    assert metrics(at)["Leads"] == "0"
    assert len(at.info) == 9
    assert not at.get("vega_lite_chart")


# ------------------------------------------------------------- click-through, as data


def bars(frame, *columns):
    return frame[list(columns)].itertuples(index=False)


def test_every_manager_bar_opens_a_list_with_that_bars_count(db, world):
    for user in (world.users["company_manager"], world.users["sales_east"]):
        figures = overview.figures(user, db, OverviewFilter())
        panel = panels.by_manager_panel(figures)
        for value, status, people in bars(panel.sheet, "value", "status", "people"):
            target = panel.click({"value": value, "status": status})
            assert target.entity is Entity.CONTACT
            assert count_of(user, db, target) == people, (user.username, value, status)


def test_a_red_bar_of_a_manager_opens_their_red_contacts(db, world):
    manager = world.users["company_manager"]
    panel = panels.by_manager_panel(overview.figures(manager, db, OverviewFilter()))
    target = panel.click({"value": str(world.users["sales_east"].id), "status": "not_mailed"})
    assert target.params == {"manager": str(world.users["sales_east"].id),
                             "newsletter": "not_mailed"}
    assert target.page == "pages/workspace/contacts.py"


def test_department_source_country_status_and_vip_bars_open_lists_with_their_counts(db, world):
    manager = world.users["company_manager"]
    flt = OverviewFilter(start=date(2026, 2, 1), end=date(2026, 3, 31))
    figures = overview.figures(manager, db, flt)
    department = panels.by_department_panel(figures)
    for value, status, people in bars(department.sheet, "value", "status", "people"):
        assert count_of(manager, db, department.click({"value": value, "status": status})) == (
            people)
    source = panels.lead_source_panel(figures)
    for value, leads in bars(source.sheet, "value", "leads"):
        assert count_of(manager, db, source.click({"value": value})) == leads
    country = panels.lead_country_panel(figures)
    for value, leads in bars(country.sheet, "value", "leads"):
        assert count_of(manager, db, country.click({"value": value})) == leads
    status = panels.lead_status_panel(figures)
    for value, leads in bars(status.sheet, "value", "leads"):
        assert count_of(manager, db, status.click({"value": value})) == leads
    vip = panels.vip_panel(figures)
    for value, entity, people_vip in bars(vip.sheet, "value", "entity", "vip"):
        assert count_of(manager, db, vip.click({"value": value, "entity": entity})) == (
            people_vip)


def test_a_months_bar_opens_the_records_added_that_month(db, world):
    manager = world.users["company_manager"]
    flt = OverviewFilter(start=date(2026, 2, 15), end=date(2026, 3, 31))
    panel = panels.added_panel(overview.figures(manager, db, flt))
    target = panel.click({"month_key": "2026-02", "entity": "lead"})
    assert target.filters == {"added": ("2026-02-15..2026-02-28",)}
    assert count_of(manager, db, target) == 1  # L2
    for month_key, entity, added in bars(panel.sheet, "month_key", "entity", "added"):
        link = panel.click({"month_key": month_key, "entity": entity})
        assert count_of(manager, db, link) == added
    conversion = panels.conversion_panel(overview.figures(manager, db, OverviewFilter()))
    assert count_of(manager, db, conversion.click({"month_key": "2026-02"})) == 3


def test_a_click_beside_the_bars_opens_nothing(db, world):
    panel = panels.by_manager_panel(overview.figures(world.users["company_manager"], db,
                                                     OverviewFilter()))
    assert charts._picked(panel, {"selection": {"pick": {}}}) is None
    assert charts._picked(panel, {"selection": {"pick": [{"status": "receiving"}]}}) is None


def test_a_charts_sheet_holds_its_numbers(db, world):
    figures = overview.figures(world.users["company_manager"], db, OverviewFilter())
    sheet = openpyxl.load_workbook(io.BytesIO(charts.sheet_bytes(
        panels.conversion_panel(figures))), read_only=True).active
    header, *rows = sheet.iter_rows(values_only=True)
    assert header == ("Month", "Leads added", "Converted since", "Conversion rate")
    assert [(r[0].date(), r[1], r[2], round(r[3], 4)) for r in rows] == [
        (date(2026, 1, 1), 2, 0, 0), (date(2026, 2, 1), 3, 2, 0.6667),
        (date(2026, 3, 1), 2, 0, 0)]
    status = openpyxl.load_workbook(io.BytesIO(charts.sheet_bytes(
        panels.by_department_panel(figures))), read_only=True).active
    header, first, *_ = status.iter_rows(values_only=True)
    assert header == ("Department", "Newsletter status", "Contacts")
    assert first == ("East", "Subscribed, not mailed yet", 1)


# ------------------------------------------------------- the lists' Date added filter


def test_a_list_opened_with_a_period_shows_it_in_its_date_picker_and_sentence(world):
    at = open_leads("company.manager", added="2026-03-01..2026-03-31")
    assert sentence(at) == "2 leads where added from 2026-03-01 to 2026-03-31"
    picker = next(d for d in at.sidebar.date_input if d.label == "Date added")
    assert picker.value == (date(2026, 3, 1), date(2026, 3, 31))

    picker.set_value((date(2026, 2, 1), date(2026, 3, 31))).run()
    assert not at.exception
    assert sentence(at) == "5 leads where added from 2026-02-01 to 2026-03-31"
    assert at.query_params["added"] == "2026-02-01..2026-03-31"

    at.button(key="lead_clear").click().run()
    assert sentence(at) == "7 leads"
    assert next(d for d in at.sidebar.date_input if d.label == "Date added").value == ()


def test_an_unreadable_period_in_the_url_is_dropped(world):
    at = open_leads("company.manager", added="last-tuesday")
    assert sentence(at) == "7 leads"


def test_every_panels_chart_is_a_valid_vega_lite_spec(db, world):
    """The page skips Altair's check as charts are made (it cost more than drawing them):
    here every panel's whole spec is checked against the Vega-Lite schema instead."""
    builders = (panels.added_panel, panels.conversion_panel, panels.by_department_panel,
                panels.unsubscribes_panel, panels.by_manager_panel, panels.lead_status_panel,
                panels.lead_source_panel, panels.lead_country_panel, panels.vip_panel)
    for user in (world.users["company_manager"], world.users["sales_east"]):
        figures = overview.figures(user, db, OverviewFilter())
        for build in builders:
            panel = build(figures)
            assert panel.chart is not None, build.__name__
            spec = panel.chart.to_dict(validate=True)  # raises on an invalid spec
            assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_cached_figures_are_shared_by_scope_and_never_cross_it(world):
    """The Overview's figures are cached per scope: each user still sees only their own."""
    east = metrics(sign_in("sales.east"))
    west = metrics(sign_in("sales.west"))
    company = metrics(sign_in("company.manager"))
    assert east != west and company not in (east, west)
    assert metrics(sign_in("sales.east")) == east
