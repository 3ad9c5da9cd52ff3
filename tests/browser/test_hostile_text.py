"""In a real browser: Markdown and HTML typed into every field people write (names, company
data, a tag, a saved segment, a mailing, a request sent through the public form, an import's
file name and headers, a colleague's name, the URL) are shown as the characters typed: never
as a link, an image, a heading or a script, on every page that shows them.

Each check waits for the page to show the payload's words (so a page cannot pass by showing
nothing), then looks for any element the payload asked for.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from crm import importing
from crm.access import Entity
from crm.analysis import segments
from crm.analysis.segments import Visibility
from crm.lists.listing import ListQuery
from crm.mailing import campaigns
from crm.mailing.recipients import Selection
from crm.storage import search
from tests import factories
from tests.browser.conftest import serving, sign_in, wait_idle
from tests.workbooks import xlsx

pytestmark = pytest.mark.browser

VISIBLE = "Session expired - sign in again"  # the words a working link would show
PAYLOAD = (f"[{VISIBLE}](https://evil.example/login) ![t](https://evil.example/p.png) "
           "<img src=https://evil.example/i.png> # Heading <script>alert(1)</script> "
           "javascript:alert(1) https://evil.example/bare")
# Stored text can hold line breaks, where "# Heading" would start a line of Markdown.
LINES = PAYLOAD.replace(" # Heading", "\n# Heading").replace(" javascript:", "\n\njavascript:")
EMAIL = "eve@hostile.example"
# What the payload asks for, none of which may exist on any page.
FORBIDDEN = ("a[href*='evil']", "img[src*='evil']", "[src*='evil']", "[href*='evil']",
             "[href^='javascript']", "[src^='javascript']")


def workbook(headers: list[str], rows: list[list[str]]) -> bytes:
    return xlsx([headers, *rows])


@pytest.fixture
def planted(db):
    """One of everything, written with the payload where people can write text."""
    w = factories.world(db)
    east, mine, colleague = w.east, w.users["sales_east"], w.users["sales_east_2"]
    # An admin named a colleague so: it shows wherever an owner or author is named.
    db.execute("UPDATE users SET full_name = ? WHERE id = ?", (PAYLOAD, colleague.id))
    company = factories.company(db, PAYLOAD, east, mine)
    db.execute("UPDATE companies SET city = ?, address = ?, website = ? WHERE id = ?",
               (PAYLOAD, LINES, "hostile.example", company))
    contact = factories.contact(db, PAYLOAD, company, east, mine, first_name="Eve", email=EMAIL,
                                city=PAYLOAD, description=LINES, country_code="DE")
    lead = factories.lead(db, PAYLOAD, east, colleague, first_name="Eve", email=EMAIL,
                          company_name=PAYLOAD, city=PAYLOAD, description=LINES,
                          country_code="DE", title=PAYLOAD)
    tag = db.scalar("INSERT INTO tags (name) VALUES (?) RETURNING id", (PAYLOAD,))
    db.execute("INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)", (contact, tag))
    with db.transaction() as tx:
        for entity in (Entity.LEAD, Entity.CONTACT, Entity.COMPANY):
            search.refresh(tx, entity)
    # Names longer than the forms allow: what is stored must show safely all the same.
    segment = segments.save_segment(colleague, db, Entity.CONTACT, "Tagged",
                                    ListQuery(filters={"tag": (str(tag),)}),
                                    Visibility.DEPARTMENT)
    db.execute("UPDATE segments SET name = ? WHERE id = ?", (PAYLOAD, segment))
    mailing = campaigns.create_mailing(mine, db, Selection(Entity.CONTACT, ids=(contact,)),
                                       subject="Soon", body="Dear {last_name},\n\nour news.",
                                       name="Soon")
    db.execute("UPDATE mailings SET name = ?, subject = ? WHERE id = ?",
               (PAYLOAD, PAYLOAD, mailing))
    headers = ["First name", "Last name", "Email", "Company", "Country"]
    table = importing.read_table(workbook(headers, [["Ivo", "Imported", "ivo@hostile.example",
                                                     "Ivo Imports", "DE"]]),
                                 f"{PAYLOAD}.xlsx")
    preview = importing.validate(mine, db, "contact", table,
                                 importing.guess_mapping("contact", table.headers))
    assert not preview.problems
    importing.commit(mine, db, "contact", preview)
    return {"company": company, "contact": contact, "lead": lead, "tag": tag,
            "mailing": mailing}


@pytest.fixture
def server(db, database_url, tmp_path, planted):
    with serving(database_url, tmp_path) as app:
        yield app


@pytest.fixture
def no_dialogs(page):
    """Every alert() a page opens (a script that ran) is kept, and dismissed."""
    opened: list[str] = []

    def seen(dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)
    yield opened
    assert opened == []


def shown_as_text(page, *, words: bool = True) -> None:
    """The page, run to its end, shows the payload's words (`words`) and nothing it asked
    for: no link or image to evil.example, no heading it started, no script of its own."""
    if words:
        expect(page.get_by_text(VISIBLE, exact=False).filter(visible=True).first).to_be_visible()
    wait_idle(page)
    for selector in FORBIDDEN:
        found = page.locator(selector)
        if found.count():  # say where: the page and the elements, not only their number
            print("Forbidden elements on", page.url,
                  [found.nth(i).evaluate("e => e.outerHTML.slice(0, 300)")
                   for i in range(found.count())])
        expect(found).to_have_count(0)
    expect(page.locator("h1, h2, h3, h4, h5, h6").filter(
        has_text=re.compile(r"^\s*Heading"))).to_have_count(0)
    expect(page.locator("script").filter(has_text="alert(1)")).to_have_count(0)
    # The one link the payload names shows as its characters, brackets and address included
    # (an invisible word joiner keeps the address from becoming a link: not read here).
    if words:
        shows(page, f"[{VISIBLE}](https://evil.example/login)")


def shows(page, typed: str) -> None:
    """The page shows `typed`, character for character (not counting the invisible word
    joiner that keeps an address in text from becoming a link)."""
    page.wait_for_function(
        "typed => document.body.innerText.replaceAll('\\u2060', '').includes(typed)",
        arg=typed)


def visit(page, server, path: str, **params: str) -> None:
    page.goto(f"{server.url}/{path}" + (f"?{urlencode(params)}" if params else ""))
    page.locator("[data-testid=stApp]").wait_for(state="attached")
    wait_idle(page)


def test_names_records_and_url_parameters_show_as_typed(page, server, planted, no_dialogs):
    sign_in(page, server, "sales.east")
    shown_as_text(page, words=False)  # the Overview: a colleague's name in its charts

    # URL parameters: the search box's words and an ID that is not one.
    for path, params in (("leads", {"q": PAYLOAD}), ("contacts", {"q": PAYLOAD}),
                         ("companies", {"q": PAYLOAD}), ("leads", {"id": PAYLOAD}),
                         ("contacts", {"id": PAYLOAD}), ("companies", {"id": PAYLOAD})):
        visit(page, server, path, **params)
        shown_as_text(page)

    # A tag, as a list filter: "1 contact where tag is …".
    visit(page, server, "contacts", tag=str(planted["tag"]))
    shown_as_text(page)

    # The records themselves: titles, links to each other, their lists.
    for path, key in (("leads", "lead"), ("contacts", "contact"), ("companies", "company")):
        visit(page, server, path, id=str(planted[key]))
        shown_as_text(page)
        visit(page, server, path)
        page.locator('[data-testid="stDataFrame"] [role="gridcell"]').filter(
            has_text=VISIBLE).first.wait_for(state="attached")
        shown_as_text(page, words=False)

    # The lead's Convert dialog names the lead, its matching contact and their company.
    visit(page, server, "leads", id=str(planted["lead"]))
    page.get_by_role("button", name="Convert", exact=True).click()
    page.get_by_role("dialog").wait_for()
    shown_as_text(page)
    expect(page.get_by_role("dialog").get_by_text(VISIBLE, exact=False).first).to_be_visible()


def test_requests_segments_mailings_and_imports_show_as_typed(page, server, planted,
                                                              no_dialogs, tmp_path):
    # A request through the public form, typed in by anybody.
    page.goto(f"{server.url}/?view=request")
    page.get_by_role("heading", name="Send us a request").wait_for()
    wait_idle(page)
    for label, value in (("First name", "Eve"), ("Email", EMAIL), ("Company", PAYLOAD),
                         ("City", PAYLOAD[:200]), ("Subject", PAYLOAD), ("Message", PAYLOAD)):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("Thank you! We received your request", exact=False).wait_for()
    wait_idle(page)

    sign_in(page, server, "sales.east")
    visit(page, server, "requests")
    page.locator('[data-testid="stDataFrame"] [role="gridcell"]').filter(
        has_text=VISIBLE).first.wait_for(state="attached")
    shown_as_text(page, words=False)
    visit(page, server, "requests", id="1")  # the first request there is
    page.get_by_role("heading", name=VISIBLE).wait_for()
    shown_as_text(page)
    # Its matches: the contact, the lead and the company, as links and as choices.
    for words in ("Contact: Eve", "Lead: Eve", "Company: [Session expired"):
        expect(page.get_by_role("link").filter(has_text=words).first).to_be_visible()
    expect(page.get_by_text("Link to contact Eve [Session expired", exact=False)).to_be_visible()

    # A saved segment of a colleague (named as above), shared with the department.
    visit(page, server, "segments")
    expect(page.get_by_text(f"Made by [{VISIBLE}]", exact=False)).to_be_visible()
    shown_as_text(page)

    # A mailing: its name, subject and preview.
    visit(page, server, "mailings")
    page.get_by_role("heading", name="Mailings").wait_for()
    shown_as_text(page, words=False)
    visit(page, server, "mailings", id=str(planted["mailing"]))
    page.get_by_role("heading", name=VISIBLE).wait_for()
    shown_as_text(page)
    expect(page.get_by_text(f"Subject: [{VISIBLE}]", exact=False)).to_be_visible()
    expect(page.get_by_text(f"Dear [{VISIBLE}]", exact=False).first).to_be_visible()  # body

    # The import history: the file's name.
    visit(page, server, "import", entity="contact")
    page.get_by_role("tab", name="Import history").click()
    shows(page, f"{PAYLOAD}.xlsx")
    shown_as_text(page)

    # The import wizard: a file's headers and cells name the columns and their examples.
    upload = tmp_path / "hostile.xlsx"
    upload.write_bytes(workbook(["Last name", PAYLOAD], [["Ida", PAYLOAD]]))
    page.get_by_role("tab", name="Import a file").click()
    page.locator("input[type=file]").set_input_files(upload)
    page.get_by_text("1 rows; column names in row 1.", exact=False).wait_for()
    shown_as_text(page)
