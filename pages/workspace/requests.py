"""Requests: incoming commercial requests (web form, entered by hand, imported), what each
matches in the CRM, and Create deal, which links or creates the contact or lead."""

import streamlit as st

from crm.pipeline import requests
from crm.ui.list_page import ListPage, render
from crm.ui.request_forms import DISMISS_ACTION, add_request_dialog, request_detail, toolbar
from crm.ui.session import current_user, database


def column_config(context: dict) -> dict:
    return {
        "created_at": st.column_config.DatetimeColumn("Received", format="YYYY-MM-DD HH:mm"),
        "name": st.column_config.TextColumn("Name", width="medium"),
        "email": st.column_config.TextColumn("Email", width="medium"),
        "company": st.column_config.TextColumn("Company", width="medium"),
        "country": st.column_config.TextColumn("Country"),
        "subject": st.column_config.TextColumn("Subject", width="medium"),
        "source": st.column_config.TextColumn("Lead source"),
        "channel": st.column_config.TextColumn("Channel"),
        "status": st.column_config.TextColumn("Status"),
        "manager": st.column_config.TextColumn("Assigned manager"),
        "matches": st.column_config.TextColumn(
            "Matches", help="An existing contact, open lead or company of the department with "
                            "the same email, company name or mail domain"),
    }


render(
    ListPage(
        spec=requests.REQUESTS,
        title="Requests",
        grid_order=["link", "created_at", "name", "company", "matches", "subject", "status",
                    "email", "country", "source", "channel", "manager"],
        column_config=column_config,
        editable=(),
        export_columns=requests.EXPORT_COLUMNS,
        save_edits=lambda user, db, edits: 0,
        to_changes=lambda values, owners: values,
        set_vip=None,
        add=add_request_dialog,
        add_label="Add request",
        detail=request_detail,
        extra_actions={"dismiss": DISMISS_ACTION},
        buttons=toolbar,
    ),
    current_user(),
    database(),
)
