"""Starting a mass mailing from a list: the one entry point every list uses.

`start_mailing(entity, query, ids)` keeps the selection (checked IDs, or None for every row
matching `query`) in the session and opens the compose screen on the Mailings page. The bulk
action of leads and contacts, the contacts' "Make massmail" button and saved segments call it.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from crm.access import Action, Entity
from crm.identity.user import User
from crm.lists.listing import ListQuery
from crm.mailing.recipients import Selection
from crm.storage.db import Database
from crm.ui import permitted, text
from crm.ui.bulk_actions import ExtraAction

MAILINGS_PAGE = "pages/workspace/mailings.py"
SELECTION_KEY = "mailing_selection"


def start_mailing(entity: Entity | str, query: ListQuery | None = None,
                  ids: Sequence[int] | None = None) -> None:
    """Open the compose screen for these people (this call does not return)."""
    st.session_state[SELECTION_KEY] = Selection(
        Entity(entity), query or ListQuery(), None if ids is None else tuple(int(i) for i in ids))
    st.switch_page(MAILINGS_PAGE)


def pending_selection() -> Selection | None:
    found = st.session_state.get(SELECTION_KEY)
    return found if isinstance(found, Selection) else None


def forget_selection() -> None:
    st.session_state.pop(SELECTION_KEY, None)


def mass_mailing_action(entity: Entity) -> ExtraAction:
    """The bulk bar's "Make massmail": on the checked rows or on all matching."""

    def run(user: User, db: Database, query: ListQuery, ids: Sequence[int] | None,
            _parameter: object) -> str:
        start_mailing(entity, query, ids)
        return ""

    return ExtraAction("Make massmail", run, action=Action.MAIL)


def massmail_button(user: User, entity: Entity, query: ListQuery, total: int) -> None:
    """"Make massmail": a mailing to everyone matching the current filters, however many."""
    noun = "contact" if total == 1 else "contacts"
    if permitted.button("Make massmail", user, Action.MAIL, entity, icon=":material/campaign:",
                        key=f"{entity.value}_massmail", disabled=total == 0,
                        help=text.md("A mass mailing to the {:,} matching {} (those who can "
                                     "be mailed; the next screen says who is left out and "
                                     "why)", total, noun)):
        start_mailing(entity, query, None)
