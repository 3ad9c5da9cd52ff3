"""The page list for a role. A page a role may not use is never registered for that user.

Public pages (an unsubscribe link, the request form) need no sign-in. They are addressed
by `?view=NAME` on the app's root URL, so app.py can run them before any sign-in logic: a
link in an email must work for someone who has never signed in, and also for a signed-in
user, without the sign-in form in the way.
"""

from __future__ import annotations

import streamlit as st

from crm import links
from crm.access import can_manage_users
from crm.users import User

# view name (crm.links) -> (page script, title); each page reads its other query parameters.
PUBLIC_PAGES: dict[str, tuple[str, str]] = {
    links.UNSUBSCRIBE: ("pages/public/unsubscribe.py", "Newsletter"),
    links.REQUEST_FORM: ("pages/public/request.py", "Send us a request"),
}


def public_page() -> st.Page | None:
    """The public page the URL asks for (`?view=NAME`), or None."""
    found = PUBLIC_PAGES.get(st.query_params.get("view", ""))
    if found is None:
        return None
    path, title = found
    return st.Page(path, title=title, default=True)


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
            st.Page("pages/workspace/requests.py", title="Requests", icon=":material/inbox:",
                    url_path="requests"),
            st.Page("pages/workspace/segments.py", title="Segments",
                    icon=":material/bookmarks:", url_path="segments"),
            st.Page("pages/workspace/imports.py", title="Import", icon=":material/upload:",
                    url_path="import"),
            st.Page("pages/workspace/mailings.py", title="Mailings", icon=":material/campaign:",
                    url_path="mailings"),
        ],
    }
    if can_manage_users(user):
        sections["Administration"] = [
            st.Page("pages/admin/users.py", title="Users & departments", icon=":material/group:",
                    url_path="admin"),
        ]
    return sections
