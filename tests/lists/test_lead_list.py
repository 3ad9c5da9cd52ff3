"""The lead list: filters, search, ID look-up, sort, counts and paging, always inside scope."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from crm.access import Entity
from crm.lists.filters import NONE_VALUE
from crm.lists.listing import ListQuery, count, describe, fetch_page, iter_rows, options
from crm.records.leads import LEADS
from crm.storage import search
from tests import factories


@pytest.fixture
def world(db):
    w = factories.world(db)
    east = w.east
    sales, sales2 = w.users["sales_east"], w.users["sales_east_2"]
    base = datetime(2026, 3, 1, 9, 0)
    specs = [
        # last name, first, owner, country, vip, disqualified, opt-in, mailed, extra
        ("Adams", "Zoe", sales, "DE", True, False, True, True,
         {"email": "zoe@acme.example", "company_name": "Acme GmbH", "city": "Berlin"}),
        ("Baker", "Yann", sales2, "FR", False, True, True, False,
         {"email": "yann@bakery.example", "phone": "+33 1 23 45 67 89"}),
        ("Clark", "Xena", None, None, False, False, False, True,
         {"company_name": "Zeta Ltd", "description": "met at the Hannover fair"}),
        ("Davis", "Will", sales, "DE", True, False, False, False,
         {"email": "will@davis.example", "mobile": "0171 5550199"}),
        ("Evans", "Vera", sales2, "AT", False, False, True, True, {"city": "Wien"}),
    ]
    for i in range(25):  # enough rows for paging, all ordinary
        specs.append((f"Zimmer{i:02d}", "Ulf", sales, "DE", False, False, True, False, {}))
    ids = {}
    for n, (last, first, owner, country, vip, disq, opt_in, mailed, extra) in enumerate(specs):
        stamp = base + timedelta(days=n)
        ids[last] = factories.lead(
            db, last, east, owner, first_name=first, country_code=country, vip=vip,
            disqualified=disq, newsletter_opt_in=opt_in,
            last_mailed_at=stamp if mailed else None, created_at=stamp, updated_at=stamp,
            **extra)
    ids["Westlead"] = w.leads["west"]
    ids["Eastlead"] = w.leads["east"]
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    w.leads.update(ids)
    return w


def names(db, user, query):
    page = fetch_page(user, db, LEADS, query)
    return [n.split()[-1] for n in page.rows["name"]]


def total(db, user, **filters):
    query = ListQuery(filters={k: tuple(v) for k, v in filters.items()})
    return count(user, db, LEADS, query)


def test_a_sales_manager_lists_only_their_departments_leads(db, world):
    me = world.users["sales_east"]
    page = fetch_page(me, db, LEADS, ListQuery(page_size=250))
    assert page.total == 31
    assert world.leads["Westlead"] not in set(page.rows["id"])


def test_disqualification_filter(db, world):
    me = world.users["sales_east"]
    assert names(db, me, ListQuery(filters={"disqualified": ("yes",)})) == ["Baker"]
    assert total(db, me, disqualified=["no"]) == 30
    assert total(db, me, disqualified=["yes", "no"]) == 31


def test_assigned_manager_filter_including_unassigned(db, world):
    me = world.users["sales_east"]
    sales2 = world.users["sales_east_2"]
    assert sorted(names(db, me, ListQuery(filters={"manager": (str(sales2.id),)}))) == [
        "Baker", "Evans"]
    assert names(db, me, ListQuery(filters={"manager": (NONE_VALUE,)})) == ["Clark"]
    assert total(db, me, manager=[str(sales2.id), NONE_VALUE]) == 3


def test_country_filter_including_no_country(db, world):
    me = world.users["sales_east"]
    assert sorted(names(db, me, ListQuery(filters={"country": ("FR", "AT")}))) == [
        "Baker", "Evans"]
    assert sorted(names(db, me, ListQuery(filters={"country": (NONE_VALUE,)}))) == [
        "Clark", "Eastlead"]


@pytest.mark.parametrize("status, expected", [
    ("not_mailed", 27),  # subscribed, never mailed: Baker, Zimmer00-24, Eastlead
    ("receiving", 2),    # Adams, Evans
    ("unsubscribed", 2),  # Clark, Davis
])
def test_newsletter_status_filter(db, world, status, expected):
    assert total(db, world.users["sales_east"], newsletter=[status]) == expected


def test_vip_filter(db, world):
    me = world.users["sales_east"]
    assert sorted(names(db, me, ListQuery(filters={"vip": ("yes",)}))) == ["Adams", "Davis"]


def test_filters_combine_with_and(db, world):
    me = world.users["sales_east"]
    query = ListQuery(filters={"vip": ("yes",), "country": ("DE",),
                               "newsletter": ("receiving",)})
    assert names(db, me, query) == ["Adams"]


def test_the_department_filter_is_for_company_wide_roles_only(db, world):
    boss = world.users["company_manager"]
    assert total(db, boss, department=[str(world.west)]) == 1
    me = world.users["sales_east"]
    # Not offered to a sales manager, and ignored if put in the URL by hand.
    assert "department" not in {f.key for f in LEADS.filters_for(me)}
    assert total(db, me, department=[str(world.west)]) == 31


def test_a_bad_filter_value_matches_nothing_instead_of_failing(db, world):
    assert total(db, world.users["sales_east"], manager=["not-a-number"]) == 0


@pytest.mark.parametrize("text, expected", [
    ("zoe", ["Adams"]),                     # first name
    ("ADAMS", ["Adams"]),                   # last name, any case
    ("yann@bakery", ["Baker"]),             # email
    ("acme", ["Adams"]),                    # company name
    ("zeta ltd", ["Clark"]),                # two keywords, both must match
    ("hannover", ["Clark"]),                # description
    ("wien", ["Evans"]),                    # city
    ("5550199", ["Davis"]),                 # phone digits
    ("+33 1 23", ["Baker"]),                # phone as typed
    ("0171 5550199", ["Davis"]),            # mobile as typed
    ("nobody-matches-this", []),
])
def test_keyword_search(db, world, text, expected):
    assert sorted(names(db, world.users["sales_east"], ListQuery(search=text))) == expected


def test_search_treats_like_wildcards_literally(db, world):
    assert names(db, world.users["sales_east"], ListQuery(search="%")) == []
    assert names(db, world.users["sales_east"], ListQuery(search="_")) == []


@pytest.mark.parametrize("form", ["{id}", "#{id}", "ID {id}", "id {id}", "ID: {id}", " #{id} "])
def test_id_search_in_every_form(db, world, form):
    lead_id = world.leads["Davis"]
    page = fetch_page(world.users["sales_east"], db, LEADS,
                      ListQuery(search=form.format(id=lead_id)))
    assert lead_id in set(page.rows["id"])


@pytest.mark.parametrize("form", ["{id}", "#{id}", "ID {id}"])
def test_id_search_stays_inside_the_scope(db, world, form):
    west_id = world.leads["Westlead"]
    page = fetch_page(world.users["sales_east"], db, LEADS,
                      ListQuery(search=form.format(id=west_id)))
    assert west_id not in set(page.rows["id"])


def test_hash_id_finds_that_record_only(db, world):
    lead_id = world.leads["Evans"]
    page = fetch_page(world.users["sales_east"], db, LEADS, ListQuery(search=f"#{lead_id}"))
    assert list(page.rows["id"]) == [lead_id]


SORT_KEYS = {
    "id": lambda r: r["id"],
    "name": lambda r: (r["name"].split()[-1].lower(), r["name"].split()[0].lower()),
    "email": lambda r: r["email"].lower(),
    "company": lambda r: r["company"].lower(),
    "manager": lambda r: "\uffff" if pd.isna(r["manager"]) else r["manager"].lower(),
    "country": lambda r: "\uffff" if pd.isna(r["country"]) else r["country"],
    "newsletter": lambda r: ["not_mailed", "receiving", "unsubscribed"].index(r["newsletter"]),
    "created_at": lambda r: r["created_at"],
}


@pytest.mark.parametrize("key", list(SORT_KEYS))
@pytest.mark.parametrize("descending", [False, True])
def test_every_column_sorts_the_whole_filtered_result(db, world, key, descending):
    me = world.users["sales_east"]
    everything = fetch_page(me, db, LEADS, ListQuery(page_size=250)).rows.to_dict("records")
    first = fetch_page(me, db, LEADS, ListQuery(sort=key, descending=descending, page_size=25))
    second = fetch_page(me, db, LEADS, ListQuery(sort=key, descending=descending, page_size=25,
                                                 page=2))
    got = list(first.rows["id"]) + list(second.rows["id"])
    assert len(got) == 31 and len(set(got)) == 31  # two pages cover everything, no repeats
    keys = [SORT_KEYS[key](r) for r in sorted(everything, key=lambda r: got.index(r["id"]))]
    if key == "manager" or key == "country":  # missing values last in both directions
        present = [k for k in keys if k not in ("\uffff",)]
        assert present == sorted(present, reverse=descending)
        assert all(k == "\uffff" for k in keys[len(present):])
    else:
        assert keys == sorted(keys, reverse=descending)


def test_an_unknown_sort_falls_back_to_newest_first(db, world):
    page = fetch_page(world.users["sales_east"], db, LEADS,
                      ListQuery(sort="id; DROP TABLE leads", page_size=25))
    dates = list(page.rows["created_at"])
    assert dates == sorted(dates, reverse=True)


def test_paging_counts_and_clamps(db, world):
    me = world.users["sales_east"]
    page = fetch_page(me, db, LEADS, ListQuery(page=2, page_size=25))
    assert (page.total, page.pages, page.page, len(page.rows)) == (31, 2, 2, 6)
    beyond = fetch_page(me, db, LEADS, ListQuery(page=99, page_size=25))
    assert beyond.page == 2
    odd_size = fetch_page(me, db, LEADS, ListQuery(page_size=7))
    assert odd_size.page_size == 50


def test_filter_options_carry_counts_from_the_scope_only(db, world):
    me = world.users["sales_east"]
    managers = {o.label: o.count for o in options(me, db, LEADS, "manager")}
    assert managers == {"Sales.East": 28, "Sales.East2": 2, "Unassigned": 1}
    countries = {o.value: o.count for o in options(me, db, LEADS, "country")}
    assert countries["DE"] == 27 and "GB" not in countries
    assert {o.value: o.count for o in options(me, db, LEADS, "vip")} == {"yes": 2, "no": 29}


def test_company_wide_roles_get_options_from_every_department(db, world):
    boss = world.users["company_manager"]
    managers = {o.label for o in options(boss, db, LEADS, "manager")}
    assert "Sales.West" in managers
    departments = {o.label for o in options(boss, db, LEADS, "department")}
    assert departments == {"East", "West"}


def test_the_list_says_what_it_shows(db, world):
    query = ListQuery(filters={"country": ("DE", "FR"), "vip": ("yes",)}, search="acme")
    labels = {"country": {"DE": "Germany", "FR": "France"}, "vip": {"yes": "VIP"}}
    assert describe(LEADS, query, 1234, labels) == (
        "1,234 leads where country is Germany or France and VIP, matching “acme”")
    assert describe(LEADS, ListQuery(), 1) == "1 lead"


def test_iterating_every_row_streams_in_chunks_in_list_order(db, world):
    me = world.users["sales_east"]
    chunks = list(iter_rows(me, db, LEADS, ListQuery(sort="name"), chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 10, 1]
    streamed = [i for c in chunks for i in c["id"]]
    listed = list(fetch_page(me, db, LEADS, ListQuery(sort="name", page_size=250)).rows["id"])
    assert streamed == listed


def test_iterating_checked_ids_keeps_out_of_scope_ids_out(db, world):
    me = world.users["sales_east"]
    wanted = [world.leads["Adams"], world.leads["Westlead"]]
    rows = [i for c in iter_rows(me, db, LEADS, ListQuery(), ids=wanted) for i in c["id"]]
    assert rows == [world.leads["Adams"]]
