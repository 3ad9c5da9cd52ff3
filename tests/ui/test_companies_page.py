"""The Companies page through Streamlit's AppTest: the count sentence, the filters, the detail
view with the company's contacts, and adding a company whose loose name is taken."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from crm.access import Entity
from crm.common.names import company_name_key
from crm.storage import search
from tests import factories
from tests.conftest import shown
from tests.pages import COMPANIES, names, open_page, sentence


@pytest.fixture
def world(db, app_env):
    """East: Eastwind GmbH (DE, Machinery, Dealer, sales.east) with Eastone and Easttwo, and
    Nordlicht GmbH (FR, Logistics, Distributor, unassigned). West: Westbrook Ltd (GB,
    Logistics) with Westone and Westsuper."""
    w = factories.world(db)
    w.companies["nordlicht"] = factories.company(db, "Nordlicht GmbH", w.east, None, "FR")
    ids = {name: db.scalar(f"SELECT id FROM {table} WHERE name = ?", (name,))
           for table, names in (("industries", ("Logistics", "Machinery")),
                                ("company_types", ("Distributor", "Dealer")))
           for name in names}
    with db.transaction() as tx:
        for company, industry, kind in (("nordlicht", "Logistics", "Distributor"),
                                        ("east", "Machinery", "Dealer"),
                                        ("west", "Logistics", "Distributor")):
            tx.execute("INSERT INTO company_industries (company_id, industry_id) VALUES (?, ?)",
                       (w.companies[company], ids[industry]))
            tx.execute("UPDATE companies SET company_type_id = ? WHERE id = ?",
                       (ids[kind], w.companies[company]))
        # The factory's name key is the plain lower-cased name; the app's is looser.
        for row in tx.fetch_all("SELECT id, name FROM companies"):
            tx.execute("UPDATE companies SET name_key = ? WHERE id = ?",
                       (company_name_key(row["name"]), row["id"]))
        search.refresh(tx, Entity.COMPANY)
        search.refresh(tx, Entity.CONTACT)
    w.ids = ids
    return w


def open_companies(username: str, **params: str) -> AppTest:
    return open_page(username, COMPANIES, **params)


def test_a_sales_manager_lists_their_departments_companies(world):
    at = open_companies("sales.east")
    assert [t.value for t in at.title] == ["Companies"]
    assert sentence(at) == "2 companies"
    assert names(at) == ["Eastwind GmbH", "Nordlicht GmbH"]  # by name
    grid = at.data_editor[0].value.set_index("name")
    assert grid.loc["Eastwind GmbH", "contacts"] == 2
    assert grid.loc["Nordlicht GmbH", "contacts"] == 0
    assert grid.loc["Eastwind GmbH", "industry"] == "Machinery"


def test_a_company_manager_lists_every_department(world):
    at = open_companies("company.manager")
    assert sentence(at) == "3 companies"
    assert "company_filter_department" in [m.key for m in at.sidebar.multiselect]


def test_the_company_filters(world):
    at = open_companies("sales.east")
    assert [m.key for m in at.sidebar.multiselect] == [
        "company_filter_manager", "company_filter_industry", "company_filter_company_type",
        "company_filter_country"]
    assert at.multiselect(key="company_filter_industry").options == [
        "Logistics (1)", "Machinery (1)"]

    at.multiselect(key="company_filter_industry").select(str(world.ids["Logistics"])).run()
    assert not at.exception
    assert sentence(at) == "1 company where industry is Logistics"
    assert names(at) == ["Nordlicht GmbH"]

    at.multiselect(key="company_filter_industry").unselect(str(world.ids["Logistics"])).run()
    at.multiselect(key="company_filter_company_type").select(str(world.ids["Dealer"])).run()
    assert not at.exception
    assert sentence(at) == "1 company where company type is Dealer"
    assert names(at) == ["Eastwind GmbH"]

    at.multiselect(key="company_filter_company_type").unselect(str(world.ids["Dealer"])).run()
    at.multiselect(key="company_filter_country").select("FR").run()
    assert not at.exception
    assert sentence(at) == "1 company where country is France"
    assert names(at) == ["Nordlicht GmbH"]

    at.multiselect(key="company_filter_country").unselect("FR").run()
    at.multiselect(key="company_filter_manager").select("none").run()
    assert not at.exception
    assert sentence(at) == "1 company where assigned manager is Unassigned"
    assert names(at) == ["Nordlicht GmbH"]


def test_the_search_finds_a_company_by_name(world):
    at = open_companies("sales.east")
    at.text_input(key="company_search").input("eastwind").run()
    assert not at.exception
    assert sentence(at) == "1 company, matching “eastwind”"
    assert names(at) == ["Eastwind GmbH"]


def test_the_detail_view_lists_the_companys_contacts(world):
    at = open_companies("sales.east", id=str(world.companies["east"]))
    assert [t.value for t in at.title] == ["Eastwind GmbH"]
    assert [t.label for t in at.tabs] == ["Details", "Contacts", "Edit", "History"]
    facts = at.dataframe[0].value.set_index("Field")["Value"]
    assert facts["Industries"] == "Machinery"
    assert facts["Company type"] == "Dealer"
    assert facts["Department"] == "East"
    people = at.tabs[1].dataframe[0].value
    assert sorted(people["name"]) == ["Test Eastone", "Test Easttwo"]
    assert sorted(people["link"]) == sorted(
        f"/contacts?id={world.contacts[k]}" for k in ("east_mine", "east_other"))


def test_a_company_without_contacts_says_so(world):
    at = open_companies("sales.east", id=str(world.companies["nordlicht"]))
    assert [c.value for c in at.tabs[1].caption] == [
        "No contacts at this company that you can see."]


def test_another_departments_company_does_not_exist_for_a_sales_manager(world):
    west_id = world.companies["west"]
    at = open_companies("sales.east", id=str(west_id))
    assert [e.value for e in at.error] == [f"Company {west_id} does not exist."]
    assert not at.title
    assert not at.tabs


def add_company(at: AppTest, name: str, country: str) -> AppTest:
    """Open the Add-company dialog, fill it in and save.

    In the browser, the dialog's form submit reruns the dialog alone (a fragment); AppTest
    reruns the whole script, where the "Add company" button is no longer pressed. Pressing it
    again in the submitting run draws the dialog, with the staged values, as the browser does.
    """
    open_dialog = next(b for b in at.button if b.label == "Add company")
    open_dialog.click().run()
    assert not at.exception
    assert [d.proto.dialog.title for d in at.get("dialog")] == ["Add company"]
    next(t for t in at.text_input if t.label == "Name").input(name)
    at.selectbox(key="add_company_country").set_value(country)
    next(b for b in at.button if b.label == "Add company").click()
    at.button(key="FormSubmitter:add_company-Save company").click().run()
    assert not at.exception
    return at


def test_adding_a_loose_duplicate_in_the_same_country_warns_and_adds_nothing(world, db):
    at = open_companies("sales.east")
    add_company(at, "EASTWIND", "DE")
    assert [shown(w.value) for w in at.warning] == [
        f"A company named like “Eastwind GmbH” already exists in this country "
        f"(ID {world.companies['east']}). Use it, or tell the names apart (for example by "
        "adding the city)."]
    assert db.scalar("SELECT count(*) FROM companies") == 3


def test_a_duplicate_in_another_department_is_not_named(world, db):
    at = open_companies("sales.east")
    add_company(at, "Westbrook", "GB")
    assert [shown(w.value) for w in at.warning] == [
        "A company named like “Westbrook” already exists in this country in another "
        "department. Use it, or tell the names apart (for example by adding the city)."]
    assert db.scalar("SELECT count(*) FROM companies") == 3


def test_the_same_name_in_another_country_is_added(world, db):
    at = open_companies("sales.east")
    add_company(at, "Eastwind", "AT")
    assert not at.warning
    new_id = db.scalar("SELECT id FROM companies WHERE country_code = 'AT'")
    assert [shown(s.value) for s in at.success] == [f"Company {new_id} added."]
    assert sentence(at) == "3 companies"
