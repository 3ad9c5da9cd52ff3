"""The Add-lead dialog and the lead detail view (every field, edit, history)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from crm import leads, vocabulary
from crm.access import Action, Entity, can, sees_all_departments
from crm.db import Database
from crm.editing import EditRejected, RowEdit
from crm.ui.newsletter import badge_html
from crm.users import User, eligible_owners, list_departments


def _choice(label: str, options: dict[Any, str], current: Any = None, key: str = "") -> Any:
    values = [None, *options]
    index = values.index(current) if current in values else 0
    return st.selectbox(label, values, index=index, key=key or None,
                        format_func=lambda v: "—" if v is None else options[v])


def _person_fields(prefix: str, db: Database, current: dict[str, Any] | None = None,
                   department_id: int | None = None) -> dict[str, Any]:
    """The lead form's inputs; returns field -> value."""
    c = current or {}
    values: dict[str, Any] = {}
    a, b, d = st.columns(3)
    values["first_name"] = a.text_input("First name", c.get("first_name", ""))
    values["middle_name"] = b.text_input("Middle name", c.get("middle_name", ""))
    values["last_name"] = d.text_input("Last name", c.get("last_name", ""))
    a, b = st.columns(2)
    values["title"] = a.text_input("Title", c.get("title", ""))
    values["email"] = b.text_input("Email", c.get("email", ""))
    a, b, d = st.columns(3)
    values["phone"] = a.text_input("Phone", c.get("phone", ""))
    values["mobile"] = b.text_input("Mobile", c.get("mobile", ""))
    values["secondary_email"] = d.text_input("Secondary email", c.get("secondary_email", ""))
    st.markdown("**Company**")
    a, b = st.columns(2)
    values["company_name"] = a.text_input("Company name", c.get("company_name", ""))
    values["website"] = b.text_input("Website", c.get("website", ""))
    a, b = st.columns(2)
    values["company_email"] = a.text_input("Company email", c.get("company_email", ""))
    values["company_phone"] = b.text_input("Company phone", c.get("company_phone", ""))
    values["company_address"] = st.text_input("Company address", c.get("company_address", ""))
    a, b, d = st.columns(3)
    with a:
        values["industry_id"] = _choice("Industry", vocabulary.named(db, "industries"),
                                        c.get("industry_id"), f"{prefix}_industry")
    with b:
        values["company_type_id"] = _choice("Company type", vocabulary.named(db, "company_types"),
                                            c.get("company_type_id"), f"{prefix}_type")
    with d:
        values["lead_source_id"] = _choice("Lead source", vocabulary.named(db, "lead_sources"),
                                           c.get("lead_source_id"), f"{prefix}_source")
    st.markdown("**Location and notes**")
    a, b = st.columns(2)
    with a:
        values["country_code"] = _choice("Country", vocabulary.countries(db),
                                         c.get("country_code"), f"{prefix}_country")
    values["city"] = b.text_input("City", c.get("city", ""))
    values["address"] = st.text_input("Address", c.get("address", ""))
    values["description"] = st.text_area("Description", c.get("description", ""))
    owners = {u.id: u.full_name for u in eligible_owners(db, department_id)}
    a, b, d = st.columns(3)
    with a:
        values["owner_id"] = _choice("Assigned manager", owners, c.get("owner_id"),
                                     f"{prefix}_owner")
    values["vip"] = b.checkbox("VIP", bool(c.get("vip", False)))
    values["disqualified"] = d.checkbox("Disqualified", bool(c.get("disqualified", False)))
    return values


@st.dialog("Add lead", width="large")
def add_lead_dialog(user: User, db: Database) -> None:
    department_id = user.department_id
    if sees_all_departments(user):
        departments = {d["id"]: d["name"] for d in list_departments(db)}
        department_id = _choice("Department", departments, user.department_id, "add_lead_dept")
    with st.form("add_lead"):
        values = _person_fields("add_lead", db, department_id=department_id)
        values["newsletter_opt_in"] = st.checkbox("Subscribed to the newsletter", True)
        confirm = st.checkbox("Save even if it looks like a duplicate", key="add_lead_confirm")
        submitted = st.form_submit_button("Save lead", type="primary")
    if not submitted:
        return
    duplicates = leads.likely_duplicates(
        user, db, email=values["email"], first_name=values["first_name"],
        last_name=values["last_name"], phone=values["phone"] or values["mobile"])
    if duplicates and not confirm:
        st.warning("This looks like a lead you already have. Open it, or tick “Save even if "
                   "it looks like a duplicate”.")
        for dup in duplicates:
            st.markdown(f"- [{dup.name or 'Lead'} (ID {dup.id})](?id={dup.id}) · {dup.reason}")
        return
    try:
        new_id = leads.create_lead(user, db, values, department_id=department_id)
    except EditRejected as rejected:
        for problem in rejected.problems:
            st.error(problem.message)
        return
    st.session_state["lead_flash"] = f"Lead {new_id} added."
    st.rerun()


def lead_detail(user: User, db: Database, raw_id: str) -> None:
    try:
        lead_id = int(str(raw_id).lstrip("#"))
    except ValueError:
        lead_id = -1
    lead = leads.get_lead(user, db, lead_id)
    st.page_link("pages/workspace/leads.py", label="Back to leads", icon=":material/arrow_back:")
    if lead is None:
        st.error(f"Lead {raw_id} does not exist.")
        return
    name = " ".join(p for p in (lead["first_name"], lead["middle_name"], lead["last_name"]) if p)
    st.title(name or f"Lead {lead_id}")
    st.markdown(badge_html(lead["newsletter"]), unsafe_allow_html=True)
    if flash := st.session_state.pop("lead_flash", None):
        st.success(flash)
    read_only = lead["converted_at"] is not None
    if read_only:
        st.info("This lead was converted and is kept read-only as history.")
    overview, edit, history = st.tabs(["Details", "Edit", "History"])
    with overview:
        facts = {
            "ID": lead["id"], "Email": lead["email"], "Secondary email": lead["secondary_email"],
            "Phone": lead["phone"], "Mobile": lead["mobile"], "Title": lead["title"],
            "Company": lead["company_name"], "Company email": lead["company_email"],
            "Company phone": lead["company_phone"], "Website": lead["website"],
            "Company address": lead["company_address"], "Industry": lead["industry"],
            "Company type": lead["company_type"], "Lead source": lead["lead_source"],
            "Country": lead["country"], "City": lead["city"], "Address": lead["address"],
            "Assigned manager": lead["manager"], "Department": lead["department"],
            "VIP": "Yes" if lead["vip"] else "No",
            "Disqualified": "Yes" if lead["disqualified"] else "No",
            "Date added": lead["created_at"], "Added by": lead["created_by_name"],
            "Last changed": lead["updated_at"], "Changed by": lead["modified_by_name"],
            "Description": lead["description"],
        }
        st.dataframe(pd.DataFrame({"Field": list(facts),
                                   "Value": ["" if v is None else str(v) for v in facts.values()]}),
                     hide_index=True, width="stretch", height=38 + 35 * len(facts))
    with edit:
        if read_only or not can(user, Action.EDIT, Entity.LEAD):
            st.caption("This lead cannot be edited.")
        else:
            with st.form(f"edit_lead_{lead_id}_{lead['row_version']}"):
                values = _person_fields(f"edit_{lead_id}", db, lead, lead["department_id"])
                if st.form_submit_button("Save", type="primary"):
                    changes = {k: v for k, v in values.items() if v != lead.get(k)}
                    try:
                        saved = leads.save_edits(
                            user, db, [RowEdit(lead_id, lead["row_version"], changes)])
                    except EditRejected as rejected:
                        for problem in rejected.problems:
                            st.error(problem.message)
                    else:
                        st.session_state["lead_flash"] = ("Saved." if saved else
                                                          "Nothing changed.")
                        st.rerun()
    with history:
        rows = leads.history(user, db, lead_id)
        if not rows:
            st.caption("No changes recorded yet.")
        else:
            st.dataframe(pd.DataFrame(rows).rename(columns={
                "changed_at": "When", "changed_by": "Who", "action": "Action",
                "field": "Field", "old_value": "Before", "new_value": "After"}),
                hide_index=True, width="stretch")
