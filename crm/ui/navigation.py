"""The page list for a role. A page a role may not use is never registered for that user.

Public pages (an unsubscribe link, the request form) need no sign-in. They are addressed
by `?view=NAME` on the app's root URL, so app.py can run them before any sign-in logic: a
link in an email must work for someone who has never signed in, and also for a signed-in
user, without the sign-in form in the way.

Before sign-in every page's address is registered, but each one only shows the sign-in form:
a bookmarked or shared link (`/leads?country=FR`) keeps its path and query string through
the sign-in and then opens that page, if the user's role has it.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from crm.access import Action, Entity, can
from crm.common import links
from crm.identity.user import User

# view name (crm.common.links) -> (page script, title); each page reads its other query parameters.
PUBLIC_PAGES: dict[str, tuple[str, str]] = {
    links.UNSUBSCRIBE: ("pages/public/unsubscribe.py", "Newsletter"),
    links.REQUEST_FORM: ("pages/public/request.py", "Send us a request"),
}


@dataclass(frozen=True)
class PageSpec:
    script: str
    title: str
    icon: str
    url_path: str
    # The page is the user's when their role may do any of these (none: every role).
    needs: tuple[tuple[Action, Entity], ...] = ()

    def allowed(self, user: User) -> bool:
        return user.active and (not self.needs or any(can(user, a, e) for a, e in self.needs))


WORKSPACE = "Workspace"
ADMINISTRATION = "Administration"
SECTIONS: dict[str, tuple[PageSpec, ...]] = {
    WORKSPACE: (  # the first page is the default one, the first page after sign-in
        PageSpec("pages/workspace/overview.py", "Overview", ":material/dashboard:", "overview"),
        PageSpec("pages/workspace/leads.py", "Leads", ":material/person_search:", "leads",
                 ((Action.VIEW, Entity.LEAD),)),
        PageSpec("pages/workspace/contacts.py", "Contacts", ":material/contacts:", "contacts",
                 ((Action.VIEW, Entity.CONTACT),)),
        PageSpec("pages/workspace/companies.py", "Companies", ":material/business:",
                 "companies", ((Action.VIEW, Entity.COMPANY),)),
        PageSpec("pages/workspace/requests.py", "Requests", ":material/inbox:", "requests",
                 ((Action.VIEW, Entity.REQUEST),)),
        PageSpec("pages/workspace/segments.py", "Segments", ":material/bookmarks:", "segments"),
        PageSpec("pages/workspace/imports.py", "Import", ":material/upload:", "import",
                 ((Action.IMPORT, Entity.LEAD), (Action.IMPORT, Entity.CONTACT))),
        PageSpec("pages/workspace/mailings.py", "Mailings", ":material/campaign:", "mailings"),
    ),
    ADMINISTRATION: (
        PageSpec("pages/admin/users.py", "Users & departments", ":material/group:", "admin",
                 ((Action.MANAGE, Entity.USER),)),
    ),
}


def public_page() -> st.Page | None:
    """The public page the URL asks for (`?view=NAME`), or None."""
    found = PUBLIC_PAGES.get(st.query_params.get("view", ""))
    if found is None:
        return None
    path, title = found
    return st.Page(path, title=title, default=True)


def sections_for(user: User) -> dict[str, tuple[PageSpec, ...]]:
    """The sections and pages this user's role may use."""
    found = {name: tuple(spec for spec in specs if spec.allowed(user))
             for name, specs in SECTIONS.items()}
    return {name: specs for name, specs in found.items() if specs}


def pages_for(user: User) -> dict[str, list[st.Page]]:
    """The navigation of this user's pages. The default page is served at the app's root;
    its own address (`/overview`, typed or bookmarked) opens it too, through a hidden twin
    (Streamlit answers a default page's url_path with "Page not found")."""
    sections = {
        name: [st.Page(spec.script, title=spec.title, icon=spec.icon,
                       url_path=f"{spec.url_path}-home" if (name, index) == (WORKSPACE, 0)
                       else spec.url_path,
                       default=(name, index) == (WORKSPACE, 0))
               for index, spec in enumerate(specs)]
        for name, specs in sections_for(user).items()
    }
    home = SECTIONS[WORKSPACE][0]
    sections[WORKSPACE].append(st.Page(home.script, title=home.title, icon=home.icon,
                                       url_path=home.url_path, visibility="hidden"))
    return sections


def _sign_in_only() -> None:
    """What every address shows before sign-in: the form app.py has drawn already."""


def sign_in_pages() -> list[st.Page]:
    """Every page's address, none of its content: the sign-in form for all of them."""
    pages = [st.Page(_sign_in_only, title="Sign in", url_path="sign-in", default=True)]
    pages += [st.Page(_sign_in_only, title="Sign in", url_path=spec.url_path)
              for specs in SECTIONS.values() for spec in specs]
    return pages
