"""Converting a lead into a company and a contact person.

First `plan_conversion` says what would happen, writing nothing: the company to create or the
existing companies that match (same loose name, same email or website domain), the contacts
that match (same email, or same name and phone), and which required data is missing. The user
links to a match or creates new; `convert_lead` then does it all in one transaction: create or
link the company and the contact, carry over tags, subscription state and mailing history (so
the newsletter status is unchanged), move the lead's deals to the contact, mark the lead
converted with links to both, and audit every change. The lead is kept, read-only, as history.

Linking to an existing record only fills its empty fields: what the CRM already knows wins
over the lead. Newsletter consent is merged so that nobody is mailed against their will: an
unsubscribe on either side stands, unless the contact subscribed again after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.access import Action, Condition, Entity, owns_what_they_add, scope
from crm.access.users import eligible_owners
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.lists.bulk import target_condition
from crm.lists.listing import ListQuery
from crm.pipeline import deals
from crm.pipeline.matching import (
    CompanyMatch,
    PersonMatch,
    email_domain,
    matching_companies,
    matching_people,
    website_domain,
)
from crm.records import companies
from crm.records.leads import LEADS
from crm.storage.db import Database, Session
from crm.storage.writer import Conflict, EditRejected, Problem, Writer

CONVERSION = "conversion"  # the source of subscription changes a conversion makes
NEW = "new"  # create a new company / contact rather than link to an existing one
BULK_LIMIT = 200  # each lead is planned and converted on its own: ~0.5 s at 1M contacts

# Lead column -> contact column, for a new contact and for filling a linked contact's gaps.
PERSON_CARRIED = ("first_name", "middle_name", "last_name", "title", "email", "secondary_email",
                  "phone", "mobile", "country_code", "city", "address", "description",
                  "lead_source_id")
# Company column -> the lead column it comes from.
COMPANY_CARRIED = {"website": "website", "email": "company_email", "phone": "company_phone",
                   "address": "company_address", "city": "city",
                   "company_type_id": "company_type_id"}


# ----------------------------------------------------------------------- planning


@dataclass(frozen=True)
class ConversionPlan:
    """What converting one lead would do, shown before anything is written."""

    lead_id: int
    version: int
    name: str
    department_id: int
    company_name: str
    country_code: str | None
    company_matches: list[CompanyMatch]
    contact_matches: list[PersonMatch]
    missing: list[str]  # required data to fill in first ("first name", "email or phone")
    converted_at: datetime | None = None
    disqualified: bool = False
    country: str | None = None  # the country's name, for people

    @property
    def needs_review(self) -> bool:
        """A match exists: a person must choose between linking and creating."""
        return bool(self.company_matches or self.contact_matches)

    @property
    def can_create_company(self) -> bool:
        """A new company needs a name not already taken in its country."""
        return bool(self.company_name.strip()) and not any(
            m.same_name_in(self.country_code) for m in self.company_matches)

    def blocking(self) -> list[str]:
        """What stops this lead's conversion before any choice (the dialog says it first)."""
        no_match = not (self.company_matches or self.contact_matches)
        return self._refusals(creating=no_match)

    def problems(self, company: int | str = NEW, contact: int | str = NEW) -> list[str]:
        """Why these choices cannot be converted (empty when they can)."""
        found = self._refusals(creating=company == NEW and contact == NEW)
        if not found and company == NEW and contact == NEW and not self.can_create_company:
            found.append("A company with this name already exists in this country: link to "
                         "it instead of creating a new one.")
        return found

    def _refusals(self, creating: bool) -> list[str]:
        if self.converted_at is not None:
            return [f"This lead was already converted on {self.converted_at:%Y-%m-%d}."]
        if self.disqualified:
            return ["This lead is disqualified. Clear “Disqualified” first if it should be "
                    "converted."]
        missing = list(self.missing)
        if creating and not self.company_name.strip():
            missing.append("company name" + ("" if not self.company_matches else
                                             " (or link to an existing company)"))
        return [_fill_in(missing)] if missing else []


def _fill_in(missing: list[str]) -> str:
    return "To convert this lead, fill in: " + "; ".join(missing) + "."


def plan_conversion(user: User, db: Database | Session, lead_id: int) -> ConversionPlan:
    """The plan for one lead in the user's scope; EditRejected when there is no such lead."""
    return _plan(user, db, _lead(user, db, lead_id))


def _plan(user: User, db: Database | Session, lead: dict[str, Any]) -> ConversionPlan:
    domains = {email_domain(lead["company_email"]), website_domain(lead["website"]),
               email_domain(lead["email"])} - {""}
    return ConversionPlan(
        lead_id=lead["id"],
        version=lead["row_version"],
        name=_name(lead),
        department_id=lead["department_id"],
        company_name=lead["company_name"],
        country_code=lead["country_code"],
        company_matches=matching_companies(user, db, name=lead["company_name"],
                                           domains=domains,
                                           department_id=lead["department_id"]),
        contact_matches=matching_people(
            user, db, Entity.CONTACT, email=lead["email"], first_name=lead["first_name"],
            last_name=lead["last_name"], phones=(lead["phone"], lead["mobile"]),
            department_id=lead["department_id"]),
        missing=_missing(lead),
        converted_at=lead["converted_at"],
        disqualified=bool(lead["disqualified"]),
        country=db.scalar("SELECT name FROM countries WHERE code = ?", (lead["country_code"],)),
    )


def _lead(user: User, db: Database | Session, lead_id: int) -> dict[str, Any]:
    allowed = scope(user, Entity.LEAD, Action.CONVERT, alias="l")
    lead = db.fetch_one(f"SELECT l.* FROM leads l WHERE l.id = ? AND {allowed.sql}",
                        (lead_id, *allowed.params))
    if lead is None:
        raise EditRejected([Problem(lead_id, "", f"Lead {lead_id} does not exist.")])
    return lead


def _name(row: dict[str, Any]) -> str:
    return " ".join(p for p in (row["first_name"], row["middle_name"], row["last_name"]) if p)


def _missing(lead: dict[str, Any]) -> list[str]:
    missing = []
    if not lead["first_name"].strip():
        missing.append("first name")
    if not (lead["email"].strip() or lead["phone"].strip() or lead["mobile"].strip()):
        missing.append("email or phone")
    return missing


# ----------------------------------------------------------------------- converting


@dataclass(frozen=True)
class Conversion:
    lead_id: int
    company_id: int
    contact_id: int
    company_created: bool
    contact_created: bool


def convert_lead(user: User, db: Database, lead_id: int, *, version: int | None = None,
                 company: int | str = NEW, contact: int | str = NEW) -> Conversion:
    """Convert one lead in one transaction; EditRejected (nothing written) says why not.

    `company` and `contact` are NEW or the ID of an existing record to link to; linking to
    a contact links to that contact's company. `version` is the lead's row version the user
    saw: a lead changed since is refused rather than converted with data nobody reviewed.
    """
    with db.transaction() as tx:
        return convert_lead_in(tx, user, lead_id, version=version, company=company,
                               contact=contact)


def convert_lead_in(tx: Session, user: User, lead_id: int, *, version: int | None = None,
                    company: int | str = NEW, contact: int | str = NEW,
                    plan: ConversionPlan | None = None) -> Conversion:
    """`convert_lead` inside the caller's transaction (the demo loader's unit of work).

    `plan` may be one that `plan_conversion` made in this same transaction (it is used only
    while the lead still has the version it was made for), to spare planning it again.
    """
    lead = _lead(user, tx, lead_id)
    if plan is None or (plan.lead_id, plan.version) != (lead_id, lead["row_version"]):
        plan = _plan(user, tx, lead)
    problems = plan.problems(company, contact)
    if problems:
        raise EditRejected([Problem(lead_id, "", p) for p in problems])
    writer = Writer(tx, user)
    stamp = writer.stamp
    seen = lead["row_version"] if version is None else version
    # Claim the lead first: a second conversion, here or on another server, finds it taken.
    try:
        if lead["converted_at"] is not None:
            raise writer.conflict(Entity.LEAD, [lead_id])
        writer.update(Entity.LEAD, lead_id, {"converted_at": stamp, "converted_by": user.id},
                      version=seen, action="convert")
    except Conflict as moved:
        raise EditRejected([Problem(lead_id, "", f"Lead {lead_id} was changed or converted by "
                                    "someone else after you opened it; nothing was converted. "
                                    "Reload it and try again.")]) from moved
    owner = _owner(tx, user, lead)
    if contact != NEW:
        contact_row = _linkable(tx, user, Entity.CONTACT, contact, lead)
        company_id, company_created = contact_row["company_id"], False
        _fill_company(writer, company_id, lead)
        contact_id, contact_created = contact_row["id"], False
        _fill_contact(writer, contact_row, lead, owner)
    else:
        if company != NEW:
            company_id = _linkable(tx, user, Entity.COMPANY, company, lead)["id"]
            company_created = False
            _fill_company(writer, company_id, lead)
        else:
            company_id, company_created = _new_company(tx, user, lead, owner), True
        contact_id, contact_created = _new_contact(writer, lead, company_id, owner), True
    writer.copy_links(Entity.CONTACT, "tags", Entity.LEAD, lead_id, contact_id)
    _carry_newsletter_history(writer, lead, contact_id)
    deals.move_to_contact(writer, lead_id, contact_id, company_id)
    writer.update(Entity.LEAD, lead_id, {"company_id": company_id, "contact_id": contact_id},
                  action="convert")
    return Conversion(lead_id, company_id, contact_id, company_created, contact_created)


def _owner(tx: Session, user: User, lead: dict[str, Any]) -> int | None:
    """The lead's manager, while still eligible in its department; else the converting
    sales staff member of that department; else nobody (to be assigned)."""
    eligible = {u.id for u in eligible_owners(tx, lead["department_id"])}
    if lead["owner_id"] in eligible:
        return lead["owner_id"]
    if owns_what_they_add(user) and user.id in eligible:
        return user.id
    return None


def _linkable(tx: Session, user: User, entity: Entity, record_id: int | str,
              lead: dict[str, Any]) -> dict[str, Any]:
    """An existing company or contact the lead may be linked to: one the user sees,
    in the lead's department (a contact sits in its company's department)."""
    table = "contacts" if entity is Entity.CONTACT else "companies"
    allowed = scope(user, entity, Action.VIEW, alias="t")
    row = None
    if str(record_id).strip().isdigit():
        row = tx.fetch_one(f"SELECT t.* FROM {table} t WHERE t.id = ? AND {allowed.sql}",
                           (int(record_id), *allowed.params))
    if row is None or row["department_id"] != lead["department_id"]:
        noun = entity.value
        raise EditRejected([Problem(lead["id"], noun, f"Choose a {noun} of the lead's "
                                    f"department to link to; {noun} {record_id} is not one.")])
    return row


def _new_company(tx: Session, user: User, lead: dict[str, Any], owner: int | None) -> int:
    values = {"name": lead["company_name"], "country_code": lead["country_code"],
              "owner_id": owner,
              **{column: lead[source] for column, source in COMPANY_CARRIED.items()}}
    values = {k: v for k, v in values.items() if v not in (None, "")}
    try:
        return companies.create_company(
            user, None, values, industry_ids=[lead["industry_id"]] if lead["industry_id"] else (),
            department_id=lead["department_id"], tx=tx)
    except companies.DuplicateCompany as clash:
        raise EditRejected([Problem(lead["id"], "company_name",
                                    f"{clash} Link the lead to it instead.")]) from clash


def _fill_company(writer: Writer, company_id: int, lead: dict[str, Any]) -> None:
    """Fill a linked company's empty fields from the lead; its own data is kept."""
    row = writer.tx.fetch_one("SELECT * FROM companies WHERE id = ?", (company_id,))
    assert row is not None
    new = {column: lead[source] for column, source in COMPANY_CARRIED.items()
           if row[column] in (None, "") and lead[source] not in (None, "")}
    writer.update(Entity.COMPANY, company_id, new)
    has_industry = writer.tx.scalar(
        "SELECT count(*) FROM company_industries WHERE company_id = ?", (company_id,))
    if lead["industry_id"] and not has_industry:
        writer.set_links(Entity.COMPANY, "industries", company_id, [lead["industry_id"]])


def _new_contact(writer: Writer, lead: dict[str, Any], company_id: int,
                 owner: int | None) -> int:
    company_country = writer.tx.scalar("SELECT country_code FROM companies WHERE id = ?",
                                       (company_id,))
    row = {
        **{column: lead[column] for column in PERSON_CARRIED},
        "country_code": lead["country_code"] or company_country,
        "vip": lead["vip"],
        # The subscription state as it is, so the newsletter status stays the same (the
        # lead's subscription events are carried over beside it).
        "newsletter_opt_in": lead["newsletter_opt_in"],
        "last_mailed_at": lead["last_mailed_at"],
        "unsubscribed_at": lead["unsubscribed_at"],
        "owner_id": owner, "department_id": lead["department_id"], "company_id": company_id,
        "source_lead_id": lead["id"], "source_request_id": lead["source_request_id"],
    }
    return writer.insert(Entity.CONTACT, row)


def _fill_contact(writer: Writer, contact: dict[str, Any], lead: dict[str, Any],
                  owner: int | None) -> None:
    """Fill a linked contact's empty fields, and merge the newsletter consent."""
    new: dict[str, Any] = {column: lead[column] for column in PERSON_CARRIED
                           if contact[column] in (None, "") and lead[column] not in (None, "")}
    if (lead["email"] and lead["email"].lower() != (contact["email"] or "").lower()
            and not contact["secondary_email"] and "email" not in new):
        new["secondary_email"] = lead["email"]  # matched by name and phone, other address
    if lead["vip"] and not contact["vip"]:
        new["vip"] = True
    if contact["owner_id"] is None and owner is not None:
        new["owner_id"] = owner
    merged = _merged_newsletter(writer.tx, contact, lead)
    subscribed = merged.pop("newsletter_opt_in", None)
    when = merged.pop("unsubscribed_at", None)
    writer.update(Entity.CONTACT, contact["id"], new | merged)
    if subscribed is not None:
        writer.set_subscription(Entity.CONTACT, Condition("t.id = ?", (contact["id"],)),
                                subscribed, source=CONVERSION, unsubscribed_at=when,
                                note=f"merged with lead {lead['id']} on conversion")


def _merged_newsletter(tx: Session, contact: dict[str, Any],
                       lead: dict[str, Any]) -> dict[str, Any]:
    """The linked contact's newsletter columns after taking in the lead's.

    The latest mailing counts for both. Of the two subscription choices, the latest explicit
    one wins: the lead's unsubscribe turns the contact off unless the contact (re-)subscribed
    after it, and a lead's subscription counts for a contact that never opted in. On a tie
    the unsubscribe wins: nobody is mailed against their will.
    """
    changes: dict[str, Any] = {}
    mailed = [m for m in (contact["last_mailed_at"], lead["last_mailed_at"]) if m is not None]
    if mailed and max(mailed) != contact["last_mailed_at"]:
        changes["last_mailed_at"] = max(mailed)
    choices = [c for c in (_choice(tx, Entity.CONTACT, contact), _choice(tx, Entity.LEAD, lead))
               if c is not None]
    if choices:
        subscribed, when = max(choices, key=lambda c: (c[1], not c[0]))
        if subscribed != bool(contact["newsletter_opt_in"]):
            changes["newsletter_opt_in"] = subscribed
            if not subscribed:
                changes["unsubscribed_at"] = when
    return changes


def _choice(tx: Session, entity: Entity, row: dict[str, Any]) -> tuple[bool, datetime] | None:
    """A person's last explicit subscription choice and when; None if they never opted in."""
    if row["newsletter_opt_in"]:
        since = tx.scalar(
            "SELECT max(occurred_at) FROM subscription_events WHERE entity = ? AND "
            "entity_id = ? AND event IN ('subscribed', 'resubscribed')",
            (entity.value, row["id"]))
        return True, since or row["created_at"]
    if row["unsubscribed_at"] is not None:
        return False, row["unsubscribed_at"]
    return None


def _carry_newsletter_history(writer: Writer, lead: dict[str, Any], contact_id: int) -> None:
    """The lead's subscription events and the mailings delivered to it become the contact's
    too, so its newsletter history tells the same story (the lead keeps its own, as history).

    Only deliveries are carried: a message still waiting for the lead stays the lead's, and
    the sender skips it (a converted lead is no longer mailed). Statistics count a carried
    delivery once, under the contact (see crm.mailing.campaigns). A lead's unsubscribe holds
    for the contact through the suppression list of its address.
    """
    tx, lead_id = writer.tx, lead["id"]
    tx.execute(
        "INSERT INTO subscription_events (entity, entity_id, event, occurred_at, user_id, "
        "source, note) SELECT 'contact', ?, e.event, e.occurred_at, e.user_id, e.source, "
        "trim(concat_ws(' ', nullif(e.note, ''), CAST(? AS VARCHAR))) FROM subscription_events e "
        "WHERE e.entity = 'lead' AND e.entity_id = ? ORDER BY e.occurred_at, e.id",
        (contact_id, f"(carried over from lead {lead_id})", lead_id))
    tx.execute(
        "INSERT INTO mailing_recipients (mailing_id, entity, entity_id, email, status, error, "
        "sent_at) SELECT r.mailing_id, 'contact', ?, r.email, r.status, r.error, r.sent_at "
        "FROM mailing_recipients r WHERE r.entity = 'lead' AND r.entity_id = ? "
        "AND r.status = 'sent' AND NOT EXISTS (SELECT 1 FROM mailing_recipients x "
        "WHERE x.mailing_id = r.mailing_id AND x.entity = 'contact' AND x.entity_id = ?)",
        (contact_id, lead_id, contact_id))


# ----------------------------------------------------------------------- bulk


class Outcome(StrEnum):
    CONVERTED = "converted"
    NEEDS_REVIEW = "needs review"
    NEEDS_DATA = "needs data"
    NOT_CONVERTED = "not converted"


@dataclass(frozen=True)
class LeadOutcome:
    lead_id: int
    name: str
    outcome: Outcome
    detail: str
    contact_id: int | None = None
    company_id: int | None = None


@dataclass(frozen=True)
class BulkConversion:
    outcomes: list[LeadOutcome] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes if o.outcome is outcome)

    def sentence(self) -> str:
        """"Converted 3 leads; 2 need review (a matching company or contact)." """
        converted = self.count(Outcome.CONVERTED)
        parts = [f"Converted {converted:,} lead{'' if converted == 1 else 's'}"]
        for outcome, why in ((Outcome.NEEDS_REVIEW, "a matching company or contact; open "
                              "each to choose"),
                             (Outcome.NEEDS_DATA, "required data missing"),
                             (Outcome.NOT_CONVERTED, "already converted, disqualified, or "
                                                     "changed since you loaded the list")):
            n = self.count(outcome)
            if n:
                verb = outcome.value.replace("needs", "need") if n > 1 else outcome.value
                parts.append(f"{n:,} {verb} ({why})")
        return "; ".join(parts) + "."


def convert_leads(user: User, db: Database, *, query: ListQuery | None = None,
                  ids: Sequence[int] | None = None,
                  versions: Mapping[int, int] | None = None) -> BulkConversion:
    """Convert checked leads (or all matching `query`) that nobody needs to review.

    A lead with any match, or missing data, is left for a person to decide and reported;
    the others get a new company and contact. Each lead is its own transaction, so one
    lead's problem never holds back the rest, and the report says what became of each.
    """
    condition = target_condition(user, LEADS, query or ListQuery(), ids, Action.CONVERT)
    rows = db.fetch_all(f"SELECT l.id FROM leads l WHERE {condition.sql} ORDER BY l.id "
                        "LIMIT ?", (*condition.params, BULK_LIMIT + 1))
    if len(rows) > BULK_LIMIT:
        raise Refusal(f"Convert at most {BULK_LIMIT} leads at once: narrow the filters or "
                      "tick the leads to convert.")
    return BulkConversion([_convert_one(user, db, row["id"], (versions or {}).get(row["id"]))
                           for row in rows])


def _convert_one(user: User, db: Database, lead_id: int, seen: int | None) -> LeadOutcome:
    """`seen`: the lead's version on the user's screen (checked rows): a lead changed since
    is not converted with data the user did not see."""
    plan = plan_conversion(user, db, lead_id)
    if seen is not None and plan.version != seen:
        with db.transaction() as tx:
            refusal = Writer(tx, user).conflict(Entity.LEAD, [lead_id])
        return LeadOutcome(lead_id, plan.name, Outcome.NOT_CONVERTED,
                           refusal.problems[0].message.replace("nothing was saved",
                                                               "it was not converted"))
    if plan.converted_at is not None or plan.disqualified:
        return LeadOutcome(lead_id, plan.name, Outcome.NOT_CONVERTED, plan.problems()[0])
    if plan.missing or not plan.company_name.strip():
        return LeadOutcome(lead_id, plan.name, Outcome.NEEDS_DATA, plan.problems()[0])
    if plan.needs_review:
        reasons = [f"company {m.label()}" for m in plan.company_matches]
        reasons += [f"contact {m.label()}" for m in plan.contact_matches]
        return LeadOutcome(lead_id, plan.name, Outcome.NEEDS_REVIEW,
                           "Matches " + "; ".join(reasons))
    try:
        done = convert_lead(user, db, lead_id, version=plan.version)
    except EditRejected as refused:
        outcome = (Outcome.NEEDS_REVIEW if any(p.field == "company_name"
                                               for p in refused.problems)
                   else Outcome.NOT_CONVERTED)
        return LeadOutcome(lead_id, plan.name, outcome, str(refused))
    return LeadOutcome(lead_id, plan.name, Outcome.CONVERTED, "New company and contact.",
                       done.contact_id, done.company_id)
