"""Working with leads: inline and detail edits, bulk VIP, adding a lead, duplicates, detail.

Every rule is enforced by the service layer, so these tests call it directly as each role.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.access import Entity
from crm.access.users import get_user_by_id
from crm.common.clock import now
from crm.identity.roles import Role
from crm.lists.listing import ListQuery, fetch_page
from crm.records import leads
from crm.records.editing import EditRejected, RowEdit
from crm.records.leads import LEADS, BulkResult, create_lead, get_lead, history, likely_duplicates
from crm.storage import search, writer
from crm.storage.db import ConcurrencyError
from tests import factories


@pytest.fixture
def world(db):
    w = factories.world(db)
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    return w


def lead_row(db, lead_id):
    return db.fetch_one("SELECT * FROM leads WHERE id = ?", (lead_id,))


def audit_rows(db, lead_id, action=None):
    sql = "SELECT * FROM audit_log WHERE entity = 'lead' AND entity_id = ?"
    params: tuple = (lead_id,)
    if action:
        sql += " AND action = ?"
        params += (action,)
    return db.fetch_all(sql + " ORDER BY id", params)


def edit(user, db, lead_id, version=None, **changes):
    """Save `changes` to one lead, based on the version in the database unless given."""
    if version is None:
        version = lead_row(db, lead_id)["row_version"]
    return leads.save_edits(user, db, [RowEdit(lead_id, version, changes)])


def refused(user, db, lead_id, **changes):
    """The EditRejected a save raises (the test fails if it saves instead)."""
    with pytest.raises(EditRejected) as caught:
        edit(user, db, lead_id, **changes)
    return caught.value


def found_by_keyword(user, db, text):
    return set(fetch_page(user, db, LEADS, ListQuery(search=text, page_size=250)).rows["id"])


# ----------------------------------------------------------------------- inline / detail edits


def test_a_sales_manager_edits_a_lead_of_their_department(db, world):
    me, lead_id = world.users["sales_east"], world.leads["east"]
    assert edit(me, db, lead_id, email="anna.berg@acme.example", phone="+49 30 1234567") == 1
    row = lead_row(db, lead_id)
    assert (row["email"], row["phone"]) == ("anna.berg@acme.example", "+49 30 1234567")
    assert row["row_version"] == 2
    assert row["modified_by"] == me.id
    assert row["updated_at"] != factories.STAMP
    assert abs(row["updated_at"] - now()) < timedelta(minutes=1)


def test_every_changed_field_is_written_to_the_audit_log(db, world):
    me, lead_id = world.users["sales_east"], world.leads["east"]
    edit(me, db, lead_id, email="anna.berg@acme.example", city="Berlin", vip=True)
    rows = audit_rows(db, lead_id)
    assert {(r["entity"], r["action"], r["field"], r["old_value"], r["new_value"])
            for r in rows} == {
        ("lead", "update", "email", "", "anna.berg@acme.example"),
        ("lead", "update", "city", "", "Berlin"),
        ("lead", "update", "vip", "False", "True"),
    }
    assert {r["user_id"] for r in rows} == {me.id}


def test_an_edited_lead_is_found_by_its_new_email_right_away(db, world):
    me, lead_id = world.users["sales_east"], world.leads["east"]
    assert found_by_keyword(me, db, "anna.berg@acme") == set()
    edit(me, db, lead_id, email="Anna.Berg@acme.example")
    assert found_by_keyword(me, db, "anna.berg@acme") == {lead_id}
    assert found_by_keyword(me, db, "eastlead") == {lead_id}  # other fields still searchable


def test_saving_unchanged_values_writes_nothing(db, world):
    me, lead_id = world.users["sales_east"], world.leads["east"]
    assert edit(me, db, lead_id, last_name="Eastlead", owner_id=me.id, vip=False) == 0
    assert lead_row(db, lead_id)["row_version"] == 1
    assert lead_row(db, lead_id)["modified_by"] is None
    assert audit_rows(db, lead_id) == []


def test_values_are_normalised_before_they_are_compared(db, world):
    me, lead_id = world.users["sales_east"], world.leads["east"]
    edit(me, db, lead_id, country_code="de", city="  Berlin ")
    assert (lead_row(db, lead_id)["country_code"], lead_row(db, lead_id)["city"]) == (
        "DE", "Berlin")
    assert edit(me, db, lead_id, country_code="DE ", city="Berlin") == 0


def test_an_edit_based_on_an_old_version_is_refused_and_names_who_changed_the_lead(db, world):
    first, second = world.users["operator_east"], world.users["sales_east"]
    lead_id = world.leads["east"]
    edit(first, db, lead_id, version=1, city="Berlin")
    with pytest.raises(EditRejected) as caught:
        edit(second, db, lead_id, version=1, city="Hamburg")
    message = str(caught.value)
    assert "Operator.East" in message
    assert "nothing was saved" in message and "Reload" in message
    assert lead_row(db, lead_id)["city"] == "Berlin"
    assert lead_row(db, lead_id)["row_version"] == 2
    # Reloaded, the same change saves.
    assert edit(second, db, lead_id, version=2, city="Hamburg") == 1


def test_a_batch_with_one_stale_row_saves_none_of_its_rows(db, world):
    me, other = world.users["sales_east"], world.users["sales_east_2"]
    stale_id = world.leads["east"]
    fresh_id = factories.lead(db, "Fresh", world.east, me)
    edit(other, db, stale_id, version=1, city="Berlin")
    with pytest.raises(EditRejected) as caught:
        leads.save_edits(me, db, [RowEdit(fresh_id, 1, {"city": "Köln"}),
                                  RowEdit(stale_id, 1, {"city": "Hamburg"})])
    assert [p.record_id for p in caught.value.problems] == [stale_id]
    assert lead_row(db, fresh_id)["city"] == "" and lead_row(db, fresh_id)["row_version"] == 1
    assert lead_row(db, stale_id)["city"] == "Berlin"
    assert audit_rows(db, fresh_id) == []


def test_two_people_saving_the_same_lead_at_the_same_moment_cannot_both_win(
        db, world, monkeypatch):
    me, rival = world.users["sales_east"], world.users["operator_east"]
    lead_id = world.leads["east"]
    real_update = writer.Writer.update

    def rival_saves_in_between(self, *args, **kwargs):  # after my save read the lead
        monkeypatch.setattr(writer.Writer, "update", real_update)
        edit(rival, db, lead_id, version=1, city="Berlin")
        return real_update(self, *args, **kwargs)

    monkeypatch.setattr(writer.Writer, "update", rival_saves_in_between)
    with pytest.raises((EditRejected, ConcurrencyError)) as caught:
        edit(me, db, lead_id, version=1, city="Hamburg")
    if isinstance(caught.value, EditRejected):
        assert "Operator.East" in str(caught.value)
    row = lead_row(db, lead_id)
    assert (row["city"], row["row_version"], row["modified_by"]) == ("Berlin", 2, rival.id)
    assert [r["new_value"] for r in audit_rows(db, lead_id)] == ["Berlin"]

def test_a_batch_with_one_invalid_value_saves_none_of_its_rows(db, world):
    me = world.users["sales_east"]
    good_id = world.leads["east"]
    bad_id = factories.lead(db, "Bad", world.east, me)
    with pytest.raises(EditRejected) as caught:
        leads.save_edits(me, db, [RowEdit(good_id, 1, {"city": "Köln"}),
                                  RowEdit(bad_id, 1, {"email": "not an email"})])
    assert [(p.record_id, p.field) for p in caught.value.problems] == [(bad_id, "email")]
    assert lead_row(db, good_id)["city"] == ""
    assert audit_rows(db, good_id) == []


def test_a_batch_of_several_leads_saves_them_all(db, world):
    me = world.users["sales_east"]
    other_id = factories.lead(db, "Other", world.east, me)
    changed = leads.save_edits(me, db, [RowEdit(world.leads["east"], 1, {"vip": True}),
                                        RowEdit(other_id, 1, {"vip": True})])
    assert changed == 2
    assert lead_row(db, world.leads["east"])["vip"] and lead_row(db, other_id)["vip"]


@pytest.mark.parametrize("email", ["not an email", "anna@", "@acme.example", "anna@acme"])
def test_an_invalid_email_is_refused_with_a_clear_message(db, world, email):
    problem = refused(world.users["sales_east"], db, world.leads["east"], email=email)
    assert [p.field for p in problem.problems] == ["email"]
    assert f"“{email}” is not a valid email address" in str(problem)
    assert lead_row(db, world.leads["east"])["email"] == ""


def test_an_email_may_be_cleared(db, world):
    me, lead_id = world.users["sales_east"], world.leads["east"]
    edit(me, db, lead_id, email="anna@acme.example")
    assert edit(me, db, lead_id, email="") == 1
    assert lead_row(db, lead_id)["email"] == ""


@pytest.mark.parametrize("phone", ["call me", "030 CALL NOW", "12ab34567", "123"])
def test_a_phone_number_with_letters_or_too_few_digits_is_refused(db, world, phone):
    problem = refused(world.users["sales_east"], db, world.leads["east"], phone=phone)
    assert [p.field for p in problem.problems] == ["phone"]
    assert "is not a phone number" in str(problem)


@pytest.mark.parametrize("phone", ["+49 (30) 123-4567", "030/1234567", "+1 555 0100 ext. 12"])
def test_a_phone_number_as_people_write_it_is_accepted(db, world, phone):
    assert edit(world.users["sales_east"], db, world.leads["east"], phone=phone) == 1


@pytest.mark.parametrize("owner", ["sales_west", "admin", "company_manager", "inactive"])
def test_the_assigned_manager_must_be_active_sales_staff_of_the_leads_department(
        db, world, owner):
    if owner == "inactive":
        candidate = factories.user(db, "gone.east", Role.SALES_MANAGER, world.east)
        db.execute("UPDATE users SET active = FALSE WHERE id = ?", (candidate.id,))
    else:
        candidate = world.users[owner]
    problem = refused(world.users["sales_east"], db, world.leads["east"], owner_id=candidate.id)
    assert [p.field for p in problem.problems] == ["owner_id"]
    assert "assigned manager" in str(problem)
    assert lead_row(db, world.leads["east"])["owner_id"] == world.users["sales_east"].id


@pytest.mark.parametrize("owner", ["sales_east_2", "operator_east"])
def test_a_lead_may_be_assigned_to_sales_staff_of_its_department(db, world, owner):
    new_owner = world.users[owner]
    assert edit(world.users["sales_east"], db, world.leads["east"], owner_id=new_owner.id) == 1
    assert lead_row(db, world.leads["east"])["owner_id"] == new_owner.id


def test_a_lead_may_be_left_unassigned(db, world):
    assert edit(world.users["sales_east"], db, world.leads["east"], owner_id=None) == 1
    assert lead_row(db, world.leads["east"])["owner_id"] is None



def test_the_grid_turns_a_chosen_manager_name_into_the_owner(db, world):
    me, colleague = world.users["sales_east"], world.users["sales_east_2"]
    by_name = {me.full_name: me.id, colleague.full_name: colleague.id}
    changes = leads.grid_changes({"manager": colleague.full_name, "email": None}, by_name)
    assert changes == {"owner_id": colleague.id, "email": ""}
    assert leads.grid_changes({"manager": None}, by_name) == {"owner_id": None}
    assert edit(me, db, world.leads["east"], **changes) == 1
    assert lead_row(db, world.leads["east"])["owner_id"] == colleague.id


def test_a_manager_name_with_no_eligible_owner_is_refused_not_unassigned(db, world):
    me = world.users["sales_east"]
    changes = leads.grid_changes({"manager": "Former Colleague"}, {me.full_name: me.id})
    problem = refused(me, db, world.leads["east"], **changes)
    assert [p.field for p in problem.problems] == ["owner_id"]
    assert "assigned manager must be an active sales manager" in str(problem)
    assert lead_row(db, world.leads["east"])["owner_id"] == me.id

def test_an_unknown_country_code_is_refused(db, world):
    problem = refused(world.users["sales_east"], db, world.leads["east"], country_code="XX")
    assert [p.field for p in problem.problems] == ["country_code"]
    assert "Unknown country code “XX”" in str(problem)


@pytest.mark.parametrize("column", ["department_id", "id", "row_version", "converted_at",
                                    "created_by", "search_text", "no_such_column"])
def test_fields_outside_the_editable_set_are_refused(db, world, column):
    problem = refused(world.users["sales_east"], db, world.leads["east"], **{column: 1})
    assert [p.field for p in problem.problems] == [column]
    assert f"{column} cannot be edited" in str(problem)
    assert lead_row(db, world.leads["east"])["row_version"] == 1


def test_a_sales_manager_cannot_edit_a_lead_of_another_department(db, world):
    me, west_id = world.users["sales_east"], world.leads["west"]
    problem = refused(me, db, west_id, city="Berlin")
    assert str(problem) == f"Lead {west_id} does not exist."
    assert lead_row(db, west_id)["city"] == ""


def test_a_lead_out_of_scope_is_refused_exactly_like_a_missing_one(db, world):
    me, west_id = world.users["sales_east"], world.leads["west"]
    missing_id = west_id + 1000
    out_of_scope = refused(me, db, west_id, city="Berlin")
    with pytest.raises(EditRejected) as caught:
        leads.save_edits(me, db, [RowEdit(missing_id, 1, {"city": "Berlin"})])
    assert str(out_of_scope).replace(str(west_id), "N") == str(caught.value).replace(
        str(missing_id), "N")
    # Not even a wrong version gives the other department's lead away.
    with pytest.raises(EditRejected) as stale:
        leads.save_edits(me, db, [RowEdit(west_id, 99, {"city": "Berlin"})])
    assert str(stale.value) == f"Lead {west_id} does not exist."


def test_an_inactive_user_edits_nothing(db, world):
    db.execute("UPDATE users SET active = FALSE WHERE id = ?", (world.users["sales_east"].id,))
    me = get_user_by_id(db, world.users["sales_east"].id)
    problem = refused(me, db, world.leads["east"], city="Berlin")
    assert "does not exist" in str(problem)


def test_a_converted_lead_is_read_only(db, world):
    me, lead_id = world.users["sales_east"], world.leads["east"]
    db.execute("UPDATE leads SET converted_at = ?, converted_by = ? WHERE id = ?",
               (now(), me.id, lead_id))
    problem = refused(me, db, lead_id, city="Berlin")
    assert "converted" in str(problem) and "read-only" in str(problem)
    assert lead_row(db, lead_id)["city"] == ""


@pytest.mark.parametrize("role", ["company_manager", "super_operator", "admin"])
def test_company_wide_roles_may_edit_leads_of_any_department(db, world, role):
    boss = world.users[role]
    assert edit(boss, db, world.leads["east"], city="Berlin") == 1
    assert edit(boss, db, world.leads["west"], city="London") == 1
    assert lead_row(db, world.leads["west"])["modified_by"] == boss.id


def test_an_operator_edits_leads_of_their_department(db, world):
    assert edit(world.users["operator_east"], db, world.leads["east"], disqualified=True) == 1
    assert lead_row(db, world.leads["east"])["disqualified"] is True


# ----------------------------------------------------------------------- bulk VIP


@pytest.fixture
def vip_world(db, world):
    """East leads: two plain, one already VIP, one converted; plus the West lead."""
    me = world.users["sales_east"]
    world.leads["plain"] = factories.lead(db, "Plain", world.east, me)
    world.leads["vip"] = factories.lead(db, "Vip", world.east, me, vip=True)
    world.leads["converted"] = factories.lead(db, "Converted", world.east, me,
                                              converted_at=factories.STAMP)
    return world


def vip_of(db, *ids):
    return [bool(lead_row(db, i)["vip"]) for i in ids]


def test_set_vip_on_checked_leads_touches_only_leads_in_scope(db, vip_world):
    w, me = vip_world, vip_world.users["sales_east"]
    ids = [w.leads["east"], w.leads["plain"], w.leads["vip"], w.leads["converted"],
           w.leads["west"]]
    result = leads.set_vip(me, db, True, ids=ids)
    assert result == BulkResult(changed=2, unchanged=1, skipped_read_only=1)
    assert vip_of(db, *ids) == [True, True, True, False, False]
    assert lead_row(db, w.leads["west"])["row_version"] == 1
    assert audit_rows(db, w.leads["west"]) == []


def test_set_vip_bumps_the_version_and_records_who_and_when(db, vip_world):
    w, me = vip_world, vip_world.users["sales_east"]
    leads.set_vip(me, db, True, ids=[w.leads["plain"], w.leads["vip"]])
    changed, untouched = lead_row(db, w.leads["plain"]), lead_row(db, w.leads["vip"])
    assert (changed["row_version"], changed["modified_by"]) == (2, me.id)
    assert abs(changed["updated_at"] - now()) < timedelta(minutes=1)
    assert (untouched["row_version"], untouched["modified_by"]) == (1, None)
    assert [(r["action"], r["field"], r["old_value"], r["new_value"], r["user_id"])
            for r in audit_rows(db, w.leads["plain"])] == [
        ("update", "vip", "False", "True", me.id)]
    assert audit_rows(db, w.leads["vip"]) == []


@pytest.mark.parametrize("result, verb, expected", [
    (BulkResult(2, 1, 1), "Set VIP on",
     "Set VIP on 2 leads (1 already was; 1 converted, left unchanged)."),
    (BulkResult(1, 0, 0), "Set VIP on", "Set VIP on 1 lead."),
    (BulkResult(1_200, 3, 2), "Removed VIP from",
     "Removed VIP from 1,200 leads (3 already were; 2 converted, left unchanged)."),
    (BulkResult(0, 2, 0), "Set VIP on", "Set VIP on 0 leads (2 already were)."),
])
def test_the_bulk_result_reads_as_a_sentence(result, verb, expected):
    assert result.sentence(verb) == expected


def test_the_bulk_result_sentence_speaks_of_other_records_too():
    assert BulkResult(1, 0).sentence("Set VIP on", "contacts", "contact") == (
        "Set VIP on 1 contact.")
    assert BulkResult(3, 0).sentence("Set VIP on", "contacts", "contact") == (
        "Set VIP on 3 contacts.")


def test_set_vip_on_every_lead_matching_the_filters_not_only_one_page(db, world):
    me = world.users["sales_east"]
    french = [factories.lead(db, f"Dupont{i:02d}", world.east, me, country_code="FR")
              for i in range(70)]
    german = factories.lead(db, "Schmidt", world.east, me, country_code="DE")
    west_french = factories.lead(db, "Durand", world.west, world.users["sales_west"],
                                 country_code="FR")
    query = ListQuery(filters={"country": ("FR",)}, page_size=25, page=1)
    assert fetch_page(me, db, LEADS, query).total == 70
    result = leads.set_vip(me, db, True, query=query)
    assert result == BulkResult(changed=70, unchanged=0, skipped_read_only=0)
    assert all(vip_of(db, *french))
    assert vip_of(db, german, west_french) == [False, False]
    assert {lead_row(db, i)["row_version"] for i in french} == {2}
    audit = db.fetch_all("SELECT entity_id, field, old_value, new_value FROM audit_log "
                         "WHERE entity = 'lead' AND action = 'update'")
    assert len(audit) == 70
    assert {r["entity_id"] for r in audit} == set(french)
    assert {(r["field"], r["old_value"], r["new_value"]) for r in audit} == {
        ("vip", "False", "True")}


def test_set_vip_on_every_match_respects_the_keyword_search(db, world):
    me = world.users["sales_east"]
    acme = factories.lead(db, "Acme", world.east, me, company_name="Acme GmbH")
    other = factories.lead(db, "Other", world.east, me, company_name="Zeta Ltd")
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    assert leads.set_vip(me, db, True, query=ListQuery(search="acme")).changed == 1
    assert vip_of(db, acme, other) == [True, False]


def test_a_department_filter_put_in_the_url_by_hand_cannot_reach_another_department(db, world):
    me = world.users["sales_east"]
    query = ListQuery(filters={"department": (str(world.west),)})
    leads.set_vip(me, db, True, query=query)
    assert vip_of(db, world.leads["west"]) == [False]


def test_a_company_manager_sets_vip_on_every_match_across_departments(db, world):
    boss = world.users["company_manager"]
    result = leads.set_vip(boss, db, True, query=ListQuery(
        filters={"department": (str(world.west),)}))
    assert result.changed == 1
    assert vip_of(db, world.leads["east"], world.leads["west"]) == [False, True]
    assert leads.set_vip(boss, db, True, query=ListQuery()).changed == 1  # the East lead


def test_remove_vip_works_the_same_way(db, vip_world):
    w, me = vip_world, vip_world.users["sales_east"]
    db.execute("UPDATE leads SET vip = TRUE WHERE id IN (?, ?)",
               (w.leads["converted"], w.leads["west"]))
    ids = [w.leads["plain"], w.leads["vip"], w.leads["converted"], w.leads["west"]]
    result = leads.set_vip(me, db, False, ids=ids)
    assert result == BulkResult(changed=1, unchanged=1, skipped_read_only=1)
    assert result.sentence("Removed VIP from") == (
        "Removed VIP from 1 lead (1 already was; 1 converted, left unchanged).")
    assert vip_of(db, *ids) == [False, False, True, True]
    assert [(r["field"], r["old_value"], r["new_value"])
            for r in audit_rows(db, w.leads["vip"])] == [("vip", "True", "False")]
    assert lead_row(db, w.leads["vip"])["row_version"] == 2


def test_remove_vip_from_every_match(db, world):
    me = world.users["sales_east"]
    ids = [factories.lead(db, f"Vip{i:02d}", world.east, me, vip=True, country_code="AT")
           for i in range(60)]
    result = leads.set_vip(me, db, False, query=ListQuery(filters={"vip": ("yes",)}))
    assert result == BulkResult(changed=60, unchanged=0, skipped_read_only=0)
    assert not any(vip_of(db, *ids))


def test_no_checked_leads_change_nothing(db, world):
    result = leads.set_vip(world.users["sales_east"], db, True, ids=[])
    assert result == BulkResult(0, 0, 0)
    assert vip_of(db, world.leads["east"]) == [False]


# ----------------------------------------------------------------------- add a lead


def test_a_sales_manager_adds_a_lead_to_their_department_and_owns_it(db, world):
    me = world.users["sales_east"]
    new_id = create_lead(me, db, {"first_name": "Anna", "last_name": "Berg",
                                  "email": "Anna.Berg@acme.example", "company_name": "Acme"})
    row = lead_row(db, new_id)
    assert row["department_id"] == world.east
    assert (row["owner_id"], row["created_by"], row["modified_by"]) == (me.id, me.id, me.id)
    assert row["newsletter_opt_in"] is True and row["row_version"] == 1
    assert abs(row["created_at"] - now()) < timedelta(minutes=1)
    events = db.fetch_all("SELECT event, user_id FROM subscription_events "
                          "WHERE entity = 'lead' AND entity_id = ?", (new_id,))
    assert events == [{"event": "subscribed", "user_id": me.id}]
    created = audit_rows(db, new_id, "create")
    assert created and {r["user_id"] for r in created} == {me.id}
    assert {"first_name", "last_name", "email"} <= {r["field"] for r in created}


def test_an_added_lead_is_found_by_keyword_right_away(db, world):
    me = world.users["sales_east"]
    new_id = create_lead(me, db, {"first_name": "Anna", "last_name": "Berg",
                                  "email": "anna.berg@acme.example", "phone": "+49 30 1234567"})
    assert found_by_keyword(me, db, "anna.berg@acme") == {new_id}
    assert found_by_keyword(me, db, "301234567") == {new_id}
    assert found_by_keyword(world.users["sales_west"], db, "anna.berg@acme") == set()


def test_a_lead_added_without_newsletter_opt_in_has_no_subscription(db, world):
    me = world.users["sales_east"]
    new_id = create_lead(me, db, {"last_name": "Berg", "newsletter_opt_in": False})
    assert lead_row(db, new_id)["newsletter_opt_in"] is False
    assert db.scalar("SELECT count(*) FROM subscription_events WHERE entity_id = ?",
                     (new_id,)) == 0
    assert get_lead(me, db, new_id)["newsletter"] == "unsubscribed"


def count_leads(db):
    return db.scalar("SELECT count(*) FROM leads")


@pytest.mark.parametrize("values", [{}, {"email": "anna@acme.example"},
                                    {"first_name": "  ", "last_name": ""}])
def test_a_lead_needs_a_first_or_last_name(db, world, values):
    before = count_leads(db)
    with pytest.raises(EditRejected) as caught:
        create_lead(world.users["sales_east"], db, values)
    assert "last_name" in [p.field for p in caught.value.problems]
    assert "name" in str(caught.value)
    assert count_leads(db) == before


def test_adding_a_lead_lists_every_problem_by_field(db, world):
    before = count_leads(db)
    with pytest.raises(EditRejected) as caught:
        create_lead(world.users["sales_east"], db, {
            "last_name": "Berg", "email": "not an email", "phone": "call me",
            "country_code": "XX"})
    assert sorted(p.field for p in caught.value.problems) == ["country_code", "email", "phone"]
    assert "not a valid email address" in str(caught.value)
    assert count_leads(db) == before
    assert db.scalar("SELECT count(*) FROM audit_log WHERE entity = 'lead'") == 0


@pytest.mark.parametrize("field", ["favourite_colour", "department_id", "created_by"])
def test_adding_a_lead_with_an_unknown_field_is_refused(db, world, field):
    with pytest.raises(EditRejected) as caught:
        create_lead(world.users["sales_east"], db, {"last_name": "Berg", field: 1})
    assert [p.field for p in caught.value.problems] == [field]
    assert f"{field} is not a lead field" in str(caught.value)


def test_a_company_manager_must_choose_the_department_of_a_new_lead(db, world):
    boss = world.users["company_manager"]
    with pytest.raises(EditRejected) as caught:
        create_lead(boss, db, {"last_name": "Berg"})
    assert [p.field for p in caught.value.problems] == ["department_id"]
    assert "department" in str(caught.value)


@pytest.mark.parametrize("department", ["east", "west"])
def test_a_company_manager_adds_leads_to_any_department(db, world, department):
    boss = world.users["company_manager"]
    department_id = getattr(world, department)
    new_id = create_lead(boss, db, {"last_name": "Berg"}, department_id=department_id)
    row = lead_row(db, new_id)
    assert row["department_id"] == department_id
    assert row["owner_id"] is None  # company-wide roles choose an owner, they are not one
    assert row["created_by"] == boss.id


def test_a_sales_manager_cannot_add_a_lead_to_another_department(db, world):
    before = count_leads(db)
    with pytest.raises(EditRejected) as caught:
        create_lead(world.users["sales_east"], db, {"last_name": "Berg"},
                    department_id=world.west)
    assert "department" in str(caught.value)
    assert count_leads(db) == before


def test_a_sales_manager_cannot_add_a_lead_owned_by_another_department(db, world):
    before = count_leads(db)
    with pytest.raises(EditRejected):
        create_lead(world.users["sales_east"], db,
                    {"last_name": "Berg", "owner_id": world.users["sales_west"].id})
    assert count_leads(db) == before


def test_the_department_of_a_new_lead_follows_its_assigned_manager(db, world):
    boss = world.users["company_manager"]
    new_id = create_lead(boss, db, {"last_name": "Berg",
                                    "owner_id": world.users["sales_west"].id})
    row = lead_row(db, new_id)
    assert (row["department_id"], row["owner_id"]) == (world.west, world.users["sales_west"].id)


def test_a_sales_manager_may_assign_a_new_lead_to_a_colleague(db, world):
    colleague = world.users["sales_east_2"]
    new_id = create_lead(world.users["sales_east"], db,
                         {"last_name": "Berg", "owner_id": colleague.id})
    row = lead_row(db, new_id)
    assert (row["department_id"], row["owner_id"]) == (world.east, colleague.id)


@pytest.mark.parametrize("owner", ["admin", "company_manager"])
def test_a_new_lead_cannot_be_assigned_to_someone_outside_sales(db, world, owner):
    with pytest.raises(EditRejected) as caught:
        create_lead(world.users["company_manager"], db,
                    {"last_name": "Berg", "owner_id": world.users[owner].id},
                    department_id=world.east)
    assert "owner_id" in [p.field for p in caught.value.problems]


def test_a_malformed_owner_is_refused_not_a_crash(db, world):
    with pytest.raises(EditRejected) as caught:
        create_lead(world.users["sales_east"], db, {"last_name": "Berg", "owner_id": "Anna"})
    assert [p.field for p in caught.value.problems] == ["owner_id"]


# ----------------------------------------------------------------------- duplicates


@pytest.fixture
def anna(db, world):
    """Anna Berg, an East lead with an email, a phone and a mobile."""
    return factories.lead(db, "Berg", world.east, world.users["sales_east"], first_name="Anna",
                          email="Anna.Berg@Acme.example", phone="+49 30 1234567",
                          mobile="0171 5550199")


def test_a_lead_with_the_same_email_in_any_case_is_a_likely_duplicate(db, world, anna):
    found = likely_duplicates(world.users["sales_east"], db, email=" anna.berg@ACME.example ")
    assert [(d.id, d.name, d.email, d.reason) for d in found] == [
        (anna, "Anna Berg", "Anna.Berg@Acme.example", "same email")]


@pytest.mark.parametrize("phone", ["+49 (30) 123-4567", "0171/555 0199"])
def test_a_lead_with_the_same_name_and_phone_is_a_likely_duplicate(db, world, anna, phone):
    found = likely_duplicates(world.users["sales_east"], db, first_name="anna",
                              last_name="BERG", phone=phone)
    assert [(d.id, d.reason) for d in found] == [(anna, "same name and phone")]


def test_a_duplicate_found_twice_is_reported_once(db, world, anna):
    found = likely_duplicates(world.users["sales_east"], db, email="anna.berg@acme.example",
                              first_name="Anna", last_name="Berg", phone="+49 30 1234567")
    assert [(d.id, d.reason) for d in found] == [(anna, "same email")]


@pytest.mark.parametrize("values", [
    {"first_name": "Anna", "last_name": "Berg"},                           # name alone
    {"first_name": "Anna", "last_name": "Berg", "phone": "+49 30 7654321"},  # other phone
    {"first_name": "Bert", "last_name": "Berg", "phone": "+49 30 1234567"},  # other person
    {"email": "someone.else@acme.example"},
    {},
])
def test_different_people_are_not_duplicates(db, world, anna, values):
    assert likely_duplicates(world.users["sales_east"], db, **values) == []


def test_a_lead_of_another_department_is_not_reported_to_a_department_user(db, world, anna):
    assert likely_duplicates(world.users["sales_west"], db, email="anna.berg@acme.example") == []
    assert likely_duplicates(world.users["sales_west"], db, first_name="Anna",
                             last_name="Berg", phone="+49 30 1234567") == []
    found = likely_duplicates(world.users["company_manager"], db, email="anna.berg@acme.example")
    assert [d.id for d in found] == [anna]


def test_the_lead_being_edited_is_not_its_own_duplicate(db, world, anna):
    me = world.users["sales_east"]
    twin = factories.lead(db, "Berg", world.east, me, first_name="Anne",
                          email="anna.berg@acme.example")
    found = likely_duplicates(me, db, email="anna.berg@acme.example", exclude_id=anna)
    assert [d.id for d in found] == [twin]


# ----------------------------------------------------------------------- detail and history


def test_the_detail_of_a_lead_has_every_field_and_the_names_it_refers_to(db, world):
    me = world.users["sales_east"]
    lead_id = factories.lead(db, "Berg", world.east, me, first_name="Anna", country_code="DE",
                             email="anna@acme.example", company_name="Acme GmbH",
                             created_by=me.id)
    detail = get_lead(me, db, lead_id)
    assert detail is not None
    assert set(lead_row(db, lead_id)) <= set(detail)  # every column of the lead
    assert (detail["first_name"], detail["last_name"], detail["email"],
            detail["company_name"]) == ("Anna", "Berg", "anna@acme.example", "Acme GmbH")
    assert (detail["manager"], detail["country"], detail["department"]) == (
        "Sales.East", "Germany", "East")
    assert detail["created_by_name"] == "Sales.East"
    assert detail["newsletter"] == "not_mailed"


def test_the_detail_of_a_lead_of_another_department_does_not_exist(db, world):
    me = world.users["sales_east"]
    assert get_lead(me, db, world.leads["west"]) is None
    assert get_lead(me, db, world.leads["west"] + 1000) is None
    assert get_lead(world.users["company_manager"], db, world.leads["west"]) is not None


def test_the_history_lists_changes_newest_first(db, world):
    me, lead_id = world.users["sales_east"], world.leads["east"]
    edit(me, db, lead_id, email="anna@acme.example")
    edit(world.users["operator_east"], db, lead_id, city="Berlin")
    leads.set_vip(me, db, True, ids=[lead_id])
    entries = history(me, db, lead_id)
    assert [(e["field"], e["old_value"], e["new_value"], e["changed_by"]) for e in entries] == [
        ("vip", "False", "True", "Sales.East"),
        ("city", "", "Berlin", "Operator.East"),
        ("email", "", "anna@acme.example", "Sales.East"),
    ]
    stamps = [e["changed_at"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)


def test_the_history_of_an_added_lead_starts_with_its_creation(db, world):
    me = world.users["sales_east"]
    new_id = create_lead(me, db, {"last_name": "Berg"})
    assert {e["action"] for e in history(me, db, new_id)} == {"create"}


def test_the_history_of_a_lead_out_of_scope_is_empty(db, world):
    west_id = world.leads["west"]
    edit(world.users["sales_west"], db, west_id, city="London")
    assert history(world.users["sales_west"], db, west_id) != []
    assert history(world.users["sales_east"], db, west_id) == []

