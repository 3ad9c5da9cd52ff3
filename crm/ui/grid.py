"""The list grid: one page of rows, a checkbox per row, inline editing of some columns.

The grid holds one page only; paging, sorting and filtering happen in SQL. What comes back
is what the user changed: the checked IDs and, per edited row, the new values, each with
the record's version as it was on screen.

Streamlit's editor remembers edits by row position. So while edits or ticks are pending,
the grid keeps drawing the very rows they were made on (pinned in the session), not a
fresh page where another record may have moved into that position: an edit always reaches
the record it was typed on, with the version the user saw, and a save that is refused
leaves the typed values in place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

SELECT = "Select"

# The grid holds one page, so a click on a column header would sort that page alone and
# mislead. A transparent layer over the header row takes those clicks, and a click there
# points to the list's "Sort by" control, which sorts the whole result in SQL: the control is
# outlined and a note says so beside the pointer. (Why not a header sort: README, "Sorting".)
HEADER_HEIGHT = 36
HINT = "Sort the whole list with “Sort by” above the table (a header would sort one page)."
_NO_HEADER_SORT = """<style>
div[class*="_grid_"] [data-testid="stDataFrame"] { position: relative; }
div[class*="_grid_"] [data-testid="stDataFrame"]::after {
  content: ""; position: absolute; top: 0; left: 0; right: 0; height: %(height)dpx; z-index: 1;
  cursor: help;
}
.crm-sort-pointed { outline: 3px solid #23949f; outline-offset: 3px; border-radius: 6px;
  transition: outline-color 0.3s; }
#crm-sort-hint { position: fixed; z-index: 1000; max-width: 320px; padding: 6px 10px;
  border-radius: 6px; background: #262730; color: #fff; font-size: 14px;
  box-shadow: 0 2px 8px rgba(0,0,0,.25); pointer-events: none; }
</style>"""
# The listener is added once per browser page and stays while Streamlit redraws the grid;
# each grid names its own Sort by control. The note's text is a constant, set as text.
_POINT_TO_SORT = """<script>
window.crmSortControl = %(control)s;
if (!window.crmSortHint) {
  window.crmSortHint = true;
  document.addEventListener("click", (event) => {
    const table = event.target.closest && event.target.closest(
      'div[class*="_grid_"] [data-testid="stDataFrame"]');
    if (!table) return;
    const box = table.getBoundingClientRect();
    if (event.clientY - box.top > %(height)d) return;
    const sort = window.crmSortControl && document.querySelector(window.crmSortControl);
    let hint = document.getElementById("crm-sort-hint");
    if (!hint) {
      hint = document.createElement("div");
      hint.id = "crm-sort-hint";
      hint.setAttribute("role", "status");
      document.body.appendChild(hint);
    }
    hint.textContent = %(hint)s;
    hint.style.left = Math.min(event.clientX + 12, window.innerWidth - 340) + "px";
    hint.style.top = (event.clientY + 16) + "px";
    hint.hidden = false;
    if (sort) {
      sort.scrollIntoView({block: "nearest"});
      sort.classList.add("crm-sort-pointed");
    }
    clearTimeout(window.crmSortHintTimer);
    window.crmSortHintTimer = setTimeout(() => {
      hint.hidden = true;
      if (sort) sort.classList.remove("crm-sort-pointed");
    }, 4000);
  }, true);
}
</script>"""


@dataclass(frozen=True)
class GridResult:
    checked: list[int]
    changed: dict[int, dict[str, Any]]  # id -> {column: new value}
    versions: dict[int, int]  # id -> the version on screen (rows with `row_version`)


def grid(frame: pd.DataFrame, *, column_config: dict[str, Any], editable: list[str],
         order: list[str], key: str, pin: str | None = None,
         all_checked: bool = False, sort_control: str | None = None) -> GridResult:
    """Draw `frame`; with `pin` (a session key per list), rows with pending edits or ticks
    stay the rows they were made on until the grid's key changes. A click on the header
    row points to the widget keyed `sort_control`."""
    hint = _POINT_TO_SORT % {"height": HEADER_HEIGHT, "hint": json.dumps(HINT),
                             "control": json.dumps(f".st-key-{sort_control}" if sort_control
                                                   else None)}
    st.html(_NO_HEADER_SORT % {"height": HEADER_HEIGHT} + hint, unsafe_allow_javascript=True,
            width="content")
    if pin is not None:
        frame = _pinned(pin, key, frame)
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
    versions = ({int(i): int(v) for i, v in zip(shown["id"], shown["row_version"], strict=True)}
                if "row_version" in shown.columns else {})
    return GridResult(checked=checked, changed=changed, versions=versions)


def _pinned(pin: str, key: str, fresh: pd.DataFrame) -> pd.DataFrame:
    """The rows on screen when the user started editing or ticking; else `fresh`."""
    state = st.session_state.get(key)
    pending = isinstance(state, dict) and bool(state.get("edited_rows"))
    held = st.session_state.get(pin)
    if pending and held is not None and held[0] == key:
        return held[1]
    st.session_state[pin] = (key, fresh)
    return fresh


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
