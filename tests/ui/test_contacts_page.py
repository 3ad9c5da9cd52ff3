"""The Contacts page through Streamlit's AppTest: the count sentence, the company and tag
filters, search by company, the detail view, the export scope said before downloading, bulk
tags on every matching contact and the Tags popover, always inside the user's scope."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from crm.access import Entity
from crm.storage import search
from tests import factories
from tests.conftest import shown
from tests.pages import names as grid_names
from tests.pages import open_contacts, sentence, sidebar_filters


@pytest.fixture
def world(db, app_env):
    """East: Eastwind (Machinery, Dealer) with Eastone (sales.east) and Easttwo (sales.east2);
    Nordlicht (Logistics, Distributor) with Adler (sales.east) and Becker (sales.east2), both
    tagged "Fair 2026". West: Westbrook (Logistics) with Westone (tagged) and Westsuper."""
    w = factories.world(db)
    sales, sales2 = w.users["sales_east"], w.users["sales_east_2"]
    w.companies["nordlicht"] = factories.company(db, "Nordlicht GmbH", w.east, sales)
    w.contacts["Adler"] = factories.contact(db, "Adler", w.companies["nordlicht"], w.east,
                                            sales, first_name="Anna", country_code="DE",
                                            email="anna@nordlicht.example")
    w.contacts["Becker"] = factories.contact(db, "Becker", w.companies["nordlicht"], w.east,
                                             sales2, first_name="Bernd", country_code="FR")
    ids = {name: db.scalar(f"SELECT id FROM {table} WHERE name = ?", (name,))
           for table, names in (("industries", ("Logistics", "Machinery")),
                                ("company_types", ("Distributor", "Dealer")))
           for name in names}
    fair = db.scalar("INSERT INTO tags (name) VALUES ('Fair 2026') RETURNING id")
    with db.transaction() as tx:
        for company, industry, kind in (("nordlicht", "Logistics", "Distributor"),
                                        ("east", "Machinery", "Dealer"),
                                        ("west", "Logistics", "Distributor")):
            tx.execute("INSERT INTO company_industries (company_id, industry_id) VALUES (?, ?)",
                       (w.companies[company], ids[industry]))
            tx.execute("UPDATE companies SET company_type_id = ? WHERE id = ?",
                       (ids[kind], w.companies[company]))
        for contact in ("Adler", "Becker", "west"):
            tx.execute("INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)",
                       (w.contacts[contact], fair))
        search.refresh(tx, Entity.COMPANY)
        search.refresh(tx, Entity.CONTACT)
    w.ids = {**ids, "Fair 2026": fair}
    return w


def names(at: AppTest) -> list[str]:
    """The grid's names, sorted: these tests are about who is listed, not in which order."""
    return sorted(grid_names(at))


def tagged(db, tag: str) -> set[str]:
    return {r["last_name"] for r in db.fetch_all(
        "SELECT c.last_name FROM contacts c JOIN contact_tags x ON x.contact_id = c.id "
        "JOIN tags t ON t.id = x.tag_id WHERE t.name = ?", (tag,))}


def test_a_sales_manager_counts_only_their_departments_contacts(world):
    at = open_contacts("sales.east")
    assert [t.value for t in at.title] == ["Contacts"]
    assert sentence(at) == "4 contacts"
    assert names(at) == ["Anna Adler", "Bernd Becker", "Test Eastone", "Test Easttwo"]


def test_a_company_manager_counts_every_department(world):
    assert sentence(open_contacts("company.manager")) == "6 contacts"


def test_the_contact_filters_and_the_department_filter_for_company_wide_roles_only(world):
    common = ["manager", "industry", "company_type", "country", "newsletter", "vip", "tag"]
    at = open_contacts("sales.east")
    assert sidebar_filters(at) == [f"contact_filter_{k}" for k in common]

    at = open_contacts("company.manager")
    assert sidebar_filters(at) == [f"contact_filter_{k}" for k in ["department", *common]]
    at.multiselect(key="contact_filter_department").select(str(world.west)).run()
    assert not at.exception
    assert sentence(at) == "2 contacts where department is West"
    assert names(at) == ["Test Westone", "Test Westsuper"]


def test_filter_options_count_only_the_users_department(world):
    at = open_contacts("sales.east")
    assert at.multiselect(key="contact_filter_industry").options == [
        "Logistics (2)", "Machinery (2)"]
    assert at.multiselect(key="contact_filter_company_type").options == [
        "Dealer (2)", "Distributor (2)"]
    assert at.multiselect(key="contact_filter_tag").options == ["Fair 2026 (2)"]


def test_industry_and_tag_filters_narrow_the_count_and_combine(world):
    at = open_contacts("sales.east")
    at.multiselect(key="contact_filter_industry").select(str(world.ids["Logistics"])).run()
    assert not at.exception
    assert sentence(at) == "2 contacts where industry is Logistics"
    assert names(at) == ["Anna Adler", "Bernd Becker"]

    at.multiselect(key="contact_filter_tag").select(str(world.ids["Fair 2026"])).run()
    assert not at.exception
    assert sentence(at) == "2 contacts where industry is Logistics and tag is Fair 2026"

    at.multiselect(key="contact_filter_country").select("FR").run()
    assert not at.exception
    assert names(at) == ["Bernd Becker"]
    assert at.query_params == {"industry": str(world.ids["Logistics"]),
                               "country": "FR", "tag": str(world.ids["Fair 2026"])}


def test_the_company_type_filter_narrows_the_count(world):
    at = open_contacts("sales.east")
    at.multiselect(key="contact_filter_company_type").select(str(world.ids["Dealer"])).run()
    assert not at.exception
    assert sentence(at) == "2 contacts where company type is Dealer"
    assert names(at) == ["Test Eastone", "Test Easttwo"]


@pytest.mark.parametrize("text", ["nordlicht", "Nordlicht GmbH"])
def test_searching_a_company_name_finds_its_contacts(world, text):
    at = open_contacts("sales.east")
    at.text_input(key="contact_search").input(text).run()
    assert not at.exception
    assert sentence(at) == f"2 contacts, matching “{text}”"
    assert names(at) == ["Anna Adler", "Bernd Becker"]


def test_searching_another_departments_company_finds_nothing(world):
    at = open_contacts("sales.east")
    at.text_input(key="contact_search").input("westbrook").run()
    assert not at.exception
    assert sentence(at) == "0 contacts, matching “westbrook”"


def test_the_detail_view_shows_a_contact_with_its_tabs(world):
    at = open_contacts("sales.east", id=str(world.contacts["Adler"]))
    assert [t.value for t in at.title] == ["Anna Adler"]
    assert [t.label for t in at.tabs] == ["Details", "Edit", "Tags", "Newsletter", "History"]
    facts = at.dataframe[0].value.set_index("Field")["Value"]
    assert facts["Company"] == "Nordlicht GmbH"
    assert facts["Email"] == "anna@nordlicht.example"
    assert facts["Tags"] == "Fair 2026"
    assert facts["Department"] == "East"


def test_another_departments_contact_does_not_exist_for_a_sales_manager(world):
    west_id = world.contacts["west"]
    at = open_contacts("sales.east", id=str(west_id))
    assert [e.value for e in at.error] == [f"Contact {west_id} does not exist."]
    assert not at.title
    assert not at.tabs


def open_export_all(at: AppTest) -> AppTest:
    """Open the "Export all" menu (its counts are made only while it is open)."""
    at.session_state["contact_export_all_menu"] = True
    at.run()
    assert not at.exception
    return at


def export_all_caption(at: AppTest) -> str:
    return next(shown(c.value) for c in at.caption
                if "export" in c.value or "assigned" in c.value)


def test_export_all_says_it_holds_only_the_users_own_contacts(world):
    at = open_contacts("sales.east")
    assert not [d for d in at.get("download_button") if d.proto.label == "Download"]
    open_export_all(at)
    download = at.get("download_button")
    assert any(d.proto.label == "Download" and not d.proto.disabled for d in download)
    assert export_all_caption(at) == (
        "2 of the 4 matching contacts are assigned to you; the file has those 2.")


def test_export_all_for_a_user_owning_every_visible_contact_says_so_plainly(world, db):
    with db.transaction() as tx:
        tx.execute("UPDATE contacts SET owner_id = ? WHERE department_id = ?",
                   (world.users["sales_east"].id, world.east))
    at = open_export_all(open_contacts("sales.east"))
    assert export_all_caption(at) == "Every contact you may export: 4 rows."


def test_add_tags_to_every_matching_contact(world, db):
    new_tag = db.scalar("INSERT INTO tags (name) VALUES ('Key account') RETURNING id")
    at = open_contacts("sales.east", industry=str(world.ids["Machinery"]))
    at.selectbox(key="contact_bulk_action").set_value("add_tags").run()
    at.multiselect(key="contact_bulk_tags").select(new_tag).run()
    at.radio(key="contact_bulk_target").set_value("all").run()
    apply = at.button(key="contact_bulk_apply")
    assert apply.label == "Add tags: 2 contacts"
    apply.click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Added 2 tag(s) to contacts."]
    assert tagged(db, "Key account") == {"Eastone", "Easttwo"}
    assert sentence(at) == "2 contacts where industry is Machinery"
    # The tag filter offers the new tag at once.
    assert "Key account (2)" in at.multiselect(key="contact_filter_tag").options


def test_a_sales_manager_creates_a_tag_but_cannot_rename_or_merge(world, db):
    at = open_contacts("sales.east")
    assert not [s for s in at.selectbox if s.label == "Rename tag"]
    assert not [m for m in at.multiselect if m.label == "Merge these tags"]
    next(t for t in at.text_input if t.label == "New tag").input("Newsletter 2026")
    at.button(key="FormSubmitter:tag_create-Create tag").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Tag “Newsletter 2026” ready."]
    assert db.scalar("SELECT count(*) FROM tags WHERE name = 'Newsletter 2026'") == 1


def test_a_company_manager_renames_a_tag(world, db):
    at = open_contacts("company.manager")
    rename = next(s for s in at.selectbox if s.label == "Rename tag")
    assert [m for m in at.multiselect if m.label == "Merge these tags"]
    rename.set_value(world.ids["Fair 2026"])
    next(t for t in at.text_input if t.label == "New name").input("Fair 2027")
    at.button(key="FormSubmitter:tag_rename-Rename").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Tag renamed."]
    assert tagged(db, "Fair 2027") == {"Adler", "Becker", "Westone"}


def test_the_bulk_export_counts_only_the_users_own_matching_contacts(world):
    at = open_contacts("sales.east", industry=str(world.ids["Logistics"]))
    at.radio(key="contact_bulk_target").set_value("all").run()
    at.selectbox(key="contact_bulk_action").set_value("export").run()
    assert not at.exception
    button = next(d for d in at.get("download_button") if d.key == "contact_bulk_export")
    assert button.proto.label == "Download 1 contact"
    assert not button.proto.disabled
    assert "1 of the 2 matching contacts is assigned to you; the file has that one." in [
        shown(c.value) for c in at.caption]


def test_the_bulk_export_of_checked_colleagues_contacts_is_disabled(world):
    at = open_contacts("sales.east", industry=str(world.ids["Logistics"]), sort="name",
                       dir="asc")
    assert at.data_editor[0].value["name"].tolist() == ["Anna Adler", "Bernd Becker"]
    editor = at.data_editor[0]
    at.session_state[editor.key] = {"edited_rows": {1: {"Select": True}},
                                    "added_rows": [], "deleted_rows": []}
    at.selectbox(key="contact_bulk_action").set_value("export").run()
    assert not at.exception
    button = next(d for d in at.get("download_button") if d.key == "contact_bulk_export")
    assert button.proto.label == "Download 0 contacts"
    assert button.proto.disabled
    assert "None of the 1 checked contact is assigned to you; nothing to export." in [
        shown(c.value) for c in at.caption]
