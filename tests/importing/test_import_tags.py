"""Tags in imported files: a "Tags" column (Google's "Labels", Mailchimp's TAGS, Outlook's
"Categories", …) puts its tags on the records, making the tags the workspace lacks. An import
only adds tags, never takes one away; undoing it takes off exactly the tags it put on."""

from __future__ import annotations

import pandas as pd
import pytest

from crm import importing
from crm.importing import values
from crm.importing.fields import guess_field
from crm.records import tags
from tests import factories
from tests.workbooks import messages, preview_of


@pytest.fixture
def world(db):
    return factories.world(db)


@pytest.mark.parametrize(("cell", "names"), [
    ("Customer, Trade fair", ("Customer", "Trade fair")),
    ('"Customer","Trade fair"', ("Customer", "Trade fair")),  # Mailchimp
    ("* myContacts ::: Friends ::: Golf", ("Friends", "Golf")),  # Google Contacts
    ("Key customer;Golf", ("Key customer", "Golf")),  # Outlook categories
    ("a | b\nc", ("a", "b", "c")),
    ("VIP; vip ;  VIP  ", ("VIP",)),  # each tag once, whatever its case
    ("  Two   words ", ("Two words",)),
    ("", ()),
])
def test_tags_are_read_as_tools_write_them(cell, names):
    assert values.tags(pd.Series([cell])).values.tolist() == [names]


@pytest.mark.parametrize(("header", "field"), [
    ("Tags", "tags"), ("TAGS", "tags"), ("Labels", "tags"), ("Group Membership", "tags"),
    ("Categories", "tags"), ("Person - Labels", "tags"), ("Schlagwörter", "tags"),
    ("Étiquettes", "tags"), ("Phone 1 - Label", None)])
def test_tag_columns_are_recognised(header, field):
    assert guess_field("contact", header) == field


def tag_names(db, contact_id: int) -> list[str]:
    return [r["name"] for r in db.fetch_all(
        "SELECT t.name FROM contact_tags x JOIN tags t ON t.id = x.tag_id "
        "WHERE x.contact_id = ? ORDER BY t.name", (contact_id,))]


def test_imported_contacts_get_their_tags_and_missing_tags_are_made(db, world):
    user = world.users["sales_east"]
    golf = tags.create_tag(user, db, "Golf")
    preview = preview_of(user, db, "contact", [
        ["Name", "Company", "Country", "Tags"],
        ["Anna Berg", "Acme", "DE", "golf, Trade fair"],
        ["Bo Li", "Acme", "DE", ""],
        ["Cy Do", "Acme", "DE", "Trade fair"]])
    assert messages(preview) == []
    assert ("1 new tag(s) will be made: “Trade fair”. Tags are added to the records; an "
            "import never takes a tag away.") in preview.notes
    result = importing.commit(user, db, "contact", preview)
    anna, cy, bo = [r["id"] for r in db.fetch_all(
        "SELECT id FROM contacts WHERE created_by = ? ORDER BY last_name", (user.id,))]
    assert [tag_names(db, c) for c in (anna, bo, cy)] == [["Golf", "Trade fair"], [],
                                                          ["Trade fair"]]
    assert db.scalar("SELECT count(*) FROM tags WHERE lower(name) = 'golf'") == 1
    assert tag_names(db, anna)[0] == "Golf" and golf in tags.all_tags(db)
    made = db.fetch_one("SELECT user_id, new_value FROM audit_log WHERE entity = 'tag' "
                        "AND action = 'create' ORDER BY id DESC LIMIT 1")
    assert made["user_id"] == user.id and "Trade fair" in made["new_value"]
    # The tagging is in the batch's audit, and undo takes the contacts with their tags.
    assert db.scalar("SELECT count(*) FROM audit_log WHERE batch_id = ? AND field = 'tags'",
                     (result.batch_id,)) == 3
    importing.undo_batch(user, db, result.batch_id)
    assert db.scalar("SELECT count(*) FROM contact_tags") == 0


def test_a_tag_too_long_is_a_problem_of_its_row(db, world):
    user = world.users["sales_east"]
    preview = preview_of(user, db, "contact", [["Name", "Company", "Tags"],
                                               ["Anna Berg", "Acme", "x" * 61]])
    assert messages(preview) == [(2, "Tags", "the tag “" + "x" * 40 + "…” is longer than 60 "
                                  "characters")]


def _tagged_contact(db, world):
    user = world.users["sales_east"]
    company = factories.company(db, "Acme", world.east, user, country="DE")
    anna = factories.contact(db, "Berg", company, world.east, user, first_name="Anna",
                             email="anna@acme.example", country_code="DE")
    tags.add_tags(user, db, [tags.create_tag(user, db, "Golf")], ids=[anna])
    return user, anna


def test_an_update_adds_tags_and_undo_takes_off_only_those(db, world):
    user, anna = _tagged_contact(db, world)
    rows = [["Name", "Email", "Company", "Country", "Tags"],
            ["Anna Berg", "anna@acme.example", "Acme", "DE", "Golf, Board"]]
    result = importing.commit(user, db, "contact", preview_of(user, db, "contact", rows),
                              on_duplicate="update")
    assert result.updated == 1
    assert tag_names(db, anna) == ["Board", "Golf"]
    importing.undo_batch(user, db, result.batch_id)
    assert tag_names(db, anna) == ["Golf"]  # the tag it had before the import stays


def test_an_update_without_tags_in_the_file_leaves_a_records_tags(db, world):
    user, anna = _tagged_contact(db, world)
    rows = [["Name", "Email", "Company", "City", "Tags"],
            ["Anna Berg", "anna@acme.example", "Acme", "Bonn", ""]]
    importing.commit(user, db, "contact", preview_of(user, db, "contact", rows),
                     on_duplicate="update")
    assert tag_names(db, anna) == ["Golf"]


def test_undo_leaves_the_tags_of_a_record_tagged_again_since(db, world):
    user, anna = _tagged_contact(db, world)
    rows = [["Name", "Email", "Company", "Country", "Tags"],
            ["Anna Berg", "anna@acme.example", "Acme", "DE", "Board"]]
    result = importing.commit(user, db, "contact", preview_of(user, db, "contact", rows),
                              on_duplicate="update")
    colleague = world.users["sales_east_2"]
    tags.add_tags(colleague, db, [tags.create_tag(colleague, db, "Fair")], ids=[anna])
    with pytest.raises(importing.UndoRefused):
        importing.undo_batch(user, db, result.batch_id)
    importing.undo_batch(user, db, result.batch_id, keep_changed=True)
    assert tag_names(db, anna) == ["Board", "Fair", "Golf"]


@pytest.mark.parametrize("name", ["Smith, Jones", "a;b", "x|y"])
def test_a_tag_name_cannot_hold_what_separates_tags_in_files(db, world, name):
    with pytest.raises(tags.TagError, match="separate tags"):
        tags.create_tag(world.users["sales_east"], db, name)
