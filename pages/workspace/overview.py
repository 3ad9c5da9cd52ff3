"""Overview: charts of what the signed-in user's scope holds, each opening its list."""

import streamlit as st

from crm.access import Entity
from crm.analysis.overview import departments
from crm.ui import charts, text
from crm.ui import overview as panels
from crm.ui.session import current_user, database

user = current_user()
db = database()
flt = panels.sidebar_filter(user, db)

st.title("Overview")
text.caption("{} The sidebar's department and period apply to every figure; every chart opens "
             "the matching list.", panels.scope_words(user, flt, departments(user, db)))
entity = st.session_state.get("overview_newsletter_entity") or Entity.CONTACT
figures = panels.figures(user, db, flt, Entity(entity))
panels.headline(figures)

st.subheader("Growth")
left, right = st.columns(2)
with left:
    charts.draw(panels.added_panel(figures))
with right:
    charts.draw(panels.conversion_panel(figures))

st.subheader("Newsletter")
st.radio("Newsletter status of", [Entity.CONTACT, Entity.LEAD], horizontal=True,
         key="overview_newsletter_entity",
         format_func=lambda e: "Contacts" if e == Entity.CONTACT else "Leads")
left, right = st.columns(2)
with left:
    charts.draw(panels.by_department_panel(figures))
    charts.draw(panels.unsubscribes_panel(figures))
with right:
    charts.draw(panels.by_manager_panel(figures))

st.subheader("Lead pipeline")
left, right = st.columns(2)
with left:
    charts.draw(panels.lead_status_panel(figures))
    charts.draw(panels.lead_source_panel(figures))
with right:
    charts.draw(panels.lead_country_panel(figures))

st.subheader("VIP")
charts.draw(panels.vip_panel(figures))
