"""Mailings: compose a new mass mailing from a selection, the list of campaigns, one campaign
(preview, send with progress, recipients and problems)."""

import streamlit as st

from crm.ui.mailing_compose import compose_view
from crm.ui.mailing_start import pending_selection
from crm.ui.mailing_views import mailing_detail, mailing_list
from crm.ui.session import current_user, database

user, db = current_user(), database()
selection = pending_selection()
if selection is not None:
    compose_view(user, db, selection)
elif "id" in st.query_params:
    mailing_detail(user, db, st.query_params["id"])
else:
    mailing_list(user, db)
