"""The Add-company dialog and the company detail view (with its contacts)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from crm.access import Action, Entity, can, refusal
from crm.access.users import eligible_owners
from crm.identity.roles import OWNER_LABEL
from crm.identity.user import User
from crm.records import companies, vocabulary
from crm.records.editing import EditRejected, RowEdit
from crm.storage.db import Database
from crm.ui import text
from crm.ui.record_view import (
    as_seen,
    attempt,
    choice,
    department_for_new,
    edit_form_notes,
    facts,
    history,
    record_id,
)

FLASH = "company_flash"


def _inputs(prefix: str, db: Database, current: dict[str, Any] | None,
            department_id: int | None) -> dict[str, Any]:
    c = current or {}
    values: dict[str, Any] = {}
    a, b = st.columns(2)
    values["name"] = a.text_input("Name", c.get("name", ""))
    values["alternative_names"] = b.text_input("Alternative names",
                                               c.get("alternative_names", ""))
    a, b, d = st.columns(3)
    values["website"] = a.text_input("Website", c.get("website", ""))
    values["email"] = b.text_input("Email", c.get("email", ""))
    values["phone"] = d.text_input("Phone", c.get("phone", ""))
    a, b = st.columns(2)
    with a:
        values["country_code"] = choice("Country", vocabulary.countries(db),
                                        c.get("country_code"), f"{prefix}_country")
    values["city"] = b.text_input("City", c.get("city", ""))
    values["address"] = st.text_input("Address", c.get("address", ""))
    a, b = st.columns(2)
    with a:
        values["company_type_id"] = choice("Company type",
                                           vocabulary.named(db, "company_types"),
                                           c.get("company_type_id"), f"{prefix}_type")
    with b:
        owners = {u.id: u.full_name for u in eligible_owners(db, department_id)}
        values["owner_id"] = choice(OWNER_LABEL, owners, c.get("owner_id"),
                                    f"{prefix}_owner")
    return values


@st.dialog("Add company", width="large")
def add_company_dialog(user: User, db: Database) -> None:
    department_id = department_for_new(user, db, "add_company_dept")
    industries = vocabulary.named(db, "industries")
    with st.form("add_company"):
        values = _inputs("add_company", db, None, department_id)
        industry_ids = st.multiselect("Industries", list(industries), format_func=industries.get)
        submitted = st.form_submit_button("Save company", type="primary")
    if not submitted:
        return
    try:
        new_id = companies.create_company(user, db, values, industry_ids=industry_ids,
                                          department_id=department_id)
    except companies.DuplicateCompany as clash:
        text.warning("{}", clash)
        if clash.same.id is not None:
            text.markdown("[Open the existing company](?id={})", clash.same.id)
        return
    except EditRejected as rejected:
        for problem in rejected.problems:
            text.error("{}", problem.message)
        return
    st.session_state[FLASH] = f"Company {new_id} added."
    st.rerun()


def company_detail(user: User, db: Database, raw_id: str) -> None:
    company_id = record_id(raw_id)
    company = companies.get_company(user, db, company_id)
    st.page_link("pages/workspace/companies.py", label="Back to companies",
                 icon=":material/arrow_back:")
    if company is None:
        text.error("Company {} does not exist.", raw_id)
        return
    text.title("{}", company["name"])
    if flash := st.session_state.pop(FLASH, None):
        text.success("{}", flash)
    details, people, edit, changes = st.tabs(["Details", "Contacts", "Edit", "History"])
    with details:
        facts({
            "ID": company["id"], "Alternative names": company["alternative_names"],
            "Industries": company["industries"], "Company type": company["company_type"],
            "Website": company["website"], "Email": company["email"],
            "Phone": company["phone"], "Country": company["country"],
            "City": company["city"], "Address": company["address"],
            OWNER_LABEL: company["manager"], "Department": company["department"],
            "Date added": company["created_at"], "Last changed": company["updated_at"],
        })
    with people:
        rows = companies.company_contacts(user, db, company_id)
        if rows:
            frame = pd.DataFrame(rows)
            frame["link"] = [f"/contacts?id={i}" for i in frame["id"]]
            st.dataframe(frame[["link", "name", "title", "email", "phone", "manager"]],
                         hide_index=True, width="stretch", column_config={
                             "link": st.column_config.LinkColumn(
                                 "ID", display_text=r"id=(\d+)"),
                             "name": "Name", "title": "Title", "email": "Email",
                             "phone": "Phone", "manager": OWNER_LABEL})
        else:
            st.caption("No contacts at this company that you can see.")
    with edit:
        if not can(user, Action.EDIT, Entity.COMPANY):
            text.caption("{}", refusal(user, Action.EDIT, Entity.COMPANY))
        else:
            industries = vocabulary.named(db, "industries")
            seen = as_seen("company", company)
            edit_form_notes("company", seen, company)
            with st.form(f"edit_company_{company_id}_{seen['row_version']}"):
                values = _inputs(f"edit_company_{company_id}", db, seen,
                                 seen["department_id"])
                chosen = st.multiselect("Industries", list(industries),
                                        default=seen["industry_ids"],
                                        format_func=industries.get)
                if st.form_submit_button("Save", type="primary"):
                    changes_ = {k: v for k, v in values.items() if v != seen.get(k)}
                    attempt(lambda: companies.save_company(
                        user, db, RowEdit(company_id, seen["row_version"], changes_), chosen),
                        FLASH, "Saved.", forget="company")
    with changes:
        history(companies.history(user, db, company_id))
