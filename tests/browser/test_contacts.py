"""In a real browser: an operator filters the contact list by company industry and by tag in
the sidebar and exports; the Excel file holds only the operator's own contacts among those
matching, never a colleague's nor another department's."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import openpyxl
import pytest
from playwright.sync_api import expect

from crm.access import Entity
from crm.identity.roles import Role
from crm.storage import search
from tests import factories
from tests.browser.conftest import sentence, serving, wait_idle

pytestmark = pytest.mark.browser

OPERATOR = "olga.operator"


@pytest.fixture
def contacts(db):
    """East: Olga (operator) owns Adler, Brandt (Nordlicht, Logistics, tagged "Fair 2026"),
    Dietz (Nordlicht, untagged) and Eggers (Eastwind, Machinery, tagged); her colleague
    sales.east owns Claassen (Nordlicht, tagged). West: Wolff (Westbrook, Logistics, tagged).
    Industry Logistics and tag "Fair 2026" match Adler, Brandt and Claassen for Olga."""
    w = factories.world(db)
    olga = factories.user(db, OPERATOR, Role.OPERATOR, w.east, "Olga Operator")
    colleague = w.users["sales_east"]
    w.companies["nordlicht"] = factories.company(db, "Nordlicht GmbH", w.east, colleague)
    industry = {name: db.scalar("SELECT id FROM industries WHERE name = ?", (name,))
                for name in ("Logistics", "Machinery")}
    fair = db.scalar("INSERT INTO tags (name) VALUES ('Fair 2026') RETURNING id")
    db.scalar("INSERT INTO tags (name) VALUES ('Webinar') RETURNING id")
    base = datetime(2026, 3, 1, 9, 0)
    specs = [
        # last name, company, department, owner, tagged
        ("Adler", "nordlicht", w.east, olga, True),
        ("Brandt", "nordlicht", w.east, olga, True),
        ("Claassen", "nordlicht", w.east, colleague, True),
        ("Dietz", "nordlicht", w.east, olga, False),
        ("Eggers", "east", w.east, olga, True),
        ("Wolff", "west", w.west, w.users["sales_west"], True),
    ]
    ids = {}
    with db.transaction() as tx:
        for company, name in (("nordlicht", "Logistics"), ("east", "Machinery"),
                              ("west", "Logistics")):
            tx.execute("INSERT INTO company_industries (company_id, industry_id) VALUES (?, ?)",
                       (w.companies[company], industry[name]))
    for n, (last, company, department, owner, tagged) in enumerate(specs):
        stamp = base + timedelta(days=n)
        ids[last] = factories.contact(
            db, last, w.companies[company], department, owner, first_name="Greta",
            email=f"greta.{last.lower()}@example.com", created_at=stamp, updated_at=stamp)
        if tagged:
            db.execute("INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)",
                       (ids[last], fair))
    with db.transaction() as tx:
        search.refresh(tx, Entity.CONTACT)
    return ids


@pytest.fixture
def server(db, database_url, tmp_path, contacts):
    with serving(database_url, tmp_path) as app:
        yield app


def heading(page, name: str) -> None:
    """Wait for the page heading `name` (while a page is redrawn, the old copy may linger)."""
    page.get_by_role("heading", name=name).first.wait_for()
    wait_idle(page)


def open_contacts(page, server) -> None:
    page.goto(server.url)
    page.get_by_role("textbox", name="Username").fill(OPERATOR)
    page.get_by_label("Password", exact=True).fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    heading(page, "Overview")
    page.get_by_role("link", name="Contacts").click()
    heading(page, "Contacts")
    # Olga sees her department's seven contacts (Eastone and Easttwo of the shared world too).
    sentence(page, "7 contacts")


def choose(page, label: str, option: str, *, multiple: bool = True) -> None:
    """Choose `option` in the multiselect (or selectbox) labelled `label`.

    The sidebar is taller than the window: the filter is scrolled into view before the
    click, as a person would, since a scroll during the click closes the menu it opens.
    """
    combo = page.get_by_role("combobox", name=label, exact=True)
    combo.scroll_into_view_if_needed()
    combo.click()
    page.get_by_role("option", name=option, exact=True).click()
    if multiple:  # a multiselect stays open for more choices
        page.keyboard.press("Escape")
    page.get_by_role("listbox").wait_for(state="detached")
    wait_idle(page)


def filter_by_industry_and_tag(page) -> None:
    choose(page, "Industry", "Logistics (4)")
    sentence(page, "4 contacts where industry is Logistics")
    choose(page, "Tags", "Fair 2026 (4)")
    sentence(page, "3 contacts where industry is Logistics and tag is Fair 2026")


def download(page, button, tmp_path):
    with page.expect_download() as info:
        button.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    return saved


def read_rows(path) -> list[dict]:
    header, *rows = openpyxl.load_workbook(path, read_only=True).active.iter_rows(
        values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_an_operator_exports_only_their_own_matching_contacts(page, server, tmp_path):
    open_contacts(page, server)
    filter_by_industry_and_tag(page)
    expect(page).to_have_url(re.compile(r"^(?=.*[?&]industry=)(?=.*[?&]tag=)"))

    page.get_by_text("All matching rows", exact=True).click()
    page.get_by_role("button", name="Set VIP: 3 contacts").wait_for()
    wait_idle(page)
    choose(page, "Action", "Export to Excel", multiple=False)
    page.get_by_text("2 of the 3 matching contacts are assigned to you; the file has those 2.",
                     exact=True).wait_for()
    saved = download(page, page.get_by_role("button", name="Download 2 contacts"), tmp_path)

    assert saved.suffix == ".xlsx"
    rows = read_rows(saved)
    assert sorted(r["Name"] for r in rows) == ["Greta Adler", "Greta Brandt"]
    assert {r["Assigned manager"] for r in rows} == {"Olga Operator"}
    assert {r["Company"] for r in rows} == {"Nordlicht GmbH"}
    assert {r["Tags"] for r in rows} == {"Fair 2026"}


def test_export_all_holds_every_contact_of_the_operator_and_no_one_elses(
        page, server, tmp_path):
    open_contacts(page, server)
    filter_by_industry_and_tag(page)  # "Export all" is everything, whatever the filters

    page.get_by_role("button", name="Export all").click()
    page.get_by_text("4 of the 7 matching contacts are assigned to you; the file has those 4.",
                     exact=True).wait_for()
    saved = download(page, page.get_by_role("button", name="Download", exact=True), tmp_path)

    assert saved.suffix == ".xlsx"
    rows = read_rows(saved)
    assert sorted(r["Name"] for r in rows) == [
        "Greta Adler", "Greta Brandt", "Greta Dietz", "Greta Eggers"]
    assert {r["Assigned manager"] for r in rows} == {"Olga Operator"}
