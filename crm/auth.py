"""Sign-in checks against the users table, throttled from the database.

Five failed sign-ins for a username inside fifteen minutes lock that username until the
fifth failure is fifteen minutes old. Attempts refused while locked are not counted, so a
stranger cannot extend a lock, and nothing is ever locked for good. A refusal never says
whether the username exists: unknown names cost the same bcrypt work and get the same answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from crm.clock import now
from crm.config import SignInPolicy
from crm.db import Database
from crm.users import User, get_user, hash_password, password_matches

REFUSED = "Username or password is incorrect."
LOCKED = "Too many failed sign-ins for this username. Try again in 15 minutes."
_DUMMY_HASH = hash_password("not a real password, used to spend equal time on unknown users")


class SignInRefused(Exception):
    """Sign-in refused; the message is safe to show."""


DEFAULT_POLICY = SignInPolicy()


def sign_in(db: Database, username: str, password: str,
            policy: SignInPolicy = DEFAULT_POLICY) -> User:
    """The active user these credentials belong to, or SignInRefused."""
    username = (username or "").strip().lower()
    if not username or not password:
        raise SignInRefused("Enter your username and password.")
    if locked_until(db, username, policy) is not None:
        raise SignInRefused(LOCKED)
    row = db.fetch_one(
        "SELECT password_hash, active FROM users WHERE username = ?", (username,)
    )
    ok = password_matches(password, row["password_hash"] if row else _DUMMY_HASH)
    ok = ok and row is not None and bool(row["active"])
    db.execute(
        "INSERT INTO sign_in_attempts (username, attempted_at, succeeded) VALUES (?, ?, ?)",
        (username, now(), ok),
    )
    if not ok:
        raise SignInRefused(REFUSED)
    user = get_user(db, username)
    assert user is not None
    return user


def locked_until(db: Database, username: str,
                 policy: SignInPolicy = DEFAULT_POLICY) -> datetime | None:
    """When the username's lock ends, or None when it may try to sign in."""
    since = now() - timedelta(minutes=policy.window_minutes)
    rows = db.fetch_all(
        "SELECT attempted_at, succeeded FROM sign_in_attempts "
        "WHERE username = ? AND attempted_at > ? ORDER BY attempted_at DESC, id DESC",
        (username.strip().lower(), since),
    )
    failures = []
    for row in rows:
        if row["succeeded"]:
            break
        failures.append(row["attempted_at"])
    if len(failures) < policy.max_failures:
        return None
    # The lock runs from the failure that reached the limit.
    reached = sorted(failures)[policy.max_failures - 1]
    return reached + timedelta(minutes=policy.window_minutes)


def active_user(db: Database, username: str | None) -> User | None:
    """The user behind a session, re-read every interaction: deactivation takes effect at once."""
    if not username:
        return None
    user = get_user(db, username)
    return user if user is not None and user.active else None


def revoke_session(db: Database, username: str, expires: float) -> None:
    """Record a signed-out session's cookie (username and expiry identify it) as void.

    Cookies outlive nothing: entries whose cookie has expired anyway are dropped here.
    """
    key = repr(float(expires))
    with db.transaction() as tx:
        tx.execute("DELETE FROM revoked_sessions WHERE revoked_at < ?",
                   (now() - timedelta(days=31),))
        tx.execute("DELETE FROM revoked_sessions WHERE username = ? AND expires = ?",
                   (username, key))
        tx.execute("INSERT INTO revoked_sessions (username, expires, revoked_at) "
                   "VALUES (?, ?, ?)", (username, key, now()))


def session_revoked(db: Database, username: str, expires: float) -> bool:
    return bool(db.scalar("SELECT count(*) FROM revoked_sessions WHERE username = ? AND "
                          "expires = ?", (username, repr(float(expires)))))
