"""In real browsers: one user signing in from five browsers at the same moment, and a sign-out
on one app server ending the session on another server of the same PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from crm.storage.store import close_store
from tests import factories
from tests.browser.conftest import AppServer, new_context, serving, wait_idle

pytestmark = pytest.mark.browser

BROWSERS = 5


@pytest.fixture
def world(db):
    return factories.world(db)


@pytest.fixture
def server(db, database_url, tmp_path, world):
    with serving(database_url, tmp_path) as app:
        yield app


@pytest.fixture
def tabs(browser) -> Iterator[list]:
    """Browsers of their own (own cookies, own sessions), as five devices would be."""
    contexts = [new_context(browser) for _ in range(BROWSERS)]
    pages = [context.new_page() for context in contexts]
    yield pages
    for context in contexts:
        context.close()


def fill_sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_label("Password", exact=True).fill(factories.PASSWORD)
    wait_idle(page)


def test_five_browsers_signing_in_as_one_user_at_once_all_get_in(server, tabs):
    for page in tabs:
        fill_sign_in(page, server.url, "sales.east")
    for page in tabs:  # as close together as one driver can click: no waiting in between
        page.get_by_role("button", name="Sign in").click(no_wait_after=True)
    for page in tabs:
        page.get_by_role("heading", name="Overview").first.wait_for()
        wait_idle(page)
        expect(page.get_by_text("Signed in as")).to_be_visible()


def test_a_sign_out_on_one_server_ends_the_session_on_the_other(
        backend, db, database_url, tmp_path, world, page):
    if backend != "postgres":
        pytest.skip("two app servers share one database only on PostgreSQL")
    close_store(database_url)
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    first = AppServer(database_url, tmp_path / "first")
    second = AppServer(database_url, tmp_path / "second")
    try:
        fill_sign_in(page, first.url, "sales.east")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Overview").first.wait_for()
        page.wait_for_function("document.cookie.includes('crm_session=')")
        wait_idle(page)
        # The same browser on the other server: its cookie signs it in there too.
        other = page.context.new_page()
        other.goto(second.url)
        other.get_by_role("heading", name="Overview").first.wait_for()
        wait_idle(other)
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="Sign in").wait_for()
        wait_idle(page)
        # The other server learns it at its next interaction, without a reload.
        other.get_by_role("link", name="Leads").click()
        other.get_by_text("You have been signed out.").wait_for()
        expect(other.get_by_role("button", name="Sign in")).to_be_visible()
        other.reload()
        other.get_by_role("button", name="Sign in").wait_for()
        expect(other.get_by_text("Signed in as")).to_have_count(0)
    finally:
        first.stop()
        second.stop()
