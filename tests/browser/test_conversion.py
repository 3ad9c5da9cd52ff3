"""In a real browser: a sales manager converts a lead through the Convert dialog, choosing
the existing company it matches, then opens the new contact and finds the same newsletter
status the lead had."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect

from crm.access import Entity
from crm.storage import search
from crm.storage.store import open_store
from tests import factories
from tests.browser.conftest import serving, sign_in, wait_idle
from tests.factories import company

pytestmark = pytest.mark.browser

RECEIVING = "Receiving newsletters"


def status_badge(page):
    """The newsletter badge under the record's name (the Newsletter tab repeats it)."""
    return page.get_by_text(RECEIVING, exact=True).first


@pytest.fixture
def records(db):
    """Anna Berg of Nordlicht (DE), subscribed and mailed once; a Nordlicht GmbH exists in
    Austria, so the dialog offers both a new company and the existing one."""
    w = factories.world(db)
    existing = company(db, "Nordlicht GmbH", w.east, country_code="AT")
    lead_id = factories.lead(db, "Berg", w.east, w.users["sales_east"], first_name="Anna",
                             email="anna@nordlicht.example", company_name="Nordlicht",
                             country_code="DE", last_mailed_at=datetime(2026, 1, 10, 8, 0))
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    return {"lead": lead_id, "company": existing}


@pytest.fixture
def server(db, database_url, tmp_path, records):
    with serving(database_url, tmp_path) as app:
        yield app


def test_a_lead_converted_into_an_existing_company_keeps_its_newsletter_status(
        page, server, records, database_url):
    sign_in(page, server, "sales.east")
    page.wait_for_function("document.cookie.includes('crm_session=')")
    wait_idle(page)
    page.goto(f"{server.url}/leads?id={records['lead']}")
    page.get_by_role("heading", name="Anna Berg").wait_for()
    wait_idle(page)
    expect(status_badge(page)).to_be_visible()

    page.get_by_role("button", name="Convert", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Create a new company: Nordlicht (Germany)", exact=True).wait_for()
    existing = f"Link to Nordlicht GmbH (ID {records['company']}, Austria): same name"
    dialog.get_by_text(existing, exact=True).click()
    wait_idle(page)
    expect(dialog.get_by_role("radio", name=existing)).to_be_checked()
    dialog.get_by_role("button", name="Convert lead").click()
    page.get_by_text("Lead converted into a new contact at an existing company.").wait_for()
    wait_idle(page)
    expect(page.get_by_text("This lead was converted on", exact=False)).to_be_visible()
    assert page.get_by_role("button", name="Convert", exact=True).count() == 0

    page.get_by_role("link", name="Open the contact").click()
    page.get_by_role("link", name="Back to contacts").wait_for()
    page.get_by_role("heading", name="Anna Berg").wait_for()
    wait_idle(page)
    expect(status_badge(page)).to_be_visible()
    expect(page.get_by_role("link", name="Open Nordlicht GmbH")).to_be_visible()

    server.stop()  # DuckDB: the server process holds the file
    db = open_store(database_url)
    lead = db.fetch_one("SELECT company_id, contact_id FROM leads WHERE id = ?",
                        (records["lead"],))
    assert lead["company_id"] == records["company"]
    assert db.scalar("SELECT company_id FROM contacts WHERE id = ?", (lead["contact_id"],)) \
        == records["company"]
