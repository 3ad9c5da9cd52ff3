"""Leads: the list (search, filters, sort, paging, inline edits, bulk actions), add, detail."""

from datetime import datetime

import streamlit as st

from crm import leads, list_export, listing
from crm.access import Action, Entity, can
from crm.editing import EditRejected, RowEdit
from crm.ui import filters, list_state
from crm.ui.bulk_actions import ALL_MATCHING, bulk_bar, export_bytes
from crm.ui.grid import grid
from crm.ui.lead_forms import add_lead_dialog, lead_detail
from crm.ui.newsletter import icon_uri, label, legend
from crm.ui.session import current_user, database
from crm.users import eligible_owners

user = current_user()
db = database()
spec = leads.LEADS

if "id" in st.query_params:
    lead_detail(user, db, st.query_params["id"])
    st.stop()

list_state.init_from_url(spec, user)
labels = filters.sidebar(spec, user, db)

title, add, export_all = st.columns([6, 1.2, 1.6], vertical_alignment="bottom")
title.title("Leads")
if can(user, Action.EDIT, Entity.LEAD) and add.button("Add lead", icon=":material/add:",
                                                       width="stretch"):
    add_lead_dialog(user, db)
with export_all.popover("Export all", icon=":material/download:", width="stretch"):
    fmt = st.radio("Format", list_export.FORMATS, horizontal=True, key="lead_export_all_fmt",
                   format_func=lambda f: {"xlsx": "Excel (.xlsx)", "csv": "CSV (UTF-8)"}[f])
    everything = list_export.plan(user, db, spec, listing.ListQuery(), fmt=fmt)
    st.caption(f"Every lead you may export: {everything.rows:,} rows"
               + (f", split over {everything.sheets} sheets." if everything.split else "."))
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    st.download_button(
        "Download", key="lead_export_all",
        data=lambda: export_bytes(user, db, spec, leads.EXPORT_COLUMNS, listing.ListQuery(),
                                  None, fmt),
        file_name=list_export.file_name(spec, fmt, stamp), on_click="ignore",
        type="primary")

filters.search_and_sort(spec)
query = list_state.current(spec, user)
page = listing.fetch_page(user, db, spec, query)
list_state.write_to_url(spec, query)

st.markdown(f"**{listing.describe(spec, query, page.total, labels, user)}**")
legend()

owners = {u.id: u.full_name for u in eligible_owners(
    db, None if user.department_id is None else user.department_id)}
frame = page.rows.assign(
    link=[f"?id={i}" for i in page.rows["id"]],
    icon=[icon_uri(s) for s in page.rows["newsletter"]],
    newsletter=[label(s) for s in page.rows["newsletter"]],
)
manager_names = sorted(set(owners.values()) | set(frame["manager"].dropna()))
version = st.session_state.setdefault("lead_grid_version", 0)
result = grid(
    frame,
    key=f"lead_grid_{version}_{hash((str(query), page.page))}",
    order=["link", "icon", "name", "email", "phone", "company", "manager", "country",
           "newsletter", "created_at", "vip", "disqualified"],
    editable=list(leads.GRID_EDITABLE_COLUMNS),
    column_config={
        "link": st.column_config.LinkColumn("ID", display_text=r"\?id=(\d+)", width="small",
                                            help="Open the lead"),
        "icon": st.column_config.ImageColumn("", width=36),
        "name": st.column_config.TextColumn("Name", width="medium"),
        "email": st.column_config.TextColumn("Email", width="medium"),
        "phone": st.column_config.TextColumn("Phone"),
        "company": st.column_config.TextColumn("Company", width="medium"),
        "manager": st.column_config.SelectboxColumn("Assigned manager",
                                                    options=manager_names),
        "country": st.column_config.TextColumn("Country"),
        "newsletter": st.column_config.TextColumn("Newsletter"),
        "created_at": st.column_config.DatetimeColumn("Date added", format="YYYY-MM-DD"),
        "vip": st.column_config.CheckboxColumn("VIP", width=50),
        "disqualified": st.column_config.CheckboxColumn("Disqualified", width=90),
    },
)

pager_left, pager_mid, pager_right = st.columns([2, 3, 2], vertical_alignment="center")
pager_left.selectbox("Rows per page", listing.PAGE_SIZES, key=list_state.state_key(spec, "size"),
                     on_change=list_state.reset_page, args=(spec,))
pager_mid.number_input(f"Page (of {page.pages:,})", min_value=1, max_value=page.pages,
                       key=list_state.state_key(spec, "page"))

if result.changed:
    by_name = {name: owner_id for owner_id, name in owners.items()}
    edits = [
        RowEdit(row_id, int(page.rows.loc[page.rows["id"] == row_id, "row_version"].iloc[0]),
                leads.grid_changes(values, by_name))
        for row_id, values in result.changed.items()
    ]
    st.info(f"{len(edits)} edited row(s) not saved yet.")
    if st.button("Save changes", type="primary", key="lead_save"):
        try:
            saved = leads.save_edits(user, db, edits)
        except EditRejected as rejected:
            for problem in rejected.problems:
                st.error(problem.message)
        else:
            st.session_state["lead_grid_version"] = version + 1
            st.session_state["lead_flash"] = f"Saved changes to {saved} lead(s)."
            st.rerun()

if flash := st.session_state.pop("lead_flash", None):
    st.success(flash)


action = bulk_bar(spec, user, db, query, page.total, result.checked, leads.EXPORT_COLUMNS)
if action is not None:
    ids = None if action.target == ALL_MATCHING else result.checked
    if action.name in ("set_vip", "remove_vip"):
        vip = action.name == "set_vip"
        outcome = leads.set_vip(user, db, vip, query=query, ids=ids)
        st.session_state["lead_grid_version"] = version + 1
        st.session_state["lead_flash"] = outcome.sentence("Set VIP on" if vip else
                                                          "Removed VIP from")
        st.rerun()
