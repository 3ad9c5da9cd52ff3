"""Pieces every detail view shares: the ID from the URL, a facts table, the history table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from crm.access import sees_all_departments
from crm.db import Database
from crm.editing import EditRejected
from crm.users import User, list_departments


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


def attempt(action: Callable[[], Any], flash_key: str, success: str) -> bool:
    """Run a save; show every problem, or remember the success and rerun."""
    try:
        action()
    except EditRejected as rejected:
        for problem in rejected.problems:
            st.error(problem.message)
        return False
    except (ValueError, PermissionError) as problem:
        st.error(str(problem))
        return False
    st.session_state[flash_key] = success
    st.rerun()
    return True


def choice(label: str, options: Mapping[Any, str], current: Any = None, key: str = "") -> Any:
    values = [None, *options]
    index = values.index(current) if current in values else 0
    return st.selectbox(label, values, index=index, key=key or None,
                        format_func=lambda v: "—" if v is None else options[v])


def department_for_new(user: User, db: Database, key: str,
                       label: str = "Department") -> int | None:
    """Users who work across departments choose where a new record goes."""
    if not sees_all_departments(user):
        return user.department_id
    departments = {d["id"]: d["name"] for d in list_departments(db)}
    return choice(label, departments, user.department_id, key)
