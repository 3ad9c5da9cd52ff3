"""The import wizard's steps: choose what the file holds, upload, map columns, preview every
problem and fix or leave out rows, choose what to do with matches, import in one go; and the
history of batches with undo. The page (pages/workspace/imports.py) calls them in order.

What is being imported lives in the session (`state()`), so each rerun picks up where the
user is; the services in crm.importing do the reading, checking and writing.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from crm import importing
from crm.access import Action, Entity, can
from crm.common.errors import Refusal
from crm.identity.entities import PEOPLE
from crm.identity.user import User
from crm.storage.db import Database
from crm.ui import permitted, text

STATE = "import_wizard"
CHOICES = {"skip": "Skip them (keep the existing record as it is)",
           "update": "Update the existing record (only the file's non-empty cells)",
           "create": "Import them as new records anyway"}


def state() -> dict[str, Any]:
    return st.session_state.setdefault(STATE, {})


def restart() -> None:
    st.session_state[STATE] = {"entity": state().get("entity", "lead")}
    st.session_state.pop("import_upload", None)


def choose_entity(user: User) -> str:
    """What the file holds: only what the role may import (the page is not in the menu of a
    role that may import none). Kept in the address; a change starts the wizard again."""
    importable = [e.value for e in PEOPLE if can(user, Action.IMPORT, e)]
    entity_param = st.query_params.get("entity", state().get("entity", importable[0]))
    entity = st.segmented_control(
        "What the file holds", importable, format_func=lambda e: Entity(e).plural.capitalize(),
        default=entity_param if entity_param in importable else importable[0],
        key="import_entity")
    entity = entity or importable[0]
    if state().get("entity") != entity:
        restart()
        state()["entity"] = entity
    st.query_params["entity"] = entity
    return entity


def upload(entity: str) -> importing.RawTable | None:
    """The template, the uploader and the sheet choice; the file as read, once a file is
    there and not yet imported (None otherwise)."""
    noun = Entity(entity).plural
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    text.caption("Excel (.xlsx) or CSV, up to {} MB and {:,} rows. The first row with column "
                 "names is found even below a title.", importing.MAX_FILE_BYTES // 1024 // 1024,
                 importing.MAX_ROWS - 1, place=left)
    right.download_button("Template", importing.template(entity),
                          file_name=f"{noun}-import-template.xlsx", icon=":material/download:",
                          help="Headers, an example row and drop-down lists")
    uploaded = st.file_uploader(text.md("File of {}", noun), type=["xlsx", "csv"],
                                key="import_upload")
    s = state()
    if uploaded is None:
        s.pop("table", None)
        s.pop("preview", None)
    elif s.get("file_key") != (uploaded.name, uploaded.size):
        s.clear()
        s.update({"entity": entity, "file_key": (uploaded.name, uploaded.size),
                  "data": uploaded.getvalue(), "file_name": uploaded.name, "sheet": None})
    if "data" not in s or uploaded is None or "result" in s:
        return None
    try:
        table = s.get("table") or importing.read_table(s["data"], s["file_name"], s["sheet"])
    except importing.ImportFileError as problem:
        text.error("{}", problem)
        st.stop()
    s["table"] = table
    if len(table.sheets) > 1:
        sheet = st.selectbox("Sheet", table.sheets, index=table.sheets.index(table.sheet),
                             format_func=lambda n: n + (" (hidden)" if n in
                                                        table.hidden_sheets else ""))
        if sheet != table.sheet:
            s.update({"sheet": sheet, "table": None, "mapping": None})
            st.rerun()
    text.caption("{:,} rows; column names in row {}.", table.row_count, table.header_row)
    return table


def map_columns(entity: str, table: importing.RawTable) -> dict[str, str | None]:
    """Step 1: which field each column of the file fills, as guessed and as the user sets it."""
    s = state()
    st.subheader("1. Columns")
    fields = importing.FIELDS[Entity(entity)]
    guessed = s.get("mapping") or importing.guess_mapping(entity, table.headers, table.frame)
    mapping = {}
    columns = st.columns(3)
    reasons = importing.mapping_reasons(entity, table.headers, table.frame, guessed)
    for i, header in enumerate(table.headers):
        options = [None, *fields]
        current = guessed.get(header)
        sample = ", ".join(v for v in table.frame[header].head(3) if v)[:60]
        mapping[header] = columns[i % 3].selectbox(
            text.plain(header), options,
            index=options.index(current) if current in options else 0,
            format_func=lambda k: "— ignore —" if k is None else fields[k].label,
            key=f"import_map_{i}",
            help=(text.md("Guessed because {}. Examples: {}", reasons[header], sample)
                  if sample else text.md("Guessed because {}.", reasons[header])))
    s["mapping"] = mapping
    left_out = [h for h in table.headers if not mapping[h]]
    if left_out:
        text.caption("Not imported: {}.", "; ".join(
            f"“{h}” ({reasons[h]})" if not guessed.get(h) else f"“{h}” (set to ignore)"
            for h in left_out))
    return mapping


def check(user: User, db: Database, entity: str, table: importing.RawTable,
          mapping: dict[str, str | None]) -> importing.Preview:
    """Every row checked against the rules and the database; asks the date order when the
    file's dates could be read both ways."""
    s = state()
    dayfirst = s.get("dayfirst")
    try:
        preview = importing.validate(user, db, entity, table, mapping,
                                     importing.ImportOptions(dayfirst=dayfirst))
    except importing.ImportNotAllowed as problem:
        text.error("{}", problem)
        st.stop()
    if preview.ambiguous_date_columns:
        text.warning("Dates like 03/04 could be 3 April or 4 March in {}. Which order does "
                     "the file use?", ", ".join(preview.ambiguous_date_columns))
        order = st.radio("Date order", ["day first (31/12/2025)", "month first (12/31/2025)"],
                         index=None if dayfirst is None else (0 if dayfirst else 1),
                         horizontal=True, key="import_dayfirst")
        if order is not None and (order.startswith("day")) != dayfirst:
            s["dayfirst"] = order.startswith("day")
            st.rerun()
    return preview


def show_preview(entity: str, table: importing.RawTable, preview: importing.Preview,
                 by_row: dict[int, list[importing.ImportProblem]]) -> None:
    """Step 2: the figures, every problem (`by_row`: the preview's, by row), the rows to
    correct in place, and the matches."""
    s = state()
    noun = Entity(entity).plural
    st.subheader("2. Preview")
    summary = preview.summary()
    a, b, c, d = st.columns(4)
    a.metric("Rows", f"{summary['rows']:,}")
    b.metric("With problems", f"{summary['with_problems']:,}")
    c.metric("New", f"{summary['new']:,}")
    d.metric("Match existing", f"{summary['matching_existing']:,}")
    for note in preview.notes:
        text.info("{}", note)
    if preview.problems:
        st.markdown("**Problems** (fix them in the table below, or leave those rows out)")
        st.dataframe(preview.problems_frame().rename(columns={
            "row": "Row", "column": "Column", "message": "Problem"}),
            hide_index=True, width="stretch", height=min(38 + 35 * len(preview.problems), 320))
    shown = table.frame.copy()
    shown.insert(0, "Row", table.row_numbers)
    shown.insert(1, "Problems", [" · ".join(p.message for p in by_row.get(r, []))
                                 for r in table.row_numbers])
    only_problems = st.toggle("Show only rows with problems", value=bool(by_row),
                              key="import_only_problems")
    view = shown[shown["Row"].isin(by_row)] if only_problems else shown.head(500)
    edited = st.data_editor(view, hide_index=True, width="stretch",
                            disabled=["Row", "Problems"],
                            key=f"import_rows_{s.get('fixes', 0)}")
    changed = edited[table.headers].ne(view[table.headers]).any(axis=1)
    if changed.any() and st.button(text.md("Apply my corrections ({} rows)",
                                           int(changed.sum())),
                                   type="primary", key="import_apply_fixes"):
        for position in changed[changed].index:
            for header in table.headers:
                # A cleared cell comes back as None; the table holds text ("" when blank).
                value = edited.at[position, header]
                table.frame.at[position, header] = "" if pd.isna(value) else str(value)
        s["fixes"] = s.get("fixes", 0) + 1
        st.rerun()
    if preview.matches:
        with st.expander(text.md("{:,} rows match existing {}", len(preview.matches), noun)):
            st.dataframe(pd.DataFrame(
                [{"Row": m.row, "Existing": f"/{noun}?id={m.record_id}",
                  "Why": m.reason} for m in preview.matches.values()]),
                hide_index=True, column_config={"Existing": st.column_config.LinkColumn(
                    "Existing", display_text=r"id=(\d+)")})


def import_rows(user: User, db: Database, entity: str, preview: importing.Preview,
                by_row: dict[int, list[importing.ImportProblem]]) -> None:
    """Step 3: what to do with matches and with rows that have problems, and the import."""
    s = state()
    noun = Entity(entity).plural
    st.subheader("3. Import")
    on_duplicate = st.radio("Rows that match an existing record", list(CHOICES),
                            format_func=CHOICES.get, key="import_on_duplicate",
                            disabled=not preview.matches)
    leave_out = False
    if by_row:
        leave_out = st.checkbox(text.md("Leave out the {:,} rows with problems (they go to "
                                        "the rejected-rows report)", len(by_row)),
                                key="import_leave_out")
    blocked = bool(preview.column_problems) or (bool(by_row) and not leave_out)
    # The preview on screen is what the user reviewed: the commit checks it against the
    # database, so records changed since it was drawn refuse the import.
    shown = s.get("shown_preview", preview)
    if st.button(text.md("Import {}", noun), type="primary", disabled=blocked,
                 key="import_commit"):
        try:
            s["result"] = importing.commit(user, db, entity, shown,
                                           on_duplicate=on_duplicate, skip_invalid=leave_out)
        except importing.ImportRefused as refused:
            text.error("{}", refused)
            for problem in refused.problems[:20]:
                st.caption(text.md("Row {}: {}", problem.row, problem.message) if problem.row
                           else text.plain(problem.message))
        except Refusal as problem:
            text.error("{}", problem)
        else:
            s.pop("shown_preview", None)
            st.rerun()
    s["shown_preview"] = preview
    if blocked:
        st.caption("Fix the problems above, or tick “Leave out”, to import.")


def show_result(entity: str) -> None:
    """What the import did, the rejected rows to download, and the way on."""
    s = state()
    if "result" not in s:
        return
    noun = Entity(entity).plural
    result = s["result"]
    text.success("Imported from {file}: {created:,} created, {updated:,} updated, "
                 "{skipped:,} skipped, {rejected:,} rejected{companies}. Batch {batch}.",
                 file=result.file_name, created=result.created, updated=result.updated,
                 skipped=result.skipped, rejected=result.rejected, batch=result.batch_id,
                 companies=(f"; {result.new_companies:,} new "
                            f"{'company' if result.new_companies == 1 else 'companies'}"
                            if result.new_companies else ""))
    if result.kept_unsubscribed:
        text.info("{:,} rows said “subscribed” for people who had unsubscribed: they stay "
                  "unsubscribed. Only the person (through the link in any newsletter) or an "
                  "admin can subscribe them again.", result.kept_unsubscribed)
    if result.rejected:
        st.download_button("Rejected rows (.xlsx)", importing.rejected_report(result),
                           file_name=f"rejected-{result.batch_id}.xlsx",
                           icon=":material/download:", key="import_rejected")
    st.page_link(page=f"pages/workspace/{noun}.py", label=text.md("Open {}", noun),
                 icon=":material/arrow_forward:")
    st.button("Import another file", on_click=restart, key="import_again")


def history(user: User, db: Database, entity: str) -> None:
    """The batches imported so far, newest first, each with Undo (and, when records changed
    since, the choice to undo the rest)."""
    batches = importing.list_batches(user, db, entity)
    if not batches:
        text.caption("No {} imported yet.", Entity(entity).plural)
    for batch in batches:
        with st.container(border=True):
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.markdown(
                text.md("**Batch {id}** · {file} · {by} · {at:%Y-%m-%d %H:%M}  \n{created:,} "
                        "created, {updated:,} updated, {skipped:,} skipped, {rejected:,} "
                        "rejected", id=batch["id"], file=batch["file_name"],
                        by=batch["imported_by"], at=batch["created_at"],
                        created=batch["created"], updated=batch["updated"],
                        skipped=batch["skipped"], rejected=batch["rejected"])
                + (text.md("  \nUndone {at:%Y-%m-%d %H:%M} by {by}", at=batch["undone_at"],
                           by=batch["undone_by"]) if batch["undone_at"] else "")
                + (text.md("; {:,} records kept as they were", batch["kept"])
                   if batch["undone_at"] and batch["kept"] else ""))
            if batch["undone_at"]:
                continue
            _undo_button(user, db, entity, batch["id"], right)
    if flash := st.session_state.pop("import_flash", None):
        text.success("{}", flash)


def _undo_button(user: User, db: Database, entity: str, batch_id: int, place: Any) -> None:
    force_key = f"import_force_{batch_id}"
    if permitted.button("Undo", user, Action.UNDO_IMPORT, entity, place=place,
                        key=f"import_undo_{batch_id}"):
        try:
            done = importing.undo_batch(user, db, batch_id,
                                        keep_changed=st.session_state.get(force_key, False))
        except importing.UndoRefused as refused:
            st.session_state[f"import_refused_{batch_id}"] = (str(refused), refused.changed_ids)
        else:
            st.session_state["import_flash"] = (
                f"Batch {batch_id} undone: {done.removed:,} removed, "
                f"{done.restored:,} restored"
                + (f", {len(done.kept):,} kept as they are." if done.kept else "."))
            st.rerun()
    if refused := st.session_state.get(f"import_refused_{batch_id}"):
        text.warning("{}", refused[0])
        st.checkbox("Undo the rest, and leave those records exactly as they are",
                    key=force_key)
