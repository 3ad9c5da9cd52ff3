"""In a real browser: a sales manager imports contacts from an Excel file with a bad email and
an unknown country, fixes the email in the preview grid, leaves the other row out, imports,
downloads the rejected-rows report and undoes the batch from the import history."""

from __future__ import annotations

import re

import openpyxl
import pytest

from crm.storage.store import open_store
from tests.browser.conftest import address_ends_with, next_frames, sign_in, wait_idle

pytestmark = pytest.mark.browser

PEOPLE = [
    ("Anna", "Goodrow", "anna.goodrow@example.com", "Eastwind GmbH", "Germany"),
    ("Bert", "Badmail", "bert.at.example", "Eastwind GmbH", "Germany"),
    ("Cora", "Nowhere", "cora.nowhere@example.com", "Eastwind GmbH", "Atlantis"),
]
GRID_COLUMNS = ["Row", "Problems", "First name", "Last name", "Email", "Company", "Country"]
HEADER_HEIGHT = 36  # the grid's header row (the grid's 1 px border included)
ROW_HEIGHT = 35


@pytest.fixture
def people_file(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["First name", "Last name", "Email", "Company", "Country"])
    for person in PEOPLE:
        sheet.append(person)
    path = tmp_path / "people.xlsx"
    book.save(path)
    return path


def metric(page, label: str, value: str) -> None:
    """Wait until the metric labelled `label` shows exactly `value`."""
    page.locator('[data-testid="stMetric"]', has_text=label).locator(
        '[data-testid="stMetricValue"]', has_text=re.compile(rf"^{re.escape(value)}$")).wait_for()


def edit_cell(page, row: int, column: str, text: str) -> None:
    """Replace the text of the editor grid's cell in row `row` (1-based) and `column`: the grid
    is drawn on a canvas, so select the row's first cell by position, move right with the
    keyboard, open the cell's editor, type and confirm with Enter."""
    grid = page.locator('[data-testid="stDataFrame"]').last
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + HEADER_HEIGHT + ROW_HEIGHT * (row - 1)
                     + ROW_HEIGHT / 2)
    for _ in range(GRID_COLUMNS.index(column)):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # opens the cell's editor
    editor = page.locator("#portal textarea, #portal input").first
    editor.wait_for()
    editor.fill(text)
    next_frames(page)
    page.keyboard.press("Enter")
    wait_idle(page)


def contacts_named(database_url: str) -> set[str]:
    db = open_store(database_url)
    names = [p[1] for p in PEOPLE]
    marks = ", ".join("?" for _ in names)
    return {r["last_name"] for r in db.fetch_all(
        f"SELECT last_name FROM contacts WHERE last_name IN ({marks})", names)}


def test_a_sales_manager_imports_fixes_leaves_out_downloads_the_rejects_and_undoes(
        page, server, people_file, database_url, tmp_path):
    sign_in(page, server, "sales.east")
    page.wait_for_function("document.cookie.includes('crm_session=')")
    wait_idle(page)
    page.get_by_role("link", name="Contacts").click()
    page.get_by_role("heading", name="Contacts").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_role("heading", name="Import", exact=True).wait_for()
    wait_idle(page)
    address_ends_with(page, "/import?entity=contact")

    page.locator("input[type=file]").set_input_files(people_file)
    metric(page, "With problems", "2")
    wait_idle(page)
    problems = page.locator('[data-testid="stDataFrame"]').first
    # The grid keeps an accessible table beside its canvas (attached, not visible).
    for text in ("bert.at.example", "Atlantis"):
        problems.locator('[role="gridcell"]', has_text=text).first.wait_for(state="attached")

    # "Show only rows with problems" is on: Bert is the editor grid's first row. Typing into
    # the canvas grid can be lost while the page is still settling (seen once in 20 runs on a
    # loaded machine). edit_cell waits for the run the edit asks for: if the button that
    # applies the edit is not there once that run is over, the edit was lost; type it again.
    apply = page.get_by_role("button", name="Apply my corrections (1 rows)")
    for _ in range(3):
        wait_idle(page)
        edit_cell(page, 1, "Email", "bert.badmail@example.com")
        if apply.count():
            break
    apply.click()
    metric(page, "With problems", "1")
    wait_idle(page)

    page.get_by_text("Leave out the 1 rows with problems", exact=False).click()
    wait_idle(page)
    page.get_by_role("button", name="Import contacts").click()
    success = page.locator('[data-testid="stAlertContentSuccess"]')
    success.filter(has_text="2 created, 0 updated, 0 skipped, 1 rejected").wait_for()
    wait_idle(page)

    with page.expect_download() as info:
        page.get_by_role("button", name="Rejected rows (.xlsx)").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    header, *rows = openpyxl.load_workbook(saved, read_only=True).active.iter_rows(
        values_only=True)
    assert header[:2] == ("Row", "Reason")
    assert [(r[0], r[header.index("Last name")], r[header.index("Country")]) for r in rows] == [
        (4, "Nowhere", "Atlantis")]
    assert "Atlantis" in rows[0][1]

    # The corrected email went in; the left-out row did not.
    page.get_by_role("link", name="Open contacts").click()
    page.get_by_role("heading", name="Contacts").wait_for()
    cells = page.locator('[data-testid="stDataFrame"] [role="gridcell"]')
    cells.filter(has_text="bert.badmail@example.com").first.wait_for(state="attached")
    cells.filter(has_text="anna.goodrow@example.com").first.wait_for(state="attached")
    wait_idle(page)
    assert cells.filter(has_text="Nowhere").count() == 0

    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_role("heading", name="Import", exact=True).wait_for()
    wait_idle(page)
    page.get_by_role("tab", name="Import history").click()
    page.get_by_role("button", name="Undo", exact=True).click()
    success.filter(has_text="undone: 2 removed, 0 restored.").wait_for()
    wait_idle(page)
    server.stop()  # DuckDB: the server process holds the file
    assert contacts_named(database_url) == set()
    db = open_store(database_url)
    assert db.fetch_all("SELECT file_name, created_count, rejected_count, undone_at IS NOT NULL "
                        "AS undone FROM import_batches") == [
        {"file_name": "people.xlsx", "created_count": 2, "rejected_count": 1, "undone": True}]


def test_the_wizard_shows_which_column_became_which_field_and_why(page, server, tmp_path):
    """An Outlook-style export: "Title" holds salutations and is left out, "Job Title" is the
    title, the empty "Assistant's Phone" loses to "Business Phone"; each column's reason is
    in its tooltip, the columns left out are listed with theirs, new tags are announced."""
    book = openpyxl.Workbook()
    book.active.append(["Title", "First Name", "Last Name", "Company", "Job Title",
                        "Assistant's Phone", "Business Phone", "Categories", "Birthday"])
    book.active.append(["Mr.", "John", "Smith", "Acme Corp", "Sales Director", "",
                        "+1 617 555 0100", "Key customer;Golf", "1980-01-01"])
    book.active.append(["Ms.", "Jane", "Doe", "Beta Inc", "CEO", "", "+1 512 555 0100", "",
                        ""])
    path = tmp_path / "outlook.xlsx"
    book.save(path)
    sign_in(page, server, "sales.east")
    page.wait_for_function("document.cookie.includes('crm_session=')")
    wait_idle(page)
    page.goto(f"{server.url}/import?entity=contact")
    page.get_by_role("heading", name="Import", exact=True).wait_for()
    wait_idle(page)
    page.locator("input[type=file]").set_input_files(path)
    metric(page, "With problems", "0")
    wait_idle(page)

    def chosen(header: str) -> str:
        """The field shown in the box under the label that reads `header`."""
        label = page.locator('[data-testid="stWidgetLabel"]').get_by_text(header, exact=True)
        return page.locator('[data-testid="stSelectbox"]').filter(has=label).get_by_role(
            "combobox").input_value()

    assert chosen("Job Title") == "Title"
    assert chosen("Business Phone") == "Phone"
    assert chosen("Categories") == "Tags"
    assert chosen("Assistant's Phone") == "— ignore —"
    left_out = page.locator('[data-testid="stCaptionContainer"]', has_text="Not imported:")
    assert "“Title” (its values are salutations (Mr., Ms., Dr.), not job titles)" in \
        left_out.inner_text()
    assert "“Birthday” (" in left_out.inner_text()
    page.locator('[data-testid="stSelectbox"]').filter(has=page.locator(
        '[data-testid="stWidgetLabel"]').get_by_text("Job Title", exact=True)).locator(
        '[data-testid="stTooltipIcon"]').hover()
    page.locator('[data-testid="stTooltipContent"]',
                 has_text="Guessed because its name is a usual name for Title").wait_for()
    page.locator('[data-testid="stAlertContentInfo"]',
                 has_text="2 new tag(s) will be made: “Golf”, “Key customer”").wait_for()
