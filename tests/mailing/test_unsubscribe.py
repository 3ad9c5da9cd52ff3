"""Unsubscribe links: signed with the server secret, so they cannot be guessed, altered or used
for someone else; following one records the event and turns the status gray; the person
may subscribe again through their own link, and staff only as the rules allow."""

from __future__ import annotations

import pytest

from crm.access import Entity
from crm.mailing import subscriptions, tokens
from crm.mailing.subscriptions import SubscriptionError
from crm.records.leads import get_lead
from crm.records.newsletter import NewsletterStatus
from tests.factories import STAMP
from tests.mailing_fixtures import lead, mailing_world

KEY = b"k" * 48


@pytest.fixture
def world(db, mail_env):
    w = mailing_world(db)
    w.anna = lead(db, w, "Adler", "anna@adler.example", first_name="Anna")
    w.bernd = lead(db, w, "Becker", "bernd@becker.example", first_name="Bernd")
    db.execute("UPDATE leads SET last_mailed_at = created_at WHERE id IN (?, ?)",
               (w.anna, w.bernd))
    db.execute("INSERT INTO mailings (id, name, subject, status, created_at) "
               "VALUES (99, 'Spring', 'Spring', 'sent', ?)", (STAMP,))
    for person in (w.anna, w.bernd):
        db.execute("INSERT INTO mailing_recipients (mailing_id, entity, entity_id, email, "
                   "status, sent_at) SELECT 99, 'lead', id, email, 'sent', created_at "
                   "FROM leads WHERE id = ?", (person,))
    return w


def status(db, world, lead_id: int) -> str:
    return get_lead(world.users["admin"], db, lead_id)["newsletter"]


def test_a_token_is_valid_only_for_its_person_and_address():
    token = tokens.make_token(Entity.LEAD, 7, "anna@adler.example", KEY)
    assert tokens.verify(token, "anna@adler.example", KEY)
    assert tokens.verify(token, " ANNA@adler.example", KEY)  # the same address
    assert not tokens.verify(token, "bernd@becker.example", KEY)
    assert not tokens.verify(token, "anna@adler.example", b"another server secret" * 3)
    other_person = token.replace("l7.", "l8.")
    assert not tokens.verify(other_person, "anna@adler.example", KEY)
    as_contact = token.replace("l7.", "c7.")
    assert not tokens.verify(as_contact, "anna@adler.example", KEY)


def test_a_token_cannot_be_altered_by_one_character():
    token = tokens.make_token(Entity.LEAD, 7, "anna@adler.example", KEY)
    for i in range(token.index(".") + 1, len(token)):
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        assert not tokens.verify(flipped, "anna@adler.example", KEY)


@pytest.mark.parametrize("junk", ["", "l7", "l7.", "x7.AAAAAAAAAAAAAAAAAAAAAA", "l07.abc",
                                  "l7.AAAAAAAAAAAAAAAAAAAAAA", "' OR 1=1 --"])
def test_malformed_or_guessed_tokens_are_refused(junk):
    assert not tokens.verify(junk, "anna@adler.example", KEY)


def test_following_the_link_unsubscribes_and_turns_the_status_gray(db, world):
    token = tokens.make_token(Entity.LEAD, world.anna, "anna@adler.example")
    assert status(db, world, world.anna) == NewsletterStatus.RECEIVING
    view = subscriptions.link_view(db, token)
    assert view.subscribed and view.masked_email == "a•••a@adler.example"
    assert subscriptions.unsubscribe_by_link(db, token).subscribed is False
    assert status(db, world, world.anna) == NewsletterStatus.UNSUBSCRIBED
    history = subscriptions.events(world.users["sales_east"], db, Entity.LEAD, world.anna)
    assert [(e["event"], e["source"], e["by_user"]) for e in history[:1]] == [
        ("unsubscribed", "unsubscribe link", "")]
    assert subscriptions.disagreements(db, Entity.LEAD) == 0
    assert status(db, world, world.bernd) == NewsletterStatus.RECEIVING  # nobody else


def test_a_forged_token_changes_nothing(db, world):
    forged = tokens.make_token(Entity.LEAD, world.anna, "anna@adler.example",
                               b"a guess at the secret" * 3)
    assert subscriptions.link_view(db, forged) is None
    assert subscriptions.unsubscribe_by_link(db, forged) is None
    moved = tokens.make_token(Entity.LEAD, world.anna, "bernd@becker.example")
    assert subscriptions.unsubscribe_by_link(db, moved) is None  # Bernd's address, Anna's ID
    assert status(db, world, world.anna) == NewsletterStatus.RECEIVING
    assert db.scalar("SELECT count(*) FROM subscription_events WHERE event <> 'subscribed'") == 0


def test_the_person_subscribes_again_through_their_own_link(db, world):
    token = tokens.make_token(Entity.LEAD, world.anna, "anna@adler.example")
    subscriptions.unsubscribe_by_link(db, token)
    subscriptions.unsubscribe_by_link(db, token)  # twice: one event
    assert subscriptions.resubscribe_by_link(db, token).subscribed
    assert status(db, world, world.anna) == NewsletterStatus.RECEIVING
    events = [e["event"] for e in subscriptions.events(world.users["admin"], db,
                                                        Entity.LEAD, world.anna)]
    assert events == ["resubscribed", "unsubscribed", "subscribed"]
    assert subscriptions.disagreements(db, Entity.LEAD) == 0


def test_staff_unsubscribe_on_request_and_are_recorded(db, world):
    assert subscriptions.unsubscribe(world.users["operator_east"], db, Entity.LEAD,
                                     world.anna, note="Asked by phone")
    event = subscriptions.events(world.users["admin"], db, Entity.LEAD, world.anna)[0]
    assert (event["event"], event["source"], event["by_user"], event["note"]) == (
        "unsubscribed", "operator", "Operator.East", "Asked by phone")
    assert db.scalar("SELECT count(*) FROM audit_log WHERE entity = 'lead' AND entity_id = ? "
                     "AND field = 'newsletter_opt_in' AND new_value = 'False'", (world.anna,)) == 1


def test_staff_cannot_unsubscribe_someone_outside_their_scope(db, world):
    with pytest.raises(SubscriptionError, match="does not exist"):
        subscriptions.unsubscribe(world.users["sales_west"], db, Entity.LEAD, world.anna)
    assert status(db, world, world.anna) == NewsletterStatus.RECEIVING


def test_only_an_admin_subscribes_someone_again_and_must_say_why(db, world):
    subscriptions.unsubscribe(world.users["sales_east"], db, Entity.LEAD, world.anna)
    with pytest.raises(SubscriptionError, match="Only an admin"):
        subscriptions.resubscribe(world.users["company_manager"], db, Entity.LEAD, world.anna,
                                  reason="Asked at the fair")
    with pytest.raises(SubscriptionError, match="Say why"):
        subscriptions.resubscribe(world.users["admin"], db, Entity.LEAD, world.anna, reason="")
    assert subscriptions.resubscribe(world.users["admin"], db, Entity.LEAD, world.anna,
                                     reason="Asked at the fair on 3 March")
    event = subscriptions.events(world.users["admin"], db, Entity.LEAD, world.anna)[0]
    assert (event["event"], event["source"], event["note"]) == (
        "resubscribed", "admin", "Asked at the fair on 3 March")
    assert status(db, world, world.anna) == NewsletterStatus.RECEIVING


def test_the_history_is_empty_outside_the_scope(db, world):
    assert subscriptions.events(world.users["sales_west"], db, Entity.LEAD, world.anna) == []


def test_the_demo_statuses_agree_with_their_events_and_deliveries(db):
    from crm.demo.builder import load_demo

    load_demo(db, contacts=400, leads=400)
    assert subscriptions.disagreements(db, Entity.CONTACT) == 0
    assert subscriptions.disagreements(db, Entity.LEAD) == 0
