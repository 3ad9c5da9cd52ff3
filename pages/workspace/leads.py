"""Leads: the list (search, filters, sort, paging, inline edits, bulk actions), add, detail."""

import streamlit as st

from crm.access import Entity
from crm.records import leads
from crm.ui.conversion_forms import CONVERT_ACTION, conversion_report
from crm.ui.lead_forms import add_lead_dialog, lead_detail
from crm.ui.list_page import ListPage, render
from crm.ui.mailing_start import mass_mailing_action
from crm.ui.segment_forms import save_as_segment
from crm.ui.session import current_user, database


def buttons(user, db, query, total) -> None:
    """Save as segment, and the last bulk conversion's report."""
    segment_button, _ = st.columns([1.6, 6.4])
    with segment_button:
        save_as_segment(user, db, leads.LEADS, query, total)
    conversion_report(user, db, query, total)


render(
    ListPage(
        spec=leads.LEADS,
        title="Leads",
        save_edits=leads.save_edits,
        to_changes=leads.grid_changes,
        set_vip=leads.set_vip,
        add=add_lead_dialog,
        add_label="Add lead",
        importable=True,
        detail=lead_detail,
        extra_actions={"convert": CONVERT_ACTION,
                       "mass_mailing": mass_mailing_action(Entity.LEAD)},
        buttons=buttons,
    ),
    current_user(),
    database(),
)
