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
_EXPIRES_KEY = "crm_cookie_expires"  # the expiry in this session's cookie: its identity


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
        _revoke_this_session(db)
        _forget(authenticator)
    was_signed_in = bool(st.session_state.get("authentication_status"))
    try:
        authenticator.login(location="unrendered")  # restores a session from a valid cookie
    except LoginError:
        _forget(authenticator)
    username = st.session_state.get("username") if st.session_state.get(
        "authentication_status") else None
    if username and not was_signed_in:
        # Restored from the cookie: not if that session signed out (the browser may have
        # kept the cookie when a reload outran its deletion).
        expires = _cookie_expiry(username)
        if expires is None or auth.session_revoked(db, username, expires):
            _forget(authenticator)
            username = None
        else:
            st.session_state[_EXPIRES_KEY] = expires
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
    st.session_state[_EXPIRES_KEY] = authenticator.cookie_controller.cookie_model.exp_date


def _cookie_expiry(username: str) -> float | None:
    """The expiry in the sign-in cookie the browser sent, which identifies its session."""
    import jwt

    raw = st.context.cookies.get(COOKIE_NAME)
    if not raw:
        return None
    try:
        token = jwt.decode(raw, config.secret("cookie_key", generate=True),
                           algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    if token.get("username") != username or not isinstance(token.get("exp_date"),
                                                             int | float):
        return None
    return float(token["exp_date"])


def _revoke_this_session(db: Database) -> None:
    username, expires = st.session_state.get("username"), st.session_state.get(_EXPIRES_KEY)
    if username and expires is not None:
        auth.revoke_session(db, username, expires)
    st.session_state.pop(_EXPIRES_KEY, None)


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
