"""Pages through Streamlit's AppTest: sign-in, role-gated navigation, overview, admin."""

from __future__ import annotations

import pytest

from crm.access.users import get_user, update_user
from crm.storage import settings
from tests import factories
from tests.conftest import shown
from tests.pages import ADMIN, metrics, open_app, sign_in


@pytest.fixture
def world(db, app_env):
    return factories.world(db)


def test_a_visitor_sees_only_the_sign_in_form(world):
    at = open_app()
    assert not at.exception
    assert [t.value for t in at.title] == ["Leads & Contacts"]
    assert at.text_input(key="sign_in_username")
    assert not at.metric


def test_a_visitor_reaches_no_page_script_before_sign_in(world):
    """Every address answers with the sign-in form; no page script is registered."""
    at = open_app()
    for script in ("pages/workspace/leads.py", "pages/workspace/overview.py", ADMIN):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(script)


def test_a_wrong_password_is_refused_without_saying_whether_the_user_exists(world):
    wrong = sign_in("sales.east", "wrong password")
    unknown = sign_in("nobody.here", "wrong password")
    assert [shown(e.value) for e in wrong.error] == [shown(e.value) for e in unknown.error] == [
        "Username or password is incorrect."]
    assert not wrong.metric


def test_a_sales_manager_lands_on_the_overview_of_their_department(world):
    at = sign_in("sales.east")
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    assert metrics(at) == {"Leads": "1", "Open leads": "1", "Contacts": "2", "Companies": "1",
                           "VIP share of contacts": "0.0%", "VIP share of leads": "0.0%"}
    assert any("East department" in c.value for c in at.caption)


def test_a_company_manager_sees_every_department(world):
    at = sign_in("company.manager")
    assert metrics(at) == {"Leads": "2", "Open leads": "2", "Contacts": "4", "Companies": "2",
                           "VIP share of contacts": "0.0%", "VIP share of leads": "0.0%"}


@pytest.mark.parametrize("username", ["sales.east", "operator.east", "company.manager",
                                      "super.operator"])
def test_the_admin_page_is_not_registered_for_other_roles(world, username):
    at = sign_in(username)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(ADMIN)


def test_an_admin_creates_a_department_on_the_admin_page(world, db):
    at = sign_in("admin")
    at.switch_page(ADMIN).run()
    assert [t.value for t in at.title] == ["Users & departments"]
    form_input = next(t for t in at.text_input if t.label == "New department")
    form_input.input("North")
    next(b for b in at.button if b.label == "Create department").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Department North created."]
    assert db.scalar("SELECT count(*) FROM departments WHERE name = 'North'") == 1


def test_an_admin_sees_a_clear_error_for_a_duplicate_department(world, db):
    at = sign_in("admin")
    at.switch_page(ADMIN).run()
    next(t for t in at.text_input if t.label == "New department").input("East")
    next(b for b in at.button if b.label == "Create department").click().run()
    assert [shown(e.value) for e in at.error] == ["A department named 'East' already exists."]


def test_a_deactivated_user_is_signed_out_at_their_next_interaction(world, db):
    at = sign_in("sales.east")
    assert at.metric
    update_user(None, db, get_user(db, "sales.east").id, active=False)
    at.run()
    assert not at.metric
    assert at.text_input(key="sign_in_username")
    assert [i.value for i in at.info] == ["You have been signed out."]


def test_a_session_ended_elsewhere_signs_the_tab_out_at_its_next_click(world, db):
    """Sign-out in another tab, an admin ending the sessions, a password reset or a role
    change: the session is ended on the server, and this tab learns it at its next run."""
    at = sign_in("sales.east")
    other = sign_in("sales.east")  # a second tab or device: a session of its own
    assert at.metric and other.metric
    other.button(key="sign_out").click().run()
    at.run()
    assert at.metric  # that sign-out ended the other session only
    from crm.access import auth

    auth.end_sessions(world.users["admin"], db, world.users["sales_east"].id)
    at.run()
    assert not at.metric and at.text_input(key="sign_in_username")
    assert [i.value for i in at.info] == ["You have been signed out."]


def test_an_admin_sees_a_users_sessions_and_ends_them(world, db):
    sign_in("sales.east")
    at = sign_in("admin")
    at.switch_page(ADMIN).run()
    at.selectbox(key="edit_user_pick").set_value("sales.east").run()
    assert not at.exception
    end = at.button(key="end_sessions")
    assert shown(end.label) == "End all 1 sessions of sales.east"
    end.click().run()
    assert [shown(s.value) for s in at.success] == [
        "Every session of sales.east ended: signed out everywhere."]
    assert "sales.east has no open session." in [shown(c.value) for c in at.caption]


def test_signing_out_returns_to_the_sign_in_form(world):
    at = sign_in("sales.east")
    at.button(key="sign_out").click().run()
    assert not at.metric
    assert at.text_input(key="sign_in_username")


def test_demo_sign_ins_are_shown_only_for_a_demo_database(world, db):
    assert not open_app().expander
    with db.transaction() as tx:
        settings.put(tx, "demo", "1")
    at = open_app()
    assert [e.label for e in at.expander] == ["Demo sign-ins"]
