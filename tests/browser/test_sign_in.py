"""In a real browser: sign in through the form, the cookie keeps the session across a reload,
sign out ends it, and a page of another role cannot be reached."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import sign_in, wait_idle

pytestmark = pytest.mark.browser


def test_the_cookie_keeps_the_session_across_a_reload_until_sign_out(page, server):
    sign_in(page, server, "sales.east")
    # The cookie is written by a script drawn once after sign-in.
    page.wait_for_function("document.cookie.includes('crm_session=')")
    cookie = next(c for c in page.context.cookies() if c["name"] == "crm_session")
    assert cookie["sameSite"] == "Strict"

    page.reload()
    page.get_by_role("heading", name="Overview").wait_for()
    wait_idle(page)
    assert page.get_by_role("textbox", name="Username").count() == 0

    page.get_by_role("button", name="Sign out").click()
    # While the rerun draws the form afresh, the previous run's form can linger as a stale
    # element for a moment: wait for the one form of the finished run.
    expect(page.get_by_role("textbox", name="Username")).to_have_count(1)
    wait_idle(page)
    page.reload()
    expect(page.get_by_role("textbox", name="Username")).to_have_count(1)
    wait_idle(page)
    assert page.get_by_role("heading", name="Overview").count() == 0


def test_a_signed_out_sessions_cookie_no_longer_signs_in(page, server):
    """Even if the browser kept the cookie (its deletion is done by a script in the page that
    a quick reload can outrun), the server refuses the session that signed out."""
    sign_in(page, server, "sales.east")
    page.wait_for_function("document.cookie.includes('crm_session=')")
    kept = next(c for c in page.context.cookies() if c["name"] == "crm_session")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("textbox", name="Username")).to_have_count(1)
    wait_idle(page)
    page.context.add_cookies([kept])  # as if the deletion had never reached the browser
    page.reload()
    expect(page.get_by_role("textbox", name="Username")).to_have_count(1)
    wait_idle(page)
    assert page.get_by_role("heading", name="Overview").count() == 0


def test_a_sales_manager_cannot_reach_the_admin_page(page, server):
    sign_in(page, server, "sales.east")
    page.goto(f"{server.url}/admin")
    wait_idle(page)
    page.get_by_role("heading", name="Overview").wait_for()
    assert page.get_by_role("heading", name="Users & departments").count() == 0
    assert page.get_by_role("link", name="Users & departments").count() == 0


def test_an_admin_reaches_the_admin_page(page, server):
    sign_in(page, server, "admin")
    page.get_by_role("link", name="Users & departments").click()
    page.get_by_role("heading", name="Users & departments").wait_for()
    page.goto(f"{server.url}/admin")
    page.get_by_role("heading", name="Users & departments").wait_for()


def test_every_page_opens_from_its_own_address_typed_by_hand(page, server):
    """`/overview` is the default page's own address: it opens the Overview, not a "Page not
    found" message, before sign-in (kept through the form) and after."""
    page.goto(f"{server.url}/overview")
    page.get_by_role("textbox", name="Username").fill("sales.east")
    page.get_by_label("Password", exact=True).fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").first.wait_for()
    wait_idle(page)
    for path, heading in (("overview", "Overview"), ("leads", "Leads"), ("", "Overview")):
        page.goto(f"{server.url}/{path}")
        page.get_by_role("heading", name=heading).first.wait_for()
        wait_idle(page)
        expect(page.get_by_text("Page not found", exact=False)).to_have_count(0)


def test_a_crafted_list_address_shows_the_list_and_says_what_it_left_out(page, server):
    sign_in(page, server, "sales.east")
    page.goto(f"{server.url}/leads?q=a&page=1000000000000000000&sort=password&size=-5")
    page.get_by_text("Not used from this page's address:", exact=False).wait_for()
    wait_idle(page)
    notice = page.get_by_text("Not used from this page's address:", exact=False).inner_text()
    for words in ("sort “password”", "size “-5”", "page 1000000000000000000"):
        assert words in notice
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    expect(page.get_by_text("SELECT", exact=False)).to_have_count(0)
