"""The app through Streamlit's AppTest, for the page tests: open it, sign in, open a page with
a bookmark's parameters, and read a page as the user reads it (the count sentence, the grid's
names, the filters in the sidebar, the metrics).

Not a test module: page tests share these instead of importing one another.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests import factories
from tests.conftest import shown

APP = str(Path(__file__).resolve().parent.parent / "app.py")
LEADS = "pages/workspace/leads.py"
CONTACTS = "pages/workspace/contacts.py"
COMPANIES = "pages/workspace/companies.py"
IMPORT = "pages/workspace/imports.py"
SEGMENTS = "pages/workspace/segments.py"
REQUESTS = "pages/workspace/requests.py"
OVERVIEW = "pages/workspace/overview.py"
ADMIN = "pages/admin/users.py"


def open_app(**params: str) -> AppTest:
    """The app as a visitor opens it, with `params` in the URL."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params.update(params)
    return at.run()


def sign_in(username: str, password: str = factories.PASSWORD) -> AppTest:
    at = open_app()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    return at


def open_page(username: str, page: str, **params: str) -> AppTest:
    """Sign in, then open `page`, with `params` in the URL as from a bookmark."""
    at = sign_in(username)
    at.query_params.update(params)
    at.switch_page(page).run()
    assert not at.exception
    return at


def open_leads(username: str, **params: str) -> AppTest:
    return open_page(username, LEADS, **params)


def open_contacts(username: str, **params: str) -> AppTest:
    return open_page(username, CONTACTS, **params)


def sentence(at: AppTest) -> str:
    """The bold "N leads where …" line above a list's grid, as shown."""
    return next(shown(m.value.strip("*")) for m in at.markdown if m.value.startswith("**"))


def names(at: AppTest) -> list[str]:
    """The grid's names, in the list's order."""
    return at.data_editor[0].value["name"].tolist()


def sidebar_filters(at: AppTest) -> list[str]:
    return [m.key for m in at.sidebar.multiselect]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}
