"""Saved segments on screen: "Save as segment" on the Leads and Contacts lists, and the
Segments page's table, actions (open, export, start a mass mailing, rename, share, delete)
and comparison.

Segment names are user text: they appear in grids, select boxes and download names as
plain text, and inside messages, labels and flashes only escaped, through crm.ui.text.
"""

from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import streamlit as st

from crm.access import Action, Entity, segment_visibilities
from crm.analysis import segments
from crm.analysis.segments import VISIBILITY_LABELS, Comparison, Segment, SegmentError
from crm.identity.user import User
from crm.lists import listing
from crm.lists.listing import ListQuery, ListSpec
from crm.storage.db import Database
from crm.ui import permitted, text
from crm.ui.filters import labels_for
from crm.ui.list_links import ListLink, open_list
from crm.ui.mailing_start import start_mailing

FLASH = "segment_flash"


# ------------------------------------------------------------- on the list pages


def save_as_segment(user: User, db: Database, spec: ListSpec, query: ListQuery,
                    total: int) -> None:
    """A popover that keeps the list's current filters and search under a name."""
    choices = segment_visibilities(user)
    if not choices:
        return
    with st.popover("Save as segment", icon=":material/bookmark_add:"):
        words = listing.definition(spec, query, labels_for(spec, user, db, set(query.filters)),
                                   user)
        text.caption("Keeps this view's filters and search ({}) under a name. The segment "
                     "stores the definition: its count follows the records, and each person "
                     "who opens it sees only the records they may see.",
                     words or f"every {spec.noun}")
        with st.form(f"{spec.noun}_segment_save", clear_on_submit=True, border=False):
            name = st.text_input("Segment name", max_chars=segments.MAX_NAME_LENGTH,
                                 key=f"{spec.noun}_segment_name")
            visibility = st.radio("Shared with", choices, format_func=VISIBILITY_LABELS.get,
                                  key=f"{spec.noun}_segment_visibility", horizontal=True)
            submitted = st.form_submit_button("Save segment", type="primary")
        if submitted:
            try:
                segments.save_segment(user, db, spec.entity, name, query, visibility)
            except SegmentError as problem:
                text.error("{}", problem)
            else:  # a flash is plain text: the list page shows it escaped
                st.session_state[f"{spec.noun}_flash"] = (
                    f"Saved the segment “{' '.join(name.split())}” "
                    f"({total:,} {spec.noun if total == 1 else spec.noun_plural} now). "
                    "Find it on the Segments page.")
                st.rerun()


# ------------------------------------------------------------- the Segments page


def flash() -> None:
    if message := st.session_state.pop(FLASH, None):
        text.success("{}", message)


def segment_table(user: User, db: Database, found: list[Segment],
                  counts: dict[int, int]) -> None:
    """Every segment the user sees, with its live count, definition, owner and dates."""
    rows = []
    for segment in found:
        spec = segment.spec
        words = listing.definition(spec, segment.query,
                                   labels_for(spec, user, db, set(segment.filters)), user)
        rows.append({
            "Name": segment.name,
            "List": Entity(segment.entity).plural.capitalize(),
            "Count": counts.get(segment.id, 0),
            "Shared with": segment.shared_with(),
            "Made by": segment.owner_name + (" (you)" if segment.owned_by(user) else ""),
            "Created": segment.created_at,
            "Changed": segment.updated_at,
            "Definition": words or f"every {spec.noun}",
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="segment_table",
                 column_config={
                     "Count": st.column_config.NumberColumn(
                         "Count", format="localized",
                         help="How many records match now, among those you may see"),
                     "Created": st.column_config.DatetimeColumn("Created",
                                                                format="YYYY-MM-DD HH:mm"),
                     "Changed": st.column_config.DatetimeColumn("Changed",
                                                                format="YYYY-MM-DD HH:mm"),
                 })


def label(segment: Segment, counts: dict[int, int]) -> str:
    """How a select box names a segment (plain text)."""
    return (f"{segment.name} · {Entity(segment.entity).plural.capitalize()} · "
            f"{counts.get(segment.id, 0):,}")


def chosen_segment(found: list[Segment], counts: dict[int, int]) -> Segment | None:
    by_id = {s.id: s for s in found}
    picked = st.selectbox("Segment", list(by_id), key="segment_chosen",
                          format_func=lambda i: label(by_id[i], counts))
    return by_id.get(picked)


def segment_actions(user: User, db: Database, segment: Segment) -> None:
    """Open, export, mail, and (for the owner) rename, share, delete."""
    left_out = segment.left_out(user)
    if left_out:
        text.caption("Left out for you: {} — your lists hold one department, so that filter "
                     "does not apply.", ", ".join(left_out).lower())
    open_, export, mail, rename, share, delete = st.columns([1.3, 1, 1.4, 1, 1, 1],
                                                           vertical_alignment="bottom")
    if open_.button("Open in the list", icon=":material/open_in_new:", type="primary",
                    key="segment_open", width="stretch"):
        open_list(ListLink(segment.entity, dict(segment.filters), segment.search))
    with export.popover("Export", icon=":material/download:", width="stretch"):
        _export(user, db, segment)
    if permitted.button(
            "Start mass mailing", user, Action.MAIL, segment.entity, place=mail,
            icon=":material/campaign:", key="segment_mail", width="stretch",
            help="A mass mailing to everyone the segment holds for you (the next screen says "
                 "who is left out and why)"):
        start_mailing(segment.entity, segment.query, None)
    if not segment.owned_by(user):
        text.caption("Made by {}: only they can rename, re-share or delete it.",
                     segment.owner_name)
        return
    with rename.popover("Rename", icon=":material/edit:", width="stretch"), \
            st.form("segment_rename", border=False):
        new_name = st.text_input("New name", value=segment.name,
                                 max_chars=segments.MAX_NAME_LENGTH,
                                 key=f"segment_new_name_{segment.id}")
        if st.form_submit_button("Rename"):
            _attempt(lambda: segments.rename_segment(user, db, segment.id, new_name),
                     f"Renamed to “{' '.join(new_name.split())}”.")
    with share.popover("Share", icon=":material/share:", width="stretch"), \
            st.form("segment_share", border=False):
        choices = list(segment_visibilities(user))
        now_shared = segment.visibility if segment.visibility in choices else choices[0]
        visibility = st.radio("Shared with", choices, index=choices.index(now_shared),
                              format_func=VISIBILITY_LABELS.get,
                              key=f"segment_visibility_{segment.id}")
        if st.form_submit_button("Save"):
            _attempt(lambda: segments.share_segment(user, db, segment.id, visibility),
                     f"Now shared with: {VISIBILITY_LABELS[visibility].lower()}.")
    with delete.popover("Delete", icon=":material/delete:", width="stretch"):
        st.caption("Deletes the segment (its definition), never the records in it.")
        if st.button("Delete this segment", type="primary", key="segment_delete"):
            _attempt(lambda: segments.delete_segment(user, db, segment.id),
                     f"Deleted the segment “{segment.name}”.")


def _export(user: User, db: Database, segment: Segment) -> None:
    plan = segments.export_plan(user, db, segment)
    note = segments.export_note(user, db, segment)
    noun = segment.spec.noun if plan.rows == 1 else segment.spec.noun_plural
    st.caption(text.plain(note) if note
               else text.md("The file holds the segment's {:,} {}.", plan.rows, noun))
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    st.download_button(
        text.md("Download {:,} {}", plan.rows, noun), key="segment_download", type="primary",
        on_click="ignore", disabled=plan.rows == 0, icon=":material/download:",
        data=lambda: _export_bytes(user, db, segment),
        file_name=f"segment-{segment.id}-{segment.spec.noun_plural}-{stamp}.xlsx")


def _export_bytes(user: User, db: Database, segment: Segment) -> bytes:
    buffer = io.BytesIO()
    segments.export(user, db, segment, buffer)
    return buffer.getvalue()


def _attempt(action, success: str) -> None:
    try:
        action()
    except SegmentError as problem:
        text.error("{}", problem)
        return
    st.session_state[FLASH] = success
    st.rerun()


def compare_segments(user: User, db: Database, found: list[Segment],
                     counts: dict[int, int]) -> None:
    """Two or three segments of one list: the size of every overlap."""
    by_id = {s.id: s for s in found}
    picked = st.multiselect("Compare two or three segments", list(by_id), key="segment_compare",
                            format_func=lambda i: label(by_id[i], counts),
                            max_selections=segments.MAX_COMPARED,
                            placeholder="Choose segments of the same list")
    if len(picked) < 2:
        st.caption("Shows how many records two or three segments share, in your scope.")
        return
    try:
        comparison = segments.compare(user, db, picked)
    except SegmentError as problem:
        text.warning("{}", problem)
        return
    st.dataframe(overlap_rows(comparison), hide_index=True, width="stretch",
                 key="segment_overlaps",
                 column_config={"Records": st.column_config.NumberColumn(format="localized")})
    noun = comparison.segments[0].spec.noun_plural
    text.caption("{:,} {} are in at least one of them.", comparison.in_any, noun)


def overlap_rows(comparison: Comparison) -> pd.DataFrame:
    """One row per combination ("A and B") and per segment alone ("Only in A")."""
    names = {s.id: s.name for s in comparison.segments}
    rows = [{"Segments": " and ".join(names[i] for i in o.members), "Records": o.size}
            for o in comparison.overlaps if len(o.members) > 1]
    rows += [{"Segments": f"Only in {names[s.id]}", "Records": comparison.only_in(s.id)}
             for s in comparison.segments]
    return pd.DataFrame(rows)
