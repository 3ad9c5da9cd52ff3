"""A person's Newsletter tab: the status, its history (subscription events and mailings
received), unsubscribe on request (staff) and subscribe again with a reason (admins)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm.access import Action, Entity, can_resubscribe_others
from crm.identity.user import User
from crm.mailing import campaigns, subscriptions
from crm.records.newsletter import NewsletterStatus
from crm.storage.db import Database
from crm.ui import permitted
from crm.ui.newsletter import badge_html
from crm.ui.record_view import attempt

EVENT_LABELS = {"subscribed": "Subscribed", "unsubscribed": "Unsubscribed",
                "resubscribed": "Subscribed again"}


def newsletter_tab(user: User, db: Database, entity: Entity, person: dict,
                   flash_key: str) -> None:
    status = NewsletterStatus(person["newsletter"])
    badge_html(status, meaning=True)
    _actions(user, db, entity, person, flash_key)
    st.markdown("**Subscription history**")
    events = subscriptions.events(user, db, entity, person["id"])
    if events:
        st.dataframe(pd.DataFrame({
            "When": [e["occurred_at"] for e in events],
            "What": [EVENT_LABELS.get(e["event"], e["event"]) for e in events],
            "How": [_source(e["source"]) for e in events],
            "By": [e["by_user"] for e in events],
            "Note": [e["note"] for e in events],
        }), hide_index=True, width="stretch")
    else:
        st.caption("No subscription recorded (never opted in).")
    st.markdown("**Mailings received**")
    received = campaigns.mailings_received(user, db, entity, person["id"])
    if received:
        st.dataframe(pd.DataFrame({
            "Mailing": [r["name"] for r in received],
            "Subject": [r["subject"] for r in received],
            "Status": [campaigns.RECIPIENT_LABELS.get(r["status"], r["status"])
                       for r in received],
            "Sent": [r["sent_at"] for r in received],
            "To": [r["email"] for r in received],
        }), hide_index=True, width="stretch")
    else:
        st.caption("None yet.")


def _actions(user: User, db: Database, entity: Entity, person: dict, flash_key: str) -> None:
    key = f"{entity.value}_{person['id']}"
    if person["newsletter_opt_in"]:
        with st.expander("Unsubscribe on their request"):
            note = st.text_input("Note (how they asked)", key=f"unsub_note_{key}")
            if permitted.button("Unsubscribe", user, Action.EDIT, entity, key=f"unsub_{key}"):
                attempt(lambda: subscriptions.unsubscribe(user, db, entity, person["id"],
                                                          note=note),
                        flash_key, "Unsubscribed from the newsletter.")
    elif can_resubscribe_others(user):
        with st.expander("Subscribe again"):
            reason = st.text_input("Reason (required)", key=f"resub_reason_{key}",
                                   placeholder="Asked by phone on 3 March")
            if st.button("Subscribe again", key=f"resub_{key}"):
                attempt(lambda: subscriptions.resubscribe(user, db, entity, person["id"],
                                                          reason=reason),
                        flash_key, "Subscribed to the newsletter again.")
    else:
        st.caption("Only the person (through the link in any newsletter) or an admin can "
                   "subscribe them again.")


def _source(source: str) -> str:
    if source.startswith("import:"):
        return f"import batch {source.removeprefix('import:')}"
    return subscriptions.SOURCE_LABELS.get(source, source)
