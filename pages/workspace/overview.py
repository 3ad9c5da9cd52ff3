"""Overview: what the signed-in user's scope holds."""

import streamlit as st

from crm.access import sees_all_departments
from crm.overview import scope_figures
from crm.ui.newsletter import badge_html
from crm.ui.session import current_user, database

user = current_user()
figures = scope_figures(user, database())

st.title("Overview")
where = (
    "all departments" if sees_all_departments(user) else f"the {user.department_name} department"
)
st.caption(f"Records you can work with: {where}.")

cols = st.columns(4)
cols[0].metric("Leads", f"{figures.leads:,}", help="All leads in your scope")
cols[1].metric("Open leads", f"{figures.open_leads:,}", help="Not disqualified, not converted")
cols[2].metric("Contacts", f"{figures.contacts:,}")
cols[3].metric("Companies", f"{figures.companies:,}")

st.subheader("Contacts by newsletter status")
st.markdown(
    "<br>".join(badge_html(status, count) for status, count in figures.contact_status.items()),
    unsafe_allow_html=True,
)
st.caption(f"VIP contacts: {figures.vip_contacts:,}")
