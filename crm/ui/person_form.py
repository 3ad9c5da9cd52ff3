"""The person fields of the lead and contact forms (one form, two entities)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from crm.access import Entity
from crm.access.users import eligible_owners
from crm.identity.roles import OWNER_LABEL
from crm.identity.user import User
from crm.records import people, vocabulary
from crm.storage.db import Database
from crm.ui import text
from crm.ui.record_view import choice


def person_inputs(prefix: str, db: Database, current: dict[str, Any] | None,
                  department_id: int | None,
                  company_fields: bool = False) -> dict[str, Any]:
    """Inputs for a person; `company_fields` adds a lead's free-text company block."""
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
    if company_fields:
        values.update(_lead_company_inputs(prefix, db, c))
    a, b, d = st.columns(3)
    with a:
        values["country_code"] = choice("Country", vocabulary.countries(db),
                                        c.get("country_code"), f"{prefix}_country")
    values["city"] = b.text_input("City", c.get("city", ""))
    with d:
        values["lead_source_id"] = choice("Lead source", vocabulary.named(db, "lead_sources"),
                                          c.get("lead_source_id"), f"{prefix}_source")
    values["address"] = st.text_input("Address", c.get("address", ""))
    values["description"] = st.text_area("Description", c.get("description", ""))
    a, b, d = st.columns(3)
    with a:
        owners = {u.id: u.full_name for u in eligible_owners(db, department_id)}
        values["owner_id"] = choice(OWNER_LABEL, owners, c.get("owner_id"),
                                    f"{prefix}_owner")
    values["vip"] = b.checkbox("VIP", bool(c.get("vip", False)))
    values["disqualified"] = d.checkbox("Disqualified", bool(c.get("disqualified", False)))
    return values


def _lead_company_inputs(prefix: str, db: Database, c: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    st.markdown("**Company**")
    a, b = st.columns(2)
    values["company_name"] = a.text_input("Company name", c.get("company_name", ""))
    values["website"] = b.text_input("Website", c.get("website", ""))
    a, b = st.columns(2)
    values["company_email"] = a.text_input("Company email", c.get("company_email", ""))
    values["company_phone"] = b.text_input("Company phone", c.get("company_phone", ""))
    values["company_address"] = st.text_input("Company address", c.get("company_address", ""))
    a, b = st.columns(2)
    with a:
        values["industry_id"] = choice("Industry", vocabulary.named(db, "industries"),
                                       c.get("industry_id"), f"{prefix}_industry")
    with b:
        values["company_type_id"] = choice("Company type",
                                           vocabulary.named(db, "company_types"),
                                           c.get("company_type_id"), f"{prefix}_type")
    st.markdown("**Location and notes**")
    return values


def stopped_by_duplicates(user: User, db: Database, entity: Entity,
                          values: dict[str, Any], confirmed: bool) -> bool:
    """Warn of likely duplicates (with links) unless the user confirmed; True stops the save."""
    if confirmed:
        return False
    found = people.likely_duplicates(
        user, db, entity, email=values["email"], first_name=values["first_name"],
        last_name=values["last_name"], phone=values["phone"] or values["mobile"])
    if not found:
        return False
    noun = entity.value
    text.warning("This looks like a {} you already have. Open it, or tick “Save even if it "
                 "looks like a duplicate”.", noun)
    for dup in found:
        text.markdown("- [{name} (ID {id})](?id={id}) · {reason}",
                      name=dup.name or noun.capitalize(), id=dup.id, reason=dup.reason)
    return True
