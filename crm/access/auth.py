"""Signing in, throttled in the database, and sessions with an identity on the server.

Throttling counts failed sign-ins per username *and client* (a hash of the client's address):

- five failures within fifteen minutes from one client lock the username on that client
  until the failure that reached five is fifteen minutes old;
- twenty failures within fifteen minutes from anywhere lock the username for every client
  that never signed in as it: the user still signs in from where they usually do, so a
  stranger cannot keep someone locked out;
- attempts refused while locked are not counted (a lock cannot be extended), a success
  starts the count again, nothing is locked for good, and an admin can lift a lock;
- the check and the recording of an attempt are one step: attempts for one username are
  serialised (an advisory lock on PostgreSQL; a process lock on DuckDB, which one process
  opens), so parallel wrong passwords are checked at most up to the limit.

A refusal never says whether the username exists: unknown names cost the same bcrypt work
and get the same answer.

Sessions: a sign-in creates a session with a random identity, kept in the browser's signed
cookie and, as its SHA-256, in the `sessions` table. Every interaction looks the session up,
so signing out (which ends that row), deactivating the user, resetting their password,
changing their role or an admin ending it takes effect in every tab and on every server at
the next click.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from crm.access.users import UserError, end_all_sessions, get_user, get_user_by_id, require_admin
from crm.common.clock import now
from crm.common.config import SignInPolicy
from crm.common.errors import Refusal
from crm.identity.user import User, hash_password, password_matches, stamp_id
from crm.storage import audit
from crm.storage.db import SIGN_IN_LOCK, Database, Session, serialised

REFUSED = "Username or password is incorrect."
LOCKED = "Too many failed sign-ins for this username. Try again in 15 minutes."
_DUMMY_HASH = hash_password("not a real password, used to spend equal time on unknown users")
_SEEN_EVERY = timedelta(minutes=1)  # how often a session's last_seen_at is written
_KNOWN_CLIENT_DAYS = 90


class SignInRefused(Refusal):
    """Sign-in refused; the message is safe to show."""


DEFAULT_POLICY = SignInPolicy()


def client_key(ip_address: str | None) -> str:
    """A client as the database keeps it: a hash of its address, never the address."""
    return hashlib.sha256((ip_address or "local").encode()).hexdigest()[:32]


# ----------------------------------------------------------------------- signing in


def sign_in(db: Database, username: str, password: str, client: str = "",
            policy: SignInPolicy = DEFAULT_POLICY) -> User:
    """The active user these credentials belong to, or SignInRefused."""
    username = (username or "").strip().lower()
    if not username or not password:
        raise SignInRefused("Enter your username and password.")
    with serialised(db, SIGN_IN_LOCK, username) as tx:
        if _lock_end(tx, username, client, policy) is not None:
            ok, locked = False, True
        else:
            locked = False
            row = tx.fetch_one("SELECT password_hash, active FROM users WHERE username = ?",
                               (username,))
            ok = password_matches(password, row["password_hash"] if row else _DUMMY_HASH)
            ok = ok and row is not None and bool(row["active"])
            tx.execute("INSERT INTO sign_in_attempts (username, attempted_at, succeeded, "
                       "client_key) VALUES (?, ?, ?, ?)", (username, now(), ok, client))
    if locked:
        raise SignInRefused(LOCKED)
    if not ok:
        raise SignInRefused(REFUSED)
    user = get_user(db, username)
    assert user is not None
    return user


def locked_until(db: Database, username: str, client: str = "",
                 policy: SignInPolicy = DEFAULT_POLICY) -> datetime | None:
    """When the username's lock ends for this client, or None when it may try."""
    with db.transaction() as tx:
        return _lock_end(tx, username.strip().lower(), client, policy)


def recent_failures(db: Database, username: str) -> int:
    """Failed sign-ins of a username in the last two windows that no unlock lifted."""
    window = timedelta(minutes=DEFAULT_POLICY.window_minutes)
    username = username.strip().lower()
    return int(db.scalar(
        "SELECT count(*) FROM sign_in_attempts WHERE username = ? AND NOT succeeded "
        "AND attempted_at > ? AND attempted_at > coalesce((SELECT max(unlocked_at) FROM "
        "sign_in_unlocks WHERE username = ?), ?)",
        (username, now() - 2 * window, username, now() - 2 * window)))


def unlock(actor: User | None, db: Database, username: str) -> None:
    """Lift every sign-in lock of a username (admins; also done by a password reset)."""
    require_admin(actor)
    username = username.strip().lower()
    with db.transaction() as tx:
        tx.execute("INSERT INTO sign_in_unlocks (username, unlocked_at, user_id) "
                   "VALUES (?, ?, ?)", (username, now(), stamp_id(actor)))
        user_id = tx.scalar("SELECT id FROM users WHERE username = ?", (username,))
        if user_id is not None:
            audit.record(tx, actor, "user", user_id, "unlock")


def _lock_end(tx: Session, username: str, client: str,
              policy: SignInPolicy) -> datetime | None:
    window = timedelta(minutes=policy.window_minutes)
    moment = now()
    # A lock reached at failure f lasts until f + window; the failures that reached it lie
    # within the window before f: nothing older than two windows can matter.
    rows = tx.fetch_all(
        "SELECT attempted_at, succeeded, client_key FROM sign_in_attempts WHERE username = ? "
        "AND attempted_at > ? AND attempted_at > coalesce((SELECT max(unlocked_at) FROM "
        "sign_in_unlocks WHERE username = ?), ?) ORDER BY attempted_at, id",
        (username, moment - 2 * window, username, moment - 2 * window))
    here = [r for r in rows if r["client_key"] == client]
    end = _reached(_failures_since_success(here), policy.max_failures, window)
    if end is None and not _known_client(tx, username, client):
        end = _reached(_failures_since_success(rows), policy.max_failures_anywhere, window)
    return end if end is not None and end > moment else None


def _failures_since_success(rows: list[dict[str, Any]]) -> list[datetime]:
    failures: list[datetime] = []
    for row in rows:
        failures = [] if row["succeeded"] else [*failures, row["attempted_at"]]
    return failures


def _reached(failures: list[datetime], limit: int, window: timedelta) -> datetime | None:
    """When the latest lock these failures reached ends (each failure that had `limit`
    failures within the window up to it starts one)."""
    ends = [failures[i] + window for i in range(limit - 1, len(failures))
            if failures[i] - failures[i - limit + 1] < window]
    return max(ends) if ends else None


def _known_client(tx: Session, username: str, client: str) -> bool:
    return bool(tx.scalar(
        "SELECT count(*) FROM sign_in_attempts WHERE username = ? AND client_key = ? "
        "AND succeeded AND attempted_at > ?",
        (username, client, now() - timedelta(days=_KNOWN_CLIENT_DAYS))))


# ----------------------------------------------------------------------- sessions


def start_session(db: Database, user: User, client: str = "",
                  hours: float = 8) -> str:
    """A new session of `user`; returns its identity (for the cookie, nowhere else)."""
    token = secrets.token_urlsafe(32)
    stamp = now()
    db.execute(
        "INSERT INTO sessions (id_hash, user_id, client_key, created_at, last_seen_at, "
        "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        (_hashed(token), user.id, client, stamp, stamp, stamp + timedelta(hours=hours)))
    return token


def session_user(db: Database, token: str | None) -> User | None:
    """The active user of a live session (not ended, not expired), or None."""
    if not token:
        return None
    row = db.fetch_one("SELECT user_id, expires_at, ended_at, last_seen_at FROM sessions "
                       "WHERE id_hash = ?", (_hashed(token),))
    moment = now()
    if row is None or row["ended_at"] is not None or row["expires_at"] <= moment:
        return None
    user = get_user_by_id(db, row["user_id"])
    if user is None or not user.active:
        return None
    if moment - row["last_seen_at"] >= _SEEN_EVERY:
        db.execute("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?",
                   (moment, _hashed(token)))
    return user


def end_session(db: Database, token: str | None, reason: str = "signed out") -> None:
    """End one session (sign-out): every tab and server holding it is signed out."""
    if token:
        db.execute("UPDATE sessions SET ended_at = ?, ended_reason = ? WHERE id_hash = ? "
                   "AND ended_at IS NULL", (now(), reason, _hashed(token)))


def open_sessions(db: Database, user_id: int) -> list[dict[str, Any]]:
    """A user's live sessions, newest first (for admins)."""
    return db.fetch_all(
        "SELECT created_at, last_seen_at, expires_at, client_key FROM sessions "
        "WHERE user_id = ? AND ended_at IS NULL AND expires_at > ? "
        "ORDER BY created_at DESC", (user_id, now()))


def end_sessions(actor: User | None, db: Database, user_id: int,
                 reason: str = "ended by an admin") -> int:
    """End all of a user's sessions (admins); returns how many were open."""
    require_admin(actor)
    with db.transaction() as tx:
        if tx.scalar("SELECT count(*) FROM users WHERE id = ?", (user_id,)) == 0:
            raise UserError("No such user.")
        ended = end_all_sessions(tx, user_id, reason)
        audit.record(tx, actor, "user", user_id, "end sessions", new={"sessions": ended})
    return ended


def active_user(db: Database, username: str | None) -> User | None:
    """The user behind a username if active (re-read every interaction)."""
    if not username:
        return None
    user = get_user(db, username)
    return user if user is not None and user.active else None


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
