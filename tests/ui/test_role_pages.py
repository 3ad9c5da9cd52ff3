"""Each role sees exactly its buttons (AppTest): what the permission table refuses is disabled
with the reason as its tooltip, or left out of a menu; pages a role may not use are not in
its navigation; an admin changes the table on the Users & departments page."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from crm.access import permissions
from crm.access.users import assign_departments, get_user
from tests import factories
from tests.conftest import shown
from tests.pages import ADMIN, CONTACTS, IMPORT, LEADS, open_page, sign_in

USERS = {"sales_manager": "sales.east", "operator": "operator.east",
         "company_manager": "company.manager", "super_operator": "super.operator",
         "analyst": "analyst", "admin": "admin"}
EVERY_LEAD_ACTION = ["Set VIP", "Remove VIP", "Export to Excel", "Convert", "Make massmail"]
EVERY_CONTACT_ACTION = ["Set VIP", "Remove VIP", "Export to Excel", "Add tags", "Remove tags",
                        "Make massmail"]
# Written out, not derived from the table, so that a wrong default fails here.
LEAD_ACTIONS = {
    "sales_manager": EVERY_LEAD_ACTION,
    "operator": ["Set VIP", "Remove VIP", "Export to Excel"],
    "company_manager": EVERY_LEAD_ACTION,
    "super_operator": ["Set VIP", "Remove VIP", "Export to Excel"],
    "analyst": ["Export to Excel"],
    "admin": EVERY_LEAD_ACTION,
}
CONTACT_ACTIONS = {
    "sales_manager": EVERY_CONTACT_ACTION,
    "operator": EVERY_CONTACT_ACTION[:-1],
    "company_manager": EVERY_CONTACT_ACTION,
    "super_operator": EVERY_CONTACT_ACTION[:-1],
    "analyst": ["Export to Excel"],
    "admin": EVERY_CONTACT_ACTION,
}
CHANGES_RECORDS = {"sales_manager", "operator", "company_manager", "super_operator", "admin"}


@pytest.fixture
def world(db, app_env):
    return factories.world(db)


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.proto.label == label]
    assert len(found) == 1, f"{label!r}: {[b.proto.label for b in at.button]}"
    return found[0]


def bulk_actions(at: AppTest, noun: str) -> list[str]:
    """The bulk bar's menu, as labelled."""
    return list(at.selectbox(key=f"{noun}_bulk_action").options)


def editable_columns(at: AppTest) -> list[str]:
    """The grid's columns a user can type in (the tick column included)."""
    columns = json.loads(at.data_editor[0].proto.columns)
    return [name for name, config in columns.items()
            if not config.get("disabled") and name != "_index"]


def state(at: AppTest, label: str) -> tuple[bool, str]:
    """Whether the button is disabled, and its tooltip as shown."""
    found = button(at, label)
    return found.proto.disabled, shown(found.proto.help)


@pytest.mark.parametrize("role", list(USERS))
def test_each_role_sees_exactly_its_lead_buttons(world, role):
    at = open_page(USERS[role], LEADS)
    assert bulk_actions(at, "lead") == LEAD_ACTIONS[role]
    label = role.replace("_", " ").capitalize()
    if role in CHANGES_RECORDS:
        assert not state(at, "Add lead")[0]
        assert not state(at, "Import")[0]
    else:
        assert state(at, "Add lead") == (True, f"Your role ({label}) may not add leads.")
        assert state(at, "Import") == (True, f"Your role ({label}) may not import leads.")
    # Inline editing only for roles that may edit: for others only the tick column is open.
    if role in CHANGES_RECORDS:
        assert {"Select", "email", "manager", "vip"} <= set(editable_columns(at))
    else:
        assert editable_columns(at) == ["Select"]


@pytest.mark.parametrize("role", list(USERS))
def test_each_role_sees_exactly_its_contact_buttons(world, role):
    at = open_page(USERS[role], CONTACTS)
    assert bulk_actions(at, "contact") == CONTACT_ACTIONS[role]
    label = role.replace("_", " ").capitalize()
    massmail = state(at, "Make massmail")
    if role in ("sales_manager", "company_manager", "admin"):
        assert massmail[0] is False or massmail[1].startswith("A mass mailing")
    else:
        assert massmail == (
            True, f"Your role ({label}) may not create and send mass mailings to contacts.")
    if role in CHANGES_RECORDS:
        assert not state(at, "Add contact")[0]
    else:
        assert state(at, "Add contact") == (True, f"Your role ({label}) may not add contacts.")


@pytest.mark.parametrize("role", list(USERS))
def test_the_import_page_is_in_the_menu_only_of_roles_that_import(world, role):
    at = sign_in(USERS[role])
    if role in CHANGES_RECORDS:
        at.switch_page(IMPORT).run()
        assert not at.exception
    else:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(IMPORT)


def test_an_analyst_reads_a_lead_but_cannot_edit_or_convert_it(world):
    at = sign_in("analyst")
    at.query_params["id"] = str(world.leads["east"])
    at.switch_page(LEADS).run()
    assert not at.exception
    assert state(at, "Convert") == (True, "Your role (Analyst) may not convert leads.")
    assert "Your role (Analyst) may not edit leads." in [shown(c.value) for c in at.caption]
    assert not at.get("form")  # no edit form at all


def test_a_grant_shows_at_the_users_next_click(world, db):
    at = open_page("operator.east", LEADS)
    assert "Convert" not in bulk_actions(at, "lead")
    permissions.set_allowed(None, db, "operator", "convert", "lead", True)
    at.run()
    assert "Convert" in bulk_actions(at, "lead")


def test_an_admin_changes_the_table_on_the_admin_page_and_resets_it(world, db):
    at = open_page("admin", ADMIN)
    editor = next(e for e in at.data_editor if e.key and e.key.startswith("permissions_grid"))
    rows = list(editor.value["Permission"])
    convert = rows.index("Convert leads")
    at.session_state[editor.key] = {"edited_rows": {convert: {"Operator": True}},
                                    "added_rows": [], "deleted_rows": []}
    at.button(key="FormSubmitter:permissions-Save permissions").click().run()
    assert not at.exception
    assert "1 permission(s) changed." in [shown(s.value) for s in at.success]
    operator = get_user(db, "operator.east")
    assert permissions.can(operator, "convert", "lead")
    assert db.scalar("SELECT count(*) FROM audit_log WHERE entity = 'permission' "
                     "AND field = 'operator:convert:lead' AND new_value = 'True'") == 1
    assert "1 change(s) from the defaults: Operator may convert leads." in [
        shown(c.value) for c in at.caption]
    at.button(key="permissions_reset").click().run()
    assert not at.exception
    assert not permissions.can(get_user(db, "operator.east"), "convert", "lead")
    assert "Every role has the default permissions." in [shown(c.value) for c in at.caption]


def test_the_admin_page_refuses_to_take_user_management_from_admins(world, db):
    at = open_page("admin", ADMIN)
    editor = next(e for e in at.data_editor if e.key and e.key.startswith("permissions_grid"))
    row = list(editor.value["Permission"]).index("Manage users, departments and permissions")
    at.session_state[editor.key] = {"edited_rows": {row: {"Admin": False}},
                                    "added_rows": [], "deleted_rows": []}
    at.button(key="FormSubmitter:permissions-Save permissions").click().run()
    assert [shown(e.value) for e in at.error] == [
        "The admin role keeps the right to manage users and permissions; otherwise nobody "
        "could give it back."]
    assert db.scalar("SELECT count(*) FROM role_permissions") == 0


def test_an_admin_gives_an_analyst_departments_and_the_analyst_sees_only_those(world, db):
    at = open_page("admin", ADMIN)
    at.selectbox(key="edit_user_pick").set_value("analyst").run()
    box = next(m for m in at.multiselect if m.label == "Departments this analyst sees")
    box.set_value([world.east])
    at.button(key="FormSubmitter:analyst_departments-Save departments").click().run()
    assert not at.exception
    assert get_user(db, "analyst").assigned == {world.east}
    assert "Departments of analyst saved." in [shown(s.value) for s in at.success]
    at = open_page("analyst", LEADS)
    sentence = next(shown(m.value.strip("*")) for m in at.markdown if m.value.startswith("**"))
    assert sentence == "1 lead"
    # One department: no department filter in the sidebar; two: the filter, with those two.
    assert "lead_filter_department" not in [m.key for m in at.sidebar.multiselect]
    assign_departments(None, db, world.users["analyst"].id, [world.east, world.west])
    at.run()
    assert at.multiselect(key="lead_filter_department").options == ["East (1)", "West (1)"]
