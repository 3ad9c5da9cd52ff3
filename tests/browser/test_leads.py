"""In a real browser: a sales manager filters and searches the lead list, ticks two rows in the
grid, sets VIP on exactly those two and downloads them as an Excel file."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import openpyxl
import pytest
from playwright.sync_api import expect

from crm.access import Entity
from crm.storage import search
from crm.storage.store import open_store
from crm.ui.grid import HINT
from tests import factories
from tests.browser.conftest import address_ends_with, sentence, serving, sign_in, wait_idle

pytestmark = pytest.mark.browser

HEADER_HEIGHT = 36  # the grid's header row (the grid's 1 px border included)
ROW_HEIGHT = 35
CHECKBOX_X = 20  # the middle of the 40 px checkbox column


@pytest.fixture
def leads(db):
    """Three Gretas in Germany in the East (added Fischer first, Ahrens last), and leads that
    the country filter, the search or the department leave out."""
    w = factories.world(db)
    base = datetime(2026, 3, 1, 9, 0)
    specs = [
        # last name, first name, department, country
        ("Ahrens", "Greta", w.east, "DE"),
        ("Brandt", "Greta", w.east, "DE"),
        ("Fischer", "Greta", w.east, "DE"),
        ("Dietz", "Greta", w.east, "FR"),
        ("Claassen", "Hanna", w.east, "DE"),
        ("Wolff", "Greta", w.west, "DE"),
    ]
    ids = {}
    for n, (last, first, department, country) in enumerate(specs):
        stamp = base - timedelta(days=n)
        ids[last] = factories.lead(
            db, last, department, w.users["sales_east" if department == w.east else "sales_west"],
            first_name=first, country_code=country, email=f"{first}.{last}@example.com".lower(),
            company_name="Nordlicht GmbH", created_at=stamp, updated_at=stamp)
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    return ids


@pytest.fixture
def server(db, database_url, tmp_path, leads):
    with serving(database_url, tmp_path) as app:
        yield app


def pick(page, label: str, option: str, *, multiple: bool = False) -> None:
    """Choose `option` in the selectbox (or multiselect) labelled `label`."""
    box = page.get_by_role("combobox", name=label, exact=True)
    # Scrolled to first: a click that scrolls the sidebar only focuses the box.
    box.scroll_into_view_if_needed()
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    if multiple:  # a multiselect stays open for more choices, hiding the rest of the page
        page.keyboard.press("Escape")
    page.get_by_role("listbox").wait_for(state="detached")
    wait_idle(page)


def tick_row(page, row: int) -> None:
    """Click the checkbox of grid row `row` (1-based): the grid is drawn on a canvas."""
    box = page.locator('[data-testid="stDataFrame"]').bounding_box()
    page.mouse.click(box["x"] + CHECKBOX_X,
                     box["y"] + HEADER_HEIGHT + ROW_HEIGHT * (row - 1) + ROW_HEIGHT / 2)


def gretas(page):
    """The grid's cells naming a Greta (the grid keeps an accessible table beside its canvas)."""
    return page.locator('[data-testid="stDataFrame"] [role="gridcell"]',
                        has_text=re.compile(r"^Greta "))


def open_leads(page, server) -> None:
    sign_in(page, server, "sales.east")
    # The session cookie is written by a script drawn after sign-in: wait until it is kept.
    page.wait_for_function("document.cookie.includes('crm_session=')")
    wait_idle(page)
    page.get_by_role("link", name="Leads").click()
    page.get_by_role("heading", name="Leads").wait_for()
    sentence(page, "6 leads")


def vip_leads(database_url: str) -> set[str]:
    db = open_store(database_url)
    return {r["last_name"] for r in db.fetch_all("SELECT last_name FROM leads WHERE vip")}


def test_a_sales_manager_sets_vip_on_two_checked_leads_and_exports_them(
        page, server, database_url, tmp_path):
    open_leads(page, server)
    pick(page, "Country", "Germany (4)", multiple=True)
    sentence(page, "4 leads where country is Germany")
    page.get_by_role("textbox", name="Search").fill("greta")
    page.get_by_role("textbox", name="Search").press("Enter")
    sentence(page, "3 leads where country is Germany, matching “greta”")
    pick(page, "Sort by", "Name")
    page.get_by_text("Descending", exact=True).click()  # the switch sits under its label
    wait_idle(page)
    greta_rows = ["Greta Ahrens", "Greta Brandt", "Greta Fischer"]
    expect(gretas(page)).to_have_text(greta_rows)
    address_ends_with(page, "/leads?q=greta&sort=name&dir=asc&country=DE")

    tick_row(page, 1)
    page.get_by_text("1 checked", exact=True).wait_for()
    tick_row(page, 2)
    page.get_by_text("2 checked", exact=True).wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Set VIP: 2 leads").click()
    page.get_by_text("Set VIP on 2 leads.").wait_for()
    wait_idle(page)

    expect(gretas(page)).to_have_text(greta_rows)  # the filters still hold
    tick_row(page, 1)
    page.get_by_text("1 checked", exact=True).wait_for()
    tick_row(page, 2)
    page.get_by_text("2 checked", exact=True).wait_for()
    wait_idle(page)
    pick(page, "Action", "Export to Excel")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download 2 leads").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)

    assert saved.suffix == ".xlsx"
    header, *rows = openpyxl.load_workbook(saved, read_only=True).active.iter_rows(
        values_only=True)
    assert header[:3] == ("ID", "Name", "Email")
    name, email, vip = header.index("Name"), header.index("Email"), header.index("VIP")
    assert [(r[name], r[email], r[vip]) for r in rows] == [
        ("Greta Ahrens", "greta.ahrens@example.com", "Yes"),
        ("Greta Brandt", "greta.brandt@example.com", "Yes"),
    ]
    server.stop()  # DuckDB: the server process holds the file
    assert vip_leads(database_url) == {"Ahrens", "Brandt"}


def test_ticking_a_row_keeps_all_matching_chosen(page, server, database_url):
    open_leads(page, server)
    page.get_by_text("All matching rows", exact=True).click()
    page.get_by_role("button", name="Set VIP: 6 leads").wait_for()
    wait_idle(page)

    tick_row(page, 1)
    page.get_by_text("1 checked", exact=True).wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Set VIP: 6 leads").click()
    page.get_by_text("Set VIP on 6 leads.").wait_for()
    server.stop()
    assert vip_leads(database_url) == {"Eastlead", "Ahrens", "Brandt", "Fischer", "Dietz",
                                       "Claassen"}


def test_clear_filters_works_on_the_first_click_while_a_filter_box_has_focus(page, server):
    """A focused filter box is taller than an idle one: a button below it moved away under
    the pointer when the box lost focus, and the click was lost. It sits above them now."""
    open_leads(page, server)
    expect(page.get_by_role("button", name="Clear filters")).to_be_disabled()
    pick(page, "Country", "Germany (4)", multiple=True)
    sentence(page, "4 leads where country is Germany")
    expect(page.get_by_role("combobox", name="Country", exact=True)).to_be_focused()

    page.get_by_role("button", name="Clear filters").click()
    sentence(page, "6 leads")
    expect(page.get_by_role("button", name="Clear filters")).to_be_disabled()


def test_coming_back_to_leads_starts_from_the_default_view(page, server):
    open_leads(page, server)
    pick(page, "Country", "Germany (4)", multiple=True)
    pick(page, "Sort by", "Name")
    sentence(page, "4 leads where country is Germany")

    page.get_by_role("link", name="Overview").click()
    page.get_by_role("heading", name="Overview").wait_for()
    wait_idle(page)
    page.get_by_role("link", name="Leads").click()
    sentence(page, "6 leads")
    expect(page.get_by_role("combobox", name="Sort by")).to_have_value("Date added")
    expect(page.get_by_role("switch", name="Descending")).to_be_checked()
    expect(page.get_by_role("combobox", name="Rows per page")).to_have_value("50")


def test_a_shared_link_to_a_filtered_list_opens_it_after_sign_in(page, server):
    """A colleague's bookmark, opened signed out on a server that has just started: the
    sign-in form, no "Page not found", and after sign-in that very view."""
    page.goto(f"{server.url}/leads?q=greta&sort=name&dir=asc&country=DE")
    page.get_by_role("textbox", name="Username").wait_for()
    wait_idle(page)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.get_by_role("textbox", name="Username").fill("sales.east")
    page.get_by_label("Password", exact=True).fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Leads").wait_for()
    sentence(page, "3 leads where country is Germany, matching “greta”")
    expect(gretas(page)).to_have_text(["Greta Ahrens", "Greta Brandt", "Greta Fischer"])
    address_ends_with(page, "/leads?q=greta&sort=name&dir=asc&country=DE")


def test_a_click_on_a_column_header_points_to_sort_by_and_sorts_nothing(page, server):
    """The grid holds one page, so its headers do not sort (that would sort one page): a
    click on one says where the whole list is sorted and outlines that control."""
    open_leads(page, server)
    newest_first = ["Greta Ahrens", "Greta Brandt", "Greta Fischer", "Greta Dietz"]
    expect(gretas(page)).to_have_text(newest_first)
    box = page.locator('[data-testid="stDataFrame"]').bounding_box()
    name_header_x = 40 + 75 + 36 + 100  # tick, ID, newsletter icon, then Name's middle
    page.mouse.click(box["x"] + name_header_x, box["y"] + HEADER_HEIGHT / 2)
    hint = page.locator("#crm-sort-hint")
    expect(hint).to_be_visible()
    expect(hint).to_have_text(HINT)
    expect(page.locator(".st-key-lead_sort")).to_have_class(re.compile(r"\bcrm-sort-pointed\b"))
    wait_idle(page)
    expect(gretas(page)).to_have_text(newest_first)  # nothing was sorted
    address_ends_with(page, "/leads")
    # The note goes away by itself, 4 s after the click (a timer in the page, not a run of
    # the app): the short bound is the assertion, "by itself, within seconds".
    expect(hint).to_be_hidden(timeout=10_000)
    expect(page.locator(".st-key-lead_sort")).not_to_have_class(
        re.compile(r"\bcrm-sort-pointed\b"))
