"""Import leads or contacts from Excel or CSV: upload, map columns, preview every problem,
fix or leave out rows, choose what to do with matches, commit in one go, undo a batch."""

import streamlit as st

from crm.ui import import_wizard as wizard
from crm.ui.session import current_user, database

user = current_user()
db = database()

st.title("Import")
entity = wizard.choose_entity(user)
importing, past = st.tabs(["Import a file", "Import history"])
with importing:
    table = wizard.upload(entity)
    if table is not None:
        mapping = wizard.map_columns(entity, table)
        preview = wizard.check(user, db, entity, table, mapping)
        by_row = preview.problems_by_row()
        wizard.show_preview(entity, table, preview, by_row)
        wizard.import_rows(user, db, entity, preview, by_row)
    wizard.show_result(entity)
with past:
    wizard.history(user, db, entity)
