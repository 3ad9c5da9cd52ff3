"""Segments: saved filters and searches of the Leads and Contacts lists, with live counts in
the viewer's scope; open, export, rename, share, delete, and compare two or three."""

import streamlit as st

from crm.analysis import segments
from crm.ui import segment_forms
from crm.ui.session import current_user, database

user = current_user()
db = database()

st.title("Segments")
st.caption("Saved filters and searches of the Leads and Contacts lists. Counts are live and "
           "inside your scope: a segment shared with you shows only the records you may see.")
segment_forms.flash()
found = segments.segments_for(user, db)
if not found:
    st.info("No segments yet. On the Leads or Contacts page, set filters or a search, then "
            "choose **Save as segment**.")
    st.stop()
counts = segments.sizes(user, db, found)
segment_forms.segment_table(user, db, found, counts)

st.subheader("Open or change a segment")
chosen = segment_forms.chosen_segment(found, counts)
if chosen is not None:
    segment_forms.segment_actions(user, db, chosen)

st.subheader("Compare segments")
segment_forms.compare_segments(user, db, found, counts)
