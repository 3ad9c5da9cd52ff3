"""The page list for a role. A page a role may not use is never registered for that user."""

from __future__ import annotations

import streamlit as st

from crm.access import can_manage_users
from crm.users import User


def pages_for(user: User) -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {
        "Workspace": [
            st.Page("pages/workspace/overview.py", title="Overview", icon=":material/dashboard:",
                    url_path="overview", default=True),
            st.Page("pages/workspace/leads.py", title="Leads", icon=":material/person_search:",
                    url_path="leads"),
            st.Page("pages/workspace/contacts.py", title="Contacts", icon=":material/contacts:",
                    url_path="contacts"),
            st.Page("pages/workspace/companies.py", title="Companies",
                    icon=":material/business:", url_path="companies"),
            st.Page("pages/workspace/imports.py", title="Import", icon=":material/upload:",
                    url_path="import"),
        ],
    }
    if can_manage_users(user):
        sections["Administration"] = [
            st.Page("pages/admin/users.py", title="Users & departments", icon=":material/group:",
                    url_path="admin"),
        ]
    return sections
