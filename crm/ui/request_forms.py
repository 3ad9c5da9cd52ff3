"""Commercial requests on screen: entering one by hand, importing a file of them, the
request detail (what it matches, Create deal, Dismiss), and the form fields the public
request page shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from crm.access import Action, Entity, can, refusal
from crm.access.users import eligible_owners
from crm.common import links
from crm.identity.roles import OWNER_LABEL
from crm.identity.user import User
from crm.importing import ImportFileError, ImportRefused
from crm.lists.listing import ListQuery
from crm.pipeline import deals, request_import, requests
from crm.pipeline.requests import AUTO, CHANNELS, STATUSES, RequestMatches
from crm.records import vocabulary
from crm.storage.db import Database
from crm.ui import permitted, text
from crm.ui.bulk_actions import ExtraAction
from crm.ui.record_view import attempt, choice, department_for_new, facts, history, record_id

FLASH = "request_flash"
LEADS_PAGE = "pages/workspace/leads.py"
CONTACTS_PAGE = "pages/workspace/contacts.py"
COMPANIES_PAGE = "pages/workspace/companies.py"


def request_inputs(db: Database, prefix: str) -> dict[str, Any]:
    """The fields of a request, as the sender gives them (public form and Add request)."""
    values: dict[str, Any] = {}
    a, b = st.columns(2)
    values["first_name"] = a.text_input("First name", key=f"{prefix}_first")
    values["last_name"] = b.text_input("Last name", key=f"{prefix}_last")
    a, b = st.columns(2)
    values["email"] = a.text_input("Email", key=f"{prefix}_email")
    values["phone"] = b.text_input("Phone", key=f"{prefix}_phone")
    a, b, c = st.columns(3)
    values["company_name"] = a.text_input("Company", key=f"{prefix}_company")
    with b:
        values["country_code"] = choice("Country", vocabulary.countries(db), None,
                                        f"{prefix}_country")
    values["city"] = c.text_input("City", key=f"{prefix}_city")
    values["subject"] = st.text_input("Subject", key=f"{prefix}_subject")
    values["message"] = st.text_area("Message", key=f"{prefix}_message", max_chars=5000)
    return values


# ----------------------------------------------------------------------- adding, importing


@st.dialog("Add request", width="large")
def add_request_dialog(user: User, db: Database) -> None:
    department_id = department_for_new(user, db, "add_request_dept")
    with st.form("add_request"):
        values = request_inputs(db, "add_request")
        values["lead_source_id"] = choice("Lead source", vocabulary.named(db, "lead_sources"),
                                          None, "add_request_source")
        values["newsletter_opt_in"] = st.checkbox("Agreed to receive the newsletter", False)
        submitted = st.form_submit_button("Save request", type="primary")
    if submitted:
        attempt(lambda: requests.create_request(user, db, values, department_id=department_id),
                FLASH, "Request added.")


def toolbar(user: User, db: Database, _query: ListQuery, _total: int) -> None:
    """Beside the list: the import of requests and the address of the public form."""
    left, right = st.columns([1, 3], vertical_alignment="center")
    if permitted.button("Import requests", user, Action.IMPORT, Entity.REQUEST, place=left,
                        icon=":material/upload:", key="request_import"):
        import_dialog(user, db)
    text.caption("Anyone can send a request through the public form: [{url}]({url})",
                 url=links.public_link(links.REQUEST_FORM), place=right)


@st.dialog("Import requests", width="large")
def import_dialog(user: User, db: Database) -> None:
    department_id = department_for_new(user, db, "import_request_dept")
    upload = st.file_uploader("A file of requests (.xlsx or .csv)", type=["xlsx", "csv"],
                              key="request_import_file")
    st.caption("Columns are recognised by their headers (Name or First/Last name, Email, "
               "Phone, Company, Country, City, Subject, Message, Lead source), in English, "
               "German, French, Spanish, Italian or Dutch.")
    if upload is None:
        return
    try:
        preview = request_import.preview_requests(user, db, upload.getvalue(), upload.name,
                                                  department_id=department_id)
    except ImportFileError as problem:
        text.error("{}", problem)
        return
    mapped = {h: request_import.FIELDS[k] for h, k in preview.mapping.items() if k}
    text.markdown("**{:,} requests** in {}. Columns read: {}", len(preview.rows), upload.name,
                  ", ".join(f"{h} → {f}" for h, f in mapped.items()))
    ignored = [h for h, k in preview.mapping.items() if not k]
    if ignored:
        text.caption("Left out: {}", ", ".join(ignored))
    if preview.problems:
        text.error("{:,} problems: correct the file and upload it again. Nothing is imported "
                   "until every row is right.", len(preview.problems))
        st.dataframe(pd.DataFrame([{"Row": p.row, "Column": p.column, "Problem": p.message}
                                   for p in preview.problems]),
                     hide_index=True, width="stretch")
        return
    if st.button(text.md("Import {:,} requests", len(preview.rows)), type="primary",
                 key="request_import_commit"):
        try:
            count = request_import.import_requests(user, db, preview,
                                                   department_id=department_id)
        except ImportRefused as refused:
            for problem in refused.problems:
                text.error("{}", problem.message)
            return
        st.session_state[FLASH] = f"Imported {count:,} requests."
        st.rerun()


def _dismiss(user: User, db: Database, query: ListQuery, ids: Sequence[int] | None,
             _parameter: Any) -> str:
    count = requests.dismiss(user, db, ids=ids, query=query)
    return f"Dismissed {count:,} request{'' if count == 1 else 's'} (new ones only)."


DISMISS_ACTION = ExtraAction("Dismiss", _dismiss)


# ----------------------------------------------------------------------- detail


def request_detail(user: User, db: Database, raw_id: str) -> None:
    request_id = record_id(raw_id)
    request = requests.get_request(user, db, request_id)
    st.page_link("pages/workspace/requests.py", label="Back to requests",
                 icon=":material/arrow_back:")
    if request is None:
        text.error("Request {} does not exist.", raw_id)
        return
    if request["subject"]:
        text.title("{}", request["subject"])
    else:
        text.title("Request {}", request_id)
    text.caption("{} · {} · received {:%Y-%m-%d %H:%M}", STATUSES[request["status"]],
                 CHANNELS[request["channel"]], request["created_at"])
    if flash := st.session_state.pop(FLASH, None):
        text.success("{}", flash)
    name = " ".join(p for p in (request["first_name"], request["last_name"]) if p)
    found = requests.request_matches(user, db, request, remember=True)
    left, right = st.columns([3, 2], gap="large")
    with left:
        facts({
            "ID": request["id"], "Name": name, "Email": request["email"],
            "Phone": request["phone"], "Company": request["company_name"],
            "Country": request["country"], "City": request["city"],
            "Lead source": request["lead_source"],
            "Newsletter": "Agreed" if request["newsletter_opt_in"] else "Not asked for",
            OWNER_LABEL: request["manager"], "Department": request["department"],
            "Entered by": request["created_by_name"] or "the public form",
        })
    with right:
        st.markdown("**Message**")
        st.text(request["message"] or "—")
        if request["status"] == "deal":
            _outcome(request)
        _matches(found)
    if request["status"] == "new":
        if can(user, Action.CONVERT, Entity.REQUEST):
            _create_deal(user, db, request, found)
        else:
            text.caption("{}", refusal(user, Action.CONVERT, Entity.REQUEST))
        if permitted.button("Dismiss request", user, Action.EDIT, Entity.REQUEST,
                            key=f"request_dismiss_{request_id}",
                            help="Set it aside: spam, or not a sales matter"):
            attempt(lambda: requests.dismiss(user, db, ids=[request_id]), FLASH,
                    "Request dismissed.")
    with st.expander("History"):
        history(requests.history(user, db, request_id))


def _outcome(request: dict[str, Any]) -> None:
    text.success("This request became deal {}.", request["deal_id"])
    if request["contact_id"] is not None:
        st.page_link(page=CONTACTS_PAGE, label="Open the contact", icon=":material/person:",
                     query_params={"id": str(request["contact_id"])})
    if request["lead_id"] is not None:
        st.page_link(page=LEADS_PAGE, label="Open the lead", icon=":material/person_search:",
                     query_params={"id": str(request["lead_id"])})


def _matches(found: RequestMatches) -> None:
    st.markdown("**Matches in the CRM**")
    if not found.any:
        st.caption("No existing contact, lead or company matches this request.")
        return
    for page, noun, matches in ((CONTACTS_PAGE, "Contact", found.contacts),
                                (LEADS_PAGE, "Lead", found.leads)):
        for match in matches:
            st.page_link(page=page, label=text.md("{}: {}", noun, match.label()),
                         query_params={"id": str(match.id)})
    for company in found.companies:
        st.page_link(page=COMPANIES_PAGE, label=text.md("Company: {}", company.label()),
                     query_params={"id": str(company.id)})


def _create_deal(user: User, db: Database, request: dict[str, Any],
                 found: RequestMatches) -> None:
    st.subheader("Create deal")
    key = f"deal_{request['id']}"
    # A radio draws its options as Markdown: each label is built escaped.
    links_: dict[str, str] = {AUTO: "No existing record: create one from the request"}
    links_.update({f"contact:{m.id}": text.md("Link to contact {}", m.label())
                   for m in found.contacts})
    links_.update({f"lead:{m.id}": text.md("Link to lead {}", m.label()) for m in found.leads})
    link = AUTO
    if len(links_) > 1:
        link = st.radio("The deal is about", list(links_), format_func=links_.get, index=1,
                        key=f"{key}_link")
    company: int | None = None
    if link == AUTO:
        companies = {m.id: m.label() for m in found.companies}
        if companies:
            company = st.selectbox("Company", [*companies, None],
                                   format_func=lambda c: companies.get(c, "Not one of these"),
                                   key=f"{key}_company")
        text.caption("{}", _what_happens(request, company))
    with st.form(key):
        a, b = st.columns(2)
        name = a.text_input("Deal name", requests.default_deal_name(request))
        amount = b.text_input("Amount", placeholder="e.g. 12,500.00")
        a, b = st.columns(2)
        stage = a.selectbox("Stage", list(deals.STAGES), format_func=deals.STAGES.get)
        with b:
            owners = {u.id: u.full_name for u in eligible_owners(db, request["department_id"])}
            default_owner = request["owner_id"] or (user.id if user.id in owners else None)
            owner = choice("Owner", owners, default_owner, f"{key}_owner")
        submitted = st.form_submit_button("Create deal", type="primary")
    if not submitted:
        return
    kind, _, linked = link.partition(":")
    values = {"name": name, "amount": amount, "stage": stage, "owner_id": owner}
    attempt(lambda: requests.create_deal(
        user, db, request["id"], values,
        contact_id=int(linked) if kind == "contact" else None,
        lead_id=int(linked) if kind == "lead" else None,
        company_id=company), FLASH, "Deal created.")


def _what_happens(request: dict[str, Any], company: int | None) -> str:
    if company is not None and request["first_name"] and request["email"]:
        return "A new contact is created at this company, with the request as its source."
    if company is not None:
        return ("A new lead is created (a contact needs a first name and an email), with "
                "the request as its source.")
    return "A new lead is created with what the request holds, with the request as its source."
