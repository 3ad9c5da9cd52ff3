"""Contacts: the list with company and tag filters, tags, add, detail; exports hold only the
contacts assigned to the exporting user."""

import streamlit as st

from crm.access import Action, Entity
from crm.records import contacts, tags
from crm.ui.bulk_actions import ExtraAction
from crm.ui.contact_forms import add_contact_dialog, contact_detail, manage_tags, pick_tags
from crm.ui.list_page import ListPage, render
from crm.ui.mailing_start import mass_mailing_action, massmail_button
from crm.ui.segment_forms import save_as_segment
from crm.ui.session import current_user, database


def tag_action(adding: bool):
    def run(user, db, query, ids, tag_ids) -> str:
        change = tags.add_tags if adding else tags.remove_tags
        count = change(user, db, tag_ids or [], query=query, ids=ids)
        verb, preposition = ("Added", "to") if adding else ("Removed", "from")
        return f"{verb} {count:,} tag(s) {preposition} contacts."
    return run


def buttons(user, db, query, total) -> None:
    """Tags, Make massmail for everyone the filters match, and Save as segment."""
    tags_button, massmail, segment_button, _ = st.columns([1, 1.6, 1.6, 3.4])
    with tags_button:
        manage_tags(user, db)
    with massmail:
        massmail_button(user, Entity.CONTACT, query, total)
    with segment_button:
        save_as_segment(user, db, contacts.CONTACTS, query, total)


render(
    ListPage(
        spec=contacts.CONTACTS,
        title="Contacts",
        save_edits=contacts.save_edits,
        to_changes=contacts.grid_changes,
        set_vip=contacts.set_vip,
        add=add_contact_dialog,
        add_label="Add contact",
        importable=True,
        detail=contact_detail,
        extra_actions={
            "add_tags": ExtraAction("Add tags", tag_action(True), pick_tags, action=Action.TAG),
            "remove_tags": ExtraAction("Remove tags", tag_action(False), pick_tags,
                                       action=Action.TAG),
            "mass_mailing": mass_mailing_action(Entity.CONTACT),
        },
        buttons=buttons,
    ),
    current_user(),
    database(),
)
