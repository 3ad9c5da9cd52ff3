"""The promises that hold by construction: no edit overwritten unseen, every edit on the record
it was typed on, unsubscribes that follow the address and the person and always win, undo
that never damages, imports that change only what the file says.

Each test here is one of the ways an independent review broke these promises, kept as the
reproduction it was (issue 12), plus the suppression list that fixes the unsubscribe cases.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from crm import importing
from crm.access import Entity
from crm.mailing import campaigns, sending, subscriptions, tokens
from crm.mailing.recipients import Selection, audience
from crm.pipeline import conversion, requests
from crm.records import leads
from crm.records.contacts import create_contact
from crm.records.editing import Conflict, EditRejected, RowEdit
from crm.records.leads import create_lead
from crm.storage.writer import Writer
from tests import factories, worlds
from tests.conftest import shown
from tests.mailing_fixtures import mailing_world, subscribe
from tests.pages import IMPORT, open_leads, open_page
from tests.workbooks import XLSX, preview_of, xlsx

# ----------------------------------------------------------------------- helpers


@pytest.fixture
def world(db, app_env):
    """The Leads page's world (tests.worlds.leads), for the app."""
    return worlds.leads(db)


def lead(db, lead_id: int) -> dict:
    return db.fetch_one("SELECT * FROM leads WHERE id = ?", (lead_id,))


def contact(db, contact_id: int) -> dict:
    return db.fetch_one("SELECT * FROM contacts WHERE id = ?", (contact_id,))


def last_event(db, entity: str, entity_id: int) -> dict:
    return db.fetch_one("SELECT event, source FROM subscription_events WHERE entity = ? AND "
                        "entity_id = ? ORDER BY occurred_at DESC, id DESC LIMIT 1",
                        (entity, entity_id))


def link_of(entity: Entity, entity_id: int, email: str) -> str:
    return tokens.make_token(entity, entity_id, email)


def grid_edit(at, edits: dict[int, dict]) -> None:
    """Type into the grid (row position -> {column: value}) as the browser sends it."""
    editor = at.data_editor[0]
    at.session_state[editor.key] = {"edited_rows": edits, "added_rows": [],
                                    "deleted_rows": []}
    at.run()
    assert not at.exception


def pending_edits(at) -> dict:
    """The grid edits the browser holds (the editor draws them over its rows)."""
    editor = at.data_editor[0]
    return {int(k): v for k, v in at.session_state[editor.key]["edited_rows"].items()}


def grid_emails(at) -> list[str]:
    return at.data_editor[0].value["email"].tolist()


# ------------------------------------------------------------ no lost update, right record


def test_a_grid_save_over_someone_elses_save_is_refused_naming_them(world, db):
    """A types a new email; B saves another one; A's Save is refused with B's name, B's
    email stays, and A's typed value is still in the grid until A discards it."""
    at = open_leads("sales.east", sort="name", dir="asc")
    adler = world.leads["Adler"]
    grid_edit(at, {0: {"email": "anna.typed@adler.example"}})
    leads.save_edits(world.users["sales_east_2"], db,
                     [RowEdit(adler, 1, {"email": "anna.saved@adler.example"})])
    at.button(key="lead_save").click().run()
    assert not at.exception
    [error] = [shown(e.value) for e in at.error]
    assert error.startswith(f"Lead {adler} was changed by Sales.East2 at ")
    assert "nothing was saved" in error
    assert lead(db, adler)["email"] == "anna.saved@adler.example"
    # The typed value is still pending in the grid, over the row it was typed on.
    assert pending_edits(at) == {0: {"email": "anna.typed@adler.example"}}
    assert at.data_editor[0].value["id"].tolist()[0] == adler
    assert [shown(i.value) for i in at.info] == ["1 edited row(s) not saved yet."]
    at.button(key="lead_discard").click().run()
    assert grid_emails(at)[0] == "anna.saved@adler.example"
    assert not at.info


def test_a_grid_edit_reaches_the_record_it_was_typed_on(world, db):
    """Row 1 is Conrad when the email is typed; a lead added meanwhile becomes row 1 of a
    fresh page; the save still changes Conrad, and the new lead is untouched."""
    at = open_leads("sales.east")  # newest first
    assert at.data_editor[0].value["name"].tolist()[0] == "Clara Conrad"
    grid_edit(at, {0: {"email": "clara.typed@conrad.example"}})
    newcomer = create_lead(world.users["sales_east"], db,
                           {"first_name": "Nora", "last_name": "Neu",
                            "email": "nora@neu.example"})
    at.button(key="lead_save").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Saved changes to 1 lead."]
    assert lead(db, world.leads["Conrad"])["email"] == "clara.typed@conrad.example"
    assert lead(db, newcomer)["email"] == "nora@neu.example"
    assert at.data_editor[0].value["name"].tolist()[0] == "Nora Neu"


def test_a_detail_form_saved_after_someone_else_is_refused_not_dropped(world, db):
    adler = world.leads["Adler"]
    at = open_leads("sales.east", id=str(adler))
    [email] = [t for t in at.text_input if t.label == "Email"]
    email.set_value("anna.form@adler.example")
    leads.save_edits(world.users["sales_east_2"], db,
                     [RowEdit(adler, 1, {"city": "Bonn"})])
    [save] = [b for b in at.button if b.label == "Save"]
    save.click().run()
    assert not at.exception
    [error] = [shown(e.value) for e in at.error]
    assert error.startswith(f"Lead {adler} was changed by Sales.East2 at ")
    assert (lead(db, adler)["email"], lead(db, adler)["city"]) == ("anna@adler.example", "Bonn")
    # What the user typed is still there; the page says the record moved on.
    assert [t.value for t in at.text_input if t.label == "Email"] == ["anna.form@adler.example"]
    assert any("changed after you opened it" in shown(w.value) for w in at.warning)


def test_checked_rows_that_moved_refuse_a_bulk_action(world, db):
    """Remove VIP on a row that someone set VIP on after it was loaded must not silently
    undo their change."""
    me, rival = world.users["sales_east"], world.users["sales_east_2"]
    becker = world.leads["Becker"]
    leads.save_edits(rival, db, [RowEdit(becker, 1, {"vip": True})])
    with pytest.raises(Conflict, match=r"changed by Sales\.East2"):
        leads.set_vip(me, db, False, ids=[becker], versions={becker: 1})
    assert lead(db, becker)["vip"] is True


# ------------------------------------------------------------ undo never damages


@pytest.fixture
def people(db):
    w = mailing_world(db)
    w.contacts["x"] = factories.contact(db, "Xander", w.companies["east"], w.east,
                                        w.users["sales_east"], email="xander@example.com")
    subscribe(db, Entity.CONTACT, w.contacts["x"])
    return w


def test_undo_of_an_import_never_resubscribes_someone_who_left(db, people, mail_env):
    me, x = people.users["sales_east"], people.contacts["x"]
    preview = preview_of(me, db, "contact", [["Email", "City", "Company", "Last name"],
                                            ["xander@example.com", "Graz", "Eastwind GmbH",
                                             "Xander"]])
    result = importing.commit(me, db, "contact", preview, on_duplicate="update")
    assert contact(db, x)["city"] == "Graz"
    subscriptions.unsubscribe_by_link(
        db, link_of(Entity.CONTACT, x, "xander@example.com"))
    with pytest.raises(importing.UndoRefused) as refused:
        importing.undo_batch(me, db, result.batch_id)
    assert (f"contact {x}: changed by the person, through their unsubscribe link"
            in str(refused.value))
    done = importing.undo_batch(me, db, result.batch_id, keep_changed=True)
    assert list(done.kept) == [x]
    row = contact(db, x)
    assert (row["newsletter_opt_in"], row["city"]) == (False, "Graz")
    assert last_event(db, "contact", x)["event"] == "unsubscribed"
    assert subscriptions.disagreements(db, Entity.CONTACT) == 0


def test_undo_restores_only_what_the_import_wrote_and_keeps_its_opt_out(db, people):
    me, x = people.users["sales_east"], people.contacts["x"]
    db.execute("UPDATE contacts SET phone = '+49 30 1111' WHERE id = ?", (x,))
    preview = preview_of(me, db, "contact", [["Email", "City", "Newsletter", "Last name",
                                              "Company"],
                                             ["xander@example.com", "Graz", "no", "Xander",
                                              "Eastwind GmbH"]])
    result = importing.commit(me, db, "contact", preview, on_duplicate="update")
    assert (contact(db, x)["city"], contact(db, x)["newsletter_opt_in"]) == ("Graz", False)
    done = importing.undo_batch(me, db, result.batch_id)
    assert done.restored == 1 and not done.kept
    row = contact(db, x)
    # The city is back; the phone (not in the file) was never touched; the opt-out stands.
    assert (row["city"], row["phone"], row["newsletter_opt_in"]) == ("", "+49 30 1111", False)
    assert db.scalar("SELECT count(*) FROM suppressions WHERE address = ?",
                     ("xander@example.com",)) == 1
    changed = db.fetch_all("SELECT field FROM audit_log WHERE entity = 'contact' AND "
                           "entity_id = ? AND action = 'undo import'", (x,))
    assert [r["field"] for r in changed] == ["city"]


def test_undo_never_deletes_a_lead_that_has_a_deal(db, people):
    me = people.users["sales_east"]
    result = importing.commit(me, db, "lead", preview_of(
        me, db, "lead", [["Name", "Email"], ["Dora Deal", "dora@deal.example"],
                         ["Emil Else", "emil@else.example"]]))
    dora = db.scalar("SELECT id FROM leads WHERE email = 'dora@deal.example'")
    request_id = requests.create_request(me, db, {"first_name": "Dora", "last_name": "Deal",
                                                  "email": "dora@deal.example",
                                                  "subject": "Quote"})
    deal = requests.create_deal(me, db, request_id, {"name": "Quote"}, lead_id=dora)
    with pytest.raises(importing.UndoRefused) as refused:
        importing.undo_batch(me, db, result.batch_id)
    assert f"lead {dora}:" in str(refused.value)
    done = importing.undo_batch(me, db, result.batch_id, keep_changed=True)
    assert done.removed == 1 and list(done.kept) == [dora]
    assert lead(db, dora) is not None
    assert db.scalar("SELECT lead_id FROM deals WHERE id = ?", (deal.deal_id,)) == dora
    assert db.scalar("SELECT lead_id FROM requests WHERE id = ?", (request_id,)) == dora


def test_undo_keeps_a_created_record_that_received_a_mailing(db, people, mail_env):
    me = people.users["sales_east"]
    result = importing.commit(me, db, "lead", preview_of(
        me, db, "lead", [["Name", "Email"], ["Mia Mail", "mia@mail.example"]]))
    mia = db.scalar("SELECT id FROM leads WHERE email = 'mia@mail.example'")
    mailing = campaigns.create_mailing(me, db, Selection(Entity.LEAD, ids=(mia,)),
                                       subject="Hello", body="Hi {first_name}")
    assert sending.send_mailing(me, db, mailing).sent == 1
    with pytest.raises(importing.UndoRefused):
        importing.undo_batch(me, db, result.batch_id)
    assert lead(db, mia) is not None
    assert db.scalar("SELECT count(*) FROM mailing_recipients WHERE entity_id = ? "
                     "AND entity = 'lead'", (mia,)) == 1


# ------------------------------------------------------------ unsubscribes always win


def test_an_unsubscribe_by_the_leads_link_follows_the_person_to_their_contact(
        db, people, mail_env):
    me = people.users["sales_east"]
    lena = create_lead(me, db, {"first_name": "Lena", "last_name": "Lind",
                                "email": "lena@lind.example", "company_name": "Lind AG"})
    mailing = campaigns.create_mailing(me, db, Selection(Entity.LEAD, ids=(lena,)),
                                       subject="News", body="Hi")
    assert sending.send_mailing(me, db, mailing).sent == 1
    done = conversion.convert_lead(me, db, lena)
    # The person follows the link in the newsletter the lead received.
    subscriptions.unsubscribe_by_link(db, link_of(Entity.LEAD, lena, "lena@lind.example"))
    assert contact(db, done.contact_id)["newsletter_opt_in"] is False
    reach = audience(me, db, Selection(Entity.CONTACT, ids=(done.contact_id,)))
    assert reach.recipients == 0 and reach.excluded["unsubscribed"] == 1


def test_an_unsubscribe_follows_the_person_to_a_contact_under_another_address(db, people):
    me = people.users["sales_east"]
    kurt = factories.contact(db, "Kurz", people.companies["east"], people.east, me,
                             first_name="Kurt", email="kurt@work.example",
                             phone="+49 30 5555")
    subscribe(db, Entity.CONTACT, kurt)
    lead_id = create_lead(me, db, {"first_name": "Kurt", "last_name": "Kurz",
                                   "email": "kurt@home.example", "phone": "+49 30 5555",
                                   "company_name": "Eastwind GmbH"})
    conversion.convert_lead(me, db, lead_id, contact=kurt)
    subscriptions.unsubscribe_by_link(db, link_of(Entity.LEAD, lead_id, "kurt@home.example"))
    assert contact(db, kurt)["newsletter_opt_in"] is False
    suppressed = {r["address"] for r in db.fetch_all("SELECT address FROM suppressions")}
    assert {"kurt@home.example", "kurt@work.example"} <= suppressed


def test_an_unsubscribe_holds_for_every_record_with_the_address_now_and_later(db, people):
    me, west = people.users["sales_east"], people.users["sales_west"]
    one = create_lead(me, db, {"last_name": "One", "email": "Same@Example.com"})
    two = create_contact(west, db, {"last_name": "Two", "email": "same@example.com",
                                    "company_id": people.companies["west"]})
    subscriptions.unsubscribe(me, db, Entity.LEAD, one, note="asked by phone")
    assert contact(db, two)["newsletter_opt_in"] is False  # another department, same address
    later = create_lead(me, db, {"last_name": "Later", "email": "same@example.com"})
    assert lead(db, later)["newsletter_opt_in"] is False
    assert last_event(db, "lead", later) == {"event": "unsubscribed",
                                             "source": "suppressed address"}
    moved = create_lead(me, db, {"last_name": "Moved", "email": "other@example.com"})
    leads.save_edits(me, db, [RowEdit(moved, 1, {"email": "same@example.com"})])
    assert lead(db, moved)["newsletter_opt_in"] is False
    imported = importing.commit(me, db, "lead", preview_of(
        me, db, "lead", [["Name", "Email", "Newsletter"],
                         ["Ida Import", "SAME@example.com", "yes"]]), on_duplicate="create")
    ida = db.scalar("SELECT entity_id FROM import_batch_items WHERE batch_id = ?",
                    (imported.batch_id,))
    assert lead(db, ida)["newsletter_opt_in"] is False
    for entity in (Entity.LEAD, Entity.CONTACT):
        assert subscriptions.disagreements(db, entity) == 0


def test_only_the_person_or_an_admin_lifts_an_unsubscribe_never_an_import(db, people):
    me, admin, x = people.users["sales_east"], people.users["admin"], people.contacts["x"]
    subscriptions.unsubscribe(me, db, Entity.CONTACT, x)
    for importer in (me, admin):
        result = importing.commit(importer, db, "contact", preview_of(
            importer, db, "contact",
            [["Email", "Newsletter", "Last name", "Company", "Assigned manager"],
             ["xander@example.com", "yes", "Xander", "Eastwind GmbH", "sales.east"]]),
            on_duplicate="update")
        assert result.kept_unsubscribed == 1
        row = contact(db, x)
        assert (row["newsletter_opt_in"], row["unsubscribed_at"] is not None) == (False, True)
        assert last_event(db, "contact", x)["event"] == "unsubscribed"
    with pytest.raises(subscriptions.SubscriptionError):
        subscriptions.resubscribe(me, db, Entity.CONTACT, x, reason="asked by phone")
    assert subscriptions.resubscribe(admin, db, Entity.CONTACT, x, reason="asked by phone")
    assert contact(db, x)["newsletter_opt_in"] is True
    assert db.scalar("SELECT count(*) FROM suppressions") == 0


def test_a_new_subscriber_may_be_subscribed_by_import(db, people):
    """Who never unsubscribed and whose address is not suppressed may be opted in."""
    me = people.users["sales_east"]
    never = factories.contact(db, "Never", people.companies["east"], people.east, me,
                              email="never@example.com", newsletter_opt_in=False)
    result = importing.commit(me, db, "contact", preview_of(
        me, db, "contact", [["Email", "Newsletter", "Last name", "Company"],
                            ["never@example.com", "yes", "Never", "Eastwind GmbH"]]),
        on_duplicate="update")
    assert result.kept_unsubscribed == 0
    assert contact(db, never)["newsletter_opt_in"] is True
    assert last_event(db, "contact", never) == {"event": "subscribed",
                                                "source": f"import:{result.batch_id}"}


def test_a_mailing_never_reaches_a_suppressed_address(db, people, mail_env):
    me = people.users["sales_east"]
    ada = factories.contact(db, "Ada", people.companies["east"], people.east, me,
                            email="ada@example.com")
    subscribe(db, Entity.CONTACT, ada)
    mailing = campaigns.create_mailing(me, db, Selection(Entity.CONTACT, ids=(ada,)),
                                       subject="News", body="Hi")
    # The address is suppressed after the draft was made, under a record outside the mailing.
    other = create_lead(me, db, {"last_name": "Other", "email": "ada@example.com"})
    subscriptions.unsubscribe(me, db, Entity.LEAD, other)
    report = sending.send_mailing(me, db, mailing)
    assert report.sent == 0
    assert not list(mail_env.glob("**/*.eml"))


def test_a_bounced_address_is_suppressed(db, people, mail_env, monkeypatch):
    from tests.mail_server import MailServer

    me = people.users["sales_east"]
    gone = factories.contact(db, "Gone", people.companies["east"], people.east, me,
                             email="gone@example.com")
    subscribe(db, Entity.CONTACT, gone)
    with MailServer() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        server.inbox.refuse.add("gone@example.com")
        mailing = campaigns.create_mailing(me, db, Selection(Entity.CONTACT, ids=(gone,)),
                                           subject="News", body="Hi")
        assert sending.send_mailing(me, db, mailing).failed == 1
    assert contact(db, gone)["newsletter_opt_in"] is False
    assert db.fetch_one("SELECT source FROM suppressions WHERE address = ?",
                        ("gone@example.com",)) == {"source": "bounce"}


# ------------------------------------------------------------ an update changes what the file says


def test_an_import_update_never_moves_a_contact_to_a_new_company(db, people):
    me = people.users["sales_east"]
    rees = factories.company(db, "Rees LLP", people.east, me, country="DE")
    anna = factories.contact(db, "Rees", rees, people.east, me, email="anna@rees.example")
    before = db.scalar("SELECT count(*) FROM companies")
    preview = preview_of(me, db, "contact", [["Email", "Company", "City", "Last name"],
                                            ["anna@rees.example", "Rees LLP", "Leeds",
                                             "Rees"]])
    importing.commit(me, db, "contact", preview, on_duplicate="update")
    row = contact(db, anna)
    assert (row["company_id"], row["city"]) == (rees, "Leeds")
    assert db.scalar("SELECT count(*) FROM companies") == before


def test_an_import_update_moves_a_contact_only_to_an_existing_company_and_says_so(db, people):
    me = people.users["sales_east"]
    rees = factories.company(db, "Rees LLP", people.east, me, country="DE")
    baltic = factories.company(db, "Baltic Trade", people.east, me, country="DE")
    anna = factories.contact(db, "Rees", rees, people.east, me, email="anna@rees.example")
    bob = factories.contact(db, "Bauer", rees, people.east, me, email="bob@rees.example")
    before = db.scalar("SELECT count(*) FROM companies")
    preview = preview_of(me, db, "contact", [["Email", "Company", "Last name"],
                                            ["anna@rees.example", "Baltic Trade", "Rees"],
                                            ["bob@rees.example", "Nowhere Ltd", "Bauer"]])
    notes = " ".join(preview.notes)
    assert (f"row 2: contact {anna} from “Rees LLP” to “Baltic Trade”") in notes
    assert f"row 3: no company “Nowhere Ltd” to move contact {bob} to" in notes
    importing.commit(me, db, "contact", preview, on_duplicate="update")
    assert contact(db, anna)["company_id"] == baltic
    assert contact(db, bob)["company_id"] == rees
    assert db.scalar("SELECT count(*) FROM companies") == before


def test_an_import_refuses_when_its_matches_changed_after_the_preview(db, people):
    me, rival = people.users["sales_east"], people.users["sales_east_2"]
    x = people.contacts["x"]
    preview = preview_of(me, db, "contact", [["Email", "City", "Last name", "Company"],
                                            ["xander@example.com", "Graz", "Xander",
                                             "Eastwind GmbH"],
                                            ["new@example.com", "Linz", "Neu",
                                             "Eastwind GmbH"]])
    from crm.records import contacts

    contacts.save_edits(rival, db, [RowEdit(x, 1, {"city": "Wien"})])
    create_contact(rival, db, {"last_name": "Neu", "email": "new@example.com",
                               "company_id": people.companies["east"]})
    with pytest.raises(importing.ImportRefused) as refused:
        importing.commit(me, db, "contact", preview, on_duplicate="update")
    reasons = [(p.row, p.message) for p in refused.value.problems]
    assert reasons[0] == (2, f"contact {x} was changed after the preview")
    assert reasons[1][0] == 3 and "added after the preview" in reasons[1][1]
    assert contact(db, x)["city"] == "Wien"
    assert db.scalar("SELECT count(*) FROM import_batches") == 0


# ------------------------------------------------------------ the writer itself


def test_every_change_bumps_the_version_and_is_audited(db, people):
    """Tags, a deal, a subscription and a delivery are changes to the person too."""
    me = people.users["sales_east"]
    x = people.contacts["x"]
    versions = [contact(db, x)["row_version"]]
    with db.transaction() as tx:
        writer = Writer(tx, me)
        tag = tx.scalar("INSERT INTO tags (name) VALUES ('Fair') RETURNING id")
        from crm.storage.db import Condition

        writer.add_links(Entity.CONTACT, "tags", tag, "Fair", Condition("t.id = ?", (x,)))
    versions.append(contact(db, x)["row_version"])
    subscriptions.unsubscribe(me, db, Entity.CONTACT, x)
    versions.append(contact(db, x)["row_version"])
    with db.transaction() as tx:
        Writer(tx, None).record_delivery(Entity.CONTACT, x, datetime(2026, 5, 1, 9, 0))
    versions.append(contact(db, x)["row_version"])
    assert versions == sorted(set(versions)) and len(versions) == 4
    fields = {r["field"] for r in db.fetch_all(
        "SELECT field FROM audit_log WHERE entity = 'contact' AND entity_id = ?", (x,))}
    assert {"tags", "newsletter_opt_in", "last_mailed_at"} <= fields
    with pytest.raises(EditRejected, match="changed by a newsletter delivery"):
        leads_or_contacts_save(db, me, x, versions[2])


def leads_or_contacts_save(db, user, contact_id: int, version: int) -> None:
    from crm.records import contacts

    contacts.save_edits(user, db, [RowEdit(contact_id, version, {"city": "Ulm"})])


# ------------------------------------------------------------ what the screen promised


def test_an_import_commits_only_over_the_preview_the_user_saw(db, app_env):
    w = factories.world(db)
    anna = factories.contact(db, "Goodrow", w.companies["east"], w.east, w.users["sales_east"],
                             first_name="Anna", email="anna.goodrow@example.com")
    at = open_page("sales.east", IMPORT, entity="contact")
    at.file_uploader(key="import_upload").set_value(("people.xlsx", xlsx(
        [["First name", "Last name", "Email", "Company", "Country"],
         ["Anna", "Goodrow", "anna.goodrow@example.com", "Eastwind GmbH", "Germany"]]), XLSX))
    at.run()
    at.radio(key="import_on_duplicate").set_value("update").run()
    from crm.records import contacts

    contacts.save_edits(w.users["sales_east_2"], db, [RowEdit(anna, 1, {"city": "Wien"})])
    at.button(key="import_commit").click().run()
    assert not at.exception
    [error] = [shown(e.value) for e in at.error]
    assert "changed after the preview; nothing was imported" in error
    assert [shown(c.value) for c in at.caption if c.value.startswith("Row ")] == [
        f"Row 2: contact {anna} was changed after the preview"]
    assert db.scalar("SELECT count(*) FROM import_batches") == 0
    # The preview now on screen shows the record as it is; importing it goes through.
    at.button(key="import_commit").click().run()
    assert shown(at.success[0].value).startswith(
        "Imported from people.xlsx: 0 created, 1 updated")


def test_a_bulk_vip_on_checked_rows_that_moved_is_refused_on_screen(world, db):
    at = open_leads("sales.east", sort="name", dir="asc")
    grid_edit(at, {1: {"Select": True}})  # Bernd Becker
    becker = world.leads["Becker"]
    leads.save_edits(world.users["sales_east_2"], db, [RowEdit(becker, 1, {"vip": True})])
    at.selectbox(key="lead_bulk_action").set_value("remove_vip").run()
    at.button(key="lead_bulk_apply").click().run()
    assert not at.exception
    [error] = [shown(e.value) for e in at.error]
    assert error.startswith(f"Lead {becker} was changed by Sales.East2 at ")
    assert lead(db, becker)["vip"] is True
