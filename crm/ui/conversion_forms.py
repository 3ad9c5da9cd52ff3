"""Converting leads on screen: the Convert dialog (what will happen, matches to choose
from, what to fill in first), the bulk Convert action with its report, and what a converted
lead or a contact shows afterwards (links, deals)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from crm.access import Action, Entity
from crm.identity.user import User
from crm.lists.listing import ListQuery
from crm.pipeline import conversion, deals
from crm.pipeline.conversion import NEW, BulkConversion, ConversionPlan, Outcome
from crm.records.editing import EditRejected
from crm.storage.db import Database
from crm.ui import permitted, text
from crm.ui.bulk_actions import ExtraAction

FLASH = "lead_flash"
REPORT = "lead_conversion_report"
CONTACTS_PAGE = "pages/workspace/contacts.py"
COMPANIES_PAGE = "pages/workspace/companies.py"


def convert_button(user: User, db: Database, lead: dict[str, Any]) -> None:
    """The Convert button of an open lead, for users who may convert it."""
    if lead["converted_at"] is not None:
        return
    if permitted.button("Convert", user, Action.CONVERT, Entity.LEAD,
                        icon=":material/swap_horiz:", key=f"convert_{lead['id']}",
                        help="Turn this lead into a contact at a company"):
        convert_dialog(user, db, lead["id"], lead["row_version"])


@st.dialog("Convert lead", width="large")
def convert_dialog(user: User, db: Database, lead_id: int, seen: int | None = None) -> None:
    """`seen`: the lead's version on the page the dialog was opened from (the dialog keeps
    its arguments while it reruns): a lead changed since is refused, not converted unseen."""
    try:
        plan = conversion.plan_conversion(user, db, lead_id)
    except EditRejected as refused:
        text.error("{}", refused)
        return
    blocking = plan.blocking()  # converted, disqualified, required data missing
    if blocking:
        for problem in blocking:
            text.error("{}", problem)
        st.caption("Close this dialog and complete the lead in its Edit tab.")
        return
    st.markdown("Nothing is written until you press **Convert lead**. The lead is then kept, "
                "read-only, with links to its company and contact.")
    contact = _choose_contact(plan)
    company = _choose_company(plan) if contact == NEW else _linked_company(plan, contact)
    problems = plan.problems(company, contact)
    for problem in problems:
        text.warning("{}", problem)
    st.caption("The contact gets the lead's person data, tags, lead source, manager, newsletter "
               "status and mailing history, and the lead's deals. A company or contact you link "
               "to keeps its own data; only its empty fields are filled from the lead.")
    if st.button("Convert lead", type="primary", disabled=bool(problems),
                 key=f"convert_{lead_id}_confirm"):
        try:
            done = conversion.convert_lead(user, db, lead_id,
                                           version=plan.version if seen is None else seen,
                                           company=company, contact=contact)
        except EditRejected as refused:
            for problem in refused.problems:
                text.error("{}", problem.message)
            return
        made = ("a new contact" if done.contact_created else "an existing contact") + (
            " at a new company" if done.company_created else " at an existing company")
        st.session_state[FLASH] = f"Lead converted into {made}."
        st.rerun()


def _choose_contact(plan: ConversionPlan) -> int | str:
    st.markdown("**Contact person**")
    if not plan.contact_matches:
        text.caption("No contact matches (same email, or same name and phone): a new contact "
                     "“{}” will be created.", plan.name)
        return NEW
    # A radio draws its options as Markdown: each label is built escaped.
    labels = {NEW: text.md("Create a new contact: {}", plan.name),
              **{m.id: text.md("Link to {}", m.label()) for m in plan.contact_matches}}
    return st.radio("Contact person", list(labels), format_func=labels.get,
                    label_visibility="collapsed", key=f"convert_{plan.lead_id}_contact",
                    index=1)


def _choose_company(plan: ConversionPlan) -> int | str:
    st.markdown("**Company**")
    labels: dict[int | str, str] = {}  # radio options are Markdown: built escaped
    if plan.can_create_company:
        labels[NEW] = text.md("Create a new company: {} ({})", plan.company_name,
                              plan.country or "no country")
    labels.update({m.id: text.md("Link to {}", m.label()) for m in plan.company_matches})
    if not plan.company_matches:
        if plan.can_create_company:
            text.caption("No company matches (by name, email or website domain): "
                         "“{}” will be created.", plan.company_name)
        return NEW
    if plan.company_name.strip() and not plan.can_create_company:
        st.caption("A company with this name already exists in this country, so the lead is "
                   "linked to a match.")
    first_match = list(labels).index(plan.company_matches[0].id)
    return st.radio("Company", list(labels), format_func=labels.get,
                    label_visibility="collapsed", key=f"convert_{plan.lead_id}_company",
                    index=first_match)


def _linked_company(plan: ConversionPlan, contact_id: int | str) -> int | str:
    match = next(m for m in plan.contact_matches if m.id == contact_id)
    st.markdown("**Company**")
    text.caption("The lead is linked to the contact's company, {}.", match.company)
    return match.company_id if match.company_id is not None else NEW


# ----------------------------------------------------------------------- bulk


def _bulk_convert(user: User, db: Database, query: ListQuery, ids: Sequence[int] | None,
                  _parameter: Any, versions: dict[int, int] | None = None) -> str:
    with st.spinner("Converting: each lead is checked for matches, then converted…"):
        report = conversion.convert_leads(user, db, query=query, ids=ids, versions=versions)
    st.session_state[REPORT] = report
    return report.sentence()


CONVERT_ACTION = ExtraAction("Convert", _bulk_convert, takes_versions=True,
                             action=Action.CONVERT)


def conversion_report(user: User, db: Database, query: ListQuery, total: int) -> None:
    """The last bulk conversion's outcome per lead, with links (the list page's buttons)."""
    report: BulkConversion | None = st.session_state.get(REPORT)
    if not report or not report.outcomes:
        return
    order = [Outcome.NEEDS_REVIEW, Outcome.NEEDS_DATA, Outcome.NOT_CONVERTED, Outcome.CONVERTED]
    outcomes = sorted(report.outcomes, key=lambda o: order.index(o.outcome))  # stable
    noun = "lead" if len(outcomes) == 1 else "leads"
    with st.expander(text.md("Conversion report: {:,} {}, those to review first",
                             len(outcomes), noun),
                     expanded=report.count(Outcome.CONVERTED) < len(outcomes)):
        frame = pd.DataFrame([{
            "lead": f"?id={o.lead_id}", "name": o.name, "outcome": o.outcome.value.capitalize(),
            "detail": o.detail,
            "contact": f"/contacts?id={o.contact_id}" if o.contact_id else None,
        } for o in outcomes])
        st.dataframe(frame, hide_index=True, width="stretch", column_config={
            "lead": st.column_config.LinkColumn("Lead", display_text=r"\?id=(\d+)"),
            "name": "Name", "outcome": "Outcome",
            "detail": st.column_config.TextColumn("Detail", width="large"),
            "contact": st.column_config.LinkColumn("Contact", display_text=r"id=(\d+)"),
        })
        if st.button("Clear report", key="lead_conversion_report_clear"):
            st.session_state.pop(REPORT, None)
            st.rerun()


# ----------------------------------------------------------------------- afterwards


def converted_links(lead: dict[str, Any]) -> None:
    """Where a converted lead went: its contact and company."""
    if lead["converted_at"] is None:
        return
    if lead.get("converted_by_name"):
        text.info("This lead was converted on {when:%Y-%m-%d} by {by} and is kept read-only "
                  "as history.", when=lead["converted_at"], by=lead["converted_by_name"])
    else:
        text.info("This lead was converted on {when:%Y-%m-%d} and is kept read-only as "
                  "history.", when=lead["converted_at"])
    left, right, _ = st.columns([1, 1, 2])
    if lead["contact_id"] is not None:
        with left:
            st.page_link(page=CONTACTS_PAGE, label="Open the contact", icon=":material/person:",
                         query_params={"id": str(lead["contact_id"])})
    if lead["company_id"] is not None:
        with right:
            st.page_link(page=COMPANIES_PAGE, label="Open the company", icon=":material/business:",
                         query_params={"id": str(lead["company_id"])})


def deals_table(user: User, db: Database, *, lead_id: int | None = None,
                contact_id: int | None = None) -> None:
    """The record's deals (made from commercial requests)."""
    rows = deals.deals_of(user, db, lead_id=lead_id, contact_id=contact_id)
    st.markdown("**Deals**")
    if not rows:
        st.caption("No deals yet.")
        return
    frame = pd.DataFrame(rows)
    frame["request"] = [f"/requests?id={i}" if pd.notna(i) else None
                        for i in frame["request_id"]]
    st.dataframe(frame[["name", "amount", "stage", "owner", "company", "created_at", "request"]],
                 hide_index=True, width="stretch", column_config={
                     "name": "Deal", "amount": st.column_config.NumberColumn("Amount",
                                                                             format="%.2f"),
                     "stage": "Stage", "owner": "Owner", "company": "Company",
                     "created_at": st.column_config.DatetimeColumn("Created",
                                                                   format="YYYY-MM-DD"),
                     "request": st.column_config.LinkColumn("Request",
                                                            display_text=r"id=(\d+)")})
