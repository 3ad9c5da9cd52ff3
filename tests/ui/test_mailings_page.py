"""The mass-mailing screens through AppTest: from checked leads or the contacts' Make
massmail to the compose screen (recipients and who is left out, preview for one recipient),
a draft, sending with the outbox, the list of mailings; the person's Newsletter tab; and the
public unsubscribe page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from crm.access import Entity
from crm.mailing import campaigns, tokens
from crm.mailing.recipients import Selection
from crm.storage import search
from tests.conftest import shown
from tests.mailing_fixtures import contact, lead, mailing_world
from tests.pages import CONTACTS, LEADS, open_app, open_page

MAILINGS_PAGE = "pages/workspace/mailings.py"


@pytest.fixture
def world(db, app_env, mail_env):
    """East leads Adler, Becker (both fine) and Conrad (unsubscribed); East contacts Dietz
    (DE) and Engel (DE, disqualified); West contact Wagner (DE)."""
    w = mailing_world(db)
    w.people = {
        "Adler": lead(db, w, "Adler", "anna@adler.example", first_name="Anna"),
        "Becker": lead(db, w, "Becker", "bernd@becker.example", first_name="Bernd"),
        "Conrad": lead(db, w, "Conrad", "clara@conrad.example", newsletter_opt_in=False),
        "Dietz": contact(db, w, "Dietz", "dora@dietz.example", country_code="DE"),
        "Engel": contact(db, w, "Engel", "emil@engel.example", country_code="DE",
                         disqualified=True),
        "Wagner": contact(db, w, "Wagner", "wim@wagner.example", department="west",
                          company="west", country_code="DE"),
    }
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
        search.refresh(tx, Entity.CONTACT)
    return w


def tick(at: AppTest, *rows: int) -> None:
    editor = at.data_editor[0]
    at.session_state[editor.key] = {"edited_rows": {r: {"Select": True} for r in rows},
                                    "added_rows": [], "deleted_rows": []}


def follow(at: AppTest) -> None:
    """The run just drew the Mailings page (st.switch_page); AppTest's next runs stay there
    only when told, as a browser's would."""
    at.switch_page(MAILINGS_PAGE)


def texts(elements) -> list[str]:
    """The elements' texts as shown (Markdown escapes of what crm.ui.text escaped dropped)."""
    return [shown(e.value) for e in elements]


def test_checked_leads_become_a_draft_and_are_sent_to_the_outbox(world, db, mail_env):
    at = open_page("sales.east", LEADS, sort="name", dir="asc")
    names = at.data_editor[0].value["name"].tolist()
    tick(at, names.index("Anna Adler"), names.index("Lena Conrad"))
    at.selectbox(key="lead_bulk_action").set_value("mass_mailing").run()
    apply = at.button(key="lead_bulk_apply")
    assert apply.label == "Make massmail: 2 leads"
    apply.click().run()
    assert not at.exception
    follow(at)
    assert texts(at.title) == ["New mass mailing"]
    assert "From 2 checked leads." in texts(at.caption)
    assert "**1 recipient** of 2 selected leads." in texts(at.markdown)
    assert any(c.startswith("Left out 1: 1 unsubscribed.") for c in texts(at.caption))

    at.text_input(key="compose_subject").input("News for {first_name}").run()
    assert "**Subject:** News for Anna" in texts(at.markdown)
    at.button(key="compose_create").click().run()
    assert not at.exception
    mailing_id = db.scalar("SELECT max(id) FROM mailings")
    assert at.query_params["id"] == str(mailing_id)
    assert texts(at.success) == ["Draft saved. Check the preview, then send it from here."]

    send = at.button(key="mailing_send")
    assert send.label == "Send to 1 recipient"
    send.click().run()
    assert not at.exception
    assert texts(at.success) == [
        f"Sent 1 message to the outbox folder {mail_env / f'mailing-{mailing_id}'}. "
        "The mailing is complete."]
    assert len(list((mail_env / f"mailing-{mailing_id}").glob("*.eml"))) == 1
    assert db.scalar("SELECT status FROM mailings WHERE id = ?", (mailing_id,)) == "sent"


def test_make_massmail_takes_every_contact_the_filters_match(world, db):
    at = open_page("company.manager", CONTACTS, country="DE")
    at.button(key="contact_massmail").click().run()
    assert not at.exception
    follow(at)
    assert "From 3 contacts where country is Germany." in texts(at.caption)
    assert "**2 recipients** of 3 selected contacts." in texts(at.markdown)
    assert any(c.startswith("Left out 1: 1 disqualified.") for c in texts(at.caption))
    at.button(key="compose_cancel").click().run()
    assert texts(at.title) == ["Mailings"]


def test_the_preview_escapes_what_the_user_wrote(world, db):
    at = open_page("sales.east", CONTACTS)
    at.button(key="contact_massmail").click().run()
    follow(at)
    at.text_input(key="compose_subject").input("Hello").run()
    at.text_area(key="compose_body").input("Hi **{first_name}** <script>x()</script>").run()
    html = at.get("html")[-1].proto.body
    assert "<strong>Anna</strong>" in html and "&lt;script&gt;" in html
    assert "token=personal-link" not in html  # previews hold no working link


def test_the_mailings_list_counts_only_ones_own_recipients(world, db):
    campaigns.create_mailing(world.users["company_manager"], db, Selection(Entity.CONTACT),
                             subject="To everyone", body="Hi", name="Company news")
    at = open_page("sales.west", MAILINGS_PAGE)
    frame = at.dataframe[0].value
    assert frame["name"].tolist() == ["Company news"]
    assert frame["recipients"].tolist() == [1]
    assert frame["department"].tolist() == ["All departments"]


def test_a_mailing_of_another_department_does_not_exist(world, db):
    mailing = campaigns.create_mailing(world.users["sales_east"], db, Selection(Entity.LEAD),
                                       subject="East only", body="Hi")
    at = open_page("sales.west", MAILINGS_PAGE, id=str(mailing))
    assert texts(at.error) == [f"Mailing {mailing} does not exist."]


def test_the_newsletter_tab_shows_the_history_and_lets_staff_unsubscribe(world, db):
    at = open_page("sales.east", LEADS, id=str(world.people["Adler"]))
    assert [t.label for t in at.tabs] == ["Details", "Edit", "Newsletter", "History"]
    history = at.tabs[2].dataframe[0].value
    assert history["What"].tolist() == ["Subscribed"]
    assert not [b for b in at.button if b.label == "Subscribe again"]
    at.text_input(key=f"unsub_note_lead_{world.people['Adler']}").input("Asked by email")
    at.button(key=f"unsub_lead_{world.people['Adler']}").click().run()
    assert texts(at.success) == ["Unsubscribed from the newsletter."]
    history = at.tabs[2].dataframe[0].value
    assert history["What"].tolist() == ["Unsubscribed", "Subscribed"]
    assert history["How"].tolist()[0] == "staff, on request"
    assert "Only the person (through the link in any newsletter) or an admin can subscribe " \
           "them again." in texts(at.caption)


def test_an_admin_subscribes_someone_again_only_with_a_reason(world, db):
    conrad = world.people["Conrad"]
    at = open_page("admin", LEADS, id=str(conrad))
    at.button(key=f"resub_lead_{conrad}").click().run()
    assert texts(at.error)[0].startswith("Say why")
    at.text_input(key=f"resub_reason_lead_{conrad}").input("Asked at the fair on 3 March")
    at.button(key=f"resub_lead_{conrad}").click().run()
    assert texts(at.success) == ["Subscribed to the newsletter again."]
    assert db.scalar("SELECT newsletter_opt_in FROM leads WHERE id = ?", (conrad,))


def open_link(token: str) -> AppTest:
    return open_app(view="unsubscribe", token=token)


def test_the_public_page_unsubscribes_after_a_click_without_sign_in(world, db):
    token = tokens.make_token(Entity.LEAD, world.people["Adler"], "anna@adler.example")
    at = open_link(token)
    assert not at.exception
    assert texts(at.title) == ["Newsletter"]
    assert not at.text_input  # no sign-in form
    assert "You receive our newsletter at `a•••a@adler.example`." in texts(at.markdown)
    assert db.scalar("SELECT newsletter_opt_in FROM leads WHERE id = ?", (world.people["Adler"],))
    at.button(key="unsubscribe").click().run()
    assert texts(at.success) == [
        "You are unsubscribed. You will not receive our newsletter any more."]
    assert not db.scalar("SELECT newsletter_opt_in FROM leads WHERE id = ?",
                         (world.people["Adler"],))
    at.button(key="resubscribe").click().run()
    assert db.scalar("SELECT newsletter_opt_in FROM leads WHERE id = ?", (world.people["Adler"],))


def test_a_forged_link_gets_a_neutral_answer_and_changes_nothing(world, db):
    real = tokens.make_token(Entity.LEAD, world.people["Adler"], "anna@adler.example")
    forged = real[:-1] + ("A" if real[-1] != "A" else "B")
    at = open_link(forged)
    assert texts(at.info) == ["This link is not valid. Please use the complete link from the "
                              "email. Nothing was changed."]
    assert not at.button
    assert db.scalar("SELECT count(*) FROM subscription_events WHERE event = 'unsubscribed'") == 0
