"""Who sees, edits and exports what: the access table of SPEC.md, role by role."""

from __future__ import annotations

import pytest

from crm.access import (
    Action,
    Entity,
    can,
    can_manage_users,
    may_work_in_department,
    scope,
    sees_all_departments,
    sees_several_departments,
)
from crm.access.users import update_user
from crm.records import lookup
from tests import factories


@pytest.fixture
def world(db):
    return factories.world(db)


def visible(db, user, entity, action=Action.VIEW):
    table = Entity(Entity(entity)).table
    allowed = scope(user, entity, action)
    rows = db.fetch_all(f"SELECT id FROM {table} WHERE {allowed.sql} ORDER BY id", allowed.params)
    return {r["id"] for r in rows}


def test_a_sales_manager_sees_only_their_departments_leads_contacts_and_companies(db, world):
    me = world.users["sales_east"]
    assert visible(db, me, Entity.LEAD) == {world.leads["east"]}
    assert visible(db, me, Entity.CONTACT) == {world.contacts["east_mine"],
                                                world.contacts["east_other"]}
    assert visible(db, me, Entity.COMPANY) == {world.companies["east"]}


def test_an_operator_sees_only_their_department(db, world):
    me = world.users["operator_east"]
    assert visible(db, me, Entity.LEAD) == {world.leads["east"]}
    assert visible(db, me, Entity.COMPANY) == {world.companies["east"]}


@pytest.mark.parametrize("role", ["company_manager", "super_operator", "admin", "analyst"])
def test_company_wide_roles_see_every_department(db, world, role):
    me = world.users[role]
    assert visible(db, me, Entity.LEAD) == set(world.leads.values())
    assert visible(db, me, Entity.CONTACT) == set(world.contacts.values())
    assert visible(db, me, Entity.COMPANY) == set(world.companies.values())
    assert sees_all_departments(me)


@pytest.mark.parametrize("role", ["sales_east", "operator_east", "analyst_east"])
def test_department_roles_have_no_department_filter(world, role):
    assert not sees_all_departments(world.users[role])


def test_an_analyst_given_a_department_sees_only_that_department(db, world):
    me = world.users["analyst_east"]
    assert visible(db, me, Entity.LEAD) == {world.leads["east"]}
    assert visible(db, me, Entity.COMPANY) == {world.companies["east"]}


@pytest.mark.parametrize("role", ["sales_east", "operator_east", "company_manager",
                                  "super_operator", "admin"])
def test_every_role_may_edit_exactly_what_it_sees(db, world, role):
    me = world.users[role]
    for entity in (Entity.LEAD, Entity.CONTACT, Entity.COMPANY, Entity.REQUEST):
        assert can(me, Action.EDIT, entity)
        assert visible(db, me, entity, Action.EDIT) == visible(db, me, entity)


@pytest.mark.parametrize("role", ["sales_east", "operator_east", "company_manager",
                                  "super_operator", "admin", "analyst"])
def test_leads_export_holds_what_the_user_can_see(db, world, role):
    me = world.users[role]
    assert visible(db, me, Entity.LEAD, Action.EXPORT) == visible(db, me, Entity.LEAD)


def test_contacts_export_holds_only_contacts_assigned_to_the_user_for_every_role(db, world):
    assert visible(db, world.users["sales_east"], Entity.CONTACT, Action.EXPORT) == {
        world.contacts["east_mine"]}
    assert visible(db, world.users["super_operator"], Entity.CONTACT, Action.EXPORT) == {
        world.contacts["west_super"]}
    assert visible(db, world.users["company_manager"], Entity.CONTACT, Action.EXPORT) == set()
    assert visible(db, world.users["operator_east"], Entity.CONTACT, Action.EXPORT) == set()


def test_an_id_look_up_of_another_departments_record_finds_nothing(db, world):
    me = world.users["sales_east"]
    assert lookup.find(me, db, Entity.LEAD, world.leads["west"]) is None
    assert lookup.find(me, db, Entity.CONTACT, world.contacts["west"]) is None
    assert lookup.find(me, db, Entity.COMPANY, world.companies["west"]) is None
    assert lookup.find(me, db, Entity.LEAD, world.leads["east"])["last_name"] == "Eastlead"


def test_an_out_of_scope_record_looks_exactly_like_a_missing_one(db, world):
    me = world.users["sales_east"]
    assert lookup.find(me, db, Entity.LEAD, world.leads["west"]) == lookup.find(
        me, db, Entity.LEAD, 999_999)


def test_counts_stay_inside_the_scope(db, world):
    assert lookup.count(world.users["sales_west"], db, Entity.CONTACT) == 2
    assert lookup.count(world.users["company_manager"], db, Entity.CONTACT) == 4


def test_a_deactivated_user_sees_nothing(db, world):
    admin = world.users["admin"]
    me = world.users["sales_east"]
    update_user(admin, db, me.id, active=False)
    from crm.access.users import get_user_by_id

    me = get_user_by_id(db, me.id)
    assert visible(db, me, Entity.LEAD) == set()
    assert not can(me, Action.VIEW)


def test_a_department_role_without_department_sees_nothing(world):
    from dataclasses import replace

    orphan = replace(world.users["sales_east"], department_id=None)
    assert scope(orphan, Entity.LEAD).sql == "FALSE"


def test_only_admins_manage_users_and_departments(world):
    assert can_manage_users(world.users["admin"])
    for role in ("sales_east", "operator_east", "company_manager", "super_operator", "analyst"):
        assert not can_manage_users(world.users[role])


def test_records_may_be_placed_only_in_departments_in_scope(world):
    assert may_work_in_department(world.users["sales_east"], world.east)
    assert not may_work_in_department(world.users["sales_east"], world.west)
    assert may_work_in_department(world.users["company_manager"], world.west)


def test_an_analyst_sees_the_departments_an_admin_assigns_and_no_other(db, world):
    from crm.access.users import assign_departments, get_user_by_id

    third = factories.department(db, "North")
    north_lead = factories.lead(db, "Northlead", third, world.users["sales_east"])
    analyst = world.users["analyst"]
    assert visible(db, analyst, Entity.LEAD) == {world.leads["east"], world.leads["west"],
                                                 north_lead}  # none assigned: every one
    assign_departments(world.users["admin"], db, analyst.id, [world.east, third])
    analyst = get_user_by_id(db, analyst.id)
    assert analyst.assigned == {world.east, third}
    assert visible(db, analyst, Entity.LEAD) == {world.leads["east"], north_lead}
    assert lookup.find(analyst, db, Entity.LEAD, world.leads["west"]) is None
    assert not sees_all_departments(analyst) and sees_several_departments(analyst)
    assert may_work_in_department(analyst, third)
    assert not may_work_in_department(analyst, world.west)
    assert db.scalar("SELECT new_value FROM audit_log WHERE entity = 'user' AND entity_id = ? "
                     "AND field = 'departments'", (analyst.id,)) == f"{world.east},{third}"
    # Their own department counts too: one assigned beside it makes two.
    east_analyst = world.users["analyst_east"]
    assert not sees_several_departments(east_analyst)
    assign_departments(None, db, east_analyst.id, [world.west])
    east_analyst = get_user_by_id(db, east_analyst.id)
    assert visible(db, east_analyst, Entity.LEAD) == {world.leads["east"], world.leads["west"]}
    # Back to none: every department again.
    assign_departments(None, db, analyst.id, [])
    assert sees_all_departments(get_user_by_id(db, analyst.id))


def test_only_analysts_are_assigned_departments_and_only_by_admins(db, world):
    from crm.access.users import UserError, assign_departments, get_user_by_id

    with pytest.raises(UserError, match=r"^Only analysts are given departments besides their "
                                        r"own\.$"):
        assign_departments(None, db, world.users["sales_east"].id, [world.west])
    with pytest.raises(PermissionError):
        assign_departments(world.users["company_manager"], db, world.users["analyst"].id,
                           [world.east])
    analyst = world.users["analyst"]
    assign_departments(None, db, analyst.id, [world.east])
    update_user(world.users["admin"], db, analyst.id, role="company_manager")
    update_user(world.users["admin"], db, analyst.id, role="analyst")
    # A role change away from analyst forgets the assignment: back as an analyst, all again.
    assert get_user_by_id(db, analyst.id).assigned == frozenset()
