"""Sign-in, the signed-in user and sign-out.

The browser keeps a signed cookie (a JWT under our own key, from secrets, never a constant)
that carries the server-side session's random identity (crm.access.auth); every interaction looks
it up, so a sign-out, a deactivation, a password reset, a role change or an admin ending it
signs the user out in every tab and on every server at their next click. The server reads
the cookie from the connection (`st.context.cookies`); a line of JavaScript drawn once after
sign-in writes it (and once after sign-out deletes it). No browser component is involved:
streamlit-authenticator's cookie component reported back after every page load with a rerun,
and a Sign in click in that moment was lost (seen under load: three browsers at once).

The sign-in form works in its button's callback, which runs before the page script: a rerun
that interrupts the page (the cookie component reports itself with one, more likely when many
sign in at once) cannot lose a sign-in that was already checked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import jwt
import streamlit as st

from crm.access import auth
from crm.common import config
from crm.identity.user import User
from crm.storage import settings
from crm.storage.db import Database
from crm.storage.store import open_store
from crm.ui import text

COOKIE_NAME = "crm_session"
_USER_KEY = "crm_user"
_TOKEN_KEY = "crm_session_token"  # noqa: S105  (a session_state key: the session identity)
_NEW_COOKIE_KEY = "_crm_write_cookie"  # the cookie still has to be written
_ERROR_KEY = "_crm_sign_in_error"


def database() -> Database:
    return open_store()


def _write_cookie(value: str, expires: datetime) -> None:
    """Have the browser keep the session cookie (drawn once; it runs when drawn). The value
    is a JWT (letters, digits, "-_.") and goes in as a JSON string all the same."""
    cookie = (f"{COOKIE_NAME}={value}; Path=/; Expires={format_datetime(expires, usegmt=True)}"
              "; SameSite=Strict")
    st.html(f"<script>document.cookie = {json.dumps(cookie)};</script>",
            unsafe_allow_javascript=True, width="content")


def _session_cookie(username: str, token: str) -> None:
    expires = datetime.now(UTC) + timedelta(hours=config.session_hours())
    value = jwt.encode({"username": username, "exp_date": expires.timestamp(), "sid": token},
                       config.secret("cookie_key", generate=True), algorithm="HS256")
    _write_cookie(value, expires)


def signed_in_user() -> User | None:
    """The signed-in, active user; or None after drawing the sign-in form."""
    db = database()
    if st.session_state.pop("_sign_out_requested", False):
        auth.end_session(db, st.session_state.get(_TOKEN_KEY))
        _forget()
    token = st.session_state.get(_TOKEN_KEY)
    restored = False
    if token is None:
        token, restored = _cookie_session(), True
    user = auth.session_user(db, token)
    if user is None:
        if token is not None:
            _forget()
            if not restored:
                st.info("You have been signed out.")
        return _sign_in_form(db)
    st.session_state.update({_TOKEN_KEY: token, _USER_KEY: user})
    if st.session_state.pop(_NEW_COOKIE_KEY, False):  # just signed in
        _session_cookie(user.username, token)
    return user


def _sign_in_form(db: Database) -> User | None:
    st.title("Leads & Contacts")
    with st.form("sign_in"):
        st.subheader("Sign in")
        st.text_input("Username", key="sign_in_username", autocomplete="username")
        st.text_input("Password", type="password", key="sign_in_password",
                      autocomplete="current-password")
        st.form_submit_button("Sign in", type="primary", on_click=_sign_in, args=(db,))
    if error := st.session_state.pop(_ERROR_KEY, None):
        text.error("{}", error)
    if settings.is_demo(db):
        _demo_sign_ins()
    return None


def _sign_in(db: Database) -> None:
    """The form's callback: check, and remember the new session before the page runs."""
    client = auth.client_key(client_address())
    try:
        user = auth.sign_in(db, st.session_state.get("sign_in_username", ""),
                            st.session_state.get("sign_in_password", ""), client)
    except auth.SignInRefused as refused:
        st.session_state[_ERROR_KEY] = str(refused)
        st.session_state["sign_in_password"] = ""
        return
    token = auth.start_session(db, user, client, hours=config.session_hours())
    st.session_state.update({_TOKEN_KEY: token, _NEW_COOKIE_KEY: True,
                             "sign_in_password": ""})


def client_address() -> str | None:
    """The client's address (sign-in throttling, the public form's limit); None on a local
    connection, and under AppTest, where Streamlit has no real connection to ask."""
    try:
        address = st.context.ip_address
    except (AttributeError, RuntimeError):
        return None
    return address if isinstance(address, str) and address else None


def _cookie_session() -> str | None:
    """The session identity in the signed cookie the browser sent, if valid."""
    raw = st.context.cookies.get(COOKIE_NAME)
    if not raw:
        return None
    try:
        token: dict[str, Any] = jwt.decode(raw, config.secret("cookie_key", generate=True),
                                           algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    sid = token.get("sid")
    return sid if isinstance(sid, str) and sid else None


def _forget() -> None:
    """Sign this browser session out: the cookie goes, and so does what we kept."""
    _write_cookie("", datetime(1970, 1, 1, tzinfo=UTC))
    for key in (_USER_KEY, _TOKEN_KEY, _NEW_COOKIE_KEY):
        st.session_state.pop(key, None)


def _demo_sign_ins() -> None:
    from crm.demo.reference import DEMO_PASSWORD, DEMO_SIGN_INS

    with st.expander("Demo sign-ins", expanded=True):
        text.caption("Every demo user's password is {}.", text.code(DEMO_PASSWORD))
        st.table({"Username": [u for u, _ in DEMO_SIGN_INS],
                  "Role": [r for _, r in DEMO_SIGN_INS]})


def current_user() -> User:
    """The user app.py signed in for this run (pages run only after sign-in)."""
    user = st.session_state.get(_USER_KEY)
    if user is None:
        st.stop()
    return user


def sign_out_button() -> None:
    user = current_user()
    with st.sidebar:
        if user.department_name:
            text.caption("Signed in as **{}** · {} · {}", user.full_name, user.role.label,
                         user.department_name)
        else:
            text.caption("Signed in as **{}** · {}", user.full_name, user.role.label)
        st.button("Sign out", key="sign_out", on_click=_request_sign_out)


def _request_sign_out() -> None:
    # The cookie is deleted by a script drawn in the next run, which then shows the sign-in
    # form (a rerun straight away would not draw it).
    st.session_state["_sign_out_requested"] = True
