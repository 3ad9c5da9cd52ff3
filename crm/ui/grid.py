"""The list grid: one page of rows, a checkbox per row, inline editing of some columns.

The grid holds one page only; paging, sorting and filtering happen in SQL. What comes back
is what the user changed: the checked IDs and, per edited row, the new values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

SELECT = "Select"

# The grid holds one page, so a click on a column header would sort that page alone and
# mislead. A transparent layer over the header row takes those clicks; the list's "Sort by"
# control sorts the whole result in SQL.
_NO_HEADER_SORT = """<style>
div[class*="_grid_"] [data-testid="stDataFrame"] { position: relative; }
div[class*="_grid_"] [data-testid="stDataFrame"]::after {
  content: ""; position: absolute; top: 0; left: 0; right: 0; height: 36px; z-index: 1;
}
</style>"""


@dataclass(frozen=True)
class GridResult:
    checked: list[int]
    changed: dict[int, dict[str, Any]]  # id -> {column: new value}


def grid(frame: pd.DataFrame, *, column_config: dict[str, Any], editable: list[str],
         order: list[str], key: str, all_checked: bool = False) -> GridResult:
    st.html(_NO_HEADER_SORT)
    shown = frame.copy()
    shown.insert(0, SELECT, all_checked)
    edited = st.data_editor(
        shown,
        key=key,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(shown), 1), 38 + 35 * 20),
        column_order=[SELECT, *order],
        column_config={SELECT: st.column_config.CheckboxColumn("", width=40), **column_config},
        disabled=[c for c in shown.columns if c not in (SELECT, *editable)],
        num_rows="fixed",
    )
    checked = [int(i) for i in edited.loc[edited[SELECT], "id"]]
    changed: dict[int, dict[str, Any]] = {}
    for column in editable:
        before, after = shown[column], edited[column]
        differs = ~((before == after) | (before.isna() & after.isna()))
        for position in differs[differs].index:
            row_id = int(shown.at[position, "id"])
            changed.setdefault(row_id, {})[column] = _plain(after.at[position])
    return GridResult(checked=checked, changed=changed)


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
