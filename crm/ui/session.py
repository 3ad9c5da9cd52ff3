"""Sign-in, the signed-in user and sign-out, on top of streamlit-authenticator.

streamlit-authenticator keeps the session state and the signed re-authentication cookie
(a JWT under our own key). We close its gaps around it: the cookie key comes from secrets and
is never a constant; passwords are checked by `crm.auth`, which throttles failed sign-ins in
the database and never says whether a username exists; the user is re-read from the database
on every interaction, so a deactivated user is signed out at once.
"""

from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from crm import auth, config, settings
from crm.db import Database
from crm.store import open_store
from crm.users import User

COOKIE_NAME = "crm_session"
_USER_KEY = "crm_user"


def database() -> Database:
    return open_store()


def _authenticator(db: Database) -> stauth.Authenticate:
    """Built every run from the active users: a deactivated user's cookie no longer signs in."""
    rows = db.fetch_all(
        "SELECT username, full_name, email, role, password_hash FROM users WHERE active"
    )
    credentials = {
        "usernames": {
            r["username"]: {
                "name": r["full_name"], "email": r["email"], "password": r["password_hash"],
                "roles": [r["role"]],
            }
            for r in rows
        }
    }
    return stauth.Authenticate(
        credentials,
        cookie_name=COOKIE_NAME,
        cookie_key=config.secret("cookie_key", generate=True),
        cookie_expiry_days=config.session_hours() / 24,
        auto_hash=False,
        login_sleep_time=0,
    )


def signed_in_user() -> User | None:
    """The signed-in, active user; or None after drawing the sign-in form."""
    db = database()
    authenticator = _authenticator(db)
    if st.session_state.pop("_sign_out_requested", False):
        _forget(authenticator)
    try:
        authenticator.login(location="unrendered")  # restores a session from a valid cookie
    except LoginError:
        _forget(authenticator)
    username = st.session_state.get("username") if st.session_state.get(
        "authentication_status") else None
    user = auth.active_user(db, username)
    if username and user is None:
        _forget(authenticator)
        st.info("You have been signed out.")
    if user is not None:
        st.session_state[_USER_KEY] = user
        return user
    user = _sign_in_form(db)
    if user is not None:
        # Outside the form's placeholder: the cookie is written by a browser component that
        # must stay on the page, and the placeholder has just been emptied.
        _remember(authenticator, user)
    return user


def _sign_in_form(db: Database) -> User | None:
    slot = st.empty()
    with slot.container():
        st.title("Leads & Contacts")
        with st.form("sign_in"):
            st.subheader("Sign in")
            username = st.text_input("Username", key="sign_in_username", autocomplete="username")
            password = st.text_input("Password", type="password", key="sign_in_password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            try:
                user = auth.sign_in(db, username, password)
            except auth.SignInRefused as refused:
                st.error(str(refused))
            else:
                slot.empty()
                return user
        if settings.is_demo(db):
            _demo_sign_ins()
    return None


def _remember(authenticator: stauth.Authenticate, user: User) -> None:
    st.session_state.update({
        "authentication_status": True, "username": user.username, "name": user.full_name,
        "email": user.email, "roles": [user.role.value], "logout": False, _USER_KEY: user,
    })
    authenticator.cookie_controller.set_cookie()


def _forget(authenticator: stauth.Authenticate) -> None:
    if st.session_state.get("authentication_status"):
        authenticator.logout(location="unrendered")
    else:
        authenticator.cookie_controller.delete_cookie()
    st.session_state.pop(_USER_KEY, None)


def _demo_sign_ins() -> None:
    from crm.demo import DEMO_PASSWORD, DEMO_SIGN_INS

    with st.expander("Demo sign-ins", expanded=True):
        st.caption(f"Every demo user's password is `{DEMO_PASSWORD}`.")
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
        st.caption(f"Signed in as **{user.full_name}** · {user.role.label}"
                   + (f" · {user.department_name}" if user.department_name else ""))
        st.button("Sign out", key="sign_out", on_click=_request_sign_out)


def _request_sign_out() -> None:
    # The cookie is deleted by a browser component, so it happens in the next run, which
    # then shows the sign-in form (a rerun straight away could drop the deletion).
    st.session_state["_sign_out_requested"] = True
