"""Every page, opened from an address with random and boundary values in every parameter it
reads, renders without an exception and without a database error on screen; a value it cannot
use is left out with a short notice that names it, and the page shows its default instead.

The addresses are what a crafted link, a mangled bookmark or a curious user can type.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from crm.pipeline import requests
from crm.records import companies, contacts, leads
from tests import factories
from tests.conftest import shown
from tests.pages import sign_in

LISTS = {"pages/workspace/leads.py": leads.LEADS,
         "pages/workspace/contacts.py": contacts.CONTACTS,
         "pages/workspace/companies.py": companies.COMPANIES,
         "pages/workspace/requests.py": requests.REQUESTS}
# The other pages read only these (and must ignore anything else an address carries).
OTHER_PAGES = {"pages/workspace/overview.py": ("department", "view"),
               "pages/workspace/segments.py": ("segment", "view"),
               "pages/workspace/mailings.py": ("id", "view"),
               "pages/workspace/imports.py": ("entity", "view"),
               "pages/admin/users.py": ("user", "view")}
LIST_PARAMS = ("q", "sort", "dir", "page", "size")

# Boundary and malformed values: numbers past every integer type, signs, exponents, empty
# and blank text, NUL (PostgreSQL refuses it in text), SQL, Markdown, dates that do not
# exist or lie outside any picker, ranges backwards, comma lists with holes, a long value.
NASTY = ("", " ", "0", "-1", "1e3", "1.5", "NaN", "inf", "9" * 30, str(2 ** 63), str(2 ** 31),
         "1000000000000000000", "abc", "1,2,,x", ",,,", "\x00", "a\x00b", "%", "%%", "_",
         "'; DROP TABLE leads; --", "[x](https://evil.example) ![i](https://evil.example/i.png)",
         "<script>alert(1)</script>", "2026-13-45", "2026-02-30..2026-03-01",
         "0001-01-01..9999-12-31", "2026-12-31..2026-01-01", "..", "2026-01-01..", "__none__",
         "desc", "asc", "name", "ü😀\u202e", "x" * 5000)


@pytest.fixture
def world(db, app_env):
    w = factories.world(db)
    factories.lead(db, "Adler", w.east, w.users["sales_east"], email="anna@adler.example")
    return w


def params_of(page: str) -> tuple[str, ...]:
    if page in LISTS:
        return (*LIST_PARAMS, *(f.key for f in LISTS[page].filters))
    return OTHER_PAGES[page]


def open_with(at: AppTest, page: str, params: dict[str, str]) -> AppTest:
    at.query_params.clear()
    at.query_params.update(params)
    at.switch_page(page).run()
    return at


def assert_rendered(at: AppTest, page: str, params: dict[str, str]) -> None:
    assert not at.exception, (page, params, [e.value for e in at.exception])
    for element in (*at.error, *at.warning, *at.info):
        words = shown(str(element.value))
        for leak in ("SELECT", "Traceback", "psycopg", "duckdb", "Error:"):
            assert leak not in words, (page, params, words)
    # The page drew its heading, or said which record the address names that it cannot show.
    assert at.title or at.error, (page, params)


@pytest.mark.parametrize("page", [*LISTS, *OTHER_PAGES])
def test_every_parameter_at_every_boundary_renders(world, page):
    """Each value in every parameter at once, then each value as the record ID alone."""
    at = sign_in("admin")
    for value in NASTY:
        everything = {name: value for name in params_of(page) if name != "id"}
        assert_rendered(open_with(at, page, everything), page, everything)
        if "id" in params_of(page):
            assert_rendered(open_with(at, page, {"id": value}), page, {"id": value})


@pytest.mark.parametrize("page", [*LISTS, "pages/workspace/mailings.py"])
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_addresses_render(world, page, data):
    names = params_of(page)
    params = data.draw(st.dictionaries(
        st.sampled_from(names),
        st.one_of(st.sampled_from(NASTY), st.integers().map(str),
                  st.text(max_size=40)),
        max_size=len(names)))
    at = sign_in("sales.east")
    assert_rendered(open_with(at, page, params), page, params)


def test_a_page_past_the_end_shows_the_last_page_and_says_so(world):
    at = open_with(sign_in("sales.east"), "pages/workspace/leads.py",
                   {"q": "adler", "page": "1000000000000000000"})
    assert_rendered(at, "leads", {})
    assert at.number_input(key="lead_page").value == 1
    assert any("page 1000000000000000000" in shown(c.value) for c in at.caption)


def test_a_malformed_sort_and_size_fall_back_with_a_notice(world):
    at = open_with(sign_in("sales.east"), "pages/workspace/leads.py",
                   {"sort": "password", "size": "100000", "dir": "sideways"})
    assert_rendered(at, "leads", {})
    notice = next(shown(c.value) for c in at.caption if "address" in shown(c.value))
    assert "sort “password”" in notice and "size “100000”" in notice
    assert "dir “sideways”" in notice
    assert at.selectbox(key="lead_size").value == 50

