"""Signing in: passwords, throttling from the database, and no hint whether a user exists."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from crm.access import auth
from crm.access.users import get_user, set_password, update_user
from crm.common.clock import fixed_at
from crm.identity.roles import Role
from tests import factories


@pytest.fixture
def alice(db):
    east = factories.department(db, "East")
    return factories.user(db, "alice", Role.SALES_MANAGER, east)


def fail(db, username, times):
    for _ in range(times):
        with pytest.raises(auth.SignInRefused):
            auth.sign_in(db, username, "wrong password")


def fail_from(db, username, client, times):
    for _ in range(times):
        with pytest.raises(auth.SignInRefused):
            auth.sign_in(db, username, "wrong password", client=client)


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


# ----------------------------------------------------------------------- the lock's length


def test_the_lock_lasts_until_the_failure_that_reached_the_limit_is_old(db, alice):
    """Failures at +0, +10, +11, +12 and +13 minutes: the fifth (at +13) locks until +28,
    although the first one leaves the window at +15."""
    start = datetime(2026, 12, 2, 9, 0)
    for minute in (0, 10, 11, 12, 13):
        with fixed_at(start + timedelta(minutes=minute)):
            fail(db, "alice", 1)
    for minute, locked in ((15.5, True), (27.9, True), (28.1, False)):
        with fixed_at(start + timedelta(minutes=minute)):
            assert (auth.locked_until(db, "alice") is not None) is locked, minute
    with fixed_at(start + timedelta(minutes=15.5)):
        assert auth.locked_until(db, "alice") == start + timedelta(minutes=28)


def test_parallel_wrong_passwords_are_checked_at_most_up_to_the_limit(db, alice):
    """Twelve at once: the count and the check are one step, so five are checked (and
    recorded) and seven find the username locked."""
    barrier = threading.Barrier(12)

    def attempt() -> str:
        barrier.wait()
        try:
            auth.sign_in(db, "alice", "wrong password", client="mallory")
        except auth.SignInRefused as refused:
            return str(refused)
        return "signed in"

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: attempt(), range(12)))
    assert sorted(answers) == sorted([auth.REFUSED] * 5 + [auth.LOCKED] * 7)
    assert db.scalar("SELECT count(*) FROM sign_in_attempts") == 5


# ----------------------------------------------------------------------- per client


def test_a_stranger_locks_only_their_own_client(db, alice):
    auth.sign_in(db, "alice", factories.PASSWORD, client="home")
    fail_from(db, "alice", "mallory", 5)
    with pytest.raises(auth.SignInRefused, match="Too many"):
        auth.sign_in(db, "alice", factories.PASSWORD, client="mallory")
    assert auth.sign_in(db, "alice", factories.PASSWORD, client="home").id == alice.id
    assert auth.sign_in(db, "alice", factories.PASSWORD, client="new laptop").id == alice.id


def test_many_strangers_lock_new_clients_but_not_where_the_user_signs_in(db, alice):
    auth.sign_in(db, "alice", factories.PASSWORD, client="home")
    for n in range(5):
        fail_from(db, "alice", f"bot-{n}", 4)  # 20 failures, none reaching a client's limit
    with pytest.raises(auth.SignInRefused, match="Too many"):
        auth.sign_in(db, "alice", factories.PASSWORD, client="new laptop")
    assert auth.sign_in(db, "alice", factories.PASSWORD, client="home").id == alice.id


def test_an_admin_lifts_a_lock(db, alice):
    admin = factories.user(db, "root", Role.ADMIN, None)
    fail(db, "alice", 5)
    with pytest.raises(PermissionError):
        auth.unlock(alice, db, "alice")
    auth.unlock(admin, db, "alice")
    assert auth.sign_in(db, "alice", factories.PASSWORD).id == alice.id
    assert db.scalar("SELECT action FROM audit_log WHERE entity = 'user' AND entity_id = ? "
                     "ORDER BY id DESC LIMIT 1", (alice.id,)) == "unlock"


# ----------------------------------------------------------------------- sessions


def test_a_session_lives_until_it_is_ended(db, alice):
    token = auth.start_session(db, alice)
    assert auth.session_user(db, token).id == alice.id
    auth.end_session(db, token)
    assert auth.session_user(db, token) is None
    assert auth.session_user(db, "not a session") is None
    assert auth.session_user(db, None) is None


def test_two_sign_ins_in_the_same_second_are_two_sessions(db, alice):
    with fixed_at(datetime(2026, 12, 2, 9, 0)):
        first, second = auth.start_session(db, alice), auth.start_session(db, alice)
        assert first != second
        auth.end_session(db, first)
        assert auth.session_user(db, first) is None
        assert auth.session_user(db, second).id == alice.id


def test_a_session_expires(db, alice):
    with fixed_at(datetime(2026, 12, 2, 9, 0)):
        token = auth.start_session(db, alice, hours=8)
    with fixed_at(datetime(2026, 12, 2, 16, 59)):
        assert auth.session_user(db, token) is not None
    with fixed_at(datetime(2026, 12, 2, 17, 0)):
        assert auth.session_user(db, token) is None


@pytest.mark.parametrize("change", ["deactivate", "reset password", "change role"])
def test_deactivation_password_reset_and_role_change_end_every_session(db, alice, change):
    tokens = [auth.start_session(db, alice) for _ in range(2)]
    if change == "deactivate":
        update_user(None, db, alice.id, active=False)
        update_user(None, db, alice.id, active=True)  # reactivated: old cookies stay void
    elif change == "reset password":
        set_password(None, db, alice.id, "a brand new password")
    else:
        update_user(None, db, alice.id, role=Role.OPERATOR)
    assert [auth.session_user(db, t) for t in tokens] == [None, None]
    assert auth.open_sessions(db, alice.id) == []


def test_an_admin_sees_and_ends_a_users_sessions(db, alice):
    admin = factories.user(db, "root", Role.ADMIN, None)
    token = auth.start_session(db, alice, client="home")
    assert [s["client_key"] for s in auth.open_sessions(db, alice.id)] == ["home"]
    with pytest.raises(PermissionError):
        auth.end_sessions(alice, db, alice.id)
    assert auth.end_sessions(admin, db, alice.id) == 1
    assert auth.session_user(db, token) is None
