"""Commercial requests: entered by hand or through the public form (honeypot, rate limit,
routing), what each matches, and "Create deal", which links an existing contact or lead or
creates one: a contact when the company is known and the data suffices, else a lead."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from crm.access import Entity
from crm.lists.listing import ListQuery, fetch_page
from crm.pipeline import deals, requests
from crm.pipeline.requests import (
    REQUESTS,
    Receipt,
    create_deal,
    create_request,
    get_request,
    receive_public_request,
    request_matches,
)
from crm.records.editing import EditRejected
from crm.storage import search
from tests import factories
from tests.factories import company


@pytest.fixture
def world(db):
    """East has Nordlicht GmbH (nordlicht.example) with Anna Berg, and an open lead Lena
    Lux; West has Westbrook Ltd."""
    w = factories.world(db)
    me = w.users["sales_east"]
    w.companies["nordlicht"] = company(db, "Nordlicht GmbH", w.east,
                                       website="https://nordlicht.example")
    w.contacts["anna"] = factories.contact(db, "Berg", w.companies["nordlicht"], w.east, me,
                                           first_name="Anna", email="anna@nordlicht.example")
    w.leads["lena"] = factories.lead(db, "Lux", w.east, me, first_name="Lena",
                                     email="lena@lux.example", company_name="Lux Lampen")
    return w


def enquiry(**values):
    return {"first_name": "Kai", "last_name": "Kern", "email": "kai.kern@nordlicht.example",
            "phone": "+49 30 5550100", "company_name": "Nordlicht", "country_code": "DE",
            "city": "Berlin", "subject": "50 pumps", "message": "Please send an offer.",
            **values}


def new_request(db, world, user="sales_east", **values):
    return create_request(world.users[user], db, enquiry(**values))


def row(db, table, record_id):
    return db.fetch_one(f"SELECT * FROM {table} WHERE id = ?", (record_id,))


# ----------------------------------------------------------------------- entering requests


def test_a_sales_manager_enters_a_request_in_their_department(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world)
    request = get_request(me, db, request_id)
    assert (request["department_id"], request["channel"], request["status"],
            request["owner_id"], request["company_key"], request["email_domain"]) == (
        world.east, "manual", "new", me.id, "nordlicht", "nordlicht.example")
    assert db.scalar("SELECT count(*) FROM audit_log WHERE entity = 'request' AND "
                     "entity_id = ? AND action = 'create'", (request_id,)) > 0
    page = fetch_page(me, db, REQUESTS, ListQuery(search="pumps"))
    assert page.rows["id"].tolist() == [request_id]


def test_a_request_says_what_to_fill_in(db, world):
    with pytest.raises(EditRejected) as refused:
        create_request(world.users["sales_east"], db,
                       {"email": "not-an-address", "subject": ""})
    messages = [p.message for p in refused.value.problems]
    assert any("not a valid email" in m for m in messages)
    assert "Give your name (first or last name)." in messages
    assert "Say what the request is about (subject or message)." in messages
    assert db.scalar("SELECT count(*) FROM requests") == 0


def test_a_sales_manager_sees_only_the_requests_of_their_department(db, world):
    east_request = new_request(db, world)
    west_request = new_request(db, world, "sales_west", email="w@westbrook.example")
    me = world.users["sales_east"]
    assert fetch_page(me, db, REQUESTS, ListQuery()).rows["id"].tolist() == [east_request]
    assert get_request(me, db, west_request) is None
    with pytest.raises(EditRejected, match=f"Request {west_request} does not exist"):
        create_deal(me, db, west_request, {"name": "Deal"})
    boss = world.users["company_manager"]
    assert fetch_page(boss, db, REQUESTS, ListQuery()).total == 2


# ----------------------------------------------------------------------- matches


def test_a_request_shows_the_contact_lead_and_company_it_matches(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world, email="anna@nordlicht.example", first_name="Anna",
                             last_name="Berg")
    found = request_matches(me, db, get_request(me, db, request_id))
    assert [(m.id, m.reason) for m in found.contacts] == [(world.contacts["anna"], "same email")]
    assert found.leads == []
    assert [(m.id, m.reasons) for m in found.companies] == [
        (world.companies["nordlicht"], ("same name", "same website domain (nordlicht.example)"))]

    lena = new_request(db, world, email="lena@lux.example", company_name="")
    found = request_matches(me, db, get_request(me, db, lena))
    assert [m.id for m in found.leads] == [world.leads["lena"]]

    page = fetch_page(me, db, REQUESTS, ListQuery(sort="created_at", descending=False))
    assert page.rows[["id", "matches"]].values.tolist() == [
        [request_id, "contact, company"], [lena, "lead"]]


def test_matches_stay_inside_the_requests_department(db, world):
    boss = world.users["company_manager"]
    request_id = new_request(db, world, "sales_west", email="anna@nordlicht.example")
    found = request_matches(boss, db, get_request(boss, db, request_id))
    assert not found.any


# ----------------------------------------------------------------------- create deal


def test_a_request_with_a_known_company_and_full_data_becomes_a_deal_and_a_contact(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world, newsletter_opt_in=True)

    made = create_deal(me, db, request_id, {"name": "50 pumps", "amount": "12,500.50",
                                             "stage": "proposal"})

    assert made.created == "contact" and made.lead_id is None
    contact = row(db, "contacts", made.contact_id)
    assert (contact["first_name"], contact["last_name"], contact["email"], contact["company_id"],
            contact["source_request_id"], contact["department_id"], contact["owner_id"]) == (
        "Kai", "Kern", "kai.kern@nordlicht.example", world.companies["nordlicht"], request_id,
        world.east, me.id)
    assert db.scalar("SELECT source FROM subscription_events WHERE entity = 'contact' AND "
                     "entity_id = ?", (made.contact_id,)) == f"request {request_id}"
    deal = row(db, "deals", made.deal_id)
    assert (deal["name"], str(deal["amount"]), deal["stage"], deal["owner_id"],
            deal["company_id"], deal["contact_id"], deal["request_id"]) == (
        "50 pumps", "12500.50", "proposal", me.id, world.companies["nordlicht"],
        made.contact_id, request_id)
    request = row(db, "requests", request_id)
    assert (request["status"], request["deal_id"], request["contact_id"]) == (
        "deal", made.deal_id, made.contact_id)
    assert [d["id"] for d in deals.deals_of(me, db, contact_id=made.contact_id)] == [
        made.deal_id]


def test_a_request_from_an_unknown_company_creates_a_lead_with_what_it_holds(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world, company_name="Brandneu GmbH",
                             email="kai@brandneu.example", lead_source_id=db.scalar(
                                 "SELECT id FROM lead_sources WHERE name = 'Email request'"))

    made = create_deal(me, db, request_id, {"name": "Pumps for Brandneu"})

    assert made.created == "lead" and made.contact_id is None
    lead = row(db, "leads", made.lead_id)
    assert (lead["first_name"], lead["last_name"], lead["email"], lead["phone"],
            lead["company_name"], lead["country_code"], lead["city"],
            lead["source_request_id"], lead["newsletter_opt_in"]) == (
        "Kai", "Kern", "kai@brandneu.example", "+49 30 5550100", "Brandneu GmbH", "DE",
        "Berlin", request_id, False)
    assert lead["lead_source_id"] == db.scalar(
        "SELECT id FROM lead_sources WHERE name = 'Email request'")
    assert "50 pumps" in lead["description"] and "Please send an offer." in lead["description"]
    assert "brandneu" in lead["search_text"]
    assert [d["id"] for d in deals.deals_of(me, db, lead_id=made.lead_id)] == [made.deal_id]


def test_a_request_at_a_known_company_without_an_email_creates_a_lead(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world, email="", phone="+49 30 5550100")
    made = create_deal(me, db, request_id, {"name": "By phone"})
    assert made.created == "lead"
    assert made.company_id == world.companies["nordlicht"]
    assert row(db, "deals", made.deal_id)["company_id"] == world.companies["nordlicht"]


def test_a_request_matching_a_contact_is_linked_to_it_and_creates_nothing(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world, first_name="Anna", last_name="Berg",
                             email="anna@nordlicht.example")
    contacts_before = db.scalar("SELECT count(*) FROM contacts")
    leads_before = db.scalar("SELECT count(*) FROM leads")

    made = create_deal(me, db, request_id, {"name": "Anna's pumps"},
                       contact_id=world.contacts["anna"])

    assert (made.created, made.contact_id, made.company_id) == (
        None, world.contacts["anna"], world.companies["nordlicht"])
    assert db.scalar("SELECT count(*) FROM contacts") == contacts_before
    assert db.scalar("SELECT count(*) FROM leads") == leads_before


def test_a_request_matching_a_lead_is_linked_to_it(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world, email="lena@lux.example")
    made = create_deal(me, db, request_id, {"name": "Lamps"}, lead_id=world.leads["lena"])
    assert (made.created, made.lead_id) == (None, world.leads["lena"])


def test_a_request_becomes_one_deal_only(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world)
    made = create_deal(me, db, request_id, {"name": "First"})
    with pytest.raises(EditRejected, match=f"already became deal {made.deal_id}"):
        create_deal(me, db, request_id, {"name": "Second"})
    assert db.scalar("SELECT count(*) FROM deals") == 1


def test_a_deal_with_bad_values_writes_nothing(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world, company_name="Brandneu", email="k@brandneu.example")
    with pytest.raises(EditRejected) as refused:
        create_deal(me, db, request_id, {"name": "", "amount": "lots", "stage": "dreaming"})
    assert {p.field for p in refused.value.problems} == {"name", "amount", "stage"}
    assert db.scalar("SELECT count(*) FROM leads WHERE source_request_id = ?",
                     (request_id,)) == 0
    assert row(db, "requests", request_id)["status"] == "new"


def test_a_contact_of_another_department_cannot_be_linked(db, world):
    boss = world.users["company_manager"]
    request_id = new_request(db, world, "sales_west", email="x@westbrook.example")
    with pytest.raises(EditRejected, match="department"):
        create_deal(boss, db, request_id, {"name": "Deal"}, contact_id=world.contacts["anna"])


def test_dismissed_requests_are_set_aside(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world)
    west = new_request(db, world, "sales_west")
    assert requests.dismiss(me, db, ids=[request_id, west]) == 1
    assert row(db, "requests", west)["status"] == "new"
    with pytest.raises(EditRejected, match="was dismissed"):
        create_deal(me, db, request_id, {"name": "Deal"})


@pytest.mark.parametrize(("text", "amount"), [("12500", "12500.00"), ("12,500.5", "12500.50"),
                                              ("99,90", "99.90"), ("", None)])
def test_deal_amounts_read_as_people_type_them(text, amount):
    result = deals.check_amount(text)
    assert (None if result is None else str(result)) == amount


# ----------------------------------------------------------------------- the public form


def test_a_public_request_goes_to_the_configured_department(db, world, monkeypatch):
    monkeypatch.setenv("CRM_REQUEST_DEPARTMENT", "west")
    result = receive_public_request(db, enquiry(), ip_address="203.0.113.9")
    assert result.receipt is Receipt.ACCEPTED
    request = row(db, "requests", result.request_id)
    assert (request["department_id"], request["channel"], request["created_by"]) == (
        world.west, "form", None)
    assert request["lead_source_id"] == db.scalar(
        "SELECT id FROM lead_sources WHERE name = 'Website form'")
    assert get_request(world.users["sales_east"], db, result.request_id) is None
    assert get_request(world.users["sales_west"], db, result.request_id) is not None


def test_without_configuration_public_requests_go_to_the_first_department(db, world,
                                                                          monkeypatch):
    monkeypatch.delenv("CRM_REQUEST_DEPARTMENT", raising=False)
    monkeypatch.setattr("crm.common.config.read_secrets", lambda *a, **k: {})
    result = receive_public_request(db, enquiry(), ip_address="203.0.113.9")
    assert row(db, "requests", result.request_id)["department_id"] == world.east


def test_the_honeypot_thanks_a_bot_and_keeps_nothing(db, world):
    result = receive_public_request(db, enquiry(), ip_address="198.51.100.7",
                                    honeypot="http://spam.example")
    assert (result.receipt, result.request_id) == (Receipt.ACCEPTED, None)
    assert db.scalar("SELECT count(*) FROM requests") == 0


def test_parallel_requests_from_one_client_are_accepted_at_most_up_to_the_limit(
        db, world, monkeypatch):
    """Ten at once from one network: the count and the request it allows are one step. On
    PostgreSQL the servers share no process lock, so only the database's lock is left."""
    if db.dialect == "postgres":
        monkeypatch.setattr("crm.storage.db._key_locks", [contextlib.nullcontext()] * 64)
    barrier = threading.Barrier(10)

    def send(_) -> Receipt:
        barrier.wait()
        return receive_public_request(db, enquiry(), ip_address="192.0.2.50").receipt

    with ThreadPoolExecutor(10) as pool:
        receipts = list(pool.map(send, range(10)))
    assert receipts.count(Receipt.ACCEPTED) == requests.RATE_LIMIT == 5
    assert receipts.count(Receipt.RATE_LIMITED) == 5
    assert db.scalar("SELECT count(*) FROM requests") == 5


def test_a_client_may_send_five_requests_in_ten_minutes(db, world):
    for _ in range(5):
        assert receive_public_request(db, enquiry(), ip_address="192.0.2.1").receipt \
            is Receipt.ACCEPTED
    assert receive_public_request(db, enquiry(), ip_address="192.0.2.1").receipt \
        is Receipt.RATE_LIMITED
    assert receive_public_request(db, enquiry(), ip_address="192.0.2.2").receipt \
        is Receipt.ACCEPTED
    db.execute("UPDATE request_form_attempts SET attempted_at = attempted_at - ?",
               (timedelta(minutes=11),))
    assert receive_public_request(db, enquiry(), ip_address="192.0.2.1").receipt \
        is Receipt.ACCEPTED
    assert db.scalar("SELECT count(*) FROM requests") == 7
    assert db.scalar("SELECT count(*) FROM request_form_attempts WHERE client_key = ?",
                     ("192.0.2.1",)) == 0  # only a hash of the address is kept


def test_an_invalid_public_request_is_explained_and_not_counted(db, world):
    for _ in range(6):
        result = receive_public_request(db, enquiry(email="nope", phone=""),
                                        ip_address="192.0.2.3")
        assert result.receipt is Receipt.INVALID
    assert any("email" in p.message for p in result.problems)
    assert receive_public_request(db, enquiry(), ip_address="192.0.2.3").receipt \
        is Receipt.ACCEPTED


def test_the_public_form_cannot_set_internal_fields(db, world):
    result = receive_public_request(
        db, enquiry(owner_id=world.users["sales_east"].id, lead_source_id=1), ip_address=None)
    request = row(db, "requests", result.request_id)
    assert request["owner_id"] is None
    assert request["lead_source_id"] == db.scalar(
        "SELECT id FROM lead_sources WHERE name = 'Website form'")


def test_search_finds_requests_by_message(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world, message="Need spare parts for model X200")
    with db.transaction() as tx:
        search.refresh(tx, Entity.REQUEST)
    assert fetch_page(me, db, REQUESTS, ListQuery(search="x200")).rows["id"].tolist() == [
        request_id]


# ----------------------------------------------------------------------- import


def csv_file(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def test_requests_are_imported_from_a_file_all_at_once(db, world):
    from crm.pipeline.request_import import import_requests, preview_requests

    me = world.users["sales_east"]
    data = csv_file("Name;E-Mail;Firma;Land;Betreff;Nachricht;Quelle",
                    "Kai Kern;kai@kern.example;Kern AG;Deutschland;Pumps;Offer please;"
                    "Trade show",
                    "Dr. Lea Maria Stein;lea@stein.example;;Austria;;Call me back;")
    preview = preview_requests(me, db, data, "fair.csv")
    assert preview.mapping == {"Name": "full_name", "E-Mail": "email", "Firma": "company_name",
                               "Land": "country", "Betreff": "subject", "Nachricht": "message",
                               "Quelle": "lead_source"}
    assert preview.ready and preview.problems == []
    assert import_requests(me, db, preview) == 2
    rows = db.fetch_all("SELECT first_name, last_name, country_code, channel, lead_source_id, "
                        "department_id FROM requests ORDER BY id")
    assert [(r["first_name"], r["last_name"], r["country_code"], r["channel"],
             r["department_id"]) for r in rows] == [
        ("Kai", "Kern", "DE", "import", world.east), ("Lea Maria", "Stein", "AT", "import",
                                                      world.east)]
    assert rows[0]["lead_source_id"] == db.scalar(
        "SELECT id FROM lead_sources WHERE name = 'Trade show'")


def test_an_import_with_problems_names_them_by_row_and_column_and_writes_nothing(db, world):
    from crm.importing import ImportRefused
    from crm.pipeline.request_import import import_requests, preview_requests

    me = world.users["sales_east"]
    data = csv_file("First name,Last name,Email,Country,Subject,Source",
                    "Kai,Kern,kai@kern.example,Germany,Pumps,",
                    "Ute,,not-an-address,Germny,Valves,Carrier pigeon",
                    ",,,,,")
    preview = preview_requests(me, db, data, "bad.csv")
    found = {(p.row, p.column) for p in preview.problems}
    assert found == {(3, "Email"), (3, "Country"), (3, "Source")}
    assert any("did you mean Germany" in p.message for p in preview.problems)
    with pytest.raises(ImportRefused):
        import_requests(me, db, preview)
    assert db.scalar("SELECT count(*) FROM requests") == 0


def test_the_lists_match_hints_follow_the_crm_when_a_request_is_opened(db, world):
    me = world.users["sales_east"]
    request_id = new_request(db, world, email="new.person@elsewhere.example",
                             company_name="Elsewhere")
    page = fetch_page(me, db, REQUESTS, ListQuery())
    assert page.rows["matches"].tolist() == [None]
    factories.contact(db, "Person", world.companies["nordlicht"], world.east,
                      email="new.person@elsewhere.example")
    request_matches(me, db, get_request(me, db, request_id), remember=True)
    assert fetch_page(me, db, REQUESTS, ListQuery()).rows["matches"].tolist() == ["contact"]
