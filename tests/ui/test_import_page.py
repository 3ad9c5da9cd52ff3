"""The import wizard page through Streamlit's AppTest: the Import button of Contacts opens it,
every role that may import sees it, a file goes through upload, preview, a correction in the
grid, leaving a row out and commit; the history tab undoes a batch, and asks first when a
record changed since the import."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from crm import importing
from crm.records import contacts
from tests import factories
from tests.conftest import shown
from tests.pages import IMPORT, open_page, sign_in
from tests.workbooks import XLSX

HEADERS = ["First name", "Last name", "Email", "Company", "Country"]
PEOPLE = [
    ["Anna", "Goodrow", "anna.goodrow@example.com", "Eastwind GmbH", "Germany"],
    ["Bert", "Badmail", "bert.at.example", "Eastwind GmbH", "Germany"],
    ["Cora", "Nowhere", "cora.nowhere@example.com", "Eastwind GmbH", "Atlantis"],
]
LAST_NAMES = ("Goodrow", "Badmail", "Nowhere")


@pytest.fixture
def world(db, app_env):
    return factories.world(db)


def workbook(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def open_import(username: str, entity: str = "contact") -> AppTest:
    return open_page(username, IMPORT, entity=entity)


def imported(db) -> set[str]:
    marks = ", ".join("?" for _ in LAST_NAMES)
    return {r["last_name"] for r in db.fetch_all(
        f"SELECT last_name FROM contacts WHERE last_name IN ({marks})", LAST_NAMES)}


def committed_batch(db, user, rows: list[list[str]]) -> importing.ImportResult:
    table = importing.read_table(workbook(rows), "people.xlsx")
    preview = importing.validate(user, db, "contact", table,
                                 importing.guess_mapping("contact", table.headers))
    assert not preview.problems
    return importing.commit(user, db, "contact", preview)


def test_the_import_button_of_contacts_opens_the_wizard_for_contacts(world):
    at = sign_in("sales.east")
    at.switch_page("pages/workspace/contacts.py").run()
    at.button(key="contact_import").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Import"]
    assert at.query_params["entity"] == "contact"
    assert at.segmented_control(key="import_entity").value == "contact"
    assert at.file_uploader(key="import_upload").label == "File of contacts"


@pytest.mark.parametrize("username", ["sales.east", "operator.east", "company.manager",
                                      "super.operator", "admin"])
@pytest.mark.parametrize("entity", ["lead", "contact"])
def test_every_role_that_may_import_sees_the_wizard_and_the_template(world, username, entity):
    at = open_import(username, entity)
    assert [t.value for t in at.title] == ["Import"]
    assert [t.label for t in at.tabs] == ["Import a file", "Import history"]
    assert [d.label for d in at.download_button] == ["Template"]
    assert at.file_uploader(key="import_upload").allowed_type == [".xlsx", ".csv"]
    assert [c.value for c in at.caption if c.value.startswith("No ")] == [
        f"No {entity}s imported yet."]


def test_a_file_is_previewed_corrected_partly_left_out_and_imported(world, db):
    at = open_import("sales.east")
    at.file_uploader(key="import_upload").set_value(("people.xlsx", workbook(PEOPLE), XLSX))
    at.run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric} == {
        "Rows": "3", "With problems": "2", "New": "1", "Match existing": "0"}
    problems = at.dataframe[0].value
    assert problems["Row"].tolist() == [3, 4]
    assert problems["Column"].tolist() == ["Email", "Country"]
    assert "bert.at.example" in problems["Problem"][0]
    assert "Atlantis" in problems["Problem"][1]
    assert at.button(key="import_commit").disabled  # problems neither fixed nor left out

    # Only the two rows with problems are in the grid; fix Bert's email (the grid's 1st row).
    editor = at.data_editor[0]
    assert editor.value["Row"].tolist() == [3, 4]
    at.session_state[editor.key] = {"edited_rows": {0: {"Email": "bert.badmail@example.com"}},
                                    "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="import_apply_fixes").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["With problems"] == "1"
    assert at.data_editor[0].value["Row"].tolist() == [4]
    assert "import_apply_fixes" not in [b.key for b in at.button]

    at.checkbox(key="import_leave_out").check().run()
    assert at.checkbox(key="import_leave_out").label.startswith("Leave out the 1 rows")
    at.button(key="import_commit").click().run()
    assert not at.exception
    [success] = [shown(s.value) for s in at.success]
    assert re.fullmatch(r"Imported from people\.xlsx: 2 created, 0 updated, 0 skipped, "
                        r"1 rejected\. Batch \d+\.", success), success
    assert [d.label for d in at.download_button] == ["Template", "Rejected rows (.xlsx)"]
    assert imported(db) == {"Goodrow", "Badmail"}
    assert db.scalar("SELECT email FROM contacts WHERE last_name = 'Badmail'") == (
        "bert.badmail@example.com")
    result = at.session_state["import_wizard"]["result"]
    rejected = result.rejected_rows
    assert rejected["Row"].tolist() == [4]
    assert rejected["Last name"].tolist() == ["Nowhere"]
    assert "Atlantis" in rejected["Reason"][0]


def test_a_cleared_cell_is_applied_once_and_read_as_blank(world):
    at = open_import("sales.east")
    at.file_uploader(key="import_upload").set_value(("people.xlsx", workbook(PEOPLE), XLSX))
    at.run()
    editor = at.data_editor[0]
    at.session_state[editor.key] = {"edited_rows": {0: {"Email": None}},
                                    "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="import_apply_fixes").click().run()
    at.toggle(key="import_only_problems").set_value(False).run()  # every row in the grid
    assert not at.exception
    assert "import_apply_fixes" not in [b.key for b in at.button]
    assert at.session_state["import_wizard"]["table"].frame.at[1, "Email"] == ""


def test_undo_from_the_history_tab_removes_the_batch(world, db):
    result = committed_batch(db, world.users["sales_east"], PEOPLE[:1])
    assert imported(db) == {"Goodrow"}
    at = open_import("sales.east")
    [entry] = [shown(m.value) for m in at.markdown
               if m.value.startswith(f"**Batch {result.batch_id}**")]
    assert "people.xlsx" in entry and "1 created" in entry
    at.button(key=f"import_undo_{result.batch_id}").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == [
        f"Batch {result.batch_id} undone: 1 removed, 0 restored."]
    assert imported(db) == set()
    assert f"import_undo_{result.batch_id}" not in [b.key for b in at.button]
    assert any("Undone" in m.value for m in at.markdown)


def test_undo_after_a_later_edit_asks_and_goes_ahead_only_when_told(world, db):
    result = committed_batch(db, world.users["sales_east"], PEOPLE[:1])
    contact_id = db.scalar("SELECT id FROM contacts WHERE last_name = 'Goodrow'")
    contacts.save_edits(world.users["sales_east_2"], db,
                        [contacts.RowEdit(contact_id, 1, {"city": "Leipzig"})])
    at = open_import("sales.east")
    undo, force = f"import_undo_{result.batch_id}", f"import_force_{result.batch_id}"
    at.button(key=undo).click().run()
    assert not at.exception
    [warning] = [shown(w.value) for w in at.warning]
    assert f"contact {contact_id}: changed by Sales.East2 at " in warning
    assert "Undo the rest" in warning
    assert imported(db) == {"Goodrow"}
    assert not at.checkbox(key=force).value

    at.checkbox(key=force).check().run()
    at.button(key=undo).click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == [
        f"Batch {result.batch_id} undone: 0 removed, 0 restored, 1 kept as they are."]
    # The contact someone edited after the import is kept, with that edit.
    assert imported(db) == {"Goodrow"}
    assert db.scalar("SELECT city FROM contacts WHERE id = ?", (contact_id,)) == "Leipzig"


def test_the_wizard_says_why_each_column_is_imported_or_left_out(world):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Title", "First Name", "Last Name", "Job Title", "Company", "Suffix",
                  "Business Phone", "E-mail Address"])
    sheet.append(["Mr.", "John", "Smith", "Director", "Acme", "", "+1 617 555 0100",
                  "john@acme.example"])
    buffer = io.BytesIO()
    book.save(buffer)
    at = open_import("sales.east")
    at.file_uploader(key="import_upload").set_value(("outlook.xlsx", buffer.getvalue(), XLSX))
    at.run()
    assert not at.exception
    chosen = {s.label: s.value for s in at.selectbox if s.key.startswith("import_map_")}
    assert (chosen["Title"], chosen["Job Title"], chosen["Business Phone"]) == (
        None, "title", "phone")
    assert shown(at.selectbox(key="import_map_3").help) == (
        "Guessed because its name is a usual name for Title. Examples: Director")
    assert [shown(c.value) for c in at.caption if c.value.startswith("Not imported")] == [
        "Not imported: “Title” (its values are salutations (Mr., Ms., Dr.), not job titles); "
        "“Suffix” (no field of the workspace has a name like this)."]
