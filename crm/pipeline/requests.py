"""Commercial requests: incoming enquiries (a web form, entered by hand, or imported) and
the deals they become.

A request belongs to a department like a lead does, and is in scope the same way. One
from the public form has no user behind it: it goes to the configured request department
(`CRM_REQUEST_DEPARTMENT`), else to the first department created. The form is guarded by a
hidden honeypot field (a bot that fills it is thanked and forgotten) and by a rate limit
per client kept in the database, so it holds across app servers.

Each request shows which existing contact, lead or company it matches. "Create deal" turns
it into a deal and, when no existing contact or lead is linked, creates one: a contact when
the company is known and the first name and email are there, otherwise a lead with what the
request holds (the seeds' automatic lead creation). The new record's source is the request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from crm.access import (
    Action,
    Condition,
    Entity,
    may_work_in_department,
    owns_what_they_add,
    require,
    scope,
)
from crm.access.auth import client_key
from crm.common import config
from crm.common.clock import now
from crm.common.names import company_name_key
from crm.identity.user import User
from crm.lists.bulk import target_condition
from crm.lists.columns import added_column, country_column, id_column, manager_column
from crm.lists.filters import (
    Filter,
    country_filter,
    department_filter,
    manager_filter,
    source_filter,
)
from crm.lists.listing import Column, ListQuery, ListSpec
from crm.pipeline import deals
from crm.pipeline.matching import (
    CompanyMatch,
    PersonMatch,
    email_domain,
    email_domain_sql,
    matching_companies,
    matching_people,
    website_domain_sql,
)
from crm.records import contacts, editing, leads, people
from crm.storage import audit
from crm.storage.db import REQUEST_FORM_LOCK, Database, Session, serialised
from crm.storage.writer import Conflict, EditRejected, Problem, Writer

CHANNELS = {"form": "Web form", "manual": "Entered by hand", "import": "Imported"}
STATUSES = {"new": "New", "deal": "Deal created", "dismissed": "Dismissed"}
REQUEST_FIELDS = ("first_name", "last_name", "email", "phone", "company_name", "country_code",
                  "city", "subject", "message", "lead_source_id", "newsletter_opt_in",
                  "owner_id")
FORM_LEAD_SOURCE = "Website form"

# The public form: at most this many requests per client in the window.
RATE_LIMIT = 5
RATE_WINDOW = timedelta(minutes=10)

_CHECKERS = {
    "first_name": editing.check_text(200), "last_name": editing.check_text(200),
    "email": editing.check_email, "phone": editing.check_phone,
    "company_name": editing.check_text(300), "country_code": editing.check_country,
    "city": editing.check_text(200), "subject": editing.check_text(300),
    "message": editing.check_text(5000),
    "lead_source_id": editing.check_reference("lead_sources", "lead source"),
    "newsletter_opt_in": editing.check_flag, "owner_id": editing.check_owner,
}


def _label_case(column: str, labels: Mapping[str, str]) -> str:
    return f"CASE {column} " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in labels.items()) \
        + " END"


# The list's Matches column reads hints kept on the request: computing them live for a page
# scans every contact's and lead's email (a second at a million rows on DuckDB). They are
# set when the request arrives and refreshed whenever its detail is opened, which always
# shows the live matches.
_MATCH_COLUMN = ("nullif(concat_ws(', ', "
                 "CASE WHEN r.matched_contact_id IS NOT NULL THEN 'contact' END, "
                 "CASE WHEN r.matched_lead_id IS NOT NULL THEN 'lead' END, "
                 "CASE WHEN r.matched_company_id IS NOT NULL THEN 'company' END), '')")


def refresh_match_hints(tx: Session, where: Condition) -> None:
    """Recompute the match hints of the requests matching `where` (alias-free), set-based:
    same email for contacts and open leads; same company name key, else the same mail or
    website domain, for companies; always in the request's own department."""
    same_person = ("SELECT min(p.id) FROM {table} p WHERE p.department_id = "
                   "requests.department_id AND requests.email <> '' "
                   "AND lower(p.email) = lower(requests.email){extra}")
    same_company = ("(SELECT min(co.id) FROM companies co WHERE co.department_id = "
                    "requests.department_id AND {guard} AND {test})")
    company = "coalesce(" + ", ".join(
        same_company.format(guard=guard, test=test) for guard, test in (
            ("requests.company_key <> ''", "co.name_key = requests.company_key"),
            ("requests.email_domain <> ''",
             f"{email_domain_sql('co.email')} = requests.email_domain"),
            ("requests.email_domain <> ''",
             f"{website_domain_sql('co.website')} = requests.email_domain"))) + ")"
    contact = same_person.format(table="contacts", extra="")
    lead = same_person.format(table="leads", extra=" AND p.converted_at IS NULL")
    tx.execute(f"UPDATE requests SET matched_contact_id = ({contact}), matched_lead_id = "
               f"({lead}), matched_company_id = {company} WHERE {where.sql}", where.params)


def _remember(tx: Session, request: Mapping[str, Any], found: RequestMatches) -> None:
    hints = {"matched_contact_id": found.contacts[0].id if found.contacts else None,
             "matched_lead_id": found.leads[0].id if found.leads else None,
             "matched_company_id": found.companies[0].id if found.companies else None}
    if any(request.get(k) != v for k, v in hints.items()):
        tx.execute("UPDATE requests SET matched_contact_id = ?, matched_lead_id = ?, "
                   "matched_company_id = ? WHERE id = ?", (*hints.values(), request["id"]))


REQUESTS = ListSpec(
    entity=Entity.REQUEST,
    alias="r",
    joins=("LEFT JOIN users ow ON ow.id = r.owner_id "
           "LEFT JOIN countries cn ON cn.code = r.country_code "
           "LEFT JOIN lead_sources ls ON ls.id = r.lead_source_id"),
    columns=(
        id_column("r"),
        added_column("r", "Received", grid_format="YYYY-MM-DD HH:mm"),
        Column("name", "Name", "trim(concat_ws(' ', r.first_name, r.last_name))",
               sort_sql=("lower(r.last_name)", "lower(r.first_name)"), width=26,
               grid_width="medium"),
        Column("email", "Email", "r.email", sort_sql=("lower(r.email)",), width=30,
               grid_width="medium"),
        Column("company", "Company", "r.company_name", sort_sql=("r.company_key",), width=28,
               grid_width="medium"),
        country_column("r"),
        Column("subject", "Subject", "r.subject", sort_sql=("lower(r.subject)",), width=40,
               grid_width="medium"),
        Column("source", "Lead source", "ls.name",
               sort_joins="LEFT JOIN lead_sources ls ON ls.id = r.lead_source_id"),
        Column("channel", "Channel", _label_case("r.channel", CHANNELS), width=16),
        Column("status", "Status", _label_case("r.status", STATUSES), width=14),
        manager_column("r", editable=False),
        Column("matches", "Matches", _MATCH_COLUMN, sortable=False,
               help="An existing contact, open lead or company of the department with the "
                    "same email, company name or mail domain"),
        Column("phone", "Phone", "r.phone", sortable=False),
    ),
    filters=(
        Filter(key="status", label="Status", value_sql="r.status",
               label_sql=_label_case("r.status", STATUSES), option_order="label"),
        department_filter("r"),
        manager_filter("r"),
        Filter(key="channel", label="Channel", value_sql="r.channel",
               label_sql=_label_case("r.channel", CHANNELS), option_order="label"),
        source_filter("r"),
        country_filter("r"),
    ),
    default_sort="created_at",
    default_descending=True,
    grid=("created_at", "name", "company", "matches", "subject", "status", "email", "country",
          "source", "channel", "manager"),
    export=("id", "created_at", "name", "email", "phone", "company", "country", "subject",
            "source", "channel", "status", "manager"),
    extra_sql=(("owner_id", "r.owner_id"),
               ("department_id", "r.department_id"), ("row_version", "r.row_version")),
)



# ----------------------------------------------------------------------- receiving


def check_request(tx: Session, values: Mapping[str, Any],
                  department_id: int) -> tuple[dict[str, Any], list[Problem]]:
    """Normalised request fields and every problem with them (names say what to fill in)."""
    row: dict[str, Any] = {"department_id": department_id}
    problems: list[Problem] = []
    for name in set(values) - set(REQUEST_FIELDS):
        problems.append(Problem(None, name, f"{name} is not a request field."))
    for name in REQUEST_FIELDS:
        if name in values:
            try:
                row[name] = _CHECKERS[name](values[name], tx, row)
            except (ValueError, TypeError) as problem:
                problems.append(Problem(None, name, f"{name.replace('_', ' ')}: {problem}"))
    if not (row.get("first_name") or row.get("last_name")):
        problems.append(Problem(None, "last_name", "Give your name (first or last name)."))
    if not (row.get("email") or row.get("phone")) and not any(
            p.field in ("email", "phone") for p in problems):
        problems.append(Problem(None, "email", "Give an email address or a phone number."))
    if not (row.get("subject") or row.get("message")):
        problems.append(Problem(None, "message", "Say what the request is about (subject or "
                                                 "message)."))
    return row, problems


def insert_request(tx: Session, actor: User | None, row: dict[str, Any], channel: str, *,
                   received_at: datetime | None = None, hints: bool = True) -> int:
    """Insert a checked request (see `check_request`); `actor` is None for the public form.

    The company name key and mail domain are kept with it for the match hints; a batch
    (`hints=False`) refreshes its hints in one statement afterwards.
    """
    stamp = received_at or now()
    row = {**row, "channel": channel, "status": "new",
           "company_key": company_name_key(row.get("company_name") or ""),
           "email_domain": email_domain(row.get("email")), "created_at": stamp}
    request_id = Writer(tx, actor, stamp=stamp).insert(Entity.REQUEST, row)
    if hints:
        refresh_match_hints(tx, Condition("id = ?", (request_id,)))
    return request_id


def create_request(user: User, db: Database, values: Mapping[str, Any], *,
                   department_id: int | None = None, channel: str = "manual") -> int:
    """A request entered by hand, in the user's department (or `department_id` for users
    who work across departments). Raises EditRejected listing every problem."""
    require(user, Action.ADD, Entity.REQUEST)
    department = department_id or user.department_id
    if department is None or not may_work_in_department(user, department):
        raise EditRejected([Problem(None, "department_id",
                                    "Choose a department you work in for this request.")])
    with db.transaction() as tx:
        row, problems = check_request(tx, values, department)
        if problems:
            raise EditRejected(problems)
        if row.get("owner_id") is None and owns_what_they_add(user):
            row["owner_id"] = user.id
        return insert_request(tx, user, row, channel)


class Receipt(StrEnum):
    """What the public form tells the sender. A honeypot hit reads exactly like ACCEPTED."""

    ACCEPTED = "accepted"
    INVALID = "invalid"
    RATE_LIMITED = "rate limited"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class FormResult:
    receipt: Receipt
    problems: list[Problem] = field(default_factory=list)
    request_id: int | None = None  # None also for a honeypot hit




def public_department(db: Database | Session) -> int | None:
    """Where requests from the public form go: the configured department, else the first."""
    name = config.request_department()
    if name:
        found = db.scalar("SELECT id FROM departments WHERE lower(name) = lower(?)",
                          (name.strip(),))
        if found is not None:
            return found
    return db.scalar("SELECT min(id) FROM departments")


def receive_public_request(db: Database, values: Mapping[str, Any], *,
                           ip_address: str | None, honeypot: str = "") -> FormResult:
    """A request sent through the public form (no user signed in).

    Only requests that would be kept count towards the rate limit, so a person correcting a
    typo is not locked out; a honeypot hit counts (and is dropped without a trace).
    """
    key = client_key(ip_address)
    stamp = now()
    # The count and the attempt it allows are one step per client, on every app server.
    with serialised(db, REQUEST_FORM_LOCK, key) as tx:
        recent = tx.scalar("SELECT count(*) FROM request_form_attempts WHERE client_key = ? "
                           "AND attempted_at > ?", (key, stamp - RATE_WINDOW))
        if recent >= RATE_LIMIT:
            return FormResult(Receipt.RATE_LIMITED)
        department = public_department(tx)
        if department is None:
            return FormResult(Receipt.UNAVAILABLE)
        source = tx.scalar("SELECT id FROM lead_sources WHERE name = ?", (FORM_LEAD_SOURCE,))
        offered = {k: v for k, v in values.items() if k in _PUBLIC_FIELDS}
        row, problems = check_request(tx, {**offered, "lead_source_id": source}, department)
        if problems and not honeypot.strip():
            return FormResult(Receipt.INVALID, problems)
        tx.execute("DELETE FROM request_form_attempts WHERE attempted_at < ?",
                   (stamp - timedelta(days=1),))
        tx.execute("INSERT INTO request_form_attempts (client_key, attempted_at) VALUES (?, ?)",
                   (key, stamp))
        if honeypot.strip():
            return FormResult(Receipt.ACCEPTED)
        return FormResult(Receipt.ACCEPTED, request_id=insert_request(tx, None, row, "form"))


_PUBLIC_FIELDS = frozenset({"first_name", "last_name", "email", "phone", "company_name",
                            "country_code", "city", "subject", "message",
                            "newsletter_opt_in"})


# ----------------------------------------------------------------------- reading


def get_request(user: User, db: Database | Session, request_id: int,
                action: Action = Action.VIEW) -> dict[str, Any] | None:
    allowed = scope(user, Entity.REQUEST, action, alias="r")
    return db.fetch_one(
        "SELECT r.*, cn.name AS country, ls.name AS lead_source, ow.full_name AS manager, "
        "dp.name AS department, cb.full_name AS created_by_name FROM requests r "
        "LEFT JOIN countries cn ON cn.code = r.country_code "
        "LEFT JOIN lead_sources ls ON ls.id = r.lead_source_id "
        "LEFT JOIN users ow ON ow.id = r.owner_id "
        "LEFT JOIN departments dp ON dp.id = r.department_id "
        "LEFT JOIN users cb ON cb.id = r.created_by "
        f"WHERE r.id = ? AND {allowed.sql}", (request_id, *allowed.params))


@dataclass(frozen=True)
class RequestMatches:
    contacts: list[PersonMatch]
    leads: list[PersonMatch]
    companies: list[CompanyMatch]

    @property
    def any(self) -> bool:
        return bool(self.contacts or self.leads or self.companies)


def request_matches(user: User, db: Database, request: Mapping[str, Any], *,
                    remember: bool = False) -> RequestMatches:
    """The existing contacts, open leads and companies of the request's department that the
    request is about; `remember` keeps them as the list's match hints."""
    person = {"email": request["email"], "first_name": request["first_name"],
              "last_name": request["last_name"], "phones": (request["phone"],),
              "department_id": request["department_id"]}
    found_leads = [m for m in matching_people(user, db, Entity.LEAD, **person)
                   if not m.converted]
    found = RequestMatches(
        contacts=matching_people(user, db, Entity.CONTACT, **person),
        leads=found_leads,
        companies=matching_companies(user, db, name=request["company_name"],
                                     domains=[email_domain(request["email"])],
                                     department_id=request["department_id"]),
    )
    if remember:
        with db.transaction() as tx:
            _remember(tx, request, found)
    return found


# ----------------------------------------------------------------------- deals

AUTO = "auto"  # the company: the best match, if any


@dataclass(frozen=True)
class DealCreated:
    deal_id: int
    contact_id: int | None
    lead_id: int | None
    company_id: int | None
    created: str | None  # "contact" or "lead" when one was created for the deal


def default_deal_name(request: Mapping[str, Any]) -> str:
    who = request["company_name"] or " ".join(
        p for p in (request["first_name"], request["last_name"]) if p)
    return request["subject"] or f"Request from {who or 'the web form'}"


def create_deal(user: User, db: Database, request_id: int, values: Mapping[str, Any], *,
                contact_id: int | None = None, lead_id: int | None = None,
                company_id: int | str | None = AUTO) -> DealCreated:
    """Turn a request into a deal (name, amount, stage, owner) in one transaction.

    Linked to `contact_id` or `lead_id` when given. Otherwise a record is created: a contact
    at the known company (`company_id`, by default the best match) when the request has a
    first name and an email, else a lead. EditRejected (nothing written) says why not.
    """
    with db.transaction() as tx:
        request = get_request(user, tx, request_id, Action.CONVERT)
        if request is None:
            raise EditRejected([Problem(request_id, "",
                                        f"Request {request_id} does not exist.")])
        if request["status"] != "new":
            done = (f"already became deal {request['deal_id']}" if request["status"] == "deal"
                    else "was dismissed")
            raise EditRejected([Problem(request_id, "", f"Request {request_id} {done}.")])
        department = request["department_id"]
        owner = values.get("owner_id", request["owner_id"])
        if owner in (None, "") and owns_what_they_add(user) and user.department_id == department:
            owner = user.id
        company, created = None, None
        if contact_id is not None:
            contact = _in_department(user, tx, Entity.CONTACT, contact_id, department)
            company = contact["company_id"]
        elif lead_id is not None:
            lead = _in_department(user, tx, Entity.LEAD, lead_id, department)
            contact_id, company = lead["contact_id"], lead["company_id"]  # a converted lead's
        else:
            company = _known_company(user, tx, request, company_id)
            if company is not None and request["first_name"] and request["email"]:
                contact_id, created = _new_contact(tx, user, request, company, owner), "contact"
            else:
                lead_id, created = _new_lead(tx, user, request, owner), "lead"
        deal_id = deals.insert_deal(
            tx, user, {**values, "owner_id": owner}, department_id=department,
            links={"company_id": company, "contact_id": contact_id, "lead_id": lead_id,
                   "request_id": request_id})
        changes = {"status": "deal", "deal_id": deal_id, "contact_id": contact_id,
                   "lead_id": lead_id}
        try:
            Writer(tx, user).update(Entity.REQUEST, request_id, changes,
                                    version=request["row_version"])
        except Conflict as moved:
            raise EditRejected([Problem(request_id, "", f"Request {request_id} was handled "
                                        "by someone else meanwhile; nothing was created.")]
                               ) from moved
        return DealCreated(deal_id, contact_id, lead_id, company, created)


def _in_department(user: User, tx: Session, entity: Entity, record_id: int,
                   department_id: int) -> dict[str, Any]:
    table = "contacts" if entity is Entity.CONTACT else "leads"
    allowed = scope(user, entity, Action.VIEW, alias="t")
    row = tx.fetch_one(f"SELECT t.* FROM {table} t WHERE t.id = ? AND {allowed.sql}",
                       (record_id, *allowed.params))
    if row is None or row["department_id"] != department_id:
        noun = entity.value
        raise EditRejected([Problem(None, f"{noun}_id", f"Choose a {noun} of the request's "
                                    f"department to link to; {noun} {record_id} is not one.")])
    return row


def _known_company(user: User, tx: Session, request: Mapping[str, Any],
                   company_id: int | str | None) -> int | None:
    if company_id is None:
        return None
    found = matching_companies(user, tx, name=request["company_name"],
                               domains=[email_domain(request["email"])],
                               department_id=request["department_id"])
    if company_id == AUTO:
        return found[0].id if found else None
    allowed = scope(user, Entity.COMPANY, Action.VIEW)
    if not tx.scalar(f"SELECT count(*) FROM companies WHERE id = ? AND department_id = ? "
                     f"AND {allowed.sql}",
                     (int(company_id), request["department_id"], *allowed.params)):
        raise EditRejected([Problem(None, "company_id", "Choose a company of the request's "
                                    "department.")])
    return int(company_id)


def _person(request: Mapping[str, Any], owner: Any) -> dict[str, Any]:
    values = {k: request[k] for k in ("first_name", "last_name", "email", "phone",
                                      "country_code", "city", "lead_source_id")}
    return {**values, "owner_id": owner, "newsletter_opt_in": request["newsletter_opt_in"]}


def _new_contact(tx: Session, user: User, request: Mapping[str, Any], company_id: int,
                 owner: Any) -> int:
    return people.insert_person(
        tx, user, Entity.CONTACT, contacts.CONTACT_FIELDS, contacts.CHECKERS,
        _person(request, owner), department_id=request["department_id"],
        source=f"request {request['id']}",
        fixed={"company_id": company_id, "source_request_id": request["id"]})


def _new_lead(tx: Session, user: User, request: Mapping[str, Any], owner: Any) -> int:
    text = "\n\n".join(p for p in (request["subject"], request["message"]) if p)
    values = {**_person(request, owner), "company_name": request["company_name"],
              "description": text[:5000]}
    return people.insert_person(
        tx, user, Entity.LEAD, leads.LEAD_FIELDS, leads.RULES.checkers, values,
        department_id=request["department_id"], source=f"request {request['id']}",
        fixed={"source_request_id": request["id"]})


def dismiss(user: User, db: Database, *, ids: Sequence[int] | None = None,
            query: ListQuery | None = None) -> int:
    """Set new requests aside (spam, not a sales matter): the checked ones, or all matching
    `query`; returns how many were dismissed."""
    condition = target_condition(user, REQUESTS, query or ListQuery(), ids)
    with db.transaction() as tx:
        return Writer(tx, user).update_where(
            Entity.REQUEST, condition & Condition("r.status = 'new'"), {"status": "dismissed"},
            alias="r")


def history(user: User, db: Database, request_id: int) -> list[dict[str, Any]]:
    if get_request(user, db, request_id) is None:
        return []
    return audit.history(db, Entity.REQUEST.value, request_id)
