"""Tags on contacts: creating, putting on and taking off checked or matching contacts (in scope
only, audited), renaming and merging (company-wide roles only), and counts per scope."""

from __future__ import annotations

import pytest

from crm.access import Entity
from crm.lists.listing import ListQuery, count
from crm.records import tags
from crm.records.contacts import CONTACTS
from crm.records.tags import TagError, add_tags, create_tag, merge_tags, remove_tags, rename_tag
from crm.storage import search
from tests import factories


@pytest.fixture
def world(db):
    w = factories.world(db)
    with db.transaction() as tx:
        search.refresh(tx, Entity.CONTACT)
    return w


def tags_of(db, contact_id):
    return [r["name"] for r in db.fetch_all(
        "SELECT t.name FROM contact_tags x JOIN tags t ON t.id = x.tag_id "
        "WHERE x.contact_id = ? ORDER BY t.name", (contact_id,))]


def tag_audit(db, contact_id=None):
    sql = ("SELECT entity, entity_id, action, field, old_value, new_value, user_id "
           "FROM audit_log WHERE entity = 'contact' AND field = 'tags'")
    params: tuple = ()
    if contact_id is not None:
        sql += " AND entity_id = ?"
        params = (contact_id,)
    return db.fetch_all(sql + " ORDER BY id", params)


def counts_by_name(user, db):
    return {r["name"]: r["contacts"] for r in tags.tag_counts(user, db)}


# ----------------------------------------------------------------------- create


def test_an_operator_creates_a_tag_once_whatever_its_case_and_spacing(db, world):
    me = world.users["operator_east"]
    first = create_tag(me, db, "  Trade   fair ")
    assert db.scalar("SELECT name FROM tags WHERE id = ?", (first,)) == "Trade fair"
    assert create_tag(me, db, "TRADE FAIR") == first
    assert create_tag(world.users["sales_west"], db, "trade fair") == first
    assert db.scalar("SELECT count(*) FROM tags") == 1
    assert [r["action"] for r in db.fetch_all(
        "SELECT action FROM audit_log WHERE entity = 'tag'")] == ["create"]
    assert tags.all_tags(db) == {first: "Trade fair"}


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_a_tag_needs_a_short_name(db, world, name):
    with pytest.raises(TagError):
        create_tag(world.users["operator_east"], db, name)
    assert db.scalar("SELECT count(*) FROM tags") == 0


# ----------------------------------------------------------------------- add and remove


def test_a_sales_manager_tags_checked_contacts_in_their_scope_only(db, world):
    me = world.users["sales_east"]
    fair = create_tag(me, db, "fair")
    checked = [world.contacts["east_mine"], world.contacts["east_other"],
               world.contacts["west"]]
    assert add_tags(me, db, [fair], ids=checked) == 2
    assert [tags_of(db, i) for i in checked] == [["fair"], ["fair"], []]
    assert add_tags(me, db, [fair], ids=checked) == 0  # already tagged: nothing new
    audit = tag_audit(db)
    assert [(r["entity_id"], r["action"], r["old_value"], r["new_value"], r["user_id"])
            for r in audit] == [
        (world.contacts["east_mine"], "update", None, "fair", me.id),
        (world.contacts["east_other"], "update", None, "fair", me.id),
    ]


def test_adding_two_tags_counts_each_new_tagging(db, world):
    me = world.users["sales_east"]
    fair, partner = create_tag(me, db, "fair"), create_tag(me, db, "partner")
    add_tags(me, db, [fair], ids=[world.contacts["east_mine"]])
    assert add_tags(me, db, [fair, partner], ids=[world.contacts["east_mine"],
                                                  world.contacts["east_other"]]) == 3
    assert tags_of(db, world.contacts["east_mine"]) == ["fair", "partner"]
    assert tags_of(db, world.contacts["east_other"]) == ["fair", "partner"]
    assert len(tag_audit(db)) == 4


def test_a_sales_manager_tags_every_matching_contact_not_only_one_page(db, world):
    me = world.users["sales_east"]
    french = [factories.contact(db, f"Dupont{i:02d}", world.companies["east"], world.east, me,
                                country_code="FR") for i in range(70)]
    west_french = factories.contact(db, "Durand", world.companies["west"], world.west,
                                    world.users["sales_west"], country_code="FR")
    fair = create_tag(me, db, "fair")
    query = ListQuery(filters={"country": ("FR",)}, page_size=50, page=1)
    assert add_tags(me, db, [fair], query=query) == 70
    assert all(tags_of(db, i) == ["fair"] for i in french)
    assert tags_of(db, west_french) == []
    assert tags_of(db, world.contacts["east_mine"]) == []
    assert {r["entity_id"] for r in tag_audit(db)} == set(french)
    tagged = ListQuery(filters={"tag": (str(fair),)})
    assert count(me, db, CONTACTS, tagged) == 70


def test_tagging_every_match_follows_the_keyword_search(db, world):
    me = world.users["sales_east"]
    fair = create_tag(me, db, "fair")
    assert add_tags(me, db, [fair], query=ListQuery(search="eastone")) == 1
    assert tags_of(db, world.contacts["east_mine"]) == ["fair"]
    assert tags_of(db, world.contacts["east_other"]) == []


def test_a_company_manager_tags_every_contact_of_every_department(db, world):
    boss = world.users["company_manager"]
    fair = create_tag(boss, db, "fair")
    assert add_tags(boss, db, [fair], query=ListQuery()) == 4
    assert add_tags(boss, db, [fair], query=ListQuery(
        filters={"department": (str(world.west),)})) == 0


def test_a_department_filter_in_the_url_cannot_reach_another_department(db, world):
    me = world.users["sales_east"]
    fair = create_tag(me, db, "fair")
    assert add_tags(me, db, [fair], query=ListQuery(
        filters={"department": (str(world.west),)})) == 2  # the filter is ignored: East only
    assert tags_of(db, world.contacts["west"]) == []


def test_a_sales_manager_removes_tags_from_checked_contacts_in_scope_only(db, world):
    boss, me = world.users["company_manager"], world.users["sales_east"]
    fair, partner = create_tag(boss, db, "fair"), create_tag(boss, db, "partner")
    add_tags(boss, db, [fair, partner], query=ListQuery())
    checked = [world.contacts["east_mine"], world.contacts["west"]]
    assert remove_tags(me, db, [fair], ids=checked) == 1
    assert tags_of(db, world.contacts["east_mine"]) == ["partner"]
    assert tags_of(db, world.contacts["west"]) == ["fair", "partner"]
    assert [(r["old_value"], r["new_value"], r["user_id"])
            for r in tag_audit(db, world.contacts["east_mine"])][-1] == ("fair", None, me.id)
    assert remove_tags(me, db, [fair], ids=checked) == 0
    assert len(tag_audit(db, world.contacts["east_mine"])) == 3  # two added, one removed


def test_removing_a_tag_from_every_match_across_pages(db, world):
    me = world.users["sales_east"]
    ids = [factories.contact(db, f"Vip{i:02d}", world.companies["east"], world.east, me,
                             vip=True) for i in range(60)]
    fair = create_tag(me, db, "fair")
    vip = ListQuery(filters={"vip": ("yes",)}, page_size=25, page=2)
    assert add_tags(me, db, [fair], query=vip) == 60
    assert add_tags(me, db, [fair], ids=[world.contacts["east_mine"]]) == 1
    assert remove_tags(me, db, [fair], query=vip) == 60
    assert not any(tags_of(db, i) for i in ids)
    assert tags_of(db, world.contacts["east_mine"]) == ["fair"]


def test_tag_changes_need_a_known_tag(db, world):
    me = world.users["sales_east"]
    with pytest.raises(TagError):
        add_tags(me, db, [], ids=[world.contacts["east_mine"]])
    with pytest.raises(TagError):
        add_tags(me, db, [9999], ids=[world.contacts["east_mine"]])
    assert tag_audit(db) == []


def test_no_checked_contacts_change_nothing(db, world):
    me = world.users["sales_east"]
    fair = create_tag(me, db, "fair")
    assert add_tags(me, db, [fair], ids=[]) == 0
    assert db.scalar("SELECT count(*) FROM contact_tags") == 0


# ----------------------------------------------------------------------- rename and merge


@pytest.mark.parametrize("role", ["company_manager", "super_operator", "admin"])
def test_company_wide_roles_rename_tags(db, world, role):
    user = world.users[role]
    fair = create_tag(user, db, "fair")
    add_tags(user, db, [fair], ids=[world.contacts["west"]])
    rename_tag(user, db, fair, "Trade fair 2026")
    assert tags_of(db, world.contacts["west"]) == ["Trade fair 2026"]
    audit = db.fetch_one("SELECT old_value, new_value, user_id FROM audit_log "
                         "WHERE entity = 'tag' AND action = 'update'")
    assert audit == {"old_value": "fair", "new_value": "Trade fair 2026", "user_id": user.id}


@pytest.mark.parametrize("role", ["sales_east", "operator_east"])
def test_department_roles_may_not_rename_or_merge_tags(db, world, role):
    user = world.users[role]
    fair, partner = create_tag(user, db, "fair"), create_tag(user, db, "partner")
    with pytest.raises(PermissionError):
        rename_tag(user, db, fair, "Trade fair")
    with pytest.raises(PermissionError):
        merge_tags(user, db, [fair], partner)
    assert tags.all_tags(db) == {fair: "fair", partner: "partner"}


def test_a_rename_into_an_existing_name_is_refused(db, world):
    boss = world.users["company_manager"]
    fair, partner = create_tag(boss, db, "fair"), create_tag(boss, db, "partner")
    with pytest.raises(TagError) as caught:
        rename_tag(boss, db, fair, "PARTNER")
    assert "merge" in str(caught.value)
    assert tags.all_tags(db) == {fair: "fair", partner: "partner"}
    rename_tag(boss, db, fair, "Fair")  # its own name in another case is fine
    assert tags.all_tags(db)[fair] == "Fair"
    with pytest.raises(TagError):
        rename_tag(boss, db, 9999, "Other")


def test_merging_tags_moves_their_contacts_without_duplicates(db, world):
    boss = world.users["company_manager"]
    fair, expo, partner = (create_tag(boss, db, "fair"), create_tag(boss, db, "expo"),
                           create_tag(boss, db, "partner"))
    c = world.contacts
    add_tags(boss, db, [fair], ids=[c["east_mine"], c["east_other"]])
    add_tags(boss, db, [expo], ids=[c["east_mine"], c["west"]])
    add_tags(boss, db, [partner], ids=[c["east_other"]])
    gained = merge_tags(boss, db, [fair, expo, partner], partner)
    assert gained == 2  # east_mine and west; east_other had the target already
    assert tags.all_tags(db) == {partner: "partner"}
    assert [tags_of(db, c[k]) for k in ("east_mine", "east_other", "west", "west_super")] == [
        ["partner"], ["partner"], ["partner"], []]
    assert db.scalar("SELECT count(*) FROM contact_tags") == 3
    merged = db.fetch_one("SELECT action, old_value FROM audit_log WHERE entity = 'tag' "
                          "AND entity_id = ? AND action = 'merge'", (partner,))
    assert merged == {"action": "merge", "old_value": "expo, fair"}


def test_a_merge_needs_another_tag_and_a_target(db, world):
    boss = world.users["company_manager"]
    fair = create_tag(boss, db, "fair")
    with pytest.raises(TagError):
        merge_tags(boss, db, [fair], fair)
    with pytest.raises(TagError):
        merge_tags(boss, db, [fair], 9999)
    assert tags.all_tags(db) == {fair: "fair"}


# ----------------------------------------------------------------------- counts


def test_tag_counts_count_only_contacts_in_the_users_scope(db, world):
    boss = world.users["company_manager"]
    fair, partner = create_tag(boss, db, "fair"), create_tag(boss, db, "partner")
    create_tag(boss, db, "unused")
    add_tags(boss, db, [fair], query=ListQuery())
    add_tags(boss, db, [partner], ids=[world.contacts["west"]])
    assert counts_by_name(boss, db) == {"fair": 4, "partner": 1, "unused": 0}
    assert counts_by_name(world.users["sales_east"], db) == {"fair": 2, "partner": 0,
                                                             "unused": 0}
    assert counts_by_name(world.users["sales_west"], db) == {"fair": 2, "partner": 1,
                                                             "unused": 0}


def test_saving_a_contacts_tags_puts_some_on_and_takes_others_off_in_one_transaction(db, world):
    """A contact's "Save tags" is one change: with one tag gone meanwhile, nothing is written."""
    me = world.users["sales_east"]
    contact = world.contacts["east_mine"]
    fair, vip, old = (create_tag(me, db, name) for name in ("Fair", "Key account", "Old"))
    add_tags(me, db, [old], ids=[contact])
    assert tags.change_tags(me, db, add=[fair, vip], remove=[old], ids=[contact]) == 3
    assert tags_of(db, contact) == ["Fair", "Key account"]
    before = len(tag_audit(db, contact))
    with pytest.raises(TagError, match=r"^No such tag\.$"):
        tags.change_tags(me, db, add=[old], remove=[fair, 999_999], ids=[contact])
    assert tags_of(db, contact) == ["Fair", "Key account"]
    assert len(tag_audit(db, contact)) == before
    with pytest.raises(TagError, match=r"^Choose at least one tag\.$"):
        tags.change_tags(me, db, ids=[contact])
