"""One list page for leads, contacts and companies: toolbar, filters, search, sort, grid,
paging, inline edits, bulk actions and export. Pages describe what differs; this draws it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from crm.access import Action, can
from crm.access.users import eligible_owners
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.lists import list_export, listing
from crm.lists.bulk import BulkResult
from crm.lists.listing import Column, ListQuery, ListSpec
from crm.records.editing import Conflict, EditRejected, RowEdit
from crm.storage.db import Database
from crm.ui import filters, list_state, permitted, text
from crm.ui.bulk_actions import ALL_MATCHING, BulkAction, ExtraAction, bulk_bar, export_bytes
from crm.ui.grid import GridResult, grid
from crm.ui.newsletter import icon_uri, label, legend
from crm.ui.record_view import forget_seen


@dataclass
class ListPage:
    spec: ListSpec  # the grid's and the export's columns come from it
    title: str
    save_edits: Callable[[User, Database, list[RowEdit]], int]
    to_changes: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
    set_vip: Callable[..., BulkResult] | None
    add: Callable[[User, Database], None] | None = None
    add_label: str = "Add"
    detail: Callable[[User, Database, str], None] | None = None
    extra_actions: dict[str, ExtraAction] = field(default_factory=dict)
    buttons: Callable[[User, Database, ListQuery, int], None] | None = None
    importable: bool = False  # offers the Import button (the import wizard page)


def owners_in_reach(user: User, db: Database) -> dict[int, str]:
    """Who may be assigned in the grid: eligible staff of the user's department (or all)."""
    return {u.id: u.full_name for u in eligible_owners(db, user.department_id)}


def _widget(column: Column, context: dict[str, Any]) -> Any:
    """How the grid shows a column of the list: follows from its kind."""
    options = {"width": column.grid_width, "help": column.help or None}
    if column.kind == "owner":
        return st.column_config.SelectboxColumn(column.label, options=context["manager_names"],
                                                **options)
    if column.kind == "bool":
        return st.column_config.CheckboxColumn(column.label, **options)
    if column.kind == "int":
        return st.column_config.NumberColumn(column.label, **options)
    if column.kind == "datetime":
        return st.column_config.DatetimeColumn(column.label, format=column.grid_format,
                                               **options)
    return st.column_config.TextColumn(column.label, **options)


def render(page: ListPage, user: User, db: Database) -> None:
    spec = page.spec
    if page.detail is not None and "id" in st.query_params:
        page.detail(user, db, st.query_params["id"])
        return
    forget_seen(spec.entity.value)  # a detail opened again starts from the current record
    list_state.init_from_url(spec, user)
    labels = filters.sidebar(spec, user, db)
    _toolbar(page, user, db)
    filters.search_and_sort(spec)
    query = list_state.current(spec, user)
    result_page = listing.fetch_page(user, db, spec, query)
    if result_page.page != list_state.asked_page(spec):
        list_state.note(spec, f"page {list_state.asked_page(spec)} (the list ends at page "
                              f"{result_page.pages:,}, shown here)")
        list_state.show_page(spec, result_page.page)
        query = query.with_page(result_page.page)
    list_state.write_to_url(spec, query)
    text.markdown("**{}**", listing.describe(spec, query, result_page.total, labels, user))
    if notices := list_state.notices(spec, query):
        text.caption("Not used from this page's address: {}.", "; ".join(notices))
    if "newsletter" in result_page.rows.columns:
        legend()
    if page.buttons is not None:
        page.buttons(user, db, query, result_page.total)
    flash_key = f"{spec.noun}_flash"
    if flash := st.session_state.pop(flash_key, None):
        text.success("{}", flash)

    owners = owners_in_reach(user, db)
    rows = result_page.rows
    frame = rows.assign(link=[f"?id={i}" for i in rows["id"]])
    if "newsletter" in rows.columns:
        never = (rows["never_subscribed"] if "never_subscribed" in rows.columns
                 else [False] * len(rows))
        frame = frame.assign(icon=[icon_uri(s) for s in rows["newsletter"]],
                             newsletter=[label(s, bool(n) if pd.notna(n) else False)
                                         for s, n in zip(rows["newsletter"], never,
                                                         strict=True)])
    context = {"owners": owners,
               "manager_names": sorted(set(owners.values()) | set(frame["manager"].dropna()))}
    version_key = f"{spec.noun}_grid_version"
    version = st.session_state.setdefault(version_key, 0)
    result = grid(
        frame,
        key=f"{spec.noun}_grid_{version}_{hash((str(query), result_page.page))}",
        pin=f"{spec.noun}_grid_shown",
        sort_control=list_state.state_key(spec, "sort"),
        order=["link", *(["icon"] if "newsletter" in spec.grid else []), *spec.grid],
        editable=list(spec.grid_editable) if can(user, Action.EDIT, spec.entity) else [],
        column_config={
            "link": st.column_config.LinkColumn("ID", display_text=r"\?id=(\d+)", width="small",
                                                help=f"Open the {spec.noun}"),
            "icon": st.column_config.ImageColumn("", width=36),
            **{c.key: _widget(c, context) for c in spec.grid_columns},
        },
    )
    _pager(spec, result_page)
    _save_edits(page, user, db, result, owners, version_key, version)
    action = bulk_bar(spec, user, db, query, result_page.total, result.checked,
                      extra=page.extra_actions, vip=page.set_vip is not None,
                      export_note=lambda ids: list_export.scope_note(user, db, spec, query,
                                                                     ids))
    if action is not None:
        _apply(page, user, db, query, action, result, version_key, version)


def _toolbar(page: ListPage, user: User, db: Database) -> None:
    spec = page.spec
    title, add, import_, export_all = st.columns([5, 1.4, 1.1, 1.4],
                                                 vertical_alignment="bottom")
    text.title("{}", page.title, place=title)
    if page.add is not None and permitted.button(
            text.plain(page.add_label), user, Action.ADD, spec.entity, place=add,
            icon=":material/add:", width="stretch"):
        page.add(user, db)
    if page.importable and permitted.button(
            "Import", user, Action.IMPORT, spec.entity, place=import_, icon=":material/upload:",
            width="stretch", key=f"{spec.noun}_import"):
        st.switch_page("pages/workspace/imports.py", query_params={"entity": spec.noun})
    if not can(user, Action.EXPORT, spec.entity):
        permitted.button("Export all", user, Action.EXPORT, spec.entity, place=export_all,
                         icon=":material/download:", width="stretch",
                         key=f"{spec.noun}_export_all_refused")
        return
    menu = export_all.popover("Export all", icon=":material/download:", width="stretch",
                              key=f"{spec.noun}_export_all_menu", on_change="rerun")
    if not menu.open:
        return  # its counts cost a query each: made only while the menu is open
    with menu:
        fmt = st.radio("Format", list_export.FORMATS, horizontal=True,
                       key=f"{spec.noun}_export_all_fmt",
                       format_func=lambda f: {"xlsx": "Excel (.xlsx)", "csv": "CSV (UTF-8)"}[f])
        everything = list_export.plan(user, db, spec, ListQuery(), fmt=fmt)
        note = list_export.scope_note(user, db, spec, ListQuery(), None)
        # The scope note ends a sentence and already gives the count ("...has those 12.").
        st.caption((text.plain(note.removesuffix(".")) if note
                    else text.md("Every {} you may export: {:,} rows", spec.noun,
                                 everything.rows))
                   + (text.md(", split over {} sheets.", everything.sheets) if everything.split
                      else "."))
        stamp = datetime.now().strftime("%Y%m%d-%H%M")
        st.download_button(
            "Download", key=f"{spec.noun}_export_all", type="primary", on_click="ignore",
            data=lambda: export_bytes(user, db, spec, ListQuery(), None,
                                      fmt),
            file_name=list_export.file_name(spec, fmt, stamp), disabled=everything.rows == 0)


def _pager(spec: ListSpec, result_page: listing.Page) -> None:
    left, middle, _ = st.columns([2, 3, 2], vertical_alignment="center")
    left.selectbox("Rows per page", listing.PAGE_SIZES, key=list_state.state_key(spec, "size"),
                   on_change=list_state.reset_page, args=(spec,))
    middle.number_input(text.md("Page (of {:,})", result_page.pages), min_value=1,
                        max_value=result_page.pages, key=list_state.state_key(spec, "page"))


def _save_edits(page: ListPage, user: User, db: Database, result: GridResult,
                owners: dict[int, str], version_key: str, version: int) -> None:
    """Save the grid's edits, each on the record it was typed on, over the version that was
    on screen: a row someone changed since is refused, naming them, and nothing is saved;
    the typed values stay in the grid until the user saves again or discards them."""
    if not result.changed:
        return
    spec = page.spec
    by_name = {name: owner_id for owner_id, name in owners.items()}
    edits = [RowEdit(row_id, result.versions[row_id], page.to_changes(values, by_name))
             for row_id, values in result.changed.items()]
    text.info("{} edited row(s) not saved yet.", len(edits))
    save, discard, _ = st.columns([1, 1.4, 3])
    if discard.button("Discard my edits", key=f"{spec.noun}_discard"):
        st.session_state[version_key] = version + 1
        st.rerun()
    if save.button("Save changes", type="primary", key=f"{spec.noun}_save"):
        try:
            saved = page.save_edits(user, db, edits)
        except EditRejected as rejected:
            for problem in rejected.problems:
                text.error("{}", problem.message)
            if isinstance(rejected, Conflict):
                st.caption("Your edits are still in the table: discard them to see the "
                           "current values, then edit again.")
        else:
            st.session_state[version_key] = version + 1
            noun = spec.noun if saved == 1 else spec.noun_plural
            st.session_state[f"{spec.noun}_flash"] = f"Saved changes to {saved} {noun}."
            st.rerun()


def _apply(page: ListPage, user: User, db: Database, query: ListQuery, action: BulkAction,
           result: GridResult, version_key: str, version: int) -> None:
    spec = page.spec
    ids = None if action.target == ALL_MATCHING else result.checked
    # Checked rows carry the versions on screen: a row changed since refuses the action.
    seen = {i: result.versions[i] for i in ids if i in result.versions} if ids else None
    try:
        if action.name in ("set_vip", "remove_vip") and page.set_vip is not None:
            vip = action.name == "set_vip"
            outcome = page.set_vip(user, db, vip, query=query, ids=ids, versions=seen)
            message = outcome.sentence("Set VIP on" if vip else "Removed VIP from",
                                       spec.noun_plural, spec.noun)
        elif action.name in page.extra_actions:
            extra = page.extra_actions[action.name]
            message = (extra.run(user, db, query, ids, action.parameter, versions=seen)
                       if extra.takes_versions
                       else extra.run(user, db, query, ids, action.parameter))
        else:
            return
    except EditRejected as rejected:
        for problem in rejected.problems:
            text.error("{}", problem.message)
        return
    except Refusal as problem:
        text.error("{}", problem)
        return
    st.session_state[version_key] = version + 1
    st.session_state[f"{spec.noun}_flash"] = message
    st.rerun()
