"""Converting leads into a company and a contact: the plan shown first (matches and missing
data), linking or creating, the newsletter status carried over, one transaction, the lead
kept read-only, and the bulk conversion's report. Called as each role, on both backends."""

from __future__ import annotations

from datetime import datetime

import pytest

from crm.access import Entity, NotPermitted
from crm.lists.listing import ListQuery, fetch_page
from crm.pipeline import conversion
from crm.pipeline.conversion import NEW, Outcome, convert_lead, convert_leads, plan_conversion
from crm.records import leads
from crm.records.editing import EditRejected
from crm.records.newsletter import status_sql
from crm.storage import search
from tests import factories
from tests.factories import company

SUBSCRIBED = datetime(2025, 11, 2, 9, 0)
MAILED = datetime(2026, 1, 10, 8, 0)


def vocabulary(db, table, name):
    return db.scalar(f"SELECT id FROM {table} WHERE name = ?", (name,))


def newsletter_status(db, entity, record_id):
    table = "leads" if entity == "lead" else "contacts"
    return db.scalar(f"SELECT {status_sql()} FROM {table} WHERE id = ?", (record_id,))


def subscribe(db, entity, record_id, event="subscribed", when=SUBSCRIBED, source="web form"):
    db.execute("INSERT INTO subscription_events (entity, entity_id, event, occurred_at, "
               "source) VALUES (?, ?, ?, ?, ?)", (entity, record_id, event, when, source))


def mail(db, entity, record_id, email, mailing_name="Winter news", when=MAILED):
    mailing = db.scalar("SELECT id FROM mailings WHERE name = ?", (mailing_name,)) or db.scalar(
        "INSERT INTO mailings (name, subject, status, created_at) VALUES (?, ?, 'sent', ?) "
        "RETURNING id", (mailing_name, mailing_name, when))
    db.execute("INSERT INTO mailing_recipients (mailing_id, entity, entity_id, email, status, "
               "sent_at) VALUES (?, ?, ?, ?, 'sent', ?)", (mailing, entity, record_id, email, when))
    table = "leads" if entity == "lead" else "contacts"
    db.execute(f"UPDATE {table} SET last_mailed_at = ? WHERE id = ?", (when, record_id))


@pytest.fixture
def world(db):
    """East: Anna Berg of Nordlicht GmbH, a complete lead, subscribed, mailed once, tagged."""
    w = factories.world(db)
    me = w.users["sales_east"]
    w.leads["anna"] = factories.lead(
        db, "Berg", w.east, me, first_name="Anna", email="anna.berg@nordlicht.example",
        phone="+49 30 1234567", title="Buyer", city="Berlin", country_code="DE",
        company_name="Nordlicht GmbH", company_email="info@nordlicht.example",
        company_phone="+49 30 7654321", website="https://www.nordlicht.example/de",
        company_address="Lindenallee 4, 10115 Berlin",
        industry_id=vocabulary(db, "industries", "Machinery"),
        company_type_id=vocabulary(db, "company_types", "Distributor"),
        lead_source_id=vocabulary(db, "lead_sources", "Trade show"), vip=True)
    subscribe(db, "lead", w.leads["anna"])
    mail(db, "lead", w.leads["anna"], "anna.berg@nordlicht.example")
    tag = db.scalar("INSERT INTO tags (name) VALUES ('Fair 2026') RETURNING id")
    db.execute("INSERT INTO lead_tags (lead_id, tag_id) VALUES (?, ?)", (w.leads["anna"], tag))
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    return w


def lead_row(db, lead_id):
    return db.fetch_one("SELECT * FROM leads WHERE id = ?", (lead_id,))


def counts(db):
    return {t: db.scalar(f"SELECT count(*) FROM {t}")
            for t in ("companies", "contacts", "audit_log", "subscription_events",
                      "mailing_recipients", "contact_tags")}


# ----------------------------------------------------------------------- new company, contact


def test_a_sales_manager_converts_a_lead_into_a_new_company_and_contact(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]
    plan = plan_conversion(me, db, lead_id)
    assert (plan.company_matches, plan.contact_matches, plan.missing) == ([], [], [])
    assert plan.can_create_company and not plan.needs_review

    done = convert_lead(me, db, lead_id, version=plan.version)

    assert done.company_created and done.contact_created
    company_row = db.fetch_one("SELECT * FROM companies WHERE id = ?", (done.company_id,))
    assert {k: company_row[k] for k in ("name", "name_key", "website", "email", "phone",
                                        "address", "city", "country_code", "owner_id",
                                        "department_id", "company_type_id")} == {
        "name": "Nordlicht GmbH", "name_key": "nordlicht",
        "website": "https://www.nordlicht.example/de", "email": "info@nordlicht.example",
        "phone": "+49 30 7654321", "address": "Lindenallee 4, 10115 Berlin", "city": "Berlin",
        "country_code": "DE", "owner_id": me.id, "department_id": world.east,
        "company_type_id": vocabulary(db, "company_types", "Distributor")}
    assert db.scalar("SELECT industry_id FROM company_industries WHERE company_id = ?",
                     (done.company_id,)) == vocabulary(db, "industries", "Machinery")
    contact = db.fetch_one("SELECT * FROM contacts WHERE id = ?", (done.contact_id,))
    assert {k: contact[k] for k in ("first_name", "last_name", "title", "email", "phone",
                                    "city", "country_code", "vip", "company_id", "owner_id",
                                    "department_id", "source_lead_id", "created_by")} == {
        "first_name": "Anna", "last_name": "Berg", "title": "Buyer",
        "email": "anna.berg@nordlicht.example", "phone": "+49 30 1234567", "city": "Berlin",
        "country_code": "DE", "vip": True, "company_id": done.company_id, "owner_id": me.id,
        "department_id": world.east, "source_lead_id": lead_id, "created_by": me.id}
    assert contact["lead_source_id"] == vocabulary(db, "lead_sources", "Trade show")
    assert "nordlicht" in contact["search_text"]
    lead = lead_row(db, lead_id)
    assert (lead["company_id"], lead["contact_id"], lead["converted_by"]) == (
        done.company_id, done.contact_id, me.id)
    assert lead["converted_at"] is not None


def test_every_change_of_a_conversion_is_audited(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]
    done = convert_lead(me, db, lead_id)
    audited = {(r["entity"], r["entity_id"], r["action"], r["field"]) for r in db.fetch_all(
        "SELECT entity, entity_id, action, field FROM audit_log")}
    assert {("lead", lead_id, "convert", "converted_at"), ("lead", lead_id, "convert",
            "company_id"), ("lead", lead_id, "convert", "contact_id"),
            ("company", done.company_id, "create", "name"),
            ("contact", done.contact_id, "create", "email")} <= audited
    assert db.scalar("SELECT new_value FROM audit_log WHERE entity = 'lead' AND "
                     "field = 'contact_id'") == str(done.contact_id)


def test_the_new_contact_has_the_leads_newsletter_status_history_and_tags(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]
    assert newsletter_status(db, "lead", lead_id) == "receiving"
    done = convert_lead(me, db, lead_id)
    assert newsletter_status(db, "contact", done.contact_id) == "receiving"
    events = db.fetch_all("SELECT event, occurred_at, source, note FROM subscription_events "
                          "WHERE entity = 'contact' AND entity_id = ?", (done.contact_id,))
    assert [(e["event"], e["occurred_at"], e["source"]) for e in events] == [
        ("subscribed", SUBSCRIBED, "web form")]
    assert f"lead {lead_id}" in events[0]["note"]
    assert db.fetch_all("SELECT email, status, sent_at FROM mailing_recipients WHERE "
                        "entity = 'contact' AND entity_id = ?", (done.contact_id,)) == [
        {"email": "anna.berg@nordlicht.example", "status": "sent", "sent_at": MAILED}]
    assert db.scalar("SELECT t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id "
                     "WHERE ct.contact_id = ?", (done.contact_id,)) == "Fair 2026"
    # The lead keeps its own history.
    assert db.scalar("SELECT count(*) FROM subscription_events WHERE entity = 'lead'") == 1


def test_a_mailings_counts_stay_the_same_when_a_lead_it_reached_is_converted(db, world):
    from crm.mailing import campaigns

    me, lead_id = world.users["sales_east"], world.leads["anna"]
    mailing = db.scalar("SELECT id FROM mailings WHERE name = 'Winter news'")
    before = campaigns.counts(me, db, mailing)
    convert_lead(me, db, lead_id)
    after = campaigns.counts(me, db, mailing)
    assert (after.recipients, after.sent) == (before.recipients, before.sent) == (1, 1)


@pytest.mark.parametrize(("opt_in", "unsubscribed", "mailed", "status"), [
    (True, None, None, "not_mailed"),
    (False, datetime(2026, 1, 12), MAILED, "unsubscribed"),
    (False, None, None, "unsubscribed"),
])
def test_every_newsletter_status_survives_the_conversion(db, world, opt_in, unsubscribed,
                                                          mailed, status):
    lead_id = factories.lead(db, "Status", world.east, world.users["sales_east"],
                             first_name="Sven", email="sven@status.example",
                             company_name="Status AG", newsletter_opt_in=opt_in,
                             unsubscribed_at=unsubscribed, last_mailed_at=mailed)
    done = convert_lead(world.users["sales_east"], db, lead_id)
    assert newsletter_status(db, "lead", lead_id) == status
    assert newsletter_status(db, "contact", done.contact_id) == status


# ----------------------------------------------------------------------- matching companies


def test_matching_companies_are_offered_with_the_reason_for_each(db, world):
    me, east = world.users["sales_east"], world.east
    by_name = company(db, "NORDLICHT Limited", east)
    by_web = company(db, "Lichtwerk", east, website="http://nordlicht.example")
    by_email = company(db, "Nord Holding", east, email="sales@nordlicht.example", country_code="AT")
    company(db, "Unrelated", east, website="https://elsewhere.example")
    company(db, "Nordlicht GmbH", world.west, country_code="CH")  # another department

    plan = plan_conversion(me, db, world.leads["anna"])

    assert [(m.id, m.reasons) for m in plan.company_matches] == [
        (by_name, ("same name",)),
        (by_web, ("same website domain (nordlicht.example)",)),
        (by_email, ("same email domain (nordlicht.example)",)),
    ]
    assert plan.needs_review
    assert not plan.can_create_company  # the same name in the same country exists


def test_a_public_mail_domain_never_makes_a_match(db, world):
    me = world.users["sales_east"]
    company(db, "Mailbox Users", world.east, email="office@gmail.com",
            website="www.gmail.com")
    lead_id = factories.lead(db, "Gmail", world.east, me, first_name="Gert",
                             email="gert@gmail.com", company_name="Gert Consulting",
                             company_email="gert.consulting@gmail.com")
    assert plan_conversion(me, db, lead_id).company_matches == []


def test_a_lead_linked_to_a_matching_company_gets_a_new_contact_there(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]
    existing = company(db, "Nordlicht Ltd", world.east, phone="+49 30 1111111")
    before = counts(db)

    done = convert_lead(me, db, lead_id, company=existing)

    assert (done.company_id, done.company_created, done.contact_created) == (
        existing, False, True)
    assert counts(db)["companies"] == before["companies"]
    row = db.fetch_one("SELECT * FROM companies WHERE id = ?", (existing,))
    # Empty fields are filled from the lead; what the company had is kept.
    assert (row["phone"], row["website"], row["email"]) == (
        "+49 30 1111111", "https://www.nordlicht.example/de", "info@nordlicht.example")
    assert db.scalar("SELECT count(*) FROM audit_log WHERE entity = 'company' AND "
                     "entity_id = ? AND field = 'website'", (existing,)) == 1
    assert db.scalar("SELECT company_id FROM contacts WHERE id = ?", (done.contact_id,)) \
        == existing


def test_a_company_of_another_department_cannot_be_linked(db, world):
    boss = world.users["company_manager"]
    west_company = company(db, "Nordlicht Ltd", world.west)
    with pytest.raises(EditRejected, match="department"):
        convert_lead(boss, db, world.leads["anna"], company=west_company)
    assert lead_row(db, world.leads["anna"])["converted_at"] is None


def test_a_new_company_may_not_repeat_an_existing_name_in_its_country(db, world):
    company(db, "Nordlicht AG", world.east)
    with pytest.raises(EditRejected, match="already exists in this country"):
        convert_lead(world.users["sales_east"], db, world.leads["anna"])


def test_a_name_taken_in_another_department_is_refused_without_naming_the_company(db, world):
    company(db, "Nordlicht Inc", world.west)
    with pytest.raises(EditRejected) as refused:
        convert_lead(world.users["sales_east"], db, world.leads["anna"])
    assert "in another department" in str(refused.value)
    assert "ID" not in str(refused.value)


# ----------------------------------------------------------------------- matching contacts


def existing_contact(db, world, **values):
    at = company(db, "Nordlicht Ltd", world.east)
    row = {"first_name": "Anna", "email": "anna.berg@nordlicht.example", **values}
    return at, factories.contact(db, "Berg", at, world.east, None, **row)


def test_a_contact_with_the_same_email_or_name_and_phone_is_offered(db, world):
    me = world.users["sales_east"]
    _, by_email = existing_contact(db, world)
    other = company(db, "Other", world.east)
    by_phone = factories.contact(db, "Berg", other, world.east, first_name="Anna",
                                 phone="+49 (30) 123-4567", email="a.berg@other.example")
    factories.contact(db, "Berg", world.companies["west"], world.west, first_name="Anna",
                      email="anna.berg@nordlicht.example")  # West: not offered
    matches = plan_conversion(me, db, world.leads["anna"]).contact_matches
    assert [(m.id, m.reason) for m in matches] == [
        (by_email, "same email"), (by_phone, "same name and phone")]
    assert matches[0].company == "Nordlicht Ltd"


def test_a_lead_linked_to_a_matching_contact_creates_nothing_new(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]
    at, contact_id = existing_contact(db, world, title="Head of purchasing")
    before = counts(db)

    done = convert_lead(me, db, lead_id, contact=contact_id)

    assert (done.contact_id, done.company_id, done.contact_created, done.company_created) == (
        contact_id, at, False, False)
    after = counts(db)
    assert (after["contacts"], after["companies"]) == (before["contacts"], before["companies"])
    row = db.fetch_one("SELECT * FROM contacts WHERE id = ?", (contact_id,))
    assert (row["title"], row["phone"], row["vip"], row["owner_id"]) == (
        "Head of purchasing", "+49 30 1234567", True, me.id)
    assert newsletter_status(db, "contact", contact_id) == "receiving"
    assert db.scalar("SELECT count(*) FROM contact_tags WHERE contact_id = ?", (contact_id,)) == 1
    assert (lead_row(db, lead_id)["contact_id"], lead_row(db, lead_id)["company_id"]) == (
        contact_id, at)


def test_linking_to_a_contact_keeps_the_leads_unsubscribe(db, world):
    me = world.users["sales_east"]
    _, contact_id = existing_contact(db, world)
    subscribe(db, "contact", contact_id, when=datetime(2025, 6, 1))
    lead_id = factories.lead(db, "Berg", world.east, me, first_name="Anna",
                             email="anna.berg@nordlicht.example", company_name="Nordlicht",
                             newsletter_opt_in=False, unsubscribed_at=datetime(2026, 1, 5))
    convert_lead(me, db, lead_id, contact=contact_id)
    assert newsletter_status(db, "contact", contact_id) == "unsubscribed"
    assert db.scalar("SELECT unsubscribed_at FROM contacts WHERE id = ?", (contact_id,)) == \
        datetime(2026, 1, 5)


def test_a_contact_who_subscribed_again_after_the_leads_unsubscribe_stays_subscribed(db, world):
    me = world.users["sales_east"]
    _, contact_id = existing_contact(db, world)
    subscribe(db, "contact", contact_id, "resubscribed", when=datetime(2026, 2, 1))
    lead_id = factories.lead(db, "Berg", world.east, me, first_name="Anna",
                             email="anna.berg@nordlicht.example", company_name="Nordlicht",
                             newsletter_opt_in=False, unsubscribed_at=datetime(2026, 1, 5))
    convert_lead(me, db, lead_id, contact=contact_id)
    assert newsletter_status(db, "contact", contact_id) == "not_mailed"


def test_a_contacts_own_unsubscribe_stands_against_an_older_lead_subscription(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]  # subscribed 2025-11-02
    _, contact_id = existing_contact(db, world, newsletter_opt_in=False,
                                     unsubscribed_at=datetime(2026, 1, 20))
    convert_lead(me, db, lead_id, contact=contact_id)
    assert newsletter_status(db, "contact", contact_id) == "unsubscribed"


# ----------------------------------------------------------------------- refusals


def test_missing_data_is_named_and_nothing_is_written(db, world):
    me = world.users["sales_east"]
    lead_id = factories.lead(db, "Nobody", world.east, me, first_name="")
    before = counts(db)
    plan = plan_conversion(me, db, lead_id)
    assert plan.missing == ["first name", "email or phone"]
    with pytest.raises(EditRejected) as refused:
        convert_lead(me, db, lead_id)
    assert str(refused.value) == ("To convert this lead, fill in: first name; email or phone; "
                                  "company name.")
    assert plan.blocking() == [str(refused.value)]
    assert counts(db) == before
    assert lead_row(db, lead_id)["converted_at"] is None


def test_a_lead_without_a_company_name_may_be_linked_to_an_existing_company(db, world):
    me = world.users["sales_east"]
    lead_id = factories.lead(db, "Solo", world.east, me, first_name="Sara",
                             phone="+49 40 555 1234")
    done = convert_lead(me, db, lead_id, company=world.companies["east"])
    assert done.company_id == world.companies["east"]


def test_a_lead_cannot_be_converted_twice(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]
    plan = plan_conversion(me, db, lead_id)
    convert_lead(me, db, lead_id, version=plan.version)
    before = counts(db)
    with pytest.raises(EditRejected, match="already converted"):
        convert_lead(me, db, lead_id)
    with pytest.raises(EditRejected, match="already converted"):
        convert_lead(me, db, lead_id, version=plan.version, company=world.companies["east"])
    assert counts(db) == before


def test_a_lead_changed_since_the_plan_was_shown_is_not_converted(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]
    plan = plan_conversion(me, db, lead_id)
    db.execute("UPDATE leads SET row_version = row_version + 1 WHERE id = ?", (lead_id,))
    with pytest.raises(EditRejected, match="changed or converted by someone else"):
        convert_lead(me, db, lead_id, version=plan.version)
    assert db.scalar("SELECT count(*) FROM contacts WHERE source_lead_id = ?", (lead_id,)) == 0


def test_a_sales_manager_cannot_convert_a_lead_of_another_department(db, world):
    me, west_lead = world.users["sales_east"], world.leads["west"]
    missing = 999_999
    with pytest.raises(EditRejected) as out_of_scope:
        plan_conversion(me, db, west_lead)
    with pytest.raises(EditRejected) as unknown:
        convert_lead(me, db, missing)
    assert str(out_of_scope.value).replace(str(west_lead), "N") == \
        str(unknown.value).replace(str(missing), "N") == "Lead N does not exist."
    with pytest.raises(EditRejected, match="does not exist"):
        convert_lead(me, db, west_lead, company=world.companies["west"])
    assert lead_row(db, west_lead)["converted_at"] is None


def test_a_disqualified_lead_is_not_converted(db, world):
    db.execute("UPDATE leads SET disqualified = TRUE WHERE id = ?", (world.leads["anna"],))
    with pytest.raises(EditRejected, match="disqualified"):
        convert_lead(world.users["sales_east"], db, world.leads["anna"])


def test_a_failure_half_way_leaves_nothing_behind(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]
    db.execute("UPDATE leads SET company_email = 'not an address' WHERE id = ?", (lead_id,))
    before = counts(db)
    with pytest.raises(EditRejected, match="email"):
        convert_lead(me, db, lead_id)
    assert counts(db) == before
    assert lead_row(db, lead_id)["converted_at"] is None


# ----------------------------------------------------------------------- the lead afterwards


def test_a_converted_lead_stays_in_the_list_with_the_converted_status(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]
    convert_lead(me, db, lead_id)
    page = fetch_page(me, db, leads.LEADS, ListQuery(filters={"status": ("converted",)}))
    assert page.rows["id"].tolist() == [lead_id]
    assert page.rows["status"].tolist() == ["Converted"]
    open_page = fetch_page(me, db, leads.LEADS, ListQuery(filters={"status": ("open",)}))
    assert lead_id not in open_page.rows["id"].tolist()
    assert open_page.total == 1


def test_a_converted_lead_refuses_edits(db, world):
    from crm.records.editing import RowEdit

    me, lead_id = world.users["sales_east"], world.leads["anna"]
    convert_lead(me, db, lead_id)
    version = lead_row(db, lead_id)["row_version"]
    with pytest.raises(EditRejected, match="read-only"):
        leads.save_edits(me, db, [RowEdit(lead_id, version, {"city": "Hamburg"})])


def test_the_leads_deals_follow_it_to_the_new_contact(db, world):
    me, lead_id = world.users["sales_east"], world.leads["anna"]
    deal = db.scalar("INSERT INTO deals (name, department_id, lead_id, created_at, updated_at) "
                     "VALUES ('Pumps', ?, ?, ?, ?) RETURNING id",
                     (world.east, lead_id, factories.STAMP, factories.STAMP))
    done = convert_lead(me, db, lead_id)
    row = db.fetch_one("SELECT * FROM deals WHERE id = ?", (deal,))
    assert (row["lead_id"], row["contact_id"], row["company_id"]) == (
        lead_id, done.contact_id, done.company_id)


# ----------------------------------------------------------------------- bulk


def test_bulk_conversion_reports_each_leads_outcome(db, world):
    me, east = world.users["sales_east"], world.east
    clean = factories.lead(db, "Clean", east, me, first_name="Carl", email="carl@clean.example",
                           company_name="Clean Water KG")
    matching = world.leads["anna"]
    company(db, "Nordlicht Ltd", east)
    thin = factories.lead(db, "Thin", east, me, first_name="Tom")
    done = factories.lead(db, "Done", east, me, first_name="Dora", email="dora@done.example",
                          company_name="Done Ltd", converted_at=factories.STAMP)

    report = convert_leads(me, db, ids=[clean, matching, thin, done, world.leads["west"]])

    assert [(o.lead_id, o.outcome) for o in report.outcomes] == [
        (matching, Outcome.NEEDS_REVIEW), (clean, Outcome.CONVERTED),
        (thin, Outcome.NEEDS_DATA), (done, Outcome.NOT_CONVERTED)]
    assert "Nordlicht Ltd" in report.outcomes[0].detail
    assert report.sentence() == (
        "Converted 1 lead; 1 needs review (a matching company or contact; open each to "
        "choose); 1 needs data (required data missing); 1 not converted (already converted, "
        "disqualified, or changed since you loaded the list).")
    assert lead_row(db, clean)["contact_id"] == report.outcomes[1].contact_id
    assert lead_row(db, matching)["converted_at"] is None


def test_bulk_conversion_of_all_matching_leads_stays_in_scope(db, world):
    me = world.users["sales_east"]
    report = convert_leads(me, db, query=ListQuery())
    assert {o.lead_id for o in report.outcomes} == {world.leads["east"], world.leads["anna"]}
    assert lead_row(db, world.leads["west"])["converted_at"] is None


def test_bulk_conversion_refuses_too_many_leads_at_once(db, world, monkeypatch):
    monkeypatch.setattr(conversion, "BULK_LIMIT", 1)
    with pytest.raises(ValueError, match="at most 1 leads"):
        convert_leads(world.users["sales_east"], db, query=ListQuery())


def test_choices_other_than_new_or_an_id_are_refused(db, world):
    with pytest.raises(EditRejected, match="company of the lead's department"):
        convert_lead(world.users["sales_east"], db, world.leads["anna"], company="acme")
    assert NEW == "new"


@pytest.mark.parametrize(("role", "allowed"), [
    ("sales_east", True), ("operator_east", "Operator"), ("company_manager", True),
    ("super_operator", "Super operator"), ("admin", True), ("sales_west", False),
    ("analyst", "Analyst")])
def test_every_role_that_manages_the_lead_and_may_convert_converts_it(db, world, role, allowed):
    user, lead_id = world.users[role], world.leads["anna"]
    if allowed is False:
        with pytest.raises(EditRejected, match="does not exist"):
            convert_lead(user, db, lead_id)
        return
    if isinstance(allowed, str):  # the permission table: this role does not convert
        with pytest.raises(NotPermitted, match=f"^Your role \\({allowed}\\) may not convert "
                                                "leads.$"):
            convert_lead(user, db, lead_id)
        assert db.scalar("SELECT converted_at FROM leads WHERE id = ?", (lead_id,)) is None
        return
    done = convert_lead(user, db, lead_id)
    contact = db.fetch_one("SELECT owner_id, department_id FROM contacts WHERE id = ?",
                           (done.contact_id,))
    # The lead's manager keeps the contact, whoever converts it.
    assert (contact["owner_id"], contact["department_id"]) == (
        world.users["sales_east"].id, world.east)
