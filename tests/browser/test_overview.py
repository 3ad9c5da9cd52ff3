"""In a real browser: the overview's charts open the matching list. A company manager clicks
the red part of a manager's bar and lands on that manager's red contacts, with the bar's
count; a sales manager follows the plain link beside a chart; a lead source bar opens the
leads of that source.

The world is tests.worlds.overview, the one of tests/analysis/test_overview.py (East and West, leads
L1–L5, contacts C1–C3).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import worlds
from tests.browser.conftest import address_ends_with, sentence, serving, sign_in, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture
def overview_world(db):
    return worlds.overview(db)


@pytest.fixture
def server(db, database_url, tmp_path, overview_world):
    with serving(database_url, tmp_path) as app:
        yield app


def open_overview(page, server, username: str) -> None:
    sign_in(page, server, username)
    # The session cookie is written by a script drawn after sign-in: wait until it is kept.
    page.wait_for_function("document.cookie.includes('crm_session=')")
    # The charts' renderer is loaded on first use: wait until every chart has drawn.
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.first.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stVegaLiteChart]')]"
        ".every(chart => chart.querySelector('svg'))")
    wait_idle(page)


def bar(page, words: str):
    """The chart bar whose accessible description is `words` ("Sales.East, Unsubscribed: 1")."""
    return page.locator(f'[data-testid="stVegaLiteChart"] path[aria-label="{words}"]')


def test_clicking_a_managers_red_bar_opens_their_red_contacts(page, server, overview_world):
    open_overview(page, server, "company.manager")
    bar(page, "Sales.West, Receiving newsletters: 1").wait_for()
    # Sales.East's contacts: Eastone red, C1 turquoise, C2 gray.
    bar(page, "Sales.East, Subscribed, not mailed yet: 1").click()
    page.get_by_role("heading", name="Contacts").wait_for()
    sentence(page, "1 contact where assigned manager is Sales.East and newsletter is "
                   "Subscribed, not mailed yet")
    manager = overview_world.users["sales_east"].id
    address_ends_with(page, f"/contacts?manager={manager}&newsletter=not_mailed")
    expect(page.locator('[data-testid="stDataFrame"] [role="gridcell"]',
                        has_text="Test Eastone")).to_have_count(1)


def test_a_lead_source_bar_opens_the_leads_of_that_source(page, server, overview_world):
    open_overview(page, server, "company.manager")
    bar(page, "Website form: 3").click()
    page.get_by_role("heading", name="Leads").wait_for()
    sentence(page, "3 leads where lead source is Website form")


def test_the_link_beside_a_chart_opens_the_list_without_a_chart_click(page, server):
    open_overview(page, server, "sales.east")
    page.get_by_role("link", name="Open the VIPs in the contact list").click()
    page.get_by_role("heading", name="Contacts").wait_for()
    sentence(page, "1 contact where VIP")  # C1; the West's VIP is not in the scope
