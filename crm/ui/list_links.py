"""Opening the Leads or Contacts list with given filters: from a chart's bar, a link beside a
chart, or a saved segment. The list reads its filters from the URL on a new visit, so a link
is the list page plus the URL parameters `list_state.url_params` writes."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from crm.access import Entity
from crm.analysis.segments import spec_of
from crm.lists.listing import ListQuery
from crm.ui import text
from crm.ui.list_state import url_params

LIST_PAGES = {Entity.LEAD: "pages/workspace/leads.py",
              Entity.CONTACT: "pages/workspace/contacts.py"}


@dataclass(frozen=True)
class ListLink:
    """A list view to open: which list, and its filters and search."""

    entity: Entity
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    search: str = ""

    @property
    def page(self) -> str:
        return LIST_PAGES[self.entity]

    @property
    def params(self) -> dict[str, str]:
        return url_params(spec_of(self.entity),
                          ListQuery(filters=self.filters, search=self.search))

    def narrowed(self, **filters: str | None) -> ListLink:
        """The same view with more filters (a value of None leaves that filter out)."""
        more = {k: (v,) for k, v in filters.items() if v is not None}
        return ListLink(self.entity, {**self.filters, **more}, self.search)


def open_list(link: ListLink) -> None:
    """Switch to the list page showing `link` (ends this run)."""
    st.switch_page(link.page, query_params=link.params)


def link_to_list(link: ListLink, label: str) -> None:
    """A plain link to the list: works without a chart click, and opens in a new tab too."""
    st.page_link(page=link.page, label=text.plain(label), icon=":material/open_in_new:",
                 query_params=link.params, help="Opens the list with these filters set.")
