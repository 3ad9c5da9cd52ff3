"""The bulk-action bar: an action for the checked rows or for every row matching the filters."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import streamlit as st

from crm.access import Action, can, refusal
from crm.identity.user import User
from crm.lists import list_export
from crm.lists.listing import ListQuery, ListSpec
from crm.storage.db import Database
from crm.ui import text

CHECKED = "checked"
ALL_MATCHING = "all"

LABELS = {"set_vip": "Set VIP", "remove_vip": "Remove VIP", "export": "Export to Excel"}


@dataclass(frozen=True)
class BulkAction:
    name: str
    target: str  # CHECKED or ALL_MATCHING
    parameter: Any = None


@dataclass(frozen=True)
class ExtraAction:
    """An entity's own bulk action (for example: add tags), beside VIP and export.

    `parameter` draws the input the action needs and returns its value; `run` performs it
    on the checked IDs (or, with None, on every matching row) and says what it did.
    """

    label: str
    run: Callable[..., str]  # (user, db, query, ids, parameter[, versions=...]) -> sentence
    parameter: Callable[[User, Database], Any] | None = None
    takes_versions: bool = False  # run also gets the checked rows' versions on screen
    action: Action = Action.EDIT  # what the permission table must allow on the list's kind


def bulk_bar(spec: ListSpec, user: User, db: Database, query: ListQuery, total: int,
             checked: Sequence[int],
             export_note: Callable[[Sequence[int] | None], str | None] | None = None,
             extra: dict[str, ExtraAction] | None = None,
             vip: bool = True) -> BulkAction | None:
    """Draw the bar; returns the action the user confirmed (exports download directly)."""
    extra = extra or {}
    # Actions the role may not do are left out of the menu (the services refuse them too).
    names = [n for n, a in (("set_vip", Action.VIP), ("remove_vip", Action.VIP),
                            ("export", Action.EXPORT))
             if can(user, a, spec.entity) and (vip or not n.endswith("vip"))]
    names += [n for n, e in extra.items() if can(user, e.action, spec.entity)]
    if not names:
        text.caption("{}", refusal(user, Action.EDIT, spec.entity).replace(
            f"edit {spec.entity.plural}", f"act on {spec.entity.plural} in bulk"))
        return None
    labels = {**LABELS, **{k: v.label for k, v in extra.items()}}
    with st.container(border=True):
        st.markdown("**Action**")
        left, middle, right = st.columns([2, 3, 2], vertical_alignment="bottom")
        name = left.selectbox("Action", names, format_func=labels.get,
                              key=f"{spec.noun}_bulk_action", label_visibility="collapsed")
        # The counts go in captions: a radio's value is its option's label, and a label that
        # changed since the browser drew it (a row ticked) loses the choice.
        target = middle.radio(
            "Apply to", [CHECKED, ALL_MATCHING], horizontal=True,
            key=f"{spec.noun}_bulk_target",
            format_func=lambda t: "Checked rows" if t == CHECKED else "All matching rows",
            captions=[text.md("{:,} checked", len(checked)), text.md("{:,} matching", total)],
        )
        parameter = None
        if name in extra and extra[name].parameter is not None:
            parameter = extra[name].parameter(user, db)
        count = len(checked) if target == CHECKED else total
        noun = spec.noun if count == 1 else spec.noun_plural
        if count == 0:
            right.button(text.plain(labels[name]), disabled=True, key=f"{spec.noun}_bulk_none",
                         help="Tick rows in the table, or choose all matching.")
            return None
        if name == "export":
            ids = list(checked) if target == CHECKED else None
            fmt = "xlsx"
            # The button counts the rows the file will hold: for contacts only the user's
            # own, which may be fewer than the rows chosen (or none of them).
            rows = list_export.plan(user, db, spec, query, ids, fmt).rows
            stamp = datetime.now().strftime("%Y%m%d-%H%M")
            right.download_button(
                text.md("Download {:,} {}", rows,
                        spec.noun if rows == 1 else spec.noun_plural),
                key=f"{spec.noun}_bulk_export",
                data=lambda: export_bytes(user, db, spec, query, ids, fmt),
                file_name=list_export.file_name(spec, fmt, stamp), on_click="ignore",
                type="primary", icon=":material/download:", disabled=rows == 0)
            note = export_note(ids) if export_note else None
            if note:
                text.caption("{}", note)
            return None
        if right.button(text.md("{}: {:,} {}", labels[name], count, noun), type="primary",
                        key=f"{spec.noun}_bulk_apply"):
            return BulkAction(name, target, parameter)
    return None


def export_bytes(user: User, db: Database, spec: ListSpec,
                  query: ListQuery, ids: list[int] | None, fmt: str) -> bytes:
    buffer = io.BytesIO()
    list_export.export(user, db, spec, buffer, query=query, ids=ids, fmt=fmt)
    return buffer.getvalue()
