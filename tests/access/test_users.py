"""Managing users and departments: admins only, validated, audited."""

from __future__ import annotations

import pytest

from crm.access.users import (
    UserError,
    create_department,
    create_user,
    eligible_owners,
    get_user,
    list_departments,
    list_users,
    rename_department,
    set_password,
    update_user,
)
from crm.identity.roles import Role
from crm.storage import audit
from tests import factories


@pytest.fixture
def admin(db):
    return factories.user(db, "root.admin", Role.ADMIN, None)


def test_an_admin_creates_a_user_whose_password_is_stored_as_bcrypt(db, admin):
    east = create_department(admin, db, "East")
    create_user(admin, db, username="Bob.Smith", full_name="Bob Smith", password="s3cret-pass",
                role="sales_manager", department_id=east, email="bob@example.com")
    bob = get_user(db, "bob.smith")
    assert (bob.role, bob.department_name, bob.active) == (Role.SALES_MANAGER, "East", True)
    stored = db.scalar("SELECT password_hash FROM users WHERE username = 'bob.smith'")
    assert stored.startswith("$2b$") and "s3cret" not in stored


@pytest.mark.parametrize("role", ["sales_manager", "operator", "company_manager",
                                  "super_operator"])
def test_nobody_but_an_admin_manages_users(db, admin, role):
    east = create_department(admin, db, "East")
    actor = factories.user(db, f"x.{role}", role, east)
    with pytest.raises(PermissionError):
        create_user(actor, db, username="eve", full_name="Eve", password="password1",
                    role="admin", department_id=None)
    with pytest.raises(PermissionError):
        create_department(actor, db, "Rogue")
    with pytest.raises(PermissionError):
        list_users(actor, db)
    with pytest.raises(PermissionError):
        update_user(actor, db, actor.id, role="admin")


def test_usernames_are_unique(db, admin):
    east = create_department(admin, db, "East")
    factories.user(db, "carol", Role.OPERATOR, east)
    with pytest.raises(UserError, match="taken"):
        create_user(admin, db, username="CAROL", full_name="Carol 2", password="password1",
                    role="operator", department_id=east)


@pytest.mark.parametrize("username", ["", "a", "has space", "Ümlaut", "x" * 60])
def test_bad_usernames_are_refused(db, admin, username):
    with pytest.raises(UserError, match="username"):
        create_user(admin, db, username=username, full_name="X", password="password1",
                    role="admin", department_id=None)


def test_short_passwords_are_refused(db, admin):
    with pytest.raises(UserError, match="at least 8"):
        create_user(admin, db, username="dan", full_name="Dan", password="short",
                    role="admin", department_id=None)


def test_department_roles_need_a_department(db, admin):
    with pytest.raises(UserError, match="must belong to a department"):
        create_user(admin, db, username="dan", full_name="Dan", password="password1",
                    role="operator", department_id=None)


def test_unknown_roles_are_refused(db, admin):
    with pytest.raises(UserError, match="Unknown role"):
        create_user(admin, db, username="dan", full_name="Dan", password="password1",
                    role="king", department_id=None)


def test_changing_role_and_department_writes_one_audit_entry_per_field(db, admin):
    east, west = create_department(admin, db, "East"), create_department(admin, db, "West")
    erin = factories.user(db, "erin", Role.OPERATOR, east)
    update_user(admin, db, erin.id, role="sales_manager", department_id=west)
    erin = get_user(db, "erin")
    assert (erin.role, erin.department_id) == (Role.SALES_MANAGER, west)
    changes = {(h["field"], h["old_value"], h["new_value"])
               for h in audit.history(db, "user", erin.id) if h["action"] == "update"}
    assert changes == {("role", "operator", "sales_manager"),
                       ("department_id", str(east), str(west))}


def test_an_admin_cannot_lock_themselves_out(db, admin):
    with pytest.raises(UserError, match="deactivate yourself"):
        update_user(admin, db, admin.id, active=False)
    with pytest.raises(UserError, match="admin role"):
        update_user(admin, db, admin.id, role="operator", department_id=None)


def test_deactivating_and_reactivating(db, admin):
    east = create_department(admin, db, "East")
    fay = factories.user(db, "fay", Role.SALES_MANAGER, east)
    update_user(admin, db, fay.id, active=False)
    assert not get_user(db, "fay").active
    assert fay.id not in {u.id for u in eligible_owners(db, east)}
    update_user(admin, db, fay.id, active=True)
    assert get_user(db, "fay").active


def test_a_password_reset_changes_the_hash_and_is_audited(db, admin):
    before = db.scalar("SELECT password_hash FROM users WHERE id = ?", (admin.id,))
    set_password(admin, db, admin.id, "another password")
    after = db.scalar("SELECT password_hash FROM users WHERE id = ?", (admin.id,))
    assert before != after
    assert "password_reset" in {h["action"] for h in audit.history(db, "user", admin.id)}


def test_departments_are_created_and_renamed_with_unique_names(db, admin):
    east = create_department(admin, db, "East")
    create_department(admin, db, "West")
    with pytest.raises(UserError, match="already exists"):
        create_department(admin, db, "east")
    with pytest.raises(UserError, match="already exists"):
        rename_department(admin, db, east, "WEST")
    rename_department(admin, db, east, "Eastern Europe")
    assert [d["name"] for d in list_departments(db)] == ["Eastern Europe", "West"]
    history = audit.history(db, "department", east)
    assert history[0]["old_value"] == "East" and history[0]["new_value"] == "Eastern Europe"


def test_a_department_needs_a_name(db, admin):
    with pytest.raises(UserError, match="needs a name"):
        create_department(admin, db, "   ")
