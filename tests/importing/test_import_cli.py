"""`python -m crm import` and `imports`: exit 0 imported, 1 stopped by problems (nothing
written), 2 file unusable; `--json` prints one object."""

from __future__ import annotations

import json

import pytest

from crm.cli import main
from crm.records import leads
from crm.records.editing import RowEdit
from tests import factories
from tests.workbooks import xlsx


def run(capsys, database_url, *args):
    code = main(["--db", database_url, *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def world(db):
    return factories.world(db)


@pytest.fixture
def people_file(tmp_path):
    path = tmp_path / "people.xlsx"
    path.write_bytes(xlsx([["Vorname", "Nachname", "E-Mail", "Land"],
                           ["Anna", "Berg", "anna@x.de", "Deutschland"],
                           ["Bo", "Li", "bad@", "Atlantis"]]))
    return path


def test_problems_stop_the_import_with_exit_1_and_json(capsys, database_url, world,
                                                       people_file, db):
    code, out, _ = run(capsys, database_url, "import", "leads", str(people_file), "--user",
                       "sales.east", "--json")
    report = json.loads(out)
    assert code == 1 and report["created"] == 0 and not report["committed"]
    assert {(p["row"], p["column"]) for p in report["problems"]} == {(3, "E-Mail"), (3, "Land")}
    assert db.scalar("SELECT count(*) FROM import_batches") == 0


def test_skip_invalid_imports_the_good_rows(capsys, database_url, world, people_file, db,
                                            tmp_path):
    rejected = tmp_path / "rejected.xlsx"
    code, out, _ = run(capsys, database_url, "import", "leads", str(people_file), "--user",
                       "sales.east", "--skip-invalid", "--json", "--rejected", str(rejected))
    report = json.loads(out)
    assert code == 0
    assert {k: report[k] for k in ("created", "updated", "skipped", "rejected")} == {
        "created": 1, "updated": 0, "skipped": 0, "rejected": 1}
    assert rejected.stat().st_size > 0
    assert db.scalar("SELECT count(*) FROM leads WHERE email = 'anna@x.de'") == 1


def test_a_dry_run_writes_nothing(capsys, database_url, world, tmp_path, db):
    path = tmp_path / "ok.csv"
    path.write_text("Name;Email\nAnna Berg;anna@x.de\n", encoding="cp1252")
    code, out, _ = run(capsys, database_url, "import", "leads", str(path), "--user",
                       "sales.east", "--dry-run")
    assert code == 0 and "1 would be created" in out
    assert db.scalar("SELECT count(*) FROM import_batches") == 0


def test_map_overrides_the_guess(capsys, database_url, world, tmp_path, db):
    path = tmp_path / "odd.csv"
    path.write_text("Wer,Kontakt,Notiz\nAnna Berg,anna@x.de,ignore me\n")
    code, out, _ = run(capsys, database_url, "import", "leads", str(path), "--user",
                       "sales.east", "--map", "Wer=full_name", "--map", "Kontakt=email",
                       "--map", "Notiz=", "--json")
    assert code == 0 and json.loads(out)["created"] == 1
    row = db.fetch_one("SELECT first_name, email, description FROM leads WHERE email <> ''")
    assert row == {"first_name": "Anna", "email": "anna@x.de", "description": ""}


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", bytes(range(256))])
def test_an_unusable_file_exits_2(capsys, database_url, world, tmp_path, content):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    code, out, _ = run(capsys, database_url, "import", "contacts", str(path), "--user",
                       "sales.east", "--json")
    assert code == 2 and json.loads(out)["error"]


def test_a_missing_file_or_unknown_mapping_exits_2(capsys, database_url, world, tmp_path):
    assert run(capsys, database_url, "import", "leads", str(tmp_path / "none.xlsx"),
               "--user", "sales.east")[0] == 2
    path = tmp_path / "x.csv"
    path.write_text("Name\nAnna Berg\n")
    code, _, err = run(capsys, database_url, "import", "leads", str(path), "--user",
                       "sales.east", "--map", "Name=shoe_size")
    assert code == 2 and "shoe_size" in err


def test_imports_list_and_undo(capsys, database_url, world, people_file, db):
    run(capsys, database_url, "import", "leads", str(people_file), "--user", "sales.east",
        "--skip-invalid")
    batch = db.scalar("SELECT max(id) FROM import_batches")
    code, out, _ = run(capsys, database_url, "imports", "list", "--user", "sales.east")
    assert code == 0 and "people.xlsx" in out
    lead = db.scalar("SELECT entity_id FROM import_batch_items WHERE batch_id = ?", (batch,))
    others = [r["entity_id"] for r in db.fetch_all(
        "SELECT entity_id FROM import_batch_items WHERE batch_id = ? AND entity_id <> ?",
        (batch, lead))]
    leads.save_edits(world.users["sales_east_2"], db,
                     [RowEdit(lead, 1, {"city": "Paris"})])
    code, _, err = run(capsys, database_url, "imports", "undo", str(batch), "--user",
                       "sales.east")
    assert code == 1 and f"lead {lead}: changed by Sales.East2" in err
    assert "--keep-changed" in err
    code, out, _ = run(capsys, database_url, "imports", "undo", str(batch), "--user",
                       "sales.east", "--keep-changed")
    assert code == 0 and f"{len(others)} removed" in out and "1 kept as they are" in out
    assert f"kept {lead}: changed by Sales.East2" in out
    assert db.scalar("SELECT city FROM leads WHERE id = ?", (lead,)) == "Paris"


def test_the_command_line_says_which_sheet_it_read(capsys, database_url, world, tmp_path):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.active.append(["Leads for the fair"])
    data = book.create_sheet("Leads")
    data.append(["First name", "Last name", "Email", "Company"])
    data.append(["Anna", "Adler", "anna@adler.example", "Adler AG"])
    buffer = io.BytesIO()
    book.save(buffer)
    path = tmp_path / "fair.xlsx"
    path.write_bytes(buffer.getvalue())
    code, out, _ = run(capsys, database_url, "import", "leads", str(path), "--user",
                       "sales.east", "--dry-run")
    assert code == 0 and "1 rows read from sheet “Leads” of fair.xlsx: 1 would be created" in out
    code, out, _ = run(capsys, database_url, "import", "leads", str(path), "--user",
                       "sales.east", "--dry-run", "--json")
    assert json.loads(out)["sheet"] == "Leads"
