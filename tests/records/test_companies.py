"""Companies: the list (scope, filters, search, sort, contact counts), adding one (unique per
country, compared loosely, without naming companies outside the scope), renames, industries,
detail, contacts and pickers."""

from __future__ import annotations

import pandas as pd
import pytest

from crm.access import Entity
from crm.common.names import company_name_key
from crm.lists.filters import NONE_VALUE
from crm.lists.listing import ListQuery, count, fetch_page, options
from crm.records import companies
from crm.records.companies import (
    COMPANIES,
    DuplicateCompany,
    choices,
    company_contacts,
    create_company,
    get_company,
    set_industries,
)
from crm.records.contacts import CONTACTS
from crm.records.editing import EditRejected, RowEdit
from crm.storage import search
from tests import factories


def vocabulary(db, table, name):
    return db.scalar(f"SELECT id FROM {table} WHERE name = ?", (name,))


def describe_company(db, company_id, *, industries=(), company_type=None, website=""):
    for industry in industries:
        db.execute("INSERT INTO company_industries (company_id, industry_id) VALUES (?, ?)",
                   (company_id, vocabulary(db, "industries", industry)))
    type_id = vocabulary(db, "company_types", company_type) if company_type else None
    db.execute("UPDATE companies SET company_type_id = ?, website = ? WHERE id = ?",
               (type_id, website, company_id))


@pytest.fixture
def world(db):
    """East: Eastwind (DE, 2 contacts), Acme Tools (AT, 3 contacts, Machinery and Retail,
    Dealer), Baltic Foods (PL, unassigned, no contacts, Distributor). West: Westbrook (GB,
    2 contacts, Retail, Dealer) and Wolfram SE (DE, Competitor)."""
    w = factories.world(db)
    east, west = w.east, w.west
    sales, sales2, sales_west = (w.users["sales_east"], w.users["sales_east_2"],
                                 w.users["sales_west"])
    w.companies["acme"] = factories.company(db, "Acme Tools AG", east, sales2, "AT")
    w.companies["baltic"] = factories.company(db, "Baltic Foods", east, None, "PL")
    w.companies["wolfram"] = factories.company(db, "Wolfram SE", west, sales_west, "DE")
    for company_id in w.companies.values():  # the real loose key, as the service writes it
        name = db.scalar("SELECT name FROM companies WHERE id = ?", (company_id,))
        db.execute("UPDATE companies SET name_key = ? WHERE id = ?",
                   (company_name_key(name), company_id))
    describe_company(db, w.companies["acme"], industries=("Machinery", "Retail"),
                     company_type="Dealer", website="www.acmetools.example")
    describe_company(db, w.companies["baltic"], industries=("Food and beverage",),
                     company_type="Distributor")
    describe_company(db, w.companies["east"], industries=("Automotive",))
    describe_company(db, w.companies["west"], industries=("Retail",), company_type="Dealer")
    describe_company(db, w.companies["wolfram"], company_type="Competitor")
    for last in ("Adams", "Baker", "Clark"):
        w.contacts[last] = factories.contact(db, last, w.companies["acme"], east, sales)
    with db.transaction() as tx:
        search.refresh(tx, Entity.COMPANY)
        search.refresh(tx, Entity.CONTACT)
    return w


def listed(db, user, query=None):
    page = fetch_page(user, db, COMPANIES, query or ListQuery(page_size=250))
    return sorted(page.rows["name"])


def found(db, user, **filters):
    return listed(db, user, ListQuery(filters={k: tuple(v) for k, v in filters.items()},
                                      page_size=250))


def company_row(db, company_id):
    return db.fetch_one("SELECT * FROM companies WHERE id = ?", (company_id,))


def audit_rows(db, company_id):
    return db.fetch_all("SELECT * FROM audit_log WHERE entity = 'company' AND entity_id = ? "
                        "ORDER BY id", (company_id,))


EAST = ["Acme Tools AG", "Baltic Foods", "Eastwind GmbH"]
WEST = ["Westbrook Ltd", "Wolfram SE"]


# ----------------------------------------------------------------------- list


@pytest.mark.parametrize("role, expected", [
    ("sales_east", EAST), ("operator_east", EAST), ("sales_west", WEST),
    ("company_manager", sorted(EAST + WEST)), ("super_operator", sorted(EAST + WEST)),
    ("admin", sorted(EAST + WEST)),
])
def test_each_role_lists_the_companies_of_its_scope(db, world, role, expected):
    assert listed(db, world.users[role]) == expected
    assert count(world.users[role], db, COMPANIES, ListQuery()) == len(expected)


def test_the_company_list_counts_each_companys_contacts(db, world):
    rows = fetch_page(world.users["sales_east"], db, COMPANIES, ListQuery()).rows
    assert dict(zip(rows["name"], rows["contacts"], strict=True)) == {
        "Acme Tools AG": 3, "Baltic Foods": 0, "Eastwind GmbH": 2}


def test_the_company_list_shows_industries_type_country_and_manager(db, world):
    rows = fetch_page(world.users["sales_east"], db, COMPANIES, ListQuery()).rows
    acme = rows[rows["name"] == "Acme Tools AG"].iloc[0]
    assert (acme["industry"], acme["company_type"], acme["country"], acme["manager"]) == (
        "Machinery, Retail", "Dealer", "Austria", "Sales.East2")


def test_a_company_manager_filters_companies_by_department(db, world):
    boss = world.users["company_manager"]
    assert found(db, boss, department=[str(world.west)]) == WEST
    departments = {o.label: o.count for o in options(boss, db, COMPANIES, "department")}
    assert departments == {"East": 3, "West": 2}


def test_a_sales_manager_cannot_filter_companies_by_another_department(db, world):
    me = world.users["sales_east"]
    assert "department" not in {f.key for f in COMPANIES.filters_for(me)}
    assert found(db, me, department=[str(world.west)]) == EAST


def test_companies_filter_by_assigned_manager_including_unassigned(db, world):
    me = world.users["sales_east"]
    assert found(db, me, manager=[str(world.users["sales_east_2"].id)]) == ["Acme Tools AG"]
    assert found(db, me, manager=[NONE_VALUE]) == ["Baltic Foods"]
    assert found(db, me, manager=[str(world.users["sales_west"].id)]) == []
    managers = {o.label: o.count for o in options(me, db, COMPANIES, "manager")}
    assert managers == {"Sales.East": 1, "Sales.East2": 1, "Unassigned": 1}


def test_companies_filter_by_industry(db, world):
    me, boss = world.users["sales_east"], world.users["company_manager"]
    retail = vocabulary(db, "industries", "Retail")
    machinery = vocabulary(db, "industries", "Machinery")
    assert found(db, me, industry=[str(retail)]) == ["Acme Tools AG"]
    assert found(db, me, industry=[str(machinery)]) == ["Acme Tools AG"]
    assert found(db, boss, industry=[str(retail)]) == ["Acme Tools AG", "Westbrook Ltd"]
    industries = {o.label: o.count for o in options(me, db, COMPANIES, "industry")}
    assert industries == {"Automotive": 1, "Food and beverage": 1, "Machinery": 1, "Retail": 1}
    assert {o.label: o.count for o in options(boss, db, COMPANIES, "industry")}["Retail"] == 2


def test_companies_filter_by_company_type(db, world):
    me, boss = world.users["sales_east"], world.users["company_manager"]
    dealer = vocabulary(db, "company_types", "Dealer")
    competitor = vocabulary(db, "company_types", "Competitor")
    assert found(db, me, company_type=[str(dealer)]) == ["Acme Tools AG"]
    assert found(db, me, company_type=[str(competitor)]) == []
    assert found(db, boss, company_type=[str(dealer), str(competitor)]) == [
        "Acme Tools AG", "Westbrook Ltd", "Wolfram SE"]
    types = {o.label: o.count for o in options(me, db, COMPANIES, "company_type")}
    assert types == {"Dealer": 1, "Distributor": 1}


def test_companies_filter_by_country(db, world):
    me, boss = world.users["sales_east"], world.users["company_manager"]
    assert found(db, me, country=["DE"]) == ["Eastwind GmbH"]
    assert found(db, boss, country=["DE"]) == ["Eastwind GmbH", "Wolfram SE"]
    assert found(db, me, country=["AT", "PL"]) == ["Acme Tools AG", "Baltic Foods"]
    assert {o.value for o in options(me, db, COMPANIES, "country")} == {"AT", "DE", "PL"}


def test_company_filters_combine(db, world):
    boss = world.users["company_manager"]
    dealer = vocabulary(db, "company_types", "Dealer")
    assert found(db, boss, company_type=[str(dealer)], country=["GB"]) == ["Westbrook Ltd"]
    assert found(db, boss, company_type=[str(dealer)], department=[str(world.east)]) == [
        "Acme Tools AG"]


@pytest.mark.parametrize("text, expected", [
    ("eastwind", ["Eastwind GmbH"]),
    ("ACME", ["Acme Tools AG"]),
    ("tools ag", ["Acme Tools AG"]),
    ("acmetools.example", ["Acme Tools AG"]),  # website
    ("westbrook", []),                          # another department's company
])
def test_a_sales_manager_finds_companies_by_name(db, world, text, expected):
    assert listed(db, world.users["sales_east"], ListQuery(search=text)) == expected


def test_a_company_id_search_stays_inside_the_scope(db, world):
    me = world.users["sales_east"]
    assert listed(db, me, ListQuery(search=f"#{world.companies['acme']}")) == ["Acme Tools AG"]
    assert listed(db, me, ListQuery(search=f"ID {world.companies['west']}")) == []


SORT_KEYS = {
    "name": lambda r: r["name"].lower(),
    "contacts": lambda r: r["contacts"],
    "country": lambda r: r["country"],
    "company_type": lambda r: "\uffff" if pd.isna(r["company_type"]) else r["company_type"],
    "manager": lambda r: "\uffff" if pd.isna(r["manager"]) else r["manager"].lower(),
}


@pytest.mark.parametrize("key", list(SORT_KEYS))
@pytest.mark.parametrize("descending", [False, True])
def test_every_company_column_sorts_the_whole_list(db, world, key, descending):
    boss = world.users["company_manager"]
    rows = fetch_page(boss, db, COMPANIES, ListQuery(sort=key, descending=descending,
                                                     page_size=25)).rows.to_dict("records")
    assert len(rows) == 5
    keys = [SORT_KEYS[key](r) for r in rows]
    if key in ("company_type", "manager"):  # missing values last in both directions
        present = [k for k in keys if k != "\uffff"]
        assert present == sorted(present, reverse=descending)
        assert all(k == "\uffff" for k in keys[len(present):])
    else:
        assert keys == sorted(keys, reverse=descending)


def test_sorting_by_contacts_counts_over_every_page(db, world):
    me = world.users["sales_east"]
    for n in range(30):  # fill two pages with companies without contacts
        factories.company(db, f"Filler {n:02d}", world.east, None, "FR")
    first = fetch_page(me, db, COMPANIES, ListQuery(sort="contacts", descending=True,
                                                    page_size=25))
    second = fetch_page(me, db, COMPANIES, ListQuery(sort="contacts", descending=True,
                                                     page_size=25, page=2))
    assert first.total == 33
    assert list(first.rows["name"])[:2] == ["Acme Tools AG", "Eastwind GmbH"]
    assert len(first.rows) + len(second.rows) == 33
    ascending = fetch_page(me, db, COMPANIES, ListQuery(sort="contacts", descending=False,
                                                        page_size=25, page=2))
    assert list(ascending.rows["name"])[-2:] == ["Eastwind GmbH", "Acme Tools AG"]


def test_companies_are_listed_by_name_by_default(db, world):
    assert list(fetch_page(world.users["sales_east"], db, COMPANIES, ListQuery()).rows[
        "name"]) == EAST


# ----------------------------------------------------------------------- adding a company


def test_a_sales_manager_adds_a_company_with_its_industries(db, world):
    me = world.users["sales_east"]
    machinery, retail = (vocabulary(db, "industries", "Machinery"),
                         vocabulary(db, "industries", "Retail"))
    new_id = create_company(me, db, {"name": " Müller GmbH ", "country_code": "de",
                                     "website": "mueller.example"},
                            industry_ids=[retail, machinery, retail])
    row = company_row(db, new_id)
    assert (row["name"], row["name_key"], row["country_code"], row["department_id"]) == (
        "Müller GmbH", "muller", "DE", world.east)
    assert (row["owner_id"], row["created_by"], row["modified_by"]) == (me.id, me.id, me.id)
    detail = get_company(me, db, new_id)
    assert detail["industries"] == "Machinery, Retail"
    assert sorted(detail["industry_ids"]) == sorted([machinery, retail])
    assert {r["action"] for r in audit_rows(db, new_id)} == {"create"}
    assert listed(db, me, ListQuery(search="mueller.example")) == ["Müller GmbH"]


@pytest.mark.parametrize("second", ["MULLER", "Müller Ltd.", "müller gmbh", "Muller  GmbH"])
def test_a_loosely_equal_name_in_the_same_country_is_refused(db, world, second):
    me = world.users["sales_east"]
    first = create_company(me, db, {"name": "Müller GmbH", "country_code": "DE"})
    before = db.scalar("SELECT count(*) FROM companies")
    with pytest.raises(DuplicateCompany) as caught:
        create_company(me, db, {"name": second, "country_code": "DE"})
    assert caught.value.same.id == first
    assert f"“Müller GmbH” already exists in this country (ID {first})" in str(caught.value)
    assert db.scalar("SELECT count(*) FROM companies") == before


def test_the_same_name_in_another_country_is_another_company(db, world):
    me = world.users["sales_east"]
    german = create_company(me, db, {"name": "Müller GmbH", "country_code": "DE"})
    austrian = create_company(me, db, {"name": "Müller GmbH", "country_code": "AT"})
    assert german != austrian
    without_country = create_company(me, db, {"name": "Müller GmbH"})
    with pytest.raises(DuplicateCompany):
        create_company(me, db, {"name": "MULLER"})
    assert without_country not in (german, austrian)


def test_a_clash_with_a_company_outside_the_scope_names_neither_its_id_nor_its_name(db, world):
    me = world.users["sales_east"]
    west_id = world.companies["wolfram"]
    with pytest.raises(DuplicateCompany) as caught:
        create_company(me, db, {"name": "WOLFRAM", "country_code": "DE"})
    message = str(caught.value)
    assert caught.value.same.id is None
    assert str(west_id) not in message and "Wolfram SE" not in message
    assert "already exists in this country" in message
    assert db.scalar("SELECT count(*) FROM companies WHERE department_id = ?",
                     (world.east,)) == 3


def test_a_company_manager_is_told_the_id_of_a_clash_in_any_department(db, world):
    boss = world.users["company_manager"]
    with pytest.raises(DuplicateCompany) as caught:
        create_company(boss, db, {"name": "WOLFRAM", "country_code": "DE"},
                       department_id=world.east)
    assert f"(ID {world.companies['wolfram']})" in str(caught.value)
    assert "Wolfram SE" in str(caught.value)


def test_a_company_needs_a_name(db, world):
    with pytest.raises(EditRejected) as caught:
        create_company(world.users["sales_east"], db, {"name": "  ", "country_code": "DE"})
    assert [p.field for p in caught.value.problems] == ["name"]


def test_a_sales_manager_cannot_add_a_company_to_another_department(db, world):
    before = db.scalar("SELECT count(*) FROM companies")
    with pytest.raises(EditRejected) as caught:
        create_company(world.users["sales_east"], db, {"name": "Nordlicht"},
                       department_id=world.west)
    assert [p.field for p in caught.value.problems] == ["department_id"]
    assert db.scalar("SELECT count(*) FROM companies") == before


def test_a_company_manager_chooses_the_department_of_a_new_company(db, world):
    boss = world.users["company_manager"]
    with pytest.raises(EditRejected):
        create_company(boss, db, {"name": "Nordlicht"})
    new_id = create_company(boss, db, {"name": "Nordlicht"}, department_id=world.west)
    assert (company_row(db, new_id)["department_id"], company_row(db, new_id)["owner_id"]) == (
        world.west, None)


def test_adding_a_company_lists_every_problem(db, world):
    with pytest.raises(EditRejected) as caught:
        create_company(world.users["sales_east"], db, {
            "name": "Nordlicht", "email": "nope", "country_code": "XX", "colour": "red"})
    assert [p.field for p in caught.value.problems] == ["colour"]
    with pytest.raises(EditRejected) as caught:
        create_company(world.users["sales_east"], db, {
            "name": "Nordlicht", "email": "nope", "country_code": "XX"})
    assert sorted(p.field for p in caught.value.problems) == ["country_code", "email"]


# ----------------------------------------------------------------------- edits


def edit(user, db, company_id, **changes):
    version = company_row(db, company_id)["row_version"]
    return companies.save_edits(user, db, [RowEdit(company_id, version, changes)])


def contacts_found(db, user, text):
    return set(fetch_page(user, db, CONTACTS, ListQuery(search=text, page_size=250)).rows["id"])


def test_renaming_a_company_updates_its_key_and_its_contacts_search(db, world):
    me, company_id = world.users["sales_east"], world.companies["acme"]
    acme_contacts = {world.contacts[n] for n in ("Adams", "Baker", "Clark")}
    assert contacts_found(db, me, "acme") == acme_contacts
    assert edit(me, db, company_id, name="Zenith Werkzeuge GmbH",
                website="zenith.example") == 1
    row = company_row(db, company_id)
    assert (row["name"], row["name_key"], row["row_version"]) == (
        "Zenith Werkzeuge GmbH", "zenith werkzeuge", 2)
    assert contacts_found(db, me, "zenith werkzeuge") == acme_contacts
    assert contacts_found(db, me, "acme") == set()
    assert listed(db, me, ListQuery(search="zenith")) == ["Zenith Werkzeuge GmbH"]
    assert {(r["field"], r["old_value"], r["new_value"]) for r in audit_rows(db, company_id)} == {
        ("name", "Acme Tools AG", "Zenith Werkzeuge GmbH"),
        ("website", "www.acmetools.example", "zenith.example")}  # the name key is internal


def test_a_rename_into_a_clash_is_refused(db, world):
    me = world.users["sales_east"]
    db.execute("UPDATE companies SET country_code = 'DE' WHERE id = ?",
               (world.companies["baltic"],))
    with pytest.raises(EditRejected) as caught:
        edit(me, db, world.companies["baltic"], name="EASTWIND")
    assert f"(ID {world.companies['east']})" in str(caught.value)
    # Outside the scope: refused without naming the other department's company.
    with pytest.raises(EditRejected) as caught:
        edit(me, db, world.companies["baltic"], name="Wolfram AG")
    assert "Wolfram SE" not in str(caught.value)
    assert str(world.companies["wolfram"]) not in str(caught.value).replace(
        f"Company {world.companies['baltic']}", "")
    row = company_row(db, world.companies["baltic"])
    assert (row["name"], row["row_version"]) == ("Baltic Foods", 1)


def test_a_move_to_a_country_where_the_name_exists_is_refused(db, world):
    me = world.users["sales_east"]
    create_company(me, db, {"name": "Baltic Foods Ltd", "country_code": "GB"})
    with pytest.raises(EditRejected):
        edit(me, db, world.companies["baltic"], country_code="GB")
    assert company_row(db, world.companies["baltic"])["country_code"] == "PL"


def test_a_company_keeps_its_own_name_when_other_fields_change(db, world):
    me = world.users["sales_east"]
    assert edit(me, db, world.companies["acme"], name="Acme Tools AG", city="Wien") == 1
    assert edit(me, db, world.companies["acme"], name="ACME Tools AG") == 1  # same key, fine
    assert company_row(db, world.companies["acme"])["name_key"] == "acme tools"


def test_a_sales_manager_cannot_edit_a_company_of_another_department(db, world):
    west_id = world.companies["west"]
    with pytest.raises(EditRejected) as caught:
        edit(world.users["sales_east"], db, west_id, city="London")
    assert str(caught.value) == f"Company {west_id} does not exist."


def test_the_company_grid_maps_a_manager_name_to_the_owner(db, world):
    me, colleague = world.users["sales_east"], world.users["sales_east_2"]
    changes = companies.grid_changes({"manager": colleague.full_name, "name": "Eastwind AG"},
                                     {colleague.full_name: colleague.id})
    assert changes == {"owner_id": colleague.id, "name": "Eastwind AG"}
    assert edit(me, db, world.companies["east"], **changes) == 1
    assert company_row(db, world.companies["east"])["owner_id"] == colleague.id


# ----------------------------------------------------------------------- industries


def test_setting_a_companys_industries_is_audited(db, world):
    me, company_id = world.users["sales_east"], world.companies["acme"]
    machinery = vocabulary(db, "industries", "Machinery")
    retail = vocabulary(db, "industries", "Retail")
    food = vocabulary(db, "industries", "Food and beverage")
    set_industries(me, db, company_id, [food, machinery])
    assert sorted(get_company(me, db, company_id)["industry_ids"]) == sorted([food, machinery])
    rows = [(r["action"], r["field"], r["old_value"], r["new_value"], r["user_id"])
            for r in audit_rows(db, company_id)]
    assert rows == [("update", "industries", str(sorted([machinery, retail])),
                     str(sorted([food, machinery])), me.id)]
    set_industries(me, db, company_id, [machinery, food])  # no change: nothing recorded
    assert len(audit_rows(db, company_id)) == 1
    set_industries(me, db, company_id, [])
    assert get_company(me, db, company_id)["industry_ids"] == []


def test_a_sales_manager_cannot_set_industries_of_another_departments_company(db, world):
    west_id = world.companies["west"]
    with pytest.raises(EditRejected) as caught:
        set_industries(world.users["sales_east"], db, west_id, [])
    assert str(caught.value) == f"Company {west_id} does not exist."
    assert db.scalar("SELECT count(*) FROM company_industries WHERE company_id = ?",
                     (west_id,)) == 1
    assert audit_rows(db, west_id) == []


# ----------------------------------------------------------------------- detail and pickers


def test_the_detail_of_a_company_outside_the_scope_does_not_exist(db, world):
    me = world.users["sales_east"]
    assert get_company(me, db, world.companies["west"]) is None
    assert get_company(me, db, world.companies["west"] + 1000) is None
    detail = get_company(world.users["company_manager"], db, world.companies["west"])
    assert (detail["name"], detail["department"], detail["country"], detail["company_type"]) == (
        "Westbrook Ltd", "West", "United Kingdom", "Dealer")


def test_a_company_lists_only_the_contacts_in_the_users_scope(db, world):
    me = world.users["sales_east"]
    stray = factories.contact(db, "Stray", world.companies["acme"], world.west,
                              world.users["sales_west"])
    listed_ids = [c["id"] for c in company_contacts(me, db, world.companies["acme"])]
    assert listed_ids == [world.contacts["Adams"], world.contacts["Baker"],
                          world.contacts["Clark"]]
    assert company_contacts(me, db, world.companies["west"]) == []
    assert stray in {c["id"] for c in company_contacts(world.users["company_manager"], db,
                                                       world.companies["acme"])}


def test_the_company_picker_finds_by_substring_within_the_scope(db, world):
    me = world.users["sales_east"]
    assert choices(me, db, "WIND") == {world.companies["east"]: "Eastwind GmbH (Germany)"}
    assert choices(me, db, "brook") == {}
    assert set(choices(me, db)) == {world.companies[k] for k in ("east", "acme", "baltic")}
    assert set(choices(world.users["company_manager"], db, "o")) == {
        world.companies[k] for k in ("acme", "baltic", "west", "wolfram")}


def test_a_companys_history_exists_only_for_those_who_see_the_company(db, world):
    east, me = world.companies["east"], world.users["sales_east"]
    seen = companies.get_company(me, db, east)
    companies.save_company(me, db, RowEdit(east, seen["row_version"], {"city": "Leipzig"}),
                           seen["industry_ids"])
    assert any(e["field"] == "city" for e in companies.history(me, db, east))
    assert companies.history(world.users["sales_west"], db, east) == []
