"""The filter sidebar, the search box and the sort controls of a list."""

from __future__ import annotations

import streamlit as st

from crm.access import Action, scope
from crm.identity.user import User
from crm.lists import filters as list_filters
from crm.lists import listing
from crm.lists.filters import DATE_RANGE, Filter, Option
from crm.lists.listing import ListSpec
from crm.storage.db import Database
from crm.ui import text
from crm.ui.list_state import filter_key, note, reset_page, state_key


@st.cache_data(ttl=600, max_entries=500, show_spinner=False)
def _options(_db: Database, url: str, scope_key: tuple, spec_noun: str, key: str,
             _spec: ListSpec, _user: User, generation: int) -> list[Option]:
    # Counts are kept per scope (the records a user may see: people of one department share
    # them), since at a million rows they cost a scan each, until the database's generation
    # moves on: any change, by anyone on any server, shows at the next rerun.
    return listing.options(_user, _db, _spec, key)


def _scope_key(user: User, spec: ListSpec) -> tuple:
    allowed = scope(user, spec.entity, Action.VIEW, alias=spec.alias)
    return (allowed.sql, allowed.params)


def sidebar(spec: ListSpec, user: User, db: Database) -> dict[str, dict[str, str]]:
    """Draw every filter the user may use; returns value labels for the list's sentence."""
    labels: dict[str, dict[str, str]] = {}
    with st.sidebar:
        # "Clear filters" sits at the top and is always there (disabled while nothing is
        # set): a focused filter box grows and shrinks, and a button below it would move
        # away under the pointer (the first click on it was lost).
        heading, clear = st.columns([1, 1], vertical_alignment="center")
        with heading:
            st.subheader("Filters")
        active = any(st.session_state.get(filter_key(spec, f.key))
                     for f in spec.filters_for(user))
        clear.button("Clear filters", on_click=_clear, args=(spec, user),
                     key=f"{spec.noun}_clear", disabled=not active, width="stretch",
                     help=None if active else "No filter is set")
        # Once per rerun, not per filter (on PostgreSQL each is a query).
        scope_key, generation = _scope_key(user, spec), db.generation()
        for flt in spec.filters_for(user):
            if flt.widget == DATE_RANGE:
                _date_range(spec, flt)
                continue
            offered = _options(db, db.url, scope_key, spec.noun, flt.key, spec, user,
                               generation)
            key = filter_key(spec, flt.key)
            # A value offered before and still chosen stays on offer with a count of 0 when
            # the user's own change emptied it (all set VIP): the filter must not vanish.
            # Values never offered (a URL's, another department's) are dropped.
            before = st.session_state.get(f"{key}_offered", {})
            offered = [*offered, *(list_filters.Option(v, before[v], 0)
                                   for v in st.session_state.get(key, [])
                                   if v in before and v not in {o.value for o in offered})]
            labels[flt.key] = {o.value: o.label for o in offered}
            st.session_state[f"{key}_offered"] = labels[flt.key]
            asked = st.session_state.get(key, [])
            chosen = [v for v in asked if v in labels[flt.key]]
            for value in asked:
                if value not in chosen:
                    note(spec, f"{flt.label} “{value}” (none of your {spec.noun_plural} "
                               "has it)")
            st.session_state[key] = chosen
            counts = {o.value: o.count for o in offered}
            st.multiselect(
                text.plain(flt.label),
                options=[o.value for o in offered],
                format_func=lambda v, f=flt.key, c=counts: f"{labels[f][v]} ({c[v]:,})",
                key=key,
                on_change=reset_page,
                args=(spec,),
                placeholder="Any",
            )
    return labels


def _date_range(spec: ListSpec, flt: Filter) -> None:
    """A from–to date picker over the filter's one "start..end" value.

    The picker's key carries the value it shows, so a value set elsewhere (the URL, Clear
    filters) draws a fresh picker instead of writing into a widget's state.
    """
    key = filter_key(spec, flt.key)
    shown = _valid_range(st.session_state.get(key) or [])
    st.session_state[key] = [shown] if shown else []
    start, end = list_filters.parse_date_range(shown) if shown else (None, None)
    st.date_input(text.plain(flt.label), value=tuple(d for d in (start, end) if d is not None),
                  min_value=list_filters.FIRST_DAY, max_value=list_filters.LAST_DAY,
                  key=f"{key}_picker_{shown}", on_change=_range_picked,
                  args=(spec, key, f"{key}_picker_{shown}"), format="YYYY-MM-DD")
    if shown and (start is None or end is None):
        text.caption("{}", list_filters.date_range_words(flt.label, [shown]))


def _valid_range(values: list[str]) -> str:
    for value in values:
        try:
            list_filters.parse_date_range(value)
        except ValueError:
            continue
        return value
    return ""


def _range_picked(spec: ListSpec, key: str, picker: str) -> None:
    picked = st.session_state.get(picker) or ()
    if len(picked) == 2:
        st.session_state[key] = [list_filters.date_range_value(*picked)]
    elif not picked:
        st.session_state[key] = []
    else:
        return  # the first day chosen, the last still to come
    reset_page(spec)


def _clear(spec: ListSpec, user: User) -> None:
    for flt in spec.filters_for(user):
        st.session_state[filter_key(spec, flt.key)] = []
    reset_page(spec)


def search_and_sort(spec: ListSpec) -> None:
    left, middle, right = st.columns([4, 2, 1], vertical_alignment="bottom")
    left.text_input(
        "Search",
        key=state_key(spec, "search"),
        max_chars=listing.MAX_SEARCH_CHARS,
        placeholder="Name, email, company, phone, city, any keyword — or an ID: 123, #123, ID 123",
        on_change=reset_page,
        args=(spec,),
    )
    sortable = [c for c in spec.columns if c.sortable]
    middle.selectbox(
        "Sort by",
        options=[c.key for c in sortable],
        format_func=lambda k: spec.column(k).label,
        key=state_key(spec, "sort"),
        on_change=reset_page,
        args=(spec,),
        help="Sorts the whole filtered list, not only this page.",
    )
    right.toggle("Descending", key=state_key(spec, "descending"), on_change=reset_page,
                 args=(spec,))


def labels_for(spec: ListSpec, user: User, db: Database,
               keys: set[str]) -> dict[str, dict[str, str]]:
    """Names for the values of the filters `keys` (for a segment's definition), from the
    same cached, scoped options the sidebar offers; a value outside the user's scope keeps
    its raw form."""
    labels: dict[str, dict[str, str]] = {}
    scope_key, generation = _scope_key(user, spec), db.generation()
    for flt in spec.filters_for(user):
        if flt.key in keys and flt.widget != DATE_RANGE:
            offered = _options(db, db.url, scope_key, spec.noun, flt.key, spec, user,
                               generation)
            labels[flt.key] = {o.value: o.label for o in offered}
    return labels
