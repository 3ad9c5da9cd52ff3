"""The Add-lead dialog and the lead detail view (every field, edit, history)."""

from __future__ import annotations

import streamlit as st

from crm.access import Action, Entity, can, refusal
from crm.identity.roles import OWNER_LABEL
from crm.identity.user import User
from crm.records import leads
from crm.records.editing import RowEdit
from crm.storage.db import Database
from crm.ui import text
from crm.ui.conversion_forms import convert_button, converted_links, deals_table
from crm.ui.newsletter import badge_html
from crm.ui.newsletter_history import newsletter_tab
from crm.ui.person_form import person_inputs, stopped_by_duplicates
from crm.ui.record_view import (
    as_seen,
    attempt,
    department_for_new,
    edit_form_notes,
    facts,
    history,
    record_id,
)

FLASH = "lead_flash"


@st.dialog("Add lead", width="large")
def add_lead_dialog(user: User, db: Database) -> None:
    department_id = department_for_new(user, db, "add_lead_dept")
    with st.form("add_lead"):
        values = person_inputs("add_lead", db, None, department_id, company_fields=True)
        values["newsletter_opt_in"] = st.checkbox("Subscribed to the newsletter", True)
        confirm = st.checkbox("Save even if it looks like a duplicate", key="add_lead_confirm")
        submitted = st.form_submit_button("Save lead", type="primary")
    if not submitted:
        return
    if stopped_by_duplicates(user, db, Entity.LEAD, values, confirm):
        return
    attempt(lambda: leads.create_lead(user, db, values, department_id=department_id),
            FLASH, "Lead added.")


def lead_detail(user: User, db: Database, raw_id: str) -> None:
    lead_id = record_id(raw_id)
    lead = leads.get_lead(user, db, lead_id)
    st.page_link("pages/workspace/leads.py", label="Back to leads", icon=":material/arrow_back:")
    if lead is None:
        text.error("Lead {} does not exist.", raw_id)
        return
    name = " ".join(p for p in (lead["first_name"], lead["middle_name"], lead["last_name"]) if p)
    if name:
        text.title("{}", name)
    else:
        text.title("Lead {}", lead_id)
    badge_html(lead["newsletter"])
    if flash := st.session_state.pop(FLASH, None):
        text.success("{}", flash)
    read_only = lead["converted_at"] is not None
    converted_links(lead)
    convert_button(user, db, lead)
    details, edit, newsletter, changes = st.tabs(["Details", "Edit", "Newsletter", "History"])
    with details:
        facts({
            "ID": lead["id"], "Email": lead["email"], "Secondary email": lead["secondary_email"],
            "Phone": lead["phone"], "Mobile": lead["mobile"], "Title": lead["title"],
            "Company": lead["company_name"], "Company email": lead["company_email"],
            "Company phone": lead["company_phone"], "Website": lead["website"],
            "Company address": lead["company_address"], "Industry": lead["industry"],
            "Company type": lead["company_type"], "Lead source": lead["lead_source"],
            "Country": lead["country"], "City": lead["city"], "Address": lead["address"],
            OWNER_LABEL: lead["manager"], "Department": lead["department"],
            "VIP": "Yes" if lead["vip"] else "No",
            "Disqualified": "Yes" if lead["disqualified"] else "No",
            "Date added": lead["created_at"], "Added by": lead["created_by_name"],
            "Last changed": lead["updated_at"], "Changed by": lead["modified_by_name"],
            "Description": lead["description"],
        })
        deals_table(user, db, lead_id=lead_id)
    with edit:
        if read_only:
            st.caption("This lead cannot be edited.")
        elif not can(user, Action.EDIT, Entity.LEAD):
            text.caption("{}", refusal(user, Action.EDIT, Entity.LEAD))
        else:
            seen = as_seen("lead", lead)
            edit_form_notes("lead", seen, lead)
            with st.form(f"edit_lead_{lead_id}_{seen['row_version']}"):
                values = person_inputs(f"edit_{lead_id}", db, seen, seen["department_id"],
                                       company_fields=True)
                if st.form_submit_button("Save", type="primary"):
                    changes_ = {k: v for k, v in values.items() if v != seen.get(k)}
                    attempt(lambda: leads.save_edits(
                        user, db, [RowEdit(lead_id, seen["row_version"], changes_)]),
                        FLASH, "Saved.", forget="lead")
    with newsletter:
        newsletter_tab(user, db, Entity.LEAD, lead, FLASH)
    with changes:
        history(leads.history(user, db, lead_id))
