"""The Add-contact dialog, the contact detail view, and tag management."""

from __future__ import annotations

from typing import Any

import streamlit as st

from crm.access import Action, Entity, can, can_manage_tags, refusal
from crm.identity.roles import OWNER_LABEL
from crm.identity.user import User
from crm.records import companies, contacts, tags, vocabulary
from crm.records.editing import RowEdit
from crm.storage.db import Database
from crm.ui import permitted, text
from crm.ui.conversion_forms import deals_table
from crm.ui.newsletter import badge_html
from crm.ui.newsletter_history import newsletter_tab
from crm.ui.person_form import person_inputs, stopped_by_duplicates
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

FLASH = "contact_flash"


@st.dialog("Add contact", width="large")
def add_contact_dialog(user: User, db: Database) -> None:
    department_id = department_for_new(user, db, "add_contact_dept",
                                       "Department (for a new company)")
    st.markdown("**Company**")
    mode = st.radio("Company", ["Existing company", "New company"], horizontal=True,
                    label_visibility="collapsed", key="add_contact_company_mode")
    new_company: dict[str, Any] | None = None
    industry_ids: list[int] = []
    values: dict[str, Any] = {}
    if mode == "Existing company":
        typed = st.text_input("Find a company", key="add_contact_company_search",
                              placeholder="Type part of the name")
        found = companies.choices(user, db, typed)
        values["company_id"] = choice("Company", found, None, "add_contact_company")
    else:
        a, b = st.columns(2)
        new_company = {"name": a.text_input("Company name", key="add_contact_new_name")}
        with b:
            new_company["country_code"] = choice("Company country", vocabulary.countries(db),
                                                 None, "add_contact_new_country")
        a, b = st.columns(2)
        new_company["website"] = a.text_input("Website", key="add_contact_new_web")
        with b:
            new_company["company_type_id"] = choice(
                "Company type", vocabulary.named(db, "company_types"), None,
                "add_contact_new_type")
        industries = vocabulary.named(db, "industries")
        industry_ids = st.multiselect("Industries", list(industries),
                                      format_func=industries.get, key="add_contact_new_ind")
    with st.form("add_contact"):
        values.update(person_inputs("add_contact", db, None, department_id))
        values["newsletter_opt_in"] = st.checkbox("Subscribed to the newsletter", True)
        confirm = st.checkbox("Save even if it looks like a duplicate")
        submitted = st.form_submit_button("Save contact", type="primary")
    if not submitted:
        return
    if stopped_by_duplicates(user, db, Entity.CONTACT, values, confirm):
        return
    attempt(lambda: contacts.create_contact(user, db, values, new_company=new_company,
                                            industry_ids=industry_ids,
                                            department_id=department_id),
            FLASH, "Contact added.")


def contact_detail(user: User, db: Database, raw_id: str) -> None:
    contact_id = record_id(raw_id)
    contact = contacts.get_contact(user, db, contact_id)
    st.page_link("pages/workspace/contacts.py", label="Back to contacts",
                 icon=":material/arrow_back:")
    if contact is None:
        text.error("Contact {} does not exist.", raw_id)
        return
    name = " ".join(p for p in (contact["first_name"], contact["middle_name"],
                                contact["last_name"]) if p)
    if name:
        text.title("{}", name)
    else:
        text.title("Contact {}", contact_id)
    badge_html(contact["newsletter"])
    if flash := st.session_state.pop(FLASH, None):
        text.success("{}", flash)
    details, edit, tag_tab, newsletter, changes = st.tabs(
        ["Details", "Edit", "Tags", "Newsletter", "History"])
    with details:
        facts({
            "ID": contact["id"], "Company": contact["company"], "Title": contact["title"],
            "Email": contact["email"], "Secondary email": contact["secondary_email"],
            "Phone": contact["phone"], "Mobile": contact["mobile"],
            "Country": contact["country"], "City": contact["city"],
            "Address": contact["address"], "Lead source": contact["lead_source"],
            "Tags": ", ".join(contact["tags"]), OWNER_LABEL: contact["manager"],
            "Department": contact["department"], "VIP": "Yes" if contact["vip"] else "No",
            "Disqualified": "Yes" if contact["disqualified"] else "No",
            "Date added": contact["created_at"], "Added by": contact["created_by_name"],
            "Last changed": contact["updated_at"], "Changed by": contact["modified_by_name"],
            "Description": contact["description"],
        })
        st.page_link("pages/workspace/companies.py", label=text.md("Open {}", contact["company"]),
                     query_params={"id": str(contact["company_id"])}, icon=":material/business:")
        if contact["source_lead_id"] is not None:
            st.page_link("pages/workspace/leads.py", label="Converted from a lead",
                         query_params={"id": str(contact["source_lead_id"])},
                         icon=":material/person_search:")
        deals_table(user, db, contact_id=contact_id)
    with edit:
        if not can(user, Action.EDIT, Entity.CONTACT):
            text.caption("{}", refusal(user, Action.EDIT, Entity.CONTACT))
        else:
            seen = as_seen("contact", contact)
            edit_form_notes("contact", seen, contact)
            with st.form(f"edit_contact_{contact_id}_{seen['row_version']}"):
                values = person_inputs(f"edit_{contact_id}", db, seen,
                                       seen["department_id"])
                if st.form_submit_button("Save", type="primary"):
                    changes = {k: v for k, v in values.items() if v != seen.get(k)}
                    attempt(lambda: contacts.save_edits(
                        user, db, [RowEdit(contact_id, seen["row_version"], changes)]),
                        FLASH, "Saved.", forget="contact")
    with tag_tab:
        every = tags.all_tags(db)
        by_name = {v: k for k, v in every.items()}
        current = [by_name[t] for t in contact["tags"] if t in by_name]
        chosen = st.multiselect("Tags", list(every), default=current, format_func=every.get,
                                key=f"contact_tags_{contact_id}")
        if permitted.button("Save tags", user, Action.TAG, Entity.CONTACT,
                            key=f"contact_tags_save_{contact_id}"):
            added = [t for t in chosen if t not in current]
            removed = [t for t in current if t not in chosen]

            def save() -> None:
                if added or removed:  # nothing changed: "saved", and nothing is written
                    tags.change_tags(user, db, add=added, remove=removed, ids=[contact_id])

            attempt(save, FLASH, "Tags saved.")
    with newsletter:
        newsletter_tab(user, db, Entity.CONTACT, contact, FLASH)
    with changes:
        history(contacts.history(user, db, contact_id))


def manage_tags(user: User, db: Database) -> None:
    """Create tags; rename and merge them (company-wide roles)."""
    with st.popover("Tags", icon=":material/sell:"):
        counts = tags.tag_counts(user, db)
        st.dataframe({"Tag": [r["name"] for r in counts],
                      "Contacts": [r["contacts"] for r in counts]}, hide_index=True)
        with st.form("tag_create", clear_on_submit=True):
            name = st.text_input("New tag")
            if permitted.form_submit("Create tag", user, Action.TAG, Entity.CONTACT):
                attempt(lambda: tags.create_tag(user, db, name), FLASH,
                        f"Tag “{name.strip()}” ready.")
        if not can_manage_tags(user):
            return
        every = {r["id"]: r["name"] for r in counts}
        with st.form("tag_rename"):
            which = st.selectbox("Rename tag", list(every), format_func=every.get)
            new_name = st.text_input("New name")
            if st.form_submit_button("Rename"):
                attempt(lambda: tags.rename_tag(user, db, which, new_name), FLASH,
                        "Tag renamed.")
        with st.form("tag_merge"):
            sources = st.multiselect("Merge these tags", list(every), format_func=every.get)
            target = st.selectbox("into", list(every), format_func=every.get)
            if st.form_submit_button("Merge"):
                attempt(lambda: tags.merge_tags(user, db, sources, target), FLASH,
                        "Tags merged.")


def pick_tags(_user: User, db: Database) -> list[int]:
    """The bulk bar's input for the tag actions."""
    every = tags.all_tags(db)
    return st.multiselect("Tags", list(every), format_func=every.get, key="contact_bulk_tags",
                          placeholder="Choose tags")
