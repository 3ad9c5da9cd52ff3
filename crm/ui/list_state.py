"""A list's filters, search, sort and page, kept in the URL so a view can be bookmarked.

The URL is read into session state once per visit (a shared or bookmarked link opens
that view); afterwards the widgets own the state and every run writes it back to the URL.
"""

from __future__ import annotations

import streamlit as st

from crm.identity.user import User
from crm.lists import filters as list_filters
from crm.lists import listing
from crm.lists.filters import DATE_RANGE, NONE_VALUE, Filter
from crm.lists.listing import PAGE_SIZES, ListQuery, ListSpec

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
    notes: list[str] = []
    search = params.get("q", "")
    st.session_state[_key(spec, "search")] = listing.clean_search(search)
    if listing.clean_search(search) != search:
        notes.append(f"search “{_short(search)}” (cut to its first "
                     f"{listing.MAX_SEARCH_CHARS} characters, without control characters)")
    sortable = {c.key for c in spec.columns if c.sortable}
    sort = params.get("sort", spec.default_sort)
    if sort not in sortable:
        notes.append(f"sort “{_short(sort)}” (no column to sort by has that name)")
        sort = spec.default_sort
    st.session_state[_key(spec, "sort")] = sort
    direction = params.get("dir", "desc" if spec.default_descending else "asc")
    if direction not in ("asc", "desc"):
        notes.append(f"dir “{_short(direction)}” (asc or desc)")
        direction = "desc" if spec.default_descending else "asc"
    st.session_state[_key(spec, "descending")] = direction == "desc"
    page = _number(params.get("page"))
    if page is None:
        notes.append(f"page “{_short(params.get('page'))}” (not a page number)")
    # A page past the end is kept as asked: the list says so and shows its last page.
    st.session_state[_key(spec, "page")] = page or 1
    size = _number(params.get("size", "50"))
    if size not in PAGE_SIZES:
        notes.append(f"size “{_short(params.get('size'))}” "
                     f"({', '.join(map(str, PAGE_SIZES))} rows per page)")
        size = 50
    st.session_state[_key(spec, "size")] = size
    for flt in spec.filters_for(user):
        values = [v for v in params.get(flt.key, "").split(",") if v]
        kept = [v for v in values if _readable(flt, v)]
        notes += [f"{flt.label} “{_short(v)}” ({_expected(flt)})" for v in values
                  if v not in kept]
        st.session_state[filter_key(spec, flt.key)] = kept
    st.session_state[_key(spec, "notes")] = notes
    st.session_state.pop(_key(spec, "notes_for"), None)
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
        page=min(st.session_state.get(_key(spec, "page"), 1), listing.MAX_PAGE),
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


def note(spec: ListSpec, words: str) -> None:
    """Something of the address this list could not use, to be said once above the list."""
    st.session_state.setdefault(_key(spec, "notes"), []).append(words)


def notices(spec: ListSpec, query: ListQuery) -> list[str]:
    """What of the address could not be used: said while the list shows what the address
    opened (reruns included), gone once the user changes the view."""
    notes = st.session_state.get(_key(spec, "notes"))
    if not notes:
        return []
    shown_for = st.session_state.setdefault(_key(spec, "notes_for"), query)
    if shown_for == query:
        return notes
    st.session_state.pop(_key(spec, "notes"))
    st.session_state.pop(_key(spec, "notes_for"))
    return []


def asked_page(spec: ListSpec) -> int:
    return st.session_state.get(_key(spec, "page"), 1)


def show_page(spec: ListSpec, page: int) -> None:
    """The page the list shows instead of the one asked (which lies past the end)."""
    st.session_state[_key(spec, "page")] = page


def _number(text: str | None) -> int | None:
    """A positive whole number as people write it in an address, else None."""
    if text is None or text == "":
        return 1
    try:
        number = int(text.strip())
    except ValueError:
        return None
    return number if number >= 1 else None


def _readable(flt: Filter, value: str) -> bool:
    if value == NONE_VALUE:
        return flt.nullable
    try:
        flt.parse(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return len(value) <= 200


def _expected(flt: Filter) -> str:
    if flt.widget == DATE_RANGE:
        return (f"not a period such as 2026-01-01..2026-03-31 between {list_filters.FIRST_DAY} "
                f"and {list_filters.LAST_DAY}")
    return "not a value of this filter"


def _short(value: str | None) -> str:
    value = "" if value is None else value
    return value if len(value) <= 40 else value[:39] + "…"
