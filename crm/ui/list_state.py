"""A list's filters, search, sort and page, kept in the URL so a view can be bookmarked.

The URL is read into session state once per visit (a shared or bookmarked link opens
that view); afterwards the widgets own the state and every run writes it back to the URL.
"""

from __future__ import annotations

import streamlit as st

from crm.listing import PAGE_SIZES, ListQuery, ListSpec
from crm.users import User

_RESERVED = {"q", "sort", "dir", "page", "size", "id"}
_WIDGETS = ("search", "sort", "descending", "page", "size")


def _key(spec: ListSpec, name: str) -> str:
    return f"{spec.noun}_{name}"


def init_from_url(spec: ListSpec, user: User) -> None:
    """Seed the widgets' state from the URL on the first run of each visit to the page."""
    marker = _key(spec, "from_url")
    # Streamlit drops a widget's state after a run that did not draw it (another page, the
    # detail view): the widgets' state being gone means this is a new visit.
    if st.session_state.get(marker) and _key(spec, "sort") in st.session_state:
        # Assigned again so that every run sends the values to the browser: a browser that
        # never showed the run which set them (a quick second run right after opening the
        # page) would otherwise draw the widgets' defaults ("Sort by ID") over the real state.
        for name in _WIDGETS:
            if _key(spec, name) in st.session_state:
                st.session_state[_key(spec, name)] = st.session_state[_key(spec, name)]
        return
    params = st.query_params
    st.session_state[_key(spec, "search")] = params.get("q", "")
    st.session_state[_key(spec, "sort")] = params.get("sort", spec.default_sort)
    st.session_state[_key(spec, "descending")] = params.get(
        "dir", "desc" if spec.default_descending else "asc") == "desc"
    st.session_state[_key(spec, "page")] = _int(params.get("page"), 1)
    size = _int(params.get("size"), 50)
    st.session_state[_key(spec, "size")] = size if size in PAGE_SIZES else 50
    for flt in spec.filters_for(user):
        raw = params.get(flt.key, "")
        st.session_state[filter_key(spec, flt.key)] = [v for v in raw.split(",") if v]
    st.session_state[marker] = True


def filter_key(spec: ListSpec, key: str) -> str:
    return _key(spec, f"filter_{key}")


def current(spec: ListSpec, user: User) -> ListQuery:
    """The query the widgets describe right now."""
    filters = {}
    for flt in spec.filters_for(user):
        values = st.session_state.get(filter_key(spec, flt.key)) or []
        if isinstance(values, str):
            values = [values]
        if values:
            filters[flt.key] = tuple(str(v) for v in values)
    return ListQuery(
        filters=filters,
        search=st.session_state.get(_key(spec, "search"), ""),
        sort=st.session_state.get(_key(spec, "sort"), spec.default_sort),
        descending=st.session_state.get(_key(spec, "descending"), spec.default_descending),
        page=st.session_state.get(_key(spec, "page"), 1),
        page_size=st.session_state.get(_key(spec, "size"), 50),
    )


def write_to_url(spec: ListSpec, query: ListQuery) -> None:
    params = url_params(spec, query)
    current_params = {k: v for k, v in st.query_params.to_dict().items() if k != "id"}
    if current_params != params:
        keep_id = st.query_params.get("id")
        st.query_params.from_dict({**params, **({"id": keep_id} if keep_id else {})})


def url_params(spec: ListSpec, query: ListQuery) -> dict[str, str]:
    """The URL query parameters that open `query` on the list page (a link, a segment, a
    chart's click-through): filter values comma-separated under their filter's key."""
    params: dict[str, str] = {}
    if query.search.strip():
        params["q"] = query.search.strip()
    if query.sort and query.sort != spec.default_sort:
        params["sort"] = query.sort
    if query.descending is not None and query.descending != spec.default_descending:
        params["dir"] = "desc" if query.descending else "asc"
    if query.page > 1:
        params["page"] = str(query.page)
    if query.page_size != 50:
        params["size"] = str(query.page_size)
    for key, values in query.filters.items():
        if values:
            params[key] = ",".join(values)
    return params


def reset_page(spec: ListSpec) -> None:
    """Back to page 1 whenever filters, search or sort change."""
    st.session_state[_key(spec, "page")] = 1


def state_key(spec: ListSpec, name: str) -> str:
    return _key(spec, name)


def _int(text: str | None, default: int) -> int:
    try:
        return max(1, int(text)) if text else default
    except ValueError:
        return default
