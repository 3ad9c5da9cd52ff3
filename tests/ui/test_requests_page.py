"""The public request form and the Requests page through Streamlit's AppTest: a visitor
sends a request without signing in; a sales manager sees it with its matches and turns it
into a deal."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from crm.pipeline import requests
from tests import factories
from tests.conftest import shown
from tests.factories import company
from tests.pages import REQUESTS, open_app, open_page, sentence


@pytest.fixture
def world(db, app_env, monkeypatch):
    monkeypatch.setenv("CRM_REQUEST_DEPARTMENT", "East")
    w = factories.world(db)
    w.companies["nordlicht"] = company(db, "Nordlicht GmbH", w.east,
                                       website="https://nordlicht.example")
    return w


def open_form() -> AppTest:
    return open_app(view="request")


def fill_form(at: AppTest, **values: str) -> AppTest:
    for key, value in values.items():
        field = at.text_area(key=f"request_form_{key}") if key == "message" else \
            at.text_input(key=f"request_form_{key}")
        field.input(value)
    return at


def send(at: AppTest) -> AppTest:
    at.button(key="FormSubmitter:request_form-Send request").click().run()
    assert not at.exception
    return at


def test_a_visitor_sends_a_request_through_the_public_form_without_signing_in(world, db):
    at = open_form()
    assert not at.exception
    assert [t.value for t in at.title] == ["Send us a request"]
    assert "sign_in_username" not in [t.key for t in at.text_input]
    fill_form(at, first="Kai", last="Kern", email="kai@nordlicht.example", company="Nordlicht",
              subject="50 pumps", message="Please send an offer.")
    send(at)
    assert [s.value for s in at.success] == [
        "Thank you! We received your request and will get back to you soon."]
    request = db.fetch_one("SELECT * FROM requests")
    assert (request["first_name"], request["channel"], request["department_id"],
            request["company_key"]) == ("Kai", "form", world.east, "nordlicht")


def test_the_public_form_says_what_is_missing(world, db):
    at = fill_form(open_form(), first="Kai", email="not an address")
    send(at)
    errors = [shown(e.value) for e in at.error]
    assert any("not a valid email address" in e for e in errors)
    assert "Say what the request is about (subject or message)." in errors
    assert not at.success
    assert db.scalar("SELECT count(*) FROM requests") == 0


def test_a_bot_filling_the_honeypot_is_thanked_and_forgotten(world, db):
    at = fill_form(open_form(), first="Bot", email="bot@spam.example", subject="Buy now",
                   website="http://spam.example")
    send(at)
    assert [s.value for s in at.success] == [
        "Thank you! We received your request and will get back to you soon."]
    assert db.scalar("SELECT count(*) FROM requests") == 0


def test_the_public_form_stops_a_flood_from_one_client(world, db, monkeypatch):
    monkeypatch.setattr(requests, "RATE_LIMIT", 1)
    at = send(fill_form(open_form(), first="Kai", email="kai@kern.example", subject="One"))
    assert at.success
    again = send(fill_form(open_form(), first="Kai", email="kai@kern.example", subject="Two"))
    assert next(e.value for e in again.error).startswith("We received")
    assert db.scalar("SELECT count(*) FROM requests") == 1


# ----------------------------------------------------------------------- the Requests page


def open_requests(username: str, **params: str) -> AppTest:
    return open_page(username, REQUESTS, **params)


def add_requests(db, world):
    east = requests.create_request(world.users["sales_east"], db, {
        "first_name": "Kai", "last_name": "Kern", "email": "kai@nordlicht.example",
        "company_name": "Nordlicht AG", "subject": "50 pumps"})
    west = requests.create_request(world.users["sales_west"], db, {
        "first_name": "Wim", "email": "wim@westbrook.example", "subject": "Valves"})
    return east, west


def test_a_sales_manager_sees_the_requests_of_their_department_with_their_matches(world, db):
    east, _ = add_requests(db, world)
    at = open_requests("sales.east")
    assert [t.value for t in at.title] == ["Requests"]
    assert sentence(at) == "1 request"
    grid = at.data_editor[0].value
    assert grid[["id", "company", "matches", "status"]].values.tolist() == [
        [east, "Nordlicht AG", "company", "New"]]


def test_another_departments_request_does_not_exist_for_a_sales_manager(world, db):
    _, west = add_requests(db, world)
    at = open_requests("sales.east", id=str(west))
    assert [e.value for e in at.error] == [f"Request {west} does not exist."]


def test_create_deal_on_a_request_of_a_known_company_creates_a_contact(world, db):
    east, _ = add_requests(db, world)
    at = open_requests("sales.east", id=str(east))
    assert [t.value for t in at.title] == ["50 pumps"]
    assert any("Company: Nordlicht GmbH" in link.label for link in at.get("page_link"))
    assert at.selectbox(key=f"deal_{east}_company").value == world.companies["nordlicht"]
    assert "A new contact is created at this company" in " ".join(c.value for c in at.caption)
    next(t for t in at.text_input if t.label == "Amount").input("8000")
    at.button(key=f"FormSubmitter:deal_{east}-Create deal").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success][:1] == ["Deal created."]
    deal = db.fetch_one("SELECT * FROM deals")
    assert (deal["name"], str(deal["amount"]), deal["company_id"]) == (
        "50 pumps", "8000.00", world.companies["nordlicht"])
    assert db.scalar("SELECT source_request_id FROM contacts WHERE id = ?",
                     (deal["contact_id"],)) == east
    assert any(link.label == "Open the contact" for link in at.get("page_link"))


def test_a_sales_manager_adds_a_request_by_hand(world, db):
    at = open_requests("sales.east")
    next(b for b in at.button if b.label == "Add request").click().run()
    assert [d.proto.dialog.title for d in at.get("dialog")] == ["Add request"]
    at.text_input(key="add_request_first").input("Pia")
    at.text_input(key="add_request_phone").input("+49 40 1234567")
    at.text_input(key="add_request_subject").input("Call back about valves")
    next(b for b in at.button if b.label == "Add request").click()
    at.button(key="FormSubmitter:add_request-Save request").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Request added."]
    row = db.fetch_one("SELECT * FROM requests")
    assert (row["first_name"], row["channel"], row["department_id"], row["owner_id"]) == (
        "Pia", "manual", world.east, world.users["sales_east"].id)
    assert sentence(at) == "1 request"


def test_checked_requests_are_dismissed_from_the_action_bar(world, db):
    east, _ = add_requests(db, world)
    at = open_requests("sales.east")
    at.radio(key="request_bulk_target").set_value("all").run()
    at.selectbox(key="request_bulk_action").set_value("dismiss").run()
    at.button(key="request_bulk_apply").click().run()
    assert [shown(s.value) for s in at.success] == ["Dismissed 1 request (new ones only)."]
    assert db.scalar("SELECT status FROM requests WHERE id = ?", (east,)) == "dismissed"
