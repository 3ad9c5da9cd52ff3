"""Importing leads and contacts: reading awkward files, guessing the mapping, a preview with
every problem by row and column, duplicates, all-or-nothing commit, undo."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from crm import importing
from crm.importing import ImportFileError, ImportOptions, read_table
from crm.records import companies, contacts
from tests import factories
from tests.workbooks import messages, preview_of, xlsx


@pytest.fixture
def world(db):
    return factories.world(db)


# ------------------------------------------------------------------- mapping guesses


@pytest.mark.parametrize(("header", "field"), [
    ("E-mail", "email"), ("Email address", "email"), ("E-Mail-Adresse", "email"),
    ("Courriel", "email"), ("Correo electrónico", "email"), ("first_name", "first_name"),
    ("Vorname", "first_name"), ("Prénom", "first_name"), ("Nachname", "last_name"),
    ("Apellidos", "last_name"), ("Cognome", "last_name"), ("Achternaam", "last_name"),
    ("Full name", "full_name"), ("Mobile", "mobile"), ("Handy", "mobile"),
    ("Teléfono", "phone"), ("Telefoonnummer", "phone"), ("Country", "country"),
    ("Land", "country"), ("Pays", "country"), ("massmail", "newsletter"),
    ("disqualified", "disqualified"), ("Assigned to", "owner"), ("Ort", "city"),
    ("Société", "company"), ("company_name", "company"), ("Firma", "company"),
    ("lastName", "last_name"), ("Date added", "date_added"), ("Zufallsspalte", None),
])
def test_mapping_guesses_common_spellings_languages_and_other_crms(header, field):
    assert importing.guess_mapping("contact", [header])[header] == field


def test_a_leads_company_column_is_the_free_text_company_name():
    mapping = importing.guess_mapping("lead", ["Company", "Website", "Industry", "Email",
                                               "Email 2"])
    assert mapping == {"Company": "company_name", "Website": "website",
                       "Industry": "industry", "Email": "email", "Email 2": "secondary_email"}


@pytest.mark.parametrize(("name", "parts"), [
    ("Anna Berg", ("Anna", "", "Berg")),
    ("Anna Maria Berg", ("Anna", "Maria", "Berg")),
    ("Dr. Jan van der Berg", ("Jan", "", "van der Berg")),
    ("Berg, Anna Maria", ("Anna", "Maria", "Berg")),
    ("Madonna", ("", "", "Madonna")),
])
def test_a_full_name_is_split_into_first_middle_and_last(name, parts):
    assert importing.split_full_name(name) == parts


# --------------------------------------------------------------------------- reading


def test_the_header_row_is_found_below_title_and_blank_rows():
    table = read_table(xlsx([["Contacts from the fair"], [], ["Exported 2026-01-01"], [],
                             ["Name", "Email", "Phone"], ["Anna Berg", "a@x.de", "030 1234"],
                             [], ["Bo Li", "b@x.de", ""]]), "fair.xlsx")
    assert table.header_row == 5
    assert table.headers == ["Name", "Email", "Phone"]
    assert table.row_numbers == [6, 8]


def test_numbers_excel_stored_as_floats_and_dates_read_as_text():
    table = read_table(xlsx([["Name", "Phone", "Since", "Zip"],
                             ["Anna", 4930123456, dt.date(2024, 3, 1), "01099"]]), "n.xlsx")
    assert table.frame.iloc[0].tolist() == ["Anna", "4930123456", "2024-03-01", "01099"]
    assert table.numeric_cells == {"Phone": 1}


def test_sheets_are_listed_with_hidden_ones_noted_and_chosen_by_name():
    table = read_table(xlsx([["Name"], ["Anna"]], title="People", hidden=True), "s.xlsx")
    assert table.sheets == ["People", "Secret"] and table.hidden_sheets == ["Secret"]
    with pytest.raises(ImportFileError, match="no sheet named “Nope”"):
        read_table(xlsx([["Name"], ["Anna"]]), "s.xlsx", sheet="Nope")


def test_a_windows_1252_csv_with_semicolons_is_detected():
    data = "Vorname;Nachname;Stadt\r\nJürgen;Müller;Köln\r\nAnaïs;Dupont;Paris\r\n"
    table = read_table(data.encode("cp1252"), "export.csv")
    assert table.headers == ["Vorname", "Nachname", "Stadt"]
    assert table.frame["Nachname"].tolist() == ["Müller", "Dupont"]


def test_a_utf8_bom_tab_separated_file_is_read():
    data = "\ufeffName\tEmail\nAnna\ta@x.de\n".encode()
    assert read_table(data, "x.csv").frame.iloc[0].tolist() == ["Anna", "a@x.de"]


def test_content_decides_the_format_not_the_file_name():
    as_csv = read_table(b"Name,Email\nAnna,a@x.de\n", "really-a-csv.xlsx")
    as_xlsx = read_table(xlsx([["Name", "Email"], ["Anna", "a@x.de"]]), "really-xlsx.csv")
    assert as_csv.kind == "csv" and as_xlsx.kind == "xlsx"
    assert as_csv.frame.equals(as_xlsx.frame)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "is empty"),
    (b"PK\x03\x04" + b"\x00" * 200, "damaged or incomplete"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\0" * 64,
     "protected with a password"),
    (bytes(range(256)) * 4, "neither an Excel workbook"),
    (b"Name,Email\n", "no data rows"),
    (b"\n\n  \n", "is empty"),
])
def test_unusable_files_get_a_clear_message(data, message):
    with pytest.raises(ImportFileError, match=message):
        read_table(data, "file.xlsx")


def test_a_truncated_workbook_is_reported_as_damaged():
    data = xlsx([["Name"], ["Anna"]])
    with pytest.raises(ImportFileError, match="damaged or incomplete"):
        read_table(data[: len(data) // 2], "cut.xlsx")


def test_a_file_over_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(importing.reading, "MAX_FILE_BYTES", 10)
    with pytest.raises(ImportFileError, match="files up to"):
        read_table(b"Name,Email\nAnna,a@x.de\n", "big.csv")


def test_a_merged_cell_counts_for_every_row_it_covers_and_is_noted():
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["First name", "Last name", "Company"], ["Anna", "Berg", "Acme"],
                ["Ben", "Cole", None], ["Carl", "Dahl", None]):
        sheet.append(row)
    sheet.merge_cells("C2:C4")
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue(), "merged.xlsx")
    assert table.frame["Company"].tolist() == ["Acme", "Acme", "Acme"]
    assert table.notes == ["Cells C2:C4 are merged; each of them was read as “Acme”."]


def test_a_formula_without_a_saved_result_is_a_problem_until_its_value_is_typed(db, world):
    user = world.users["sales_east"]
    table = read_table(xlsx([["First name", "Last name", "Email"],
                             ["Anna", "Berg", "anna@berg.example"],
                             ["Ben", '=A3&" Cole"', "ben@cole.example"]]), "formulas.xlsx")
    mapping = importing.guess_mapping("lead", table.headers)
    preview = importing.validate(user, db, "lead", table, mapping)
    assert [(p.row, p.column) for p in preview.problems] == [(3, "Last name")]
    assert "formula whose result the file does not contain" in preview.problems[0].message
    table.frame.at[1, "Last name"] = "Cole"  # the wizard's correction of that cell
    assert importing.validate(user, db, "lead", table, mapping).problems == []


def test_formulas_with_saved_results_read_as_their_results():
    book = openpyxl.Workbook()
    book.active.append(["First name", "Last name"])
    book.active.append(["Anna", "Berg"])
    buffer = io.BytesIO()
    book.save(buffer)
    # What Excel writes: the formula and its cached result side by side.
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        "</sheetData>", '<row r="3"><c r="A3" t="str"><f>A2</f><v>Anna</v></c>'
        '<c r="B3" t="inlineStr"><is><t>Cole</t></is></c></row></sheetData>').encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, content in parts.items():
            target.writestr(name, content)
    table = read_table(out.getvalue(), "cached.xlsx")
    assert table.frame["First name"].tolist() == ["Anna", "Anna"]
    assert table.unsaved_formulas == []


def test_a_csv_of_a_full_sheet_is_read_and_one_row_more_is_refused():
    full = b"Name,Email\n" + b"Anna,a@x.de\n" * (importing.MAX_ROWS - 1)
    assert read_table(full, "full.csv").row_count == importing.MAX_ROWS - 1
    with pytest.raises(ImportFileError, match="at most 1,048,576 can be imported"):
        read_table(full + b"Ben,b@x.de\n", "too-long.csv")


# ----------------------------------------------------------------------------- problems


def test_every_problem_is_named_by_row_and_column(db, world):
    user = world.users["sales_east"]
    preview = preview_of(user, db, "lead", [
        ["Leads"],
        ["First name", "Last name", "Email", "Country", "VIP", "Date added", "Owner"],
        ["Anna", "Berg", "anna@example.com", "Deutschland", "ja", "2024-03-01", ""],
        ["", "", "bad@", "Germny", "maybe", "31/31/2024", "nobody"],
        ["Carl", "Li", "carl@example.com", "UK", "✓", "", "sales.west"],
    ])
    found = messages(preview)
    assert (4, "Email", "“bad@” is not a valid email address (There must be something after "
            "the @-sign.)") in found
    assert (4, "Last name", "a lead needs a first or last name") in found
    assert (4, "Country", "unknown country “Germny”; did you mean Germany or Guernsey?") in found
    assert any(r == 4 and c == "VIP" and "not yes or no" in m for r, c, m in found)
    assert any(r == 4 and c == "Date added" and "not a date" in m for r, c, m in found)
    assert any(r == 4 and c == "Owner" and "no user “nobody”" in m for r, c, m in found)
    assert any(r == 5 and c == "Owner" and "outside your access" in m for r, c, m in found)
    assert 3 not in preview.problem_rows
    first = preview.rows.iloc[0]
    assert (first["country_code"], first["vip"], first["owner_id"]) == ("DE", True,
                                                                        user.id)


def test_countries_are_recognised_by_name_code_and_common_variant(db, world):
    preview = preview_of(world.users["sales_east"], db, "lead", [
        ["Name", "Country"], ["A B", "UK"], ["C D", "USA"], ["E F", "Holland"],
        ["G H", "DEU"], ["I J", "fr"], ["K L", "Schweiz"], ["M N", "Côte d'Ivoire"]])
    assert preview.problems == []
    assert preview.rows["country_code"].tolist() == ["GB", "US", "NL", "DE", "FR", "CH", "CI"]


def test_an_owner_who_cannot_own_records_is_a_problem(db, world):
    preview = preview_of(world.users["admin"], db, "lead", [
        ["Name", "Owner"], ["A B", "admin"], ["C D", "Sales.East"],
        ["E F", "sales.east2@example.com"]])
    assert [(p.row, p.column) for p in preview.problems] == [(2, "Owner")]
    rows = preview.rows
    assert rows["owner_id"].tolist()[1:] == [world.users["sales_east"].id,
                                             world.users["sales_east_2"].id]
    assert rows["department_id"].tolist()[1:] == [world.east, world.east]


def test_a_date_column_with_no_day_above_12_asks_once_for_the_order(db, world):
    rows = [["Name", "Date added"], ["A B", "01/02/2024"], ["C D", "03/04/2024"]]
    user = world.users["sales_east"]
    preview = preview_of(user, db, "lead", rows)
    assert preview.ambiguous_date_columns == ["Date added"]
    assert [(p.row, p.column) for p in preview.problems] == [(None, "Date added")]
    with pytest.raises(importing.ImportRefused):
        importing.commit(user, db, "lead", preview, skip_invalid=True)
    answered = preview_of(user, db, "lead", rows, ImportOptions(dayfirst=False))
    assert answered.problems == []
    assert answered.rows["created_at"].tolist() == [dt.datetime(2024, 1, 2),
                                                    dt.datetime(2024, 3, 4)]


def test_the_day_month_order_is_judged_over_the_whole_column(db, world):
    preview = preview_of(world.users["sales_east"], db, "lead", [
        ["Name", "Date added"], ["A B", "01/02/2024"], ["C D", "25/12/2023"],
        ["E F", 45292]])
    assert preview.problems == []
    assert preview.rows["created_at"].tolist() == [dt.datetime(2024, 2, 1),
                                                   dt.datetime(2023, 12, 25),
                                                   dt.datetime(2024, 1, 1)]


def test_yes_no_in_any_usual_spelling(db, world):
    spellings = ["yes", "No", "Y", "n", "TRUE", "false", 1, 0, "ja", "nein", "oui", "non",
                 "x", "✓"]
    preview = preview_of(world.users["sales_east"], db, "lead",
                         [["Name", "VIP"], *[[f"P {i}", s] for i, s in enumerate(spellings)]])
    assert preview.problems == []
    assert preview.rows["vip"].tolist() == [True, False] * 6 + [True, True]


def test_rows_duplicating_other_rows_of_the_file(db, world):
    preview = preview_of(world.users["sales_east"], db, "lead", [
        ["Name", "Email", "Phone"], ["Anna Berg", "anna@x.de", "030 123456"],
        ["Ann Other", "ANNA@x.de", ""], ["Anna Berg", "", "+49 (0)30 123456"],
        ["Anna Berg", "", "030-123456"]])
    assert messages(preview) == [(3, "Email", "same email as row 2"),
                                 (5, "Phone", "same name and phone as row 2")]


def test_a_row_matching_an_existing_record_in_scope_names_its_id(db, world):
    east = factories.lead(db, "Berg", world.east, email="anna@x.de")
    west = factories.lead(db, "Stone", world.west, email="bob@x.de")
    phone = factories.lead(db, "Li", world.east, first_name="Carl", mobile="+49 170 55555")
    preview = preview_of(world.users["sales_east"], db, "lead", [
        ["Name", "Email", "Mobile"], ["Anna Berg", "Anna@X.de", ""],
        ["Bob Stone", "bob@x.de", ""], ["Carl Li", "", "0170-55555"]])
    assert preview.problems == []
    assert {r: (m.record_id, m.reason) for r, m in preview.matches.items()} == {
        2: (east, "same email")}
    del west, phone  # outside scope; the phone differs after the prefix


def test_name_and_phone_match(db, world):
    existing = factories.lead(db, "Li", world.east, first_name="Carl", mobile="+49 170 55555")
    preview = preview_of(world.users["sales_east"], db, "lead", [
        ["First name", "Last name", "Mobile"], ["carl", "LI", "+49 (170) 555-55"]])
    assert preview.matches[2].record_id == existing
    assert preview.matches[2].reason == "same name and phone"


# ---------------------------------------------------------------------------- commit


def test_nothing_is_written_while_problems_remain(db, world):
    user = world.users["sales_east"]
    preview = preview_of(user, db, "lead", [["Name", "Email"], ["A B", "a@x.de"],
                                            ["C D", "bad@"]])
    before = db.scalar("SELECT count(*) FROM leads")
    with pytest.raises(importing.ImportRefused) as refused:
        importing.commit(user, db, "lead", preview)
    assert refused.value.problems[0].row == 3
    assert db.scalar("SELECT count(*) FROM leads") == before
    assert db.scalar("SELECT count(*) FROM import_batches") == 0


def test_good_rows_are_imported_with_batch_audit_subscriptions_and_search(db, world):
    user = world.users["sales_east"]
    preview = preview_of(user, db, "lead", [
        ["Full name", "Email", "Company", "Newsletter", "Phone"],
        ["Anna Maria Berg", "anna@x.de", "Acme", "yes", 4930123456],
        ["Bo Li", "bad@", "Acme", "no", ""],
        ["Carl Jung", "carl@x.de", "Beta", "no", ""]])
    result = importing.commit(user, db, "lead", preview, skip_invalid=True)
    assert result.counts() == {"created": 2, "updated": 0, "skipped": 0, "rejected": 1}
    rows = db.fetch_all("SELECT * FROM leads WHERE id IN (SELECT entity_id FROM "
                        "import_batch_items WHERE batch_id = ?) ORDER BY id", (result.batch_id,))
    anna = rows[0]
    assert (anna["first_name"], anna["middle_name"], anna["last_name"]) == ("Anna", "Maria",
                                                                           "Berg")
    assert anna["phone"] == "4930123456" and anna["owner_id"] == user.id
    assert anna["department_id"] == world.east and anna["created_by"] == user.id
    assert "acme" in anna["search_text"] and "anna@x.de" in anna["search_text"]
    assert rows[1]["newsletter_opt_in"] is False
    events = db.fetch_all("SELECT entity_id, event, source FROM subscription_events")
    assert events == [{"entity_id": anna["id"], "event": "subscribed",
                       "source": f"import:{result.batch_id}"}]
    assert db.scalar("SELECT count(*) FROM audit_log WHERE batch_id = ? AND action = 'create'",
                     (result.batch_id,)) == 2
    report = CalamineWorkbook.from_filelike(io.BytesIO(importing.rejected_report(result)))
    cells = report.get_sheet_by_index(0).to_python()
    assert cells[0][:3] == ["Row", "Reason", "Full name"]
    assert cells[1][0] == 3 and "not a valid email" in cells[1][1] and cells[1][2] == "Bo Li"


def _existing_and_file(db, world):
    existing = factories.lead(db, "Berg", world.east, first_name="Anna", email="anna@x.de",
                              city="Berlin", phone="030 1")
    rows = [["First name", "Last name", "Email", "City", "Phone"],
            ["Anna", "Berg", "anna@x.de", "Hamburg", ""], ["New", "Person", "new@x.de", "", ""]]
    return existing, rows


def test_matches_are_skipped_by_default(db, world):
    user = world.users["sales_east"]
    existing, rows = _existing_and_file(db, world)
    result = importing.commit(user, db, "lead", preview_of(user, db, "lead", rows))
    assert result.counts() == {"created": 1, "updated": 0, "skipped": 1, "rejected": 0}
    assert db.scalar("SELECT city FROM leads WHERE id = ?", (existing,)) == "Berlin"


def test_matches_can_update_only_the_non_empty_cells(db, world):
    user = world.users["sales_east"]
    existing, rows = _existing_and_file(db, world)
    result = importing.commit(user, db, "lead", preview_of(user, db, "lead", rows),
                              on_duplicate="update")
    assert result.counts() == {"created": 1, "updated": 1, "skipped": 0, "rejected": 0}
    row = db.fetch_one("SELECT * FROM leads WHERE id = ?", (existing,))
    assert (row["city"], row["phone"], row["row_version"]) == ("Hamburg", "030 1", 2)
    assert "hamburg" in row["search_text"]
    changes = db.fetch_all("SELECT field, old_value, new_value FROM audit_log WHERE "
                           "entity_id = ? AND batch_id = ?", (existing, result.batch_id))
    assert changes == [{"field": "city", "old_value": "Berlin", "new_value": "Hamburg"}]


def test_matches_can_be_imported_as_new_records(db, world):
    user = world.users["sales_east"]
    _, rows = _existing_and_file(db, world)
    result = importing.commit(user, db, "lead", preview_of(user, db, "lead", rows),
                              on_duplicate="create")
    assert result.counts() == {"created": 2, "updated": 0, "skipped": 0, "rejected": 0}
    assert db.scalar("SELECT count(*) FROM leads WHERE email = 'anna@x.de'") == 2


def test_contacts_join_an_existing_company_or_a_new_one(db, world):
    user = world.users["sales_east"]
    acme = companies.create_company(user, db, {"name": "Acme GmbH", "country_code": "DE"})
    preview = preview_of(user, db, "contact", [
        ["Name", "Société", "Pays"], ["Anna Berg", "ACME", "Germany"],
        ["Bo Li", "Newco Ltd", "UK"], ["Cy Do", "Newco", "GB"], ["Di Er", "", "DE"]])
    assert messages(preview) == [(5, "Société", "a contact needs a company")]
    assert preview.new_companies == 1
    result = importing.commit(user, db, "contact", preview, skip_invalid=True)
    assert result.created == 3 and result.new_companies == 1
    made = db.fetch_all("SELECT company_id FROM contacts WHERE id IN (SELECT entity_id FROM "
                        "import_batch_items WHERE batch_id = ?) ORDER BY id", (result.batch_id,))
    newco = db.fetch_one("SELECT * FROM companies WHERE name = 'Newco Ltd'")
    assert [m["company_id"] for m in made] == [acme, newco["id"], newco["id"]]
    assert (newco["country_code"], newco["department_id"]) == ("GB", world.east)
    importing.undo_batch(user, db, result.batch_id)
    assert db.scalar("SELECT count(*) FROM companies WHERE name = 'Newco Ltd'") == 0
    assert db.scalar("SELECT count(*) FROM companies WHERE id = ?", (acme,)) == 1


def test_a_company_of_another_department_is_refused(db, world):
    admin = world.users["admin"]
    companies.create_company(admin, db, {"name": "Westco", "country_code": "GB"},
                             department_id=world.west)
    preview = preview_of(world.users["sales_east"], db, "contact", [
        ["Name", "Company", "Country"], ["Anna Berg", "WESTCO Limited", "GB"]])
    # Named only as the file spells it: the other department's company has no name here.
    assert preview.problems[0].message == ("a company named like “WESTCO Limited” exists in "
                                           "this country in another department")


# ------------------------------------------------------------------------------ undo


def test_undo_removes_created_and_restores_updated_records(db, world):
    user = world.users["sales_east"]
    existing, rows = _existing_and_file(db, world)
    before = db.scalar("SELECT count(*) FROM leads")
    result = importing.commit(user, db, "lead", preview_of(user, db, "lead", rows),
                              on_duplicate="update")
    done = importing.undo_batch(user, db, result.batch_id)
    assert (done.removed, done.restored) == (1, 1)
    assert db.scalar("SELECT count(*) FROM leads") == before
    assert db.scalar("SELECT city FROM leads WHERE id = ?", (existing,)) == "Berlin"
    assert db.scalar("SELECT count(*) FROM subscription_events") == 0
    [batch] = importing.list_batches(user, db, "lead")
    assert batch["undone_at"] is not None and batch["undone_by"] == user.full_name
    with pytest.raises(importing.UndoRefused, match="already undone"):
        importing.undo_batch(user, db, result.batch_id)


def test_undo_after_a_later_edit_is_refused_then_undoes_the_rest(db, world):
    user = world.users["sales_east"]
    preview = preview_of(user, db, "contact", [["Name", "Company", "Country"],
                                               ["Anna Berg", "Acme", "DE"],
                                               ["Bo Li", "Acme", "DE"]])
    result = importing.commit(user, db, "contact", preview)
    edited = db.scalar("SELECT min(entity_id) FROM import_batch_items WHERE batch_id = ?",
                       (result.batch_id,))
    contacts.save_edits(user, db, [contacts.RowEdit(edited, 1, {"city": "Paris"})])
    with pytest.raises(importing.UndoRefused) as refused:
        importing.undo_batch(user, db, result.batch_id)
    assert refused.value.changed_ids == [edited]
    assert f"contact {edited}: changed by Sales.East at " in str(refused.value)
    assert db.scalar("SELECT count(*) FROM contacts WHERE id = ?", (edited,)) == 1
    done = importing.undo_batch(user, db, result.batch_id, keep_changed=True)
    assert done.removed == 1 and list(done.kept) == [edited]
    # The edited contact is exactly as its editor left it, at its company.
    row = db.fetch_one("SELECT city, company_id FROM contacts WHERE id = ?", (edited,))
    assert row["city"] == "Paris"
    assert db.scalar("SELECT name FROM companies WHERE id = ?", (row["company_id"],)) == "Acme"
    assert done.removed_companies == 0


def test_batches_of_another_department_are_invisible(db, world):
    user = world.users["sales_east"]
    result = importing.commit(user, db, "lead", preview_of(user, db, "lead",
                                                           [["Name"], ["A B"]]))
    west = world.users["sales_west"]
    assert importing.list_batches(west, db, "lead") == []
    with pytest.raises(importing.UndoRefused, match="does not exist"):
        importing.undo_batch(west, db, result.batch_id)
    assert len(importing.list_batches(world.users["company_manager"], db)) == 1


# -------------------------------------------------------------------------- template


@pytest.mark.parametrize("entity", ["lead", "contact"])
def test_the_template_reads_back_with_every_column_mapped(entity):
    data = importing.template(entity)
    table = read_table(data, "template.xlsx")
    mapping = importing.guess_mapping(entity, table.headers)
    assert all(mapping.values()), mapping
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    lists = [v.formula1 for v in sheet.data_validations.dataValidation]
    assert '"Yes,No"' in lists and any(f.startswith("=Lists!") for f in lists)


def test_email_cells_as_people_fill_them_give_the_email_and_the_secondary_email(db, world):
    user = world.users["sales_east"]
    preview = preview_of(user, db, "lead", [
        ["First name", "Last name", "Company", "Email", "Secondary email"],
        ["Anna", "Müller", "A", "Anna Müller <Anna@Example.DE>", ""],
        ["Ben", "Bauer", "B", "mailto:ben@bauer.example", ""],
        ["Cem", "Cakir", "C", "<cem@cakir.example>", ""],
        ["Dora", "Dietz", "D", "dora@dietz.example; d.dietz@home.example", ""],
        ["Emil", "Engel", "E", "emil@engel.example, e@old.example", "own@engel.example"],
        ["Fritz", "Fuchs", "F", "Fritz Fuchs", ""]])
    assert messages(preview) == [(7, "Email", "“Fritz Fuchs” is not a valid email address "
                                              "(An email address must have an @-sign.)")]
    importing.commit(user, db, "lead", preview, skip_invalid=True)
    found = {r["last_name"]: (r["email"], r["secondary_email"] or None) for r in db.fetch_all(
        "SELECT last_name, email, secondary_email FROM leads WHERE created_by = ?", (user.id,))}
    assert found == {
        "Müller": ("Anna@example.de", None), "Bauer": ("ben@bauer.example", None),
        "Cakir": ("cem@cakir.example", None),
        "Dietz": ("dora@dietz.example", "d.dietz@home.example"),
        "Engel": ("emil@engel.example", "own@engel.example")}  # the row's own kept


@pytest.mark.parametrize(("written", "code"), [
    ("Česko", "CZ"), ("Tschechien", "CZ"), ("Tchéquie", "CZ"), ("Чехия", "CZ"), ("チェコ", "CZ"),
    ("Magyarország", "HU"), ("Ελλάδα", "GR"), ("Sverige", "SE"), ("Österreich", "AT"),
    ("Türkiye", "TR"), ("中国", "CN"), ("Polska", "PL"), ("Suomi", "FI"), ("Éire", "IE")])
def test_a_country_written_in_its_own_or_another_language_is_known(written, code):
    import pandas as pd

    from crm.importing import values

    parsed = values.countries(pd.Series([written]))
    assert parsed.values.tolist() == [code] and parsed.problems.isna().all()


def test_total_and_notes_lines_under_the_data_are_flagged_never_imported(db, world):
    user = world.users["sales_east"]
    preview = preview_of(user, db, "lead", [
        ["First name", "Last name", "Company", "Email"],
        ["Anna", "Adler", "Adler AG", "anna@adler.example"],
        ["Total", "Sum", "Sum GmbH", "total@sum.example"],  # a real person's row
        ["Total: 2 leads"],
        ["Notes: exported on Monday", "by Eva"],
        ["Summe", "2"]])
    summary = ("looks like a total or notes line under the data, not a lead: leave it out (or "
               "delete it in the file)")
    assert [(row, message) for row, column, message in messages(preview)
            if column == ""] == [(4, summary), (5, summary), (6, summary)]
    result = importing.commit(user, db, "lead", preview, skip_invalid=True)
    assert result.counts()["created"] == 2


def test_dates_on_a_twelve_hour_clock_are_read_month_first_when_the_column_says_so():
    import pandas as pd

    from crm.importing import values

    read = values.dates(pd.Series(["1/15/2025 10:00 AM", "1/15/2025 12:30 PM",
                                   "1/15/2025 12:05 AM", "2/3/2025 3:07 pm",
                                   "12/31/2024 11:59 p.m."]), None)
    assert [str(v) for v in read.values] == ["2025-01-15 10:00:00", "2025-01-15 12:30:00",
                                             "2025-01-15 00:05:00", "2025-02-03 15:07:00",
                                             "2024-12-31 23:59:00"]
    assert read.problems.isna().all() and not read.ambiguous


def test_a_csv_with_line_breaks_and_delimiters_inside_quoted_fields_reads_record_by_record():
    rows = ['"First Name","Last Name","Email","Address 1 - Formatted","Notes"']
    rows += [f'"P{i}","L{i}","p{i}@x.example","Street {i}\nApt 4\n10115 Berlin\nGermany",'
             '"line one\nline two; with a semicolon\tand a tab\nthird"' for i in range(30)]
    table = read_table("\r\n".join(rows).encode(), "google.csv")
    assert table.headers == ["First Name", "Last Name", "Email", "Address 1 - Formatted",
                             "Notes"]
    assert table.row_count == 30
    assert table.frame.iloc[29].tolist() == [
        "P29", "L29", "p29@x.example", "Street 29\nApt 4\n10115 Berlin\nGermany",
        "line one\nline two; with a semicolon\tand a tab\nthird"]


def test_the_sheet_that_holds_the_data_is_read_not_a_cover_page_before_it():
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "Cover"
    cover.append(["Customer list 2025"])
    cover.append(["Prepared by Eva for the spring campaign"])
    notes = book.create_sheet("Notes")
    notes.append(["Remember to check the phone numbers"])
    data = book.create_sheet("Contacts")
    data.append(["First name", "Last name", "Email", "Company"])
    data.append(["Anna", "Adler", "anna@adler.example", "Adler AG"])
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue(), "list.xlsx")
    assert (table.sheet, table.sheets) == ("Contacts", ["Cover", "Notes", "Contacts"])
    assert table.headers == ["First name", "Last name", "Email", "Company"]
    assert table.row_count == 1
    assert read_table(buffer.getvalue(), "list.xlsx", "Cover").sheet == "Cover"  # as asked


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "cp1252",
                                      "mac_roman"])
def test_csv_text_in_the_encodings_spreadsheets_write_is_read(encoding):
    text = "First Name\tLast Name\tEmail\r\nAnna\tMüller\ta@x.example\r\n"
    table = read_table(text.encode(encoding), "unicode.txt.csv")
    assert table.headers == ["First Name", "Last Name", "Email"]
    assert table.frame.iloc[0].tolist() == ["Anna", "Müller", "a@x.example"]


@pytest.mark.parametrize("encoding", ["cp1252", "mac_roman"])
@pytest.mark.parametrize("name", ["Müller", "Ærøskøbing", "Chloé Dupont-Bérénice", "Ñúñez",
                                  "Straße Öl Äpfel", "Françoise", "Ângela Gonçalves"])
def test_eight_bit_text_from_windows_and_from_a_mac_is_read_as_written(encoding, name):
    text = f"Name;Company\r\n{name};Société Générale\r\n"
    table = read_table(text.encode(encoding), "people.csv")
    assert table.frame.iloc[0].tolist() == [name, "Société Générale"]
