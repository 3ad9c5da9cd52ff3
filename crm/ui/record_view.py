"""Pieces every detail view shares: the ID from the URL, a facts table, the history table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from crm.access import department_ids, sees_several_departments
from crm.access.users import list_departments
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.records.editing import EditRejected
from crm.storage.db import Database
from crm.ui import text


def record_id(raw: str) -> int:
    try:
        return int(str(raw).strip().lstrip("#"))
    except ValueError:
        return -1


def facts(values: Mapping[str, Any]) -> None:
    st.dataframe(
        pd.DataFrame({"Field": list(values),
                      "Value": ["" if v is None else str(v) for v in values.values()]}),
        hide_index=True, width="stretch", height=38 + 35 * len(values))


def history(rows: list[dict[str, Any]]) -> None:
    if not rows:
        st.caption("No changes recorded yet.")
        return
    st.dataframe(pd.DataFrame(rows).rename(columns={
        "changed_at": "When", "changed_by": "Who", "action": "Action", "field": "Field",
        "old_value": "Before", "new_value": "After"}), hide_index=True, width="stretch")


SEEN = "edit_form_seen"  # session key: the records as their edit forms first showed them


def as_seen(entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record as it was when its edit form was first drawn in this visit.

    The form shows these values and saves over this version, so a change someone else made
    meanwhile is refused with their name (never silently overwritten, never silently
    dropped), and what the user typed stays in the form. A successful save, "Discard my
    changes", or leaving for the list starts from the current record again.
    """
    seen = st.session_state.setdefault(SEEN, {})
    if (entity, record["id"]) not in seen:
        seen[(entity, record["id"])] = dict(record)
    return seen[(entity, record["id"])]


def forget_seen(entity: str | None = None) -> None:
    """Forget the snapshots (of one entity): the next form starts from the record as it is."""
    seen = st.session_state.get(SEEN, {})
    for key in [k for k in seen if entity is None or k[0] == entity]:
        del seen[key]


def edit_form_notes(entity: str, seen: dict[str, Any], current: dict[str, Any]) -> None:
    """Say when the record moved on since the form was opened, and offer to start again."""
    if seen["row_version"] == current["row_version"]:
        return
    st.warning("This record was changed after you opened it. Saving will be refused; "
               "discard your changes to edit the current version.")
    if st.button("Discard my changes", key=f"discard_{entity}_{current['id']}"):
        forget_seen(entity)
        st.rerun()


def attempt(action: Callable[[], Any], flash_key: str, success: str,
            forget: str | None = None) -> bool:
    """Run a save; show every problem, or remember the success and rerun (forgetting the
    edit form's snapshot of the `forget` entity)."""
    try:
        action()
    except EditRejected as rejected:
        for problem in rejected.problems:
            text.error("{}", problem.message)
        return False
    except Refusal as problem:
        text.error("{}", problem)
        return False
    if forget is not None:
        forget_seen(forget)
    st.session_state[flash_key] = success
    st.rerun()
    return True


def choice(label: str, options: Mapping[Any, str], current: Any = None, key: str = "") -> Any:
    values = [None, *options]
    index = values.index(current) if current in values else 0
    return st.selectbox(text.plain(label), values, index=index, key=key or None,
                        format_func=lambda v: "—" if v is None else options[v])


def department_for_new(user: User, db: Database, key: str,
                       label: str = "Department") -> int | None:
    """Users who work across departments choose where a new record goes."""
    if not sees_several_departments(user):
        return user.department_id
    reached = department_ids(user)
    departments = {d["id"]: d["name"] for d in list_departments(db)
                   if reached is None or d["id"] in reached}
    return choice(label, departments, user.department_id, key)
