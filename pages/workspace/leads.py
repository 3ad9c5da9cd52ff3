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


def column_config(context: dict) -> dict:
    return {
        "name": st.column_config.TextColumn("Name", width="medium"),
        "email": st.column_config.TextColumn("Email", width="medium"),
        "phone": st.column_config.TextColumn("Phone"),
        "company": st.column_config.TextColumn("Company", width="medium"),
        "manager": st.column_config.SelectboxColumn("Assigned manager",
                                                    options=context["manager_names"]),
        "country": st.column_config.TextColumn("Country"),
        "newsletter": st.column_config.TextColumn("Newsletter"),
        "created_at": st.column_config.DatetimeColumn("Date added", format="YYYY-MM-DD"),
        "vip": st.column_config.CheckboxColumn("VIP", width=50),
        "disqualified": st.column_config.CheckboxColumn("Disqualified", width=90),
        "status": st.column_config.TextColumn(
            "Status", width="small", help="Converted leads are kept read-only as history"),
    }


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
        grid_order=["link", "icon", "name", "email", "phone", "company", "manager", "country",
                    "newsletter", "created_at", "status", "vip", "disqualified"],
        column_config=column_config,
        editable=leads.GRID_EDITABLE_COLUMNS,
        export_columns=leads.EXPORT_COLUMNS,
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
