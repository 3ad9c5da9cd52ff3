"""Contacts: the list (scope, every filter, search, ID look-up, sort), export of one's own
contacts, adding a contact at an existing or a new company, duplicates, edits and bulk VIP.

Every rule is enforced by the service layer, so these tests call it directly as each role.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from io import BytesIO

import pandas as pd
import pytest
from openpyxl import load_workbook

from crm.access import Entity
from crm.common.names import company_name_key
from crm.lists import list_export
from crm.lists.bulk import BulkResult
from crm.lists.filters import NONE_VALUE
from crm.lists.listing import ListQuery, count, fetch_page, options
from crm.records import contacts
from crm.records.contacts import CONTACTS, create_contact, likely_duplicates
from crm.records.editing import EditRejected, RowEdit
from crm.records.leads import LEADS
from crm.storage import search
from tests import factories


def vocabulary(db, table, name):
    return db.scalar(f"SELECT id FROM {table} WHERE name = ?", (name,))


def describe_company(db, company_id, *, industries=(), company_type=None, website=""):
    """Give a company its industries, type and website (factories write bare companies)."""
    for industry in industries:
        db.execute("INSERT INTO company_industries (company_id, industry_id) VALUES (?, ?)",
                   (company_id, vocabulary(db, "industries", industry)))
    type_id = vocabulary(db, "company_types", company_type) if company_type else None
    db.execute("UPDATE companies SET company_type_id = ?, website = ? WHERE id = ?",
               (type_id, website, company_id))


def tag(db, name, *contact_ids):
    tag_id = db.scalar("SELECT id FROM tags WHERE name = ?", (name,))
    if tag_id is None:
        tag_id = db.scalar("INSERT INTO tags (name) VALUES (?) RETURNING id", (name,))
    for contact_id in contact_ids:
        db.execute("INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)",
                   (contact_id, tag_id))
    return tag_id


@pytest.fixture
def world(db):
    """East: 31 contacts at three companies; West: 3 contacts at Westbrook.

    Acme Tools (AT, East) is in two industries (Machinery, Retail) and a Dealer; Baltic Foods
    (PL, East) a Distributor in Food and beverage; Eastwind (DE, East) an End customer in
    Automotive; Westbrook (GB, West) a Dealer in Retail.
    """
    w = factories.world(db)
    east, west = w.east, w.west
    sales, sales2, sales_west = (w.users["sales_east"], w.users["sales_east_2"],
                                 w.users["sales_west"])
    for company_id in w.companies.values():  # the real loose key, as the service writes it
        name = db.scalar("SELECT name FROM companies WHERE id = ?", (company_id,))
        db.execute("UPDATE companies SET name_key = ? WHERE id = ?",
                   (company_name_key(name), company_id))
    w.companies["acme"] = factories.company(db, "Acme Tools AG", east, sales, "AT")
    w.companies["baltic"] = factories.company(db, "Baltic Foods", east, None, "PL")
    describe_company(db, w.companies["acme"], industries=("Machinery", "Retail"),
                     company_type="Dealer", website="www.acmetools.example")
    describe_company(db, w.companies["baltic"], industries=("Food and beverage",),
                     company_type="Distributor")
    describe_company(db, w.companies["east"], industries=("Automotive",),
                     company_type="End customer")
    describe_company(db, w.companies["west"], industries=("Retail",), company_type="Dealer")
    base = datetime(2026, 3, 1, 9, 0)
    specs = [
        # last name, first, company, owner, country, vip, opt-in, mailed, extra
        ("Adams", "Zoe", "acme", sales, "AT", True, True, True,
         {"email": "zoe@acme.example", "phone": "030 1111111"}),
        ("Baker", "Yann", "baltic", sales2, "PL", False, True, False,
         {"mobile": "0171 5550199", "city": "Gdansk"}),
        ("Clark", "Xena", "east", None, "DE", False, False, True,
         {"description": "met at the Hannover fair"}),
        ("Davis", "Will", "acme", sales, "DE", True, False, False,
         {"phone": "089 2222222", "email": "will@davis.example"}),
    ]
    specs += [(f"Zimmer{i:02d}", "Ulf", "east", sales, "DE", False, True, False, {})
              for i in range(25)]
    for n, (last, first, company, owner, country, vip, opt_in, mailed, extra) in enumerate(
            specs):
        stamp = base + timedelta(days=n)
        w.contacts[last] = factories.contact(
            db, last, w.companies[company], east, owner, first_name=first,
            country_code=country, vip=vip, newsletter_opt_in=opt_in,
            last_mailed_at=stamp if mailed else None, created_at=stamp, updated_at=stamp,
            **extra)
    w.contacts["Wolf"] = factories.contact(db, "Wolf", w.companies["west"], west, sales_west,
                                           first_name="Vera", country_code="AT")
    tag(db, "fair", w.contacts["Adams"], w.contacts["Clark"], w.contacts["Wolf"])
    tag(db, "partner", w.contacts["Baker"], w.contacts["Adams"])
    tag(db, "west only", w.contacts["west"])
    with db.transaction() as tx:
        search.refresh(tx, Entity.CONTACT)
    return w


def names(db, user, query):
    page = fetch_page(user, db, CONTACTS, query)
    return sorted(n.split()[-1] for n in page.rows["name"])


def found(db, user, **filters):
    query = ListQuery(filters={k: tuple(v) for k, v in filters.items()}, page_size=250)
    return names(db, user, query)


def total(db, user, **filters):
    query = ListQuery(filters={k: tuple(v) for k, v in filters.items()})
    return count(user, db, CONTACTS, query)


def contact_row(db, contact_id):
    return db.fetch_one("SELECT * FROM contacts WHERE id = ?", (contact_id,))


def ids_of(db, user, query):
    return set(fetch_page(user, db, CONTACTS, query).rows["id"])


def audit_rows(db, entity, entity_id):
    return db.fetch_all("SELECT * FROM audit_log WHERE entity = ? AND entity_id = ? ORDER BY id",
                        (entity, entity_id))


ZIMMERS = [f"Zimmer{i:02d}" for i in range(25)]


# ----------------------------------------------------------------------- scope


@pytest.mark.parametrize("role, expected", [
    ("sales_east", 31), ("sales_east_2", 31), ("operator_east", 31), ("sales_west", 3),
    ("company_manager", 34), ("super_operator", 34), ("admin", 34),
])
def test_each_role_lists_the_contacts_of_its_scope(db, world, role, expected):
    page = fetch_page(world.users[role], db, CONTACTS, ListQuery(page_size=250))
    assert page.total == expected == len(page.rows)
    west = {world.contacts["west"], world.contacts["west_super"], world.contacts["Wolf"]}
    shown = set(page.rows["id"])
    if role in ("sales_east", "sales_east_2", "operator_east"):
        assert not shown & west
    if role == "sales_west":
        assert shown == west


def test_an_inactive_user_lists_no_contacts(db, world):
    from crm.access.users import get_user_by_id

    db.execute("UPDATE users SET active = FALSE WHERE id = ?", (world.users["sales_east"].id,))
    me = get_user_by_id(db, world.users["sales_east"].id)
    assert fetch_page(me, db, CONTACTS, ListQuery()).total == 0
    assert options(me, db, CONTACTS, "manager") == []


def test_a_contact_row_shows_its_company_country_tags_and_manager(db, world):
    page = fetch_page(world.users["sales_east"], db, CONTACTS,
                      ListQuery(search=f"#{world.contacts['Adams']}"))
    row = page.rows.iloc[0]
    assert (row["name"], row["phone"], row["company"], row["country"], row["manager"]) == (
        "Zoe Adams", "030 1111111", "Acme Tools AG", "Austria", "Sales.East")
    assert (row["newsletter"], row["tags"], bool(row["vip"])) == ("receiving", "fair, partner",
                                                                  True)


def test_the_phone_column_falls_back_to_the_mobile(db, world):
    page = fetch_page(world.users["sales_east"], db, CONTACTS,
                      ListQuery(search=f"#{world.contacts['Baker']}"))
    assert page.rows.iloc[0]["phone"] == "0171 5550199"


# ----------------------------------------------------------------------- filters


def test_a_company_manager_filters_contacts_by_department(db, world):
    boss = world.users["company_manager"]
    assert found(db, boss, department=[str(world.west)]) == ["Westone", "Westsuper", "Wolf"]
    assert total(db, boss, department=[str(world.east)]) == 31
    assert total(db, boss, department=[str(world.east), str(world.west)]) == 34
    departments = {o.label: o.count for o in options(boss, db, CONTACTS, "department")}
    assert departments == {"East": 31, "West": 3}


def test_a_sales_manager_has_no_department_filter_and_one_put_in_the_url_is_ignored(db, world):
    me = world.users["sales_east"]
    assert "department" not in {f.key for f in CONTACTS.filters_for(me)}
    assert total(db, me, department=[str(world.west)]) == 31
    assert world.contacts["west"] not in ids_of(
        db, me, ListQuery(filters={"department": (str(world.west),)}, page_size=250))


def test_a_sales_manager_filters_contacts_by_assigned_manager_including_unassigned(db, world):
    me, sales2 = world.users["sales_east"], world.users["sales_east_2"]
    assert found(db, me, manager=[str(sales2.id)]) == ["Baker", "Easttwo"]
    assert found(db, me, manager=[NONE_VALUE]) == ["Clark"]
    assert total(db, me, manager=[str(sales2.id), NONE_VALUE]) == 3
    assert total(db, me, manager=[str(me.id)]) == 28


def test_a_manager_of_another_department_matches_nothing_for_a_sales_manager(db, world):
    me = world.users["sales_east"]
    assert total(db, me, manager=[str(world.users["sales_west"].id)]) == 0


def test_an_operator_filters_contacts_by_company_industry(db, world):
    me = world.users["operator_east"]
    assert found(db, me, industry=[str(vocabulary(db, "industries", "Retail"))]) == [
        "Adams", "Davis"]
    assert found(db, me, industry=[str(vocabulary(db, "industries", "Food and beverage"))]) == [
        "Baker"]
    assert total(db, me, industry=[str(vocabulary(db, "industries", "Automotive"))]) == 28


def test_a_company_with_two_industries_appears_under_both(db, world):
    me = world.users["sales_east"]
    machinery = vocabulary(db, "industries", "Machinery")
    retail = vocabulary(db, "industries", "Retail")
    assert found(db, me, industry=[str(machinery)]) == ["Adams", "Davis"]
    assert found(db, me, industry=[str(retail)]) == ["Adams", "Davis"]
    assert found(db, me, industry=[str(machinery), str(retail)]) == ["Adams", "Davis"]
    industries = {o.label: o.count for o in options(me, db, CONTACTS, "industry")}
    assert industries == {"Automotive": 28, "Food and beverage": 1, "Machinery": 2, "Retail": 2}


def test_a_company_manager_sees_industry_counts_of_every_department(db, world):
    boss = world.users["company_manager"]
    retail = vocabulary(db, "industries", "Retail")
    assert found(db, boss, industry=[str(retail)]) == [
        "Adams", "Davis", "Westone", "Westsuper", "Wolf"]
    assert {o.label: o.count for o in options(boss, db, CONTACTS, "industry")}["Retail"] == 5


def test_an_operator_filters_contacts_by_company_type(db, world):
    me = world.users["operator_east"]
    dealer = vocabulary(db, "company_types", "Dealer")
    distributor = vocabulary(db, "company_types", "Distributor")
    assert found(db, me, company_type=[str(dealer)]) == ["Adams", "Davis"]
    assert found(db, me, company_type=[str(dealer), str(distributor)]) == [
        "Adams", "Baker", "Davis"]
    types = {o.label: o.count for o in options(me, db, CONTACTS, "company_type")}
    assert types == {"Dealer": 2, "Distributor": 1, "End customer": 28}
    boss = world.users["company_manager"]
    assert total(db, boss, company_type=[str(dealer)]) == 5


def test_contacts_filter_by_country_including_no_country(db, world):
    me = world.users["sales_east"]
    assert found(db, me, country=["AT", "PL"]) == ["Adams", "Baker"]
    assert found(db, me, country=[NONE_VALUE]) == ["Eastone", "Easttwo"]
    assert total(db, me, country=["DE"]) == 27
    assert total(db, me, country=["GB"]) == 0


@pytest.mark.parametrize("status, expected", [
    ("not_mailed", 28),   # everyone subscribed and never mailed
    ("receiving", 1),     # Adams
    ("unsubscribed", 2),  # Clark (mailed, then opted out), Davis (never opted in)
])
def test_contacts_filter_by_newsletter_status(db, world, status, expected):
    assert total(db, world.users["sales_east"], newsletter=[status]) == expected


def test_the_newsletter_filter_offers_the_three_statuses_with_counts(db, world):
    statuses = {o.value: o.count for o in options(world.users["sales_east"], db, CONTACTS,
                                                  "newsletter")}
    assert statuses == {"not_mailed": 28, "receiving": 1, "unsubscribed": 2}


def test_contacts_filter_by_vip(db, world):
    me = world.users["sales_east"]
    assert found(db, me, vip=["yes"]) == ["Adams", "Davis"]
    assert total(db, me, vip=["no"]) == 29
    assert total(db, me, vip=["yes", "no"]) == 31


def test_an_operator_filters_contacts_by_one_tag(db, world):
    me = world.users["operator_east"]
    fair = vocabulary(db, "tags", "fair")
    assert found(db, me, tag=[str(fair)]) == ["Adams", "Clark"]


def test_two_tags_find_contacts_with_either_tag_once(db, world):
    me = world.users["sales_east"]
    fair, partner = vocabulary(db, "tags", "fair"), vocabulary(db, "tags", "partner")
    assert found(db, me, tag=[str(fair), str(partner)]) == ["Adams", "Baker", "Clark"]
    assert total(db, me, tag=[str(fair), str(partner)]) == 3


def test_an_operator_filters_contacts_by_industry_and_tag(db, world):
    me = world.users["operator_east"]
    retail = vocabulary(db, "industries", "Retail")
    fair = vocabulary(db, "tags", "fair")
    assert found(db, me, industry=[str(retail)], tag=[str(fair)]) == ["Adams"]


def test_filters_combine_with_and(db, world):
    me = world.users["sales_east"]
    retail = vocabulary(db, "industries", "Retail")
    assert found(db, me, industry=[str(retail)], vip=["yes"], country=["DE"]) == ["Davis"]
    assert found(db, me, country=["DE"], newsletter=["unsubscribed"],
                 manager=[NONE_VALUE]) == ["Clark"]
    assert total(db, me, country=["PL"], vip=["yes"]) == 0


def test_a_tag_filter_keeps_other_departments_out(db, world):
    fair = vocabulary(db, "tags", "fair")
    assert found(db, world.users["sales_west"], tag=[str(fair)]) == ["Wolf"]
    assert found(db, world.users["company_manager"], tag=[str(fair)]) == [
        "Adams", "Clark", "Wolf"]


def test_a_bad_filter_value_matches_nothing_instead_of_failing(db, world):
    me = world.users["sales_east"]
    assert total(db, me, tag=["not-a-number"]) == 0
    assert total(db, me, industry=["x"]) == 0


def test_filter_options_come_from_the_scope_only(db, world):
    me = world.users["sales_east"]
    managers = {o.label: o.count for o in options(me, db, CONTACTS, "manager")}
    assert managers == {"Sales.East": 28, "Sales.East2": 2, "Unassigned": 1}
    tags = {o.label: o.count for o in options(me, db, CONTACTS, "tag")}
    assert tags == {"fair": 2, "partner": 2}  # not Wolf's "fair", not West's "west only"
    countries = {o.value: o.count for o in options(me, db, CONTACTS, "country")}
    assert countries == {"AT": 1, "PL": 1, "DE": 27, NONE_VALUE: 2}
    assert {o.value: o.count for o in options(me, db, CONTACTS, "vip")} == {"yes": 2, "no": 29}


def test_company_wide_roles_get_options_from_every_department(db, world):
    boss = world.users["company_manager"]
    managers = {o.label: o.count for o in options(boss, db, CONTACTS, "manager")}
    assert managers["Sales.West"] == 2 and managers["Super.Operator"] == 1
    tags = {o.label: o.count for o in options(boss, db, CONTACTS, "tag")}
    assert tags == {"fair": 3, "partner": 2, "west only": 1}


# ----------------------------------------------------------------------- search


@pytest.mark.parametrize("text, expected", [
    ("zoe", ["Adams"]),                          # first name
    ("ADAMS", ["Adams"]),                        # last name, any case
    ("zoe adams", ["Adams"]),                    # two keywords, both must match
    ("zoe@acme", ["Adams"]),                     # email
    ("0301111111", ["Adams"]),                   # phone digits
    ("030 1111111", ["Adams"]),                  # phone as typed
    ("5550199", ["Baker"]),                      # mobile digits
    ("baltic", ["Baker"]),                       # company name
    ("acmetools", ["Adams", "Davis"]),           # company website
    ("gdansk", ["Baker"]),                       # city
    ("hannover", ["Clark"]),                     # description
    ("westbrook", []),                           # another department's company
    ("nobody-matches-this", []),
])
def test_a_sales_manager_finds_contacts_by_keyword(db, world, text, expected):
    assert names(db, world.users["sales_east"], ListQuery(search=text, page_size=250)) == (
        expected)


def test_a_company_name_search_finds_every_contact_of_the_company(db, world):
    page = fetch_page(world.users["sales_east"], db, CONTACTS, ListQuery(search="eastwind"))
    assert page.total == 28  # Eastone, Easttwo, Clark and 25 Zimmers


def test_a_company_manager_finds_contacts_of_every_department_by_keyword(db, world):
    boss = world.users["company_manager"]
    assert names(db, boss, ListQuery(search="westbrook")) == ["Westone", "Westsuper", "Wolf"]


@pytest.mark.parametrize("form", ["{id}", "#{id}", "ID {id}", "id: {id}"])
def test_a_sales_manager_finds_a_contact_by_id_in_every_form(db, world, form):
    contact_id = world.contacts["Davis"]
    page = fetch_page(world.users["sales_east"], db, CONTACTS,
                      ListQuery(search=form.format(id=contact_id)))
    assert contact_id in set(page.rows["id"])
    if form != "{id}":
        assert list(page.rows["id"]) == [contact_id]


@pytest.mark.parametrize("form", ["{id}", "#{id}", "ID {id}"])
def test_an_id_search_stays_inside_the_scope(db, world, form):
    west_id = world.contacts["Wolf"]
    page = fetch_page(world.users["sales_east"], db, CONTACTS,
                      ListQuery(search=form.format(id=west_id)))
    assert west_id not in set(page.rows["id"])
    boss = fetch_page(world.users["company_manager"], db, CONTACTS,
                      ListQuery(search=form.format(id=west_id)))
    assert west_id in set(boss.rows["id"])


# ----------------------------------------------------------------------- sort


SORT_KEYS = {
    "name": lambda r: (r["name"].split()[-1].lower(), r["name"].split()[0].lower()),
    "phone": lambda r: r["phone"],
    "company": lambda r: r["company"].lower(),
    "country": lambda r: "\uffff" if pd.isna(r["country"]) else r["country"],
    "newsletter": lambda r: ["not_mailed", "receiving", "unsubscribed"].index(r["newsletter"]),
    "created_at": lambda r: r["created_at"],
    "manager": lambda r: "\uffff" if pd.isna(r["manager"]) else r["manager"].lower(),
}


@pytest.mark.parametrize("key", list(SORT_KEYS))
@pytest.mark.parametrize("descending", [False, True])
def test_every_contact_column_sorts_the_whole_filtered_result(db, world, key, descending):
    me = world.users["sales_east"]
    everything = fetch_page(me, db, CONTACTS, ListQuery(page_size=250)).rows.to_dict("records")
    first = fetch_page(me, db, CONTACTS, ListQuery(sort=key, descending=descending,
                                                   page_size=25))
    second = fetch_page(me, db, CONTACTS, ListQuery(sort=key, descending=descending,
                                                    page_size=25, page=2))
    got = list(first.rows["id"]) + list(second.rows["id"])
    assert len(got) == 31 and len(set(got)) == 31  # two pages cover everything, no repeats
    keys = [SORT_KEYS[key](r) for r in sorted(everything, key=lambda r: got.index(r["id"]))]
    if key in ("country", "manager"):  # missing values last in both directions
        present = [k for k in keys if k != "\uffff"]
        assert present == sorted(present, reverse=descending)
        assert all(k == "\uffff" for k in keys[len(present):])
    else:
        assert keys == sorted(keys, reverse=descending)


def test_contacts_are_newest_first_by_default(db, world):
    page = fetch_page(world.users["sales_east"], db, CONTACTS, ListQuery(page_size=25))
    assert page.rows.iloc[0]["name"] == "Ulf Zimmer24"
    dates = list(page.rows["created_at"])
    assert dates == sorted(dates, reverse=True)


def test_sorting_by_company_puts_acme_first_and_eastwind_last(db, world):
    rows = fetch_page(world.users["sales_east"], db, CONTACTS,
                      ListQuery(sort="company", descending=False, page_size=250)).rows
    assert list(rows["company"])[:3] == ["Acme Tools AG", "Acme Tools AG", "Baltic Foods"]


# ----------------------------------------------------------------------- export


def exported_ids(user, db, **kwargs):
    out = BytesIO()
    written = list_export.export(user, db, CONTACTS, out, **kwargs)
    rows = list(load_workbook(BytesIO(out.getvalue()), read_only=True).active.iter_rows(
        values_only=True))
    assert rows[0][0] == "ID"
    ids = [r[0] for r in rows[1:]]
    assert written == len(ids)
    return set(ids)


@pytest.mark.parametrize("role, owned", [
    ("sales_east", ["east_mine", "Adams", "Davis", *ZIMMERS]),
    ("sales_east_2", ["east_other", "Baker"]),
    ("operator_east", []),
    ("sales_west", ["west", "Wolf"]),
    ("super_operator", ["west_super"]),
    ("company_manager", []),
    ("admin", []),
])
def test_export_all_writes_only_the_contacts_assigned_to_the_exporting_user(
        db, world, role, owned):
    user = world.users[role]
    assert exported_ids(user, db, query=ListQuery()) == {world.contacts[k] for k in owned}


def test_exporting_checked_contacts_leaves_out_other_peoples_contacts(db, world):
    me = world.users["sales_east"]
    checked = [world.contacts["Adams"], world.contacts["Baker"], world.contacts["Wolf"]]
    assert exported_ids(me, db, query=ListQuery(), ids=checked) == {world.contacts["Adams"]}
    boss = world.users["company_manager"]
    assert exported_ids(boss, db, query=ListQuery(), ids=checked) == set()


def test_exporting_the_filtered_list_keeps_the_filters_and_ownership(db, world):
    me = world.users["sales_east"]
    query = ListQuery(filters={"vip": ("yes",)})
    assert exported_ids(me, db, query=query) == {world.contacts["Adams"],
                                                 world.contacts["Davis"]}
    query = ListQuery(search="baltic")
    assert exported_ids(me, db, query=query) == set()
    assert exported_ids(world.users["sales_east_2"], db, query=query) == {
        world.contacts["Baker"]}


def test_the_exported_file_has_readable_values(db, world):
    out = BytesIO()
    me = world.users["sales_east"]
    list_export.export(me, db, CONTACTS, out, ids=[world.contacts["Adams"]])
    rows = list(load_workbook(BytesIO(out.getvalue()), read_only=True).active.iter_rows(
        values_only=True))
    header = list(rows[0])
    record = dict(zip(header, rows[1], strict=True))
    assert header == [c.header for c in CONTACTS.export_columns]
    assert (record["Name"], record["Email"], record["Company"], record["Country"]) == (
        "Zoe Adams", "zoe@acme.example", "Acme Tools AG", "Austria")
    assert (record["Newsletter"], record["Tags"], record["Assigned manager"]) == (
        "Receiving newsletters", "fair, partner", "Sales.East")


def test_the_export_says_how_many_checked_contacts_are_the_users_own(db, world):
    me = world.users["sales_east"]
    checked = [world.contacts["Adams"], world.contacts["Baker"], world.contacts["Wolf"]]
    assert list_export.scope_note(me, db, CONTACTS, ListQuery(), checked) == (
        "1 of the 2 checked contacts is assigned to you; the file has that one.")


def test_the_export_says_how_many_matching_contacts_are_the_users_own(db, world):
    me = world.users["sales_east"]
    assert list_export.scope_note(me, db, CONTACTS, ListQuery(), None) == (
        "28 of the 31 matching contacts are assigned to you; the file has those 28.")
    boss = world.users["company_manager"]
    assert list_export.scope_note(boss, db, CONTACTS, ListQuery(), None) == (
        "None of the 34 matching contacts are assigned to you; nothing to export.")


def test_no_scope_note_when_every_checked_contact_is_the_users_own(db, world):
    me = world.users["sales_east"]
    assert list_export.scope_note(me, db, CONTACTS, ListQuery(),
                                  [world.contacts["Adams"], world.contacts["Davis"]]) is None


def test_leads_export_whatever_the_user_sees_so_there_is_no_scope_note(db, world):
    me = world.users["sales_east"]
    assert list_export.scope_note(me, db, LEADS, ListQuery(), None) is None
    assert list_export.scope_note(me, db, LEADS, ListQuery(), [world.leads["east"]]) is None


# ----------------------------------------------------------------------- add a contact


def test_a_sales_manager_adds_a_contact_at_an_existing_company(db, world):
    me = world.users["sales_east"]
    new_id = create_contact(me, db, {"first_name": "Anna", "last_name": "Berg",
                                     "email": "anna.berg@acme.example",
                                     "company_id": world.companies["acme"]})
    row = contact_row(db, new_id)
    assert (row["company_id"], row["department_id"], row["country_code"]) == (
        world.companies["acme"], world.east, "AT")  # the country defaults from the company
    assert (row["owner_id"], row["created_by"], row["newsletter_opt_in"]) == (me.id, me.id, True)
    events = db.fetch_all("SELECT event, user_id, source FROM subscription_events "
                          "WHERE entity = 'contact' AND entity_id = ?", (new_id,))
    assert events == [{"event": "subscribed", "user_id": me.id, "source": "manual entry"}]
    created = audit_rows(db, "contact", new_id)
    assert {r["action"] for r in created} == {"create"}
    assert {"first_name", "last_name", "email", "company_id"} <= {r["field"] for r in created}
    assert ids_of(db, me, ListQuery(search="anna.berg")) == {new_id}
    assert ids_of(db, me, ListQuery(search="acmetools anna")) == {new_id}


def test_a_contacts_own_country_wins_over_the_companys(db, world):
    new_id = create_contact(world.users["sales_east"], db, {
        "last_name": "Berg", "country_code": "ch", "company_id": world.companies["acme"]})
    assert contact_row(db, new_id)["country_code"] == "CH"


@pytest.mark.parametrize("role", ["company_manager", "admin", "super_operator"])
def test_a_new_contact_joins_the_department_of_its_company(db, world, role):
    boss = world.users[role]
    new_id = create_contact(boss, db, {"last_name": "Berg", "company_id": world.companies["west"]},
                            department_id=world.east)
    row = contact_row(db, new_id)
    assert (row["department_id"], row["country_code"], row["owner_id"]) == (world.west, "GB",
                                                                           None)


def test_a_contact_added_without_newsletter_opt_in_has_no_subscription(db, world):
    new_id = create_contact(world.users["sales_east"], db, {
        "last_name": "Berg", "newsletter_opt_in": False, "company_id": world.companies["east"]})
    assert contact_row(db, new_id)["newsletter_opt_in"] is False
    assert db.scalar("SELECT count(*) FROM subscription_events WHERE entity = 'contact' "
                     "AND entity_id = ?", (new_id,)) == 0


def counts(db):
    return {t: db.scalar(f"SELECT count(*) FROM {t}")
            for t in ("contacts", "companies", "company_industries", "subscription_events",
                      "audit_log")}


def test_a_sales_manager_adds_a_contact_and_a_new_company_in_one_step(db, world):
    me = world.users["sales_east"]
    retail = vocabulary(db, "industries", "Retail")
    new_id = create_contact(me, db, {"first_name": "Anna", "last_name": "Berg"},
                            new_company={"name": "Nordlicht KG", "country_code": "DE",
                                         "website": "nordlicht.example"},
                            industry_ids=[retail])
    row = contact_row(db, new_id)
    company = db.fetch_one("SELECT * FROM companies WHERE id = ?", (row["company_id"],))
    assert (company["name"], company["name_key"], company["department_id"],
            company["owner_id"], company["created_by"]) == (
        "Nordlicht KG", "nordlicht", world.east, me.id, me.id)
    assert (row["department_id"], row["country_code"]) == (world.east, "DE")
    assert db.scalar("SELECT industry_id FROM company_industries WHERE company_id = ?",
                     (company["id"],)) == retail
    assert {r["action"] for r in audit_rows(db, "company", company["id"])} == {"create"}
    assert ids_of(db, me, ListQuery(search="nordlicht")) == {new_id}


def test_a_new_company_with_the_name_of_an_existing_one_is_refused_and_nothing_is_written(
        db, world):
    me = world.users["sales_east"]
    before = counts(db)
    with pytest.raises(EditRejected) as caught:
        create_contact(me, db, {"first_name": "Anna", "last_name": "Berg"},
                       new_company={"name": "EASTWIND gmbh", "country_code": "DE"})
    assert [p.field for p in caught.value.problems] == ["company"]
    assert f"(ID {world.companies['east']})" in str(caught.value)
    assert counts(db) == before


def test_an_invalid_contact_at_a_new_company_writes_neither(db, world):
    before = counts(db)
    with pytest.raises(EditRejected) as caught:
        create_contact(world.users["sales_east"], db, {"last_name": "Berg", "email": "nope"},
                       new_company={"name": "Nordlicht KG", "country_code": "DE"})
    assert [p.field for p in caught.value.problems] == ["email"]
    assert counts(db) == before


def test_the_same_company_name_in_another_country_is_a_new_company(db, world):
    new_id = create_contact(world.users["sales_east"], db, {"last_name": "Berg"},
                            new_company={"name": "Eastwind GmbH", "country_code": "AT"})
    company_id = contact_row(db, new_id)["company_id"]
    assert company_id != world.companies["east"]


@pytest.mark.parametrize("company", ["west", "missing", "none"])
def test_a_contact_at_a_company_outside_the_scope_is_refused(db, world, company):
    company_id = {"west": world.companies["west"], "missing": world.companies["west"] + 1000,
                  "none": None}[company]
    before = counts(db)
    with pytest.raises(EditRejected) as caught:
        create_contact(world.users["sales_east"], db,
                       {"last_name": "Berg", "company_id": company_id})
    assert [p.field for p in caught.value.problems] == ["company_id"]
    assert "Westbrook" not in str(caught.value)
    assert counts(db) == before


def test_a_sales_manager_cannot_add_a_new_company_to_another_department(db, world):
    before = counts(db)
    with pytest.raises(EditRejected):
        create_contact(world.users["sales_east"], db, {"last_name": "Berg"},
                       new_company={"name": "Nordlicht KG", "country_code": "DE"},
                       department_id=world.west)
    assert counts(db) == before


def test_a_new_contact_cannot_be_assigned_to_a_manager_of_another_department(db, world):
    boss = world.users["company_manager"]
    before = counts(db)
    with pytest.raises(EditRejected) as caught:
        create_contact(boss, db, {"last_name": "Berg", "company_id": world.companies["east"],
                                  "owner_id": world.users["sales_west"].id})
    assert [p.field for p in caught.value.problems] == ["owner_id"]
    assert "company's department" in str(caught.value)
    assert counts(db) == before


def test_a_new_contact_may_be_assigned_to_a_colleague_of_the_companys_department(db, world):
    boss = world.users["company_manager"]
    colleague = world.users["sales_east_2"]
    new_id = create_contact(boss, db, {"last_name": "Berg", "owner_id": colleague.id,
                                       "company_id": world.companies["east"]})
    row = contact_row(db, new_id)
    assert (row["department_id"], row["owner_id"]) == (world.east, colleague.id)


# ----------------------------------------------------------------------- duplicates


def test_a_contact_with_the_same_email_or_name_and_phone_is_a_likely_duplicate(db, world):
    me = world.users["sales_east"]
    by_email = likely_duplicates(me, db, email=" ZOE@acme.example ")
    assert [(d.id, d.name, d.reason) for d in by_email] == [
        (world.contacts["Adams"], "Zoe Adams", "same email")]
    by_phone = likely_duplicates(me, db, first_name="yann", last_name="BAKER",
                                 phone="0171/555 0199")
    assert [(d.id, d.reason) for d in by_phone] == [(world.contacts["Baker"],
                                                     "same name and phone")]
    assert likely_duplicates(me, db, email="zoe@acme.example",
                             exclude_id=world.contacts["Adams"]) == []


def test_a_contact_of_another_department_is_not_a_duplicate_for_a_department_user(db, world):
    assert likely_duplicates(world.users["sales_west"], db, email="zoe@acme.example") == []
    found_by_boss = likely_duplicates(world.users["company_manager"], db,
                                      email="zoe@acme.example")
    assert [d.id for d in found_by_boss] == [world.contacts["Adams"]]


# ----------------------------------------------------------------------- edits


def edit(user, db, contact_id, **changes):
    version = contact_row(db, contact_id)["row_version"]
    return contacts.save_edits(user, db, [RowEdit(contact_id, version, changes)])


def test_a_sales_manager_edits_a_contact_and_the_change_is_audited(db, world):
    me, contact_id = world.users["sales_east"], world.contacts["Adams"]
    assert edit(me, db, contact_id, email="zoe.adams@acme.example", city="Wien") == 1
    row = contact_row(db, contact_id)
    assert (row["email"], row["city"], row["row_version"], row["modified_by"]) == (
        "zoe.adams@acme.example", "Wien", 2, me.id)
    assert {(r["field"], r["new_value"]) for r in audit_rows(db, "contact", contact_id)} == {
        ("email", "zoe.adams@acme.example"), ("city", "Wien")}
    assert ids_of(db, me, ListQuery(search="wien")) == {contact_id}


def test_a_contact_moves_to_another_company_of_its_department(db, world):
    me, contact_id = world.users["sales_east"], world.contacts["Adams"]
    assert edit(me, db, contact_id, company_id=world.companies["baltic"]) == 1
    assert contact_row(db, contact_id)["company_id"] == world.companies["baltic"]
    assert contact_id in ids_of(db, me, ListQuery(search="baltic"))
    assert contact_id not in ids_of(db, me, ListQuery(search="acmetools"))


@pytest.mark.parametrize("role", ["sales_east", "company_manager"])
def test_a_contact_cannot_move_to_a_company_of_another_department(db, world, role):
    contact_id = world.contacts["Adams"]
    with pytest.raises(EditRejected) as caught:
        edit(world.users[role], db, contact_id, company_id=world.companies["west"])
    assert [p.field for p in caught.value.problems] == ["company_id"]
    assert "company of the contact's department" in str(caught.value)
    assert contact_row(db, contact_id)["company_id"] == world.companies["acme"]


def test_a_contact_cannot_lose_its_company(db, world):
    with pytest.raises(EditRejected) as caught:
        edit(world.users["sales_east"], db, world.contacts["Adams"], company_id=None)
    assert "needs a company" in str(caught.value)


def test_a_sales_manager_cannot_edit_a_contact_of_another_department(db, world):
    west_id = world.contacts["Wolf"]
    with pytest.raises(EditRejected) as caught:
        edit(world.users["sales_east"], db, west_id, city="Berlin")
    assert str(caught.value) == f"Contact {west_id} does not exist."
    assert contact_row(db, west_id)["city"] == ""


def test_the_grid_maps_its_columns_to_contact_fields(db, world):
    me, colleague = world.users["sales_east"], world.users["sales_east_2"]
    by_name = {me.full_name: me.id, colleague.full_name: colleague.id}
    changes = contacts.grid_changes({"raw_phone": "040 7654321", "manager": colleague.full_name,
                                     "email": None, "mobile": None, "vip": True}, by_name)
    assert changes == {"phone": "040 7654321", "owner_id": colleague.id, "email": "",
                       "mobile": "", "vip": True}
    assert contacts.grid_changes({"raw_phone": None, "manager": None}, by_name) == {
        "phone": "", "owner_id": None}
    assert edit(me, db, world.contacts["Adams"], **changes) == 1
    row = contact_row(db, world.contacts["Adams"])
    assert (row["phone"], row["owner_id"], row["email"]) == ("040 7654321", colleague.id, "")
    assert ids_of(db, me, ListQuery(search="0407654321")) == {world.contacts["Adams"]}


def test_a_manager_name_with_no_eligible_owner_is_refused(db, world):
    me = world.users["sales_east"]
    changes = contacts.grid_changes({"manager": "Sales.West"}, {me.full_name: me.id})
    with pytest.raises(EditRejected) as caught:
        edit(me, db, world.contacts["Adams"], **changes)
    assert [p.field for p in caught.value.problems] == ["owner_id"]


# ----------------------------------------------------------------------- bulk VIP


def vip_of(db, *ids):
    return [bool(contact_row(db, i)["vip"]) for i in ids]


def test_a_sales_manager_sets_vip_on_checked_contacts_in_scope_only(db, world):
    me = world.users["sales_east"]
    ids = [world.contacts["Baker"], world.contacts["Adams"], world.contacts["Wolf"]]
    result = contacts.set_vip(me, db, True, ids=ids)
    assert result == BulkResult(changed=1, unchanged=1)
    assert result.sentence("Set VIP on", "contacts", "contact") == (
        "Set VIP on 1 contact (1 already was).")
    assert vip_of(db, *ids) == [True, True, False]
    assert [(r["field"], r["old_value"], r["new_value"], r["user_id"])
            for r in audit_rows(db, "contact", world.contacts["Baker"])] == [
        ("vip", "False", "True", me.id)]
    assert audit_rows(db, "contact", world.contacts["Wolf"]) == []


def test_a_sales_manager_sets_vip_on_every_matching_contact_not_only_one_page(db, world):
    me = world.users["sales_east"]
    query = ListQuery(filters={"country": ("DE",)}, page_size=25, page=1)
    result = contacts.set_vip(me, db, True, query=query)
    assert result == BulkResult(changed=26, unchanged=1)  # Davis already was
    assert all(vip_of(db, *[world.contacts[z] for z in ZIMMERS], world.contacts["Clark"]))
    assert vip_of(db, world.contacts["Baker"], world.contacts["east_mine"]) == [False, False]


def test_remove_vip_from_every_match_of_a_tag(db, world):
    me = world.users["sales_east"]
    db.execute("UPDATE contacts SET vip = TRUE WHERE id = ?", (world.contacts["Wolf"],))
    fair = vocabulary(db, "tags", "fair")
    result = contacts.set_vip(me, db, False, query=ListQuery(filters={"tag": (str(fair),)}))
    assert result == BulkResult(changed=1, unchanged=1)  # Adams changed, Clark was not VIP
    assert vip_of(db, world.contacts["Adams"], world.contacts["Davis"],
                  world.contacts["Wolf"]) == [False, True, True]
