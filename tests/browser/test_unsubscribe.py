"""In a real browser: a newsletter sent through a real SMTP server carries a personal link;
following it in Chromium (no sign-in) and confirming turns the person's status gray, which
the signed-in sales manager then sees."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm.access import Entity
from crm.mailing import campaigns, sending
from crm.mailing.recipients import Selection
from crm.records.leads import get_lead
from crm.storage.store import open_store
from tests.browser.conftest import serving, sign_in, wait_idle
from tests.mail_server import MailServer
from tests.mailing_fixtures import PUBLIC_URL, lead, mailing_world

pytestmark = pytest.mark.browser


@pytest.fixture
def sent(db, mail_env, monkeypatch):
    """Anna Adler (East) received a newsletter; the link from the message that arrived."""
    w = mailing_world(db)
    anna = lead(db, w, "Adler", "anna@adler.example", first_name="Anna")
    with MailServer() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        mailing = campaigns.create_mailing(w.users["sales_east"], db, Selection(Entity.LEAD),
                                           subject="Spring news", body="Hello {first_name}")
        sending.send_mailing(w.users["sales_east"], db, mailing)
        (message,) = [m for m in server.inbox.received if m.rcpt_tos == ["anna@adler.example"]]
    link = re.search(r"<(https://[^>]+)>", message.message["List-Unsubscribe"]).group(1)
    assert link in message.text()
    return w, anna, link


@pytest.fixture
def server(db, database_url, tmp_path, sent):
    with serving(database_url, tmp_path) as app:
        yield app


def test_following_the_link_and_confirming_turns_the_status_gray(page, server, sent,
                                                                 database_url):
    w, anna, link = sent
    # The message points at the public URL; the test server listens elsewhere.
    page.goto(link.replace(PUBLIC_URL, server.url))
    page.get_by_role("heading", name="Newsletter").wait_for()
    wait_idle(page)
    expect(page.get_by_text("a•••a@adler.example", exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name="Username")).to_have_count(0)  # no sign-in
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_text("You are unsubscribed.", exact=False).wait_for()
    wait_idle(page)
    expect(page.get_by_role("button", name="Subscribe again")).to_be_visible()

    page.context.clear_cookies()
    sign_in(page, server, "sales.east")
    page.wait_for_function("document.cookie.includes('crm_session=')")
    wait_idle(page)
    page.goto(f"{server.url}/leads?id={anna}")
    page.get_by_role("heading", name="Anna Adler").wait_for()
    wait_idle(page)
    expect(page.locator('[data-testid="stHtml"] span[title]').first).to_have_text(
        re.compile("Unsubscribed"))

    server.stop()
    db = open_store(database_url)
    assert get_lead(w.users["sales_east"], db, anna)["newsletter"] == "unsubscribed"
    assert db.fetch_one("SELECT event, source FROM subscription_events WHERE entity_id = ? "
                        "ORDER BY id DESC LIMIT 1", (anna,)) == {
        "event": "unsubscribed", "source": "unsubscribe link"}


def test_a_tampered_link_shows_a_neutral_message(page, server, sent, database_url):
    _, anna, link = sent
    tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
    page.goto(tampered.replace(PUBLIC_URL, server.url))
    page.get_by_text("This link is not valid.", exact=False).wait_for()
    expect(page.get_by_role("button", name="Unsubscribe")).to_have_count(0)
    server.stop()
    assert open_store(database_url).scalar(
        "SELECT newsletter_opt_in FROM leads WHERE id = ?", (anna,))
