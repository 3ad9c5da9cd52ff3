"""Charts drawn with Altair through Streamlit, and the panel every Overview chart sits in: a
caption saying what it counts, its data as `.xlsx`, and a way into the matching list (a click
on a bar, or a plain link beside the chart).

Clickable charts carry a point selection named `pick` over string fields that name the bar
(for instance `value` = a manager's id and `status`); Streamlit reruns with the clicked bar's
fields and `Panel.click` turns them into the list to open.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from crm.lists.export import ExportColumn, write_xlsx
from crm.records.newsletter import LOOKS, NewsletterStatus
from crm.ui import text
from crm.ui.list_links import ListLink, link_to_list, open_list

# Charts are built in every run of the Overview: Altair's check of each object against the
# Vega-Lite schema as it is made cost more than the rest of drawing them. The builders' specs
# are checked whole by the tests (tests/ui/test_overview_page.py) instead.
alt.utils.schemapi.disable_debug_mode()

PICK = "pick"
BAR_HEIGHT = 26  # pixels per bar of a horizontal chart
AXES_HEIGHT = 80  # Streamlit fits the whole chart (axis, title) into its height
LEGEND_HEIGHT = 80


# Band labels all shown: Vega's overlap check drops every other one in short charts.
_LABELS = alt.Axis(labelLimit=180, labelOverlap=False)


def _bars_height(bars: int, legend: bool = False) -> int:
    """Room for every bar at a readable thickness (two at least) besides axis and legend."""
    return BAR_HEIGHT * max(bars, 2) + AXES_HEIGHT + (LEGEND_HEIGHT if legend else 0)


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    caption: str
    chart: alt.TopLevelMixin | None
    sheet: pd.DataFrame  # the chart's rows, as downloaded
    columns: Sequence[ExportColumn]
    links: Sequence[tuple[ListLink, str]] = ()  # plain links to the list, with their words
    click: Callable[[dict[str, Any]], ListLink | None] | None = None


def draw(panel: Panel) -> None:
    """The chart in a bordered box, its caption, its download and its link to the list."""
    with st.container(border=True):
        text.markdown("**{}**", panel.title)
        if panel.chart is None or panel.sheet.empty:
            st.info("Nothing to count here for these filters.")
        else:
            clickable = panel.click is not None
            # The chart's spec is built here without Altair's schema validation (a tenth
            # of a second per Overview, in every run); the builders below are tested.
            state = st.vega_lite_chart(panel.chart.to_dict(validate=False), key=panel.key,
                                       width="stretch",
                                       on_select="rerun" if clickable else "ignore",
                                       selection_mode=PICK if clickable else None)
            target = _picked(panel, state)
            if target is not None:
                open_list(target)
        text.caption("{}", panel.caption)
        download, link = st.columns([1, 2], vertical_alignment="center")
        download.download_button(
            "Data (.xlsx)", key=f"{panel.key}_xlsx", icon=":material/download:",
            data=lambda: sheet_bytes(panel), file_name=f"{panel.key.replace('_', '-')}.xlsx",
            on_click="ignore", disabled=panel.sheet.empty,
            help="The numbers behind this chart, as an Excel sheet.")
        with link:
            for target, words in panel.links:
                link_to_list(target, words)


def sheet_bytes(panel: Panel) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, panel.columns, [panel.sheet], sheet_name=panel.title[:31])
    return buffer.getvalue()


def _picked(panel: Panel, state: Any) -> ListLink | None:
    if panel.click is None or state is None:
        return None
    try:
        points = state["selection"][PICK]
    except (KeyError, TypeError):
        return None
    if not points or not isinstance(points, list):
        return None  # nothing clicked yet (Streamlit starts each selection as an empty dict)
    try:
        return panel.click(dict(points[0]))
    except (KeyError, TypeError, ValueError):
        return None  # a click beside the bars


# ------------------------------------------------------------------------- builders


def _described(frame: pd.DataFrame, *parts: str, count: str, percent: bool = False
               ) -> pd.DataFrame:
    """Each bar's words for screen readers (and browser tests): "Europe, Unsubscribed: 12"."""
    names = frame[parts[0]].astype(str)
    for part in parts[1:]:
        names = names + ", " + frame[part].astype(str)
    numbers = [f"{n:.1%}" if percent else f"{int(n):,}" for n in frame[count]]
    return frame.assign(description=names + ": " + pd.Series(numbers, index=frame.index,
                                                              dtype=object))


DESCRIPTION = alt.Description("description:N")


def _pick(fields: Sequence[str]) -> alt.Parameter:
    return alt.selection_point(name=PICK, fields=list(fields), on="click")


def status_scale() -> alt.Scale:
    """Red, turquoise, gray: the newsletter colours (crm.records.newsletter.LOOKS), in order."""
    looks = [LOOKS[s] for s in NewsletterStatus]
    return alt.Scale(domain=[look.label for look in looks], range=[look.colour for look in looks])


def status_bars(frame: pd.DataFrame, group: str, count_title: str) -> alt.Chart:
    """Horizontal bars, one per `group` (in the frame's order), stacked by newsletter status.

    The frame needs `group`, `value` (the group's list filter value), `status`,
    `status_label`, `rank` (0, 1, 2: stacking order) and `people`.
    """
    order = list(dict.fromkeys(frame[group]))
    frame = _described(frame, group, "status_label", count="people")
    return (
        alt.Chart(frame)
        .mark_bar(cursor="pointer")
        .encode(
            y=alt.Y(f"{group}:N", sort=order, title=None, axis=_LABELS),
            x=alt.X("people:Q", title=count_title, stack="zero"),
            color=alt.Color("status_label:N", scale=status_scale(), title=None,
                            legend=alt.Legend(orient="bottom", columns=1, labelLimit=260)),
            order=alt.Order("rank:Q"),
            description=DESCRIPTION,
            tooltip=[alt.Tooltip(f"{group}:N"), alt.Tooltip("status_label:N", title="Status"),
                     alt.Tooltip("people:Q", title=count_title, format=",")],
        )
        .add_params(_pick(["value", "status"]))
        .properties(height=_bars_height(len(order), legend=True))
    )


def monthly_bars(frame: pd.DataFrame, y: str, y_title: str, series: str | None = None,
                 percent: bool = False, fields: Sequence[str] = ("month_key",),
                 tooltip: Sequence[alt.Tooltip] = ()) -> alt.Chart:
    """One bar per month (`month_key`, "2026-03"); with `series`, bars side by side."""
    axis = alt.Axis(format=".0%") if percent else alt.Axis(format=",d")
    # Rates of 0 everywhere would collapse the axis to one tick: keep 0–10 % on show.
    scale = (alt.Scale(domain=[0, max(0.1, float(frame[y].max()))]) if percent
             else alt.Scale(zero=True))
    tips = list(tooltip) or [alt.Tooltip(f"{y}:Q", title=y_title,
                                         format=".1%" if percent else ",")]
    encoding: dict[str, Any] = {
        "x": alt.X("month_key:O", title=None, axis=alt.Axis(labelAngle=-45)),
        "y": alt.Y(f"{y}:Q", title=y_title, axis=axis, scale=scale),
        "tooltip": [alt.Tooltip("month_key:O", title="Month"), *tips],
    }
    frame = _described(frame, "month_key", *([series] if series else []), count=y,
                       percent=percent)
    encoding["description"] = DESCRIPTION
    if series is not None:
        encoding["color"] = alt.Color(f"{series}:N", title=None,
                                      legend=alt.Legend(orient="bottom"))
        encoding["xOffset"] = alt.XOffset(f"{series}:N")
    chart = alt.Chart(frame).mark_bar(cursor="pointer").encode(**encoding)
    return chart.add_params(_pick(fields)).properties(height=260)


def stacked_monthly_bars(frame: pd.DataFrame, y: str, y_title: str, series: str,
                         series_title: str) -> alt.Chart:
    """Bars per month stacked by `series` (for instance: unsubscribes by their source)."""
    frame = _described(frame, "month_key", series, count=y)
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("month_key:O", title=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y(f"sum({y}):Q", title=y_title, axis=alt.Axis(format=",d")),
            color=alt.Color(f"{series}:N", title=series_title,
                            legend=alt.Legend(orient="bottom")),
            description=DESCRIPTION,
            tooltip=[alt.Tooltip("month_key:O", title="Month"),
                     alt.Tooltip(f"{series}:N", title=series_title),
                     alt.Tooltip(f"{y}:Q", title=y_title, format=",")],
        )
        .properties(height=260)
    )


def ranked_bars(frame: pd.DataFrame, label: str, x: str, x_title: str,
                clickable: bool = True) -> alt.Chart:
    """Horizontal bars, largest first (the frame's order), one per `label`."""
    order = list(frame[label])
    frame = _described(frame, label, count=x)
    chart = (
        alt.Chart(frame)
        .mark_bar(cursor="pointer" if clickable else "default")
        .encode(
            y=alt.Y(f"{label}:N", sort=order, title=None, axis=_LABELS),
            x=alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(format=",d")),
            description=DESCRIPTION,
            tooltip=[alt.Tooltip(f"{label}:N"),
                     alt.Tooltip(f"{x}:Q", title=x_title, format=",")],
        )
        .properties(height=_bars_height(len(order)))
    )
    return chart.add_params(_pick(["value"])) if clickable else chart


def share_bars(frame: pd.DataFrame, group: str, series: str) -> alt.Chart:
    """Shares (0–1) per `group`, side by side per `series` (for instance: VIP share of leads
    and of contacts per department)."""
    frame = _described(frame, group, series, count="share", percent=True)
    return (
        alt.Chart(frame)
        .mark_bar(cursor="pointer")
        .encode(
            x=alt.X(f"{group}:N", title=None, axis=alt.Axis(labelAngle=0, labelLimit=140)),
            y=alt.Y("share:Q", title="VIP share", axis=alt.Axis(format=".0%")),
            color=alt.Color(f"{series}:N", title=None, legend=alt.Legend(orient="bottom")),
            xOffset=alt.XOffset(f"{series}:N"),
            description=DESCRIPTION,
            tooltip=[alt.Tooltip(f"{group}:N"), alt.Tooltip(f"{series}:N", title="Of"),
                     alt.Tooltip("vip:Q", title="VIP", format=","),
                     alt.Tooltip("people:Q", title="All", format=","),
                     alt.Tooltip("share:Q", title="VIP share", format=".1%")],
        )
        .add_params(_pick(["value", "entity"]))
        .properties(height=260)
    )
