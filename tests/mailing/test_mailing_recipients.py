"""Who a mass mailing reaches: people in the user's scope who are subscribed, not
disqualified and have a valid address; the others are counted by reason."""

from __future__ import annotations

import re

import pytest

from crm.access import Entity
from crm.lists.listing import ListQuery
from crm.mailing import campaigns
from crm.mailing.recipients import Exclusion, Selection, audience, describe, sample
from crm.storage import search
from tests.mailing_fixtures import contact, lead, mailing_world


@pytest.fixture
def world(db):
    """East contacts: Adler and Becker (fine), Conrad (unsubscribed), Dietz (disqualified),
    Engel (no email), Fuchs (broken email), Gross (Adler's address again, in capitals).
    West: Wagner (fine, another department)."""
    w = mailing_world(db)
    c = {}
    c["Adler"] = contact(db, w, "Adler", "anna@adler.example", country_code="DE")
    c["Becker"] = contact(db, w, "Becker", "bernd@becker.example", country_code="FR")
    c["Conrad"] = contact(db, w, "Conrad", "clara@conrad.example", newsletter_opt_in=False)
    c["Dietz"] = contact(db, w, "Dietz", "dora@dietz.example", disqualified=True)
    c["Engel"] = contact(db, w, "Engel", "")
    c["Fuchs"] = contact(db, w, "Fuchs", "fuchs at example")
    c["Gross"] = contact(db, w, "Gross", " ANNA@Adler.example ")
    c["Wagner"] = contact(db, w, "Wagner", "wim@wagner.example", department="west",
                          company="west")
    w.people = c
    with db.transaction() as tx:
        search.refresh(tx, Entity.CONTACT)
    return w


def excluded(reach) -> dict[str, int]:
    return {reason.value: n for reason, n in reach.excluded.items() if n}


def test_a_sales_manager_reaches_the_subscribed_people_of_their_department(db, world):
    reach = audience(world.users["sales_east"], db, Selection(Entity.CONTACT))
    # The world's own two east contacts have no email address.
    assert reach.selected == 9
    assert reach.recipients == 2
    assert excluded(reach) == {"unsubscribed": 1, "disqualified": 1, "no_email": 4,
                               "duplicate": 1}
    assert reach.exclusion_sentence() == (
        "Left out 7: 1 unsubscribed, 1 disqualified, 4 no valid email address, "
        "1 duplicate address.")


def test_the_first_record_of_a_shared_address_is_the_one_mailed(db, world):
    people = sample(world.users["sales_east"], db, Selection(Entity.CONTACT))
    assert [p.email for _, p in people] == ["anna@adler.example", "bernd@becker.example"]
    assert [i for i, _ in people] == [world.people["Adler"], world.people["Becker"]]


def test_an_address_unsubscribed_under_one_record_is_not_mailed_under_another(db, world):
    db.execute("UPDATE contacts SET newsletter_opt_in = FALSE WHERE id = ?",
               (world.people["Adler"],))
    reach = audience(world.users["sales_east"], db, Selection(Entity.CONTACT))
    assert reach.recipients == 1
    assert excluded(reach) == {"unsubscribed": 3, "disqualified": 1, "no_email": 4}


def test_checked_rows_count_only_inside_the_scope(db, world):
    ids = (world.people["Adler"], world.people["Conrad"], world.people["Wagner"])
    reach = audience(world.users["sales_east"], db, Selection(Entity.CONTACT, ids=ids))
    assert (reach.selected, reach.recipients) == (2, 1)
    assert excluded(reach) == {"unsubscribed": 1}
    assert describe(world.users["sales_east"], db, Selection(Entity.CONTACT, ids=ids),
                    2) == "2 checked contacts"


def test_every_matching_row_of_a_filtered_list(db, world):
    query = ListQuery(filters={"country": ("DE",)})
    selection = Selection(Entity.CONTACT, query=query)
    reach = audience(world.users["company_manager"], db, selection)
    assert (reach.selected, reach.recipients) == (1, 1)
    assert describe(world.users["company_manager"], db, selection, 1) == (
        "1 contact where country is Germany")


def test_a_company_manager_reaches_every_department(db, world):
    reach = audience(world.users["company_manager"], db, Selection(Entity.CONTACT))
    assert reach.recipients == 3  # Adler, Becker, Wagner


def test_converted_leads_are_left_out(db, world):
    lead(db, world, "Open", "open@lead.example")
    converted = lead(db, world, "Converted", "done@lead.example")
    db.execute("UPDATE leads SET converted_at = created_at WHERE id = ?", (converted,))
    reach = audience(world.users["sales_east"], db, Selection(Entity.LEAD))
    assert reach.recipients == 1
    assert reach.excluded[Exclusion.CONVERTED] == 1


def test_creating_a_mailing_freezes_its_recipients_and_the_reasons(db, world, mail_env):
    mailing_id = campaigns.create_mailing(
        world.users["sales_east"], db, Selection(Entity.CONTACT),
        subject="Spring news", body="Hello {first_name}")
    mailing = campaigns.get_mailing(world.users["sales_east"], db, mailing_id)
    assert mailing.status == "draft" and mailing.department == "East"
    assert mailing.counts.recipients == mailing.counts.pending == 2
    assert mailing.excluded[Exclusion.UNSUBSCRIBED] == 1
    assert mailing.excluded[Exclusion.DUPLICATE] == 1
    assert mailing.selection == "9 contacts"
    assert db.scalar("SELECT count(*) FROM audit_log WHERE entity = 'mailing' "
                     "AND action = 'create'") > 0


def test_a_selection_with_nobody_to_mail_is_refused(db, world):
    ids = (world.people["Conrad"], world.people["Engel"])
    with pytest.raises(campaigns.MailingError, match=re.escape(
            "Nobody in this selection can be mailed. Left out 2: 1 unsubscribed, "
            "1 no valid email address.")):
        campaigns.create_mailing(world.users["sales_east"], db,
                                 Selection(Entity.CONTACT, ids=ids), subject="Hi", body="Hi")
    assert db.scalar("SELECT count(*) FROM mailings") == 0


def test_an_unknown_placeholder_is_refused(db, world):
    with pytest.raises(campaigns.MailingError, match=r"Unknown placeholder \{firstname\}"):
        campaigns.create_mailing(world.users["sales_east"], db, Selection(Entity.CONTACT),
                                 subject="Hi {firstname}", body="Hello")


def test_mailings_are_seen_with_the_recipients_of_ones_own_scope(db, world):
    everyone = campaigns.create_mailing(world.users["company_manager"], db,
                                        Selection(Entity.CONTACT), subject="All", body="Hi")
    east = campaigns.create_mailing(world.users["sales_east"], db, Selection(Entity.CONTACT),
                                    subject="East", body="Hi")
    seen_west = campaigns.list_mailings(world.users["sales_west"], db)
    assert seen_west["id"].tolist() == [everyone]
    assert seen_west["recipients"].tolist() == [1]  # Wagner only
    assert campaigns.get_mailing(world.users["sales_west"], db, east) is None
    company_wide = campaigns.get_mailing(world.users["sales_east"], db, everyone)
    assert company_wide.department is None and not company_wide.may_send
    assert company_wide.counts.recipients == 2
    # How it was chosen and who was left out speak of other departments: not shown to them.
    assert (company_wide.selection, company_wide.excluded) == ("", None)
    wide = campaigns.get_mailing(world.users["company_manager"], db, everyone)
    assert wide.may_send and wide.selection and wide.excluded is not None


def test_a_draft_can_be_changed_and_deleted_but_only_in_scope(db, world):
    mailing = campaigns.create_mailing(world.users["sales_east"], db,
                                       Selection(Entity.CONTACT), subject="Old", body="Hi")
    with pytest.raises(campaigns.MailingError, match="does not exist"):
        campaigns.update_draft(world.users["sales_west"], db, mailing, name="", subject="New",
                               body="Hi")
    campaigns.update_draft(world.users["sales_east"], db, mailing, name="", subject="New",
                           body="Hi")
    assert db.scalar("SELECT subject FROM mailings WHERE id = ?", (mailing,)) == "New"
    campaigns.delete_draft(world.users["sales_east"], db, mailing)
    assert db.scalar("SELECT count(*) FROM mailing_recipients") == 0


@pytest.mark.parametrize("change", ["update", "delete"])
def test_a_draft_changed_while_its_send_starts_is_refused_and_the_send_keeps_it(
        db, world, monkeypatch, change):
    """The send claims the mailing between the draft being read and written: the write,
    guarded by the status in its own statement, changes nothing and says why."""
    from crm.mailing import sending

    user = world.users["sales_east"]
    mailing = campaigns.create_mailing(user, db, Selection(Entity.CONTACT), subject="Old",
                                       body="Hi")
    recipients = db.scalar("SELECT count(*) FROM mailing_recipients")
    read = campaigns._draft

    def read_then_send_starts(tx, *args):
        row = read(tx, *args)
        sending._acquire(db, mailing, "sender-elsewhere")  # its own transaction, committed
        return row

    monkeypatch.setattr(campaigns, "_draft", read_then_send_starts)
    with pytest.raises(campaigns.MailingError, match=r"started sending|at the same moment"):
        if change == "update":
            campaigns.update_draft(user, db, mailing, name="", subject="New", body="Hi")
        else:
            campaigns.delete_draft(user, db, mailing)
    assert db.fetch_one("SELECT subject, status FROM mailings WHERE id = ?", (mailing,)) == {
        "subject": "Old", "status": "sending"}
    assert db.scalar("SELECT count(*) FROM mailing_recipients") == recipients > 0
