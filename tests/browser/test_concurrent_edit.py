"""In a real browser: two sales managers edit the same lead's email in the Leads grid at once.
The first save wins; the second is refused, naming who changed the lead, writes nothing and
leaves the second user's typed value in their grid until they discard their edits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from crm.access import Entity
from crm.storage import search
from crm.storage.store import close_store, open_store
from tests import factories
from tests.browser.conftest import new_context, next_frames, serving, sign_in, wait_idle

pytestmark = pytest.mark.browser

GRID = '[data-testid="stDataFrame"]'
HEADER_HEIGHT = 36  # the grid's header row (the grid's 1 px border included)
ROW_HEIGHT = 35
# Left of Email: the checkbox (40 px), ID ("small", 75 px), the newsletter icon (36 px) and
# Name ("medium", 200 px); Email ("medium") is 200 px wide.
EMAIL_MIDDLE_X = 40 + 75 + 36 + 200 + 100
EMAIL_COLUMN = 5  # aria-colindex of Email in the grid's accessible table
NAME = "Clara Concurrent"
OLD_EMAIL = "clara.old@example.com"
A_EMAIL = "clara.from.a@example.com"
B_EMAIL = "clara.from.b@example.com"
PENDING = "1 edited row(s) not saved yet."


@pytest.fixture
def lead_id(db) -> int:
    """The lead both users edit: the newer of the East's two leads, so the grid's first row
    (the list sorts by date added, newest first)."""
    w = factories.world(db)
    stamp = datetime(2026, 3, 1, 9, 0)
    found = factories.lead(db, "Concurrent", w.east, w.users["sales_east"], first_name="Clara",
                           email=OLD_EMAIL, created_at=stamp, updated_at=stamp)
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    return found


@pytest.fixture
def server(db, database_url, tmp_path, lead_id):
    with serving(database_url, tmp_path) as app:
        yield app


@pytest.fixture
def other_page(browser) -> Iterator[object]:
    """A second user's tab, in a browser context of its own (own cookies, own session)."""
    context = new_context(browser)
    tab = context.new_page()
    yield tab
    context.close()


def open_leads(page, server, username: str) -> None:
    sign_in(page, server, username)
    # The session cookie is written by a script drawn after sign-in: wait until it is kept.
    page.wait_for_function("document.cookie.includes('crm_session=')")
    wait_idle(page)
    page.get_by_role("link", name="Leads").click()
    page.get_by_role("heading", name="Leads").wait_for()
    page.locator('[data-testid="stMarkdownContainer"] strong', has_text="2 leads").wait_for()
    wait_idle(page)


def email_cell(page):
    """The lead's Email cell in the grid's accessible table: glide-data-grid keeps a table of
    the cells it draws inside its canvas, with each cell's text (typed values included) and
    whether it is selected."""
    name = page.locator("td[role=gridcell]", has_text=re.compile(rf"^{NAME}$"))
    row = page.locator(f"{GRID} tr[role=row]").filter(has=name)
    return row.locator(f"td[role=gridcell][aria-colindex='{EMAIL_COLUMN}']")


def open_email_editor(page, row: int):
    """Open the overlay editor of the Email cell of grid row `row` (1-based: the lead's row).

    The grid is drawn on a canvas. The pointer goes to the cell first and the click waits for
    the grid's toolbar, which Streamlit shows once the pointer is over the grid: a click that
    arrives while the grid is redrawn for that can be lost. The click selects the cell (the
    accessible table says which), and Enter opens its editor, holding the cell's value.
    """
    box = page.locator(GRID).bounding_box()
    x = box["x"] + EMAIL_MIDDLE_X
    y = box["y"] + HEADER_HEIGHT + ROW_HEIGHT * (row - 1) + ROW_HEIGHT / 2
    page.mouse.move(x, y)
    expect(page.locator(f"{GRID} [data-testid=stElementToolbar]")).to_be_visible()
    page.mouse.click(x, y)
    expect(email_cell(page)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    editor = page.locator("#portal textarea.gdg-input")
    expect(editor).to_be_focused()
    return editor


def type_email(page, row: int, email: str, *, was: str) -> None:
    """Replace the Email of grid row `row`, which holds `was`, with `email` (Enter commits)."""
    editor = open_email_editor(page, row)
    expect(editor).to_have_value(was)
    editor.press("ControlOrMeta+a")
    editor.press_sequentially(email)
    expect(editor).to_have_value(email)
    next_frames(page)
    editor.press("Enter")
    expect(editor).to_have_count(0)
    # The edit reruns the script, which then offers to save it.
    page.get_by_text(PENDING, exact=True).wait_for()
    wait_idle(page)


def expect_email_in_editor(page, row: int, email: str) -> None:
    """The Email cell of grid row `row` as its editor shows it; Escape leaves it unchanged."""
    editor = open_email_editor(page, row)
    expect(editor).to_have_value(email)
    editor.press("Escape")
    expect(editor).to_have_count(0)


def minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def stored(database_url: str, lead_id: int) -> tuple[str, list[tuple[str, str, str]]]:
    """The lead's email in the database, and its audited email changes (who, old, new)."""
    db = open_store(database_url)
    try:
        email = db.scalar("SELECT email FROM leads WHERE id = ?", (lead_id,))
        changes = db.fetch_all(
            "SELECT u.username, a.old_value, a.new_value FROM audit_log a "
            "JOIN users u ON u.id = a.user_id "
            "WHERE a.entity = ? AND a.entity_id = ? AND a.field = 'email' ORDER BY a.id",
            (Entity.LEAD.value, lead_id))
    finally:
        close_store(database_url)
    return email, [(c["username"], c["old_value"], c["new_value"]) for c in changes]


def test_the_second_save_of_the_same_lead_is_refused_and_keeps_the_typed_value(
        page, other_page, server, database_url, lead_id):
    a, b = page, other_page  # Sales.East and Sales.East2, sales managers of the East
    open_leads(a, server, "sales.east")
    open_leads(b, server, "sales.east2")
    for tab in (a, b):
        expect(email_cell(tab)).to_have_text(OLD_EMAIL)

    type_email(a, 1, A_EMAIL, was=OLD_EMAIL)
    type_email(b, 1, B_EMAIL, was=OLD_EMAIL)
    expect(email_cell(a)).to_have_text(A_EMAIL)
    expect(email_cell(b)).to_have_text(B_EMAIL)

    before = minute(datetime.now(UTC).replace(tzinfo=None))
    a.get_by_role("button", name="Save changes").click()
    a.get_by_text("Saved changes to 1 lead.", exact=True).wait_for()
    after = datetime.now(UTC).replace(tzinfo=None)
    wait_idle(a)
    expect(email_cell(a)).to_have_text(A_EMAIL)
    expect(a.get_by_text(PENDING, exact=True)).to_have_count(0)

    b.get_by_role("button", name="Save changes").click()
    refusal = b.locator('[data-testid="stAlertContentError"]')
    message = re.compile(  # "Sales.East" is A's full name; B's is "Sales.East2"
        rf"^Lead {lead_id} was changed by Sales\.East at (\d{{4}}-\d\d-\d\d \d\d:\d\d) UTC "
        r"after you loaded it; nothing was saved\. "
        r"Reload to see the change, then edit again\.$")
    expect(refusal).to_have_text(message)
    when = datetime.strptime(message.match(refusal.inner_text()).group(1), "%Y-%m-%d %H:%M")
    assert before <= when <= after  # the time of A's save
    wait_idle(b)
    expect(b.get_by_text("Saved changes", exact=False)).to_have_count(0)
    # B's typed value is still in B's grid, still pending, on the row it was typed on.
    expect(b.get_by_text(PENDING, exact=True)).to_be_visible()
    expect(email_cell(b)).to_have_text(B_EMAIL)
    expect_email_in_editor(b, 1, B_EMAIL)

    b.get_by_role("button", name="Discard my edits").click()
    expect(b.get_by_text(PENDING, exact=True)).to_have_count(0)
    wait_idle(b)
    expect(refusal).to_have_count(0)
    expect(email_cell(b)).to_have_text(A_EMAIL)
    expect_email_in_editor(b, 1, A_EMAIL)

    server.stop()  # DuckDB: the server process holds the file
    assert stored(database_url, lead_id) == (A_EMAIL, [("sales.east", OLD_EMAIL, A_EMAIL)])
