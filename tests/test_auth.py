"""Signing in: passwords, throttling from the database, and no hint whether a user exists."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm import auth
from crm.users import Role, get_user, set_password, update_user
from tests import factories


@pytest.fixture
def alice(db):
    east = factories.department(db, "East")
    return factories.user(db, "alice", Role.SALES_MANAGER, east)


def fail(db, username, times):
    for _ in range(times):
        with pytest.raises(auth.SignInRefused):
            auth.sign_in(db, username, "wrong password")


def test_the_right_password_signs_in(db, alice):
    assert auth.sign_in(db, "alice", factories.PASSWORD).id == alice.id


def test_usernames_are_not_case_sensitive(db, alice):
    assert auth.sign_in(db, "  Alice ", factories.PASSWORD).username == "alice"


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(db, alice):
    with pytest.raises(auth.SignInRefused) as wrong:
        auth.sign_in(db, "alice", "nope nope")
    with pytest.raises(auth.SignInRefused) as unknown:
        auth.sign_in(db, "mallory", "nope nope")
    assert str(wrong.value) == str(unknown.value) == auth.REFUSED


def test_empty_fields_are_refused_with_a_prompt(db, alice):
    with pytest.raises(auth.SignInRefused, match="Enter your username"):
        auth.sign_in(db, "alice", "")


def test_five_failures_lock_the_username_even_for_the_right_password(db, alice):
    fail(db, "alice", 5)
    with pytest.raises(auth.SignInRefused) as locked:
        auth.sign_in(db, "alice", factories.PASSWORD)
    assert str(locked.value) == auth.LOCKED


def test_four_failures_do_not_lock(db, alice):
    fail(db, "alice", 4)
    assert auth.sign_in(db, "alice", factories.PASSWORD).id == alice.id


def test_a_success_starts_the_count_again(db, alice):
    fail(db, "alice", 4)
    auth.sign_in(db, "alice", factories.PASSWORD)
    fail(db, "alice", 4)
    assert auth.sign_in(db, "alice", factories.PASSWORD).id == alice.id


def test_an_unknown_username_locks_the_same_way_so_a_lock_reveals_nothing(db, alice):
    fail(db, "mallory", 5)
    with pytest.raises(auth.SignInRefused, match="Too many"):
        auth.sign_in(db, "mallory", "anything at all")


def test_a_lock_ends_fifteen_minutes_after_the_fifth_failure(db, alice):
    fail(db, "alice", 5)
    _age_attempts(db, minutes=16)
    assert auth.sign_in(db, "alice", factories.PASSWORD).id == alice.id


def test_attempts_during_a_lock_do_not_extend_it(db, alice):
    fail(db, "alice", 5)
    _age_attempts(db, minutes=10)
    fail(db, "alice", 10)  # refused while locked: not recorded
    _age_attempts(db, minutes=6)
    assert auth.sign_in(db, "alice", factories.PASSWORD).id == alice.id


def test_locked_until_reports_when_the_lock_ends(db, alice):
    assert auth.locked_until(db, "alice") is None
    fail(db, "alice", 5)
    until = auth.locked_until(db, "alice")
    last = db.scalar("SELECT max(attempted_at) FROM sign_in_attempts")
    assert until == last + timedelta(minutes=15)


def test_a_password_reset_lifts_the_lock(db, alice):
    fail(db, "alice", 5)
    set_password(None, db, alice.id, "a brand new password")
    assert auth.sign_in(db, "alice", "a brand new password").id == alice.id


def test_a_deactivated_user_cannot_sign_in_and_is_told_nothing_more(db, alice):
    update_user(None, db, alice.id, active=False)
    with pytest.raises(auth.SignInRefused) as refused:
        auth.sign_in(db, "alice", factories.PASSWORD)
    assert str(refused.value) == auth.REFUSED


def test_a_deactivated_user_loses_their_session_at_the_next_interaction(db, alice):
    assert auth.active_user(db, "alice") is not None
    update_user(None, db, alice.id, active=False)
    assert auth.active_user(db, "alice") is None
    assert get_user(db, "alice").active is False


def _age_attempts(db, minutes: int) -> None:
    rows = db.fetch_all("SELECT id, attempted_at FROM sign_in_attempts")
    for row in rows:
        db.execute("UPDATE sign_in_attempts SET attempted_at = ? WHERE id = ?",
                   (row["attempted_at"] - timedelta(minutes=minutes), row["id"]))


def test_a_revoked_session_is_known_by_its_username_and_expiry(db, alice):
    auth.revoke_session(db, "alice", 1_800_000_000.25)
    auth.revoke_session(db, "alice", 1_800_000_000.25)  # signing out twice is harmless
    assert auth.session_revoked(db, "alice", 1_800_000_000.25)
    assert not auth.session_revoked(db, "alice", 1_800_003_600.25)  # another sign-in
    assert not auth.session_revoked(db, "bob", 1_800_000_000.25)
