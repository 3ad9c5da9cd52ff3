"""Companies: the list (industry, type, country, contacts, manager), add, detail with contacts."""

import streamlit as st

from crm.records import companies
from crm.ui.company_forms import add_company_dialog, company_detail
from crm.ui.list_page import ListPage, render
from crm.ui.session import current_user, database


def column_config(context: dict) -> dict:
    return {
        "name": st.column_config.TextColumn("Name", width="large"),
        "industry": st.column_config.TextColumn("Industry", width="medium"),
        "company_type": st.column_config.TextColumn("Company type"),
        "country": st.column_config.TextColumn("Country"),
        "contacts": st.column_config.NumberColumn("Contacts", width="small"),
        "manager": st.column_config.SelectboxColumn("Assigned manager",
                                                    options=context["manager_names"]),
        "created_at": st.column_config.DatetimeColumn("Date added", format="YYYY-MM-DD"),
    }


render(
    ListPage(
        spec=companies.COMPANIES,
        title="Companies",
        grid_order=["link", "name", "industry", "company_type", "country", "contacts",
                    "manager", "created_at"],
        column_config=column_config,
        editable=companies.GRID_EDITABLE_COLUMNS,
        export_columns=companies.EXPORT_COLUMNS,
        save_edits=companies.save_edits,
        to_changes=companies.grid_changes,
        set_vip=None,
        add=add_company_dialog,
        add_label="Add company",
        detail=company_detail,
    ),
    current_user(),
    database(),
)
