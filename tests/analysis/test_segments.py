"""Saved segments on both backends: saving, sharing, who sees them, live counts inside each
viewer's scope, renaming and deleting by the owner only, overlaps, and exports.

Contacts of the world (tests.worlds.segments), by newsletter status and VIP:
East: Eastone (sales.east, red, VIP), Easttwo (sales.east2, red), Eastthree (sales.east,
gray). West: Westone (sales.west, red, VIP), Westsuper (super.operator, turquoise).
"""

from __future__ import annotations

import io

import openpyxl
import pytest

from crm.access import Entity, NotPermitted, Visibility, segment_visibilities
from crm.analysis import segments
from crm.analysis.segments import SegmentError
from crm.lists.listing import ListQuery
from tests import worlds
from tests.worlds import RED, VIP


@pytest.fixture
def world(db):
    return worlds.segments(db)


def save(db, user, name, query, visibility=Visibility.PRIVATE, entity=Entity.CONTACT) -> int:
    return segments.save_segment(user, db, entity, name, query, visibility)


def names_seen_by(db, user) -> list[str]:
    return sorted(s.name for s in segments.segments_for(user, db))


def count(db, user, segment_id) -> int:
    segment = segments.get_segment(user, db, segment_id)
    return segments.sizes(user, db, [segment])[segment_id]


# ----------------------------------------------------------------------- saving


def test_a_segment_keeps_the_lists_filters_and_search_but_not_sort_or_page(db, world):
    me = world.users["sales_east"]
    query = ListQuery(filters={"newsletter": ("not_mailed",), "vip": ("yes",), "tag": ()},
                      search="  east ", sort="name", descending=True, page=3)
    segment_id = save(db, me, "  Red   VIPs ", query)
    segment = segments.get_segment(me, db, segment_id)
    assert segment.name == "Red VIPs"
    assert segment.entity is Entity.CONTACT
    assert segment.filters == {"newsletter": ("not_mailed",), "vip": ("yes",)}
    assert segment.query == ListQuery(filters={"newsletter": ("not_mailed",), "vip": ("yes",)},
                                      search="east")
    assert (segment.owner_id, segment.owner_name) == (me.id, "Sales.East")
    assert segment.visibility is Visibility.PRIVATE
    assert segment.created_at == segment.updated_at


def test_a_filter_the_user_cannot_use_is_not_saved(db, world):
    me = world.users["sales_east"]  # no department filter for sales staff
    segment_id = save(db, me, "West?", ListQuery(filters={"department": (str(world.west),),
                                                          "vip": ("yes",)}))
    assert segments.get_segment(me, db, segment_id).filters == {"vip": ("yes",)}


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_segment_needs_a_name_of_at_most_100_characters(db, world, name):
    with pytest.raises(SegmentError):
        save(db, world.users["sales_east"], name, RED)


def test_a_user_cannot_have_two_segments_of_one_list_with_the_same_name(db, world):
    me, colleague = world.users["sales_east"], world.users["sales_east_2"]
    save(db, me, "Red", RED)
    with pytest.raises(SegmentError, match="already have a segment of contacts named “red”"):
        save(db, me, "red", VIP)
    save(db, me, "Red", RED, entity=Entity.LEAD)  # another list: fine
    save(db, colleague, "Red", RED)  # another owner: fine
    assert len(segments.segments_for(me, db)) == 2


def test_segments_are_saved_from_leads_or_contacts_only(db, world):
    with pytest.raises(SegmentError):
        segments.save_segment(world.users["sales_east"], db, "company", "Firms", ListQuery())


# ----------------------------------------------------------------------- sharing


def test_sales_staff_share_with_their_department_company_wide_roles_with_everyone(db, world):
    u = world.users
    assert segment_visibilities(u["sales_east"]) == (Visibility.PRIVATE, Visibility.DEPARTMENT)
    assert segment_visibilities(u["company_manager"]) == (Visibility.PRIVATE,
                                                          Visibility.COMPANY)
    assert segment_visibilities(u["super_operator"]) == (
        Visibility.PRIVATE, Visibility.DEPARTMENT, Visibility.COMPANY)
    with pytest.raises(NotPermitted, match=r"^Your role \(Sales manager\) may not share "
                                           "segments with the whole company.$"):
        save(db, u["sales_east"], "Red", RED, Visibility.COMPANY)
    with pytest.raises(SegmentError, match="your department"):
        save(db, u["company_manager"], "Red", RED, Visibility.DEPARTMENT)


def test_who_sees_which_segment(db, world):
    u = world.users
    save(db, u["sales_east"], "Mine", RED)
    save(db, u["sales_east"], "East team", RED, Visibility.DEPARTMENT)
    save(db, u["company_manager"], "Everyone", RED, Visibility.COMPANY)
    assert names_seen_by(db, u["sales_east"]) == ["East team", "Everyone", "Mine"]
    assert names_seen_by(db, u["sales_east_2"]) == ["East team", "Everyone"]
    assert names_seen_by(db, u["operator_east"]) == ["East team", "Everyone"]
    assert names_seen_by(db, u["sales_west"]) == ["Everyone"]
    assert names_seen_by(db, u["company_manager"]) == ["Everyone"]


def test_a_segment_not_shared_with_the_user_does_not_exist_for_them(db, world):
    private = save(db, world.users["sales_east"], "Mine", RED)
    assert segments.get_segment(world.users["sales_west"], db, private) is None
    assert segments.get_segment(world.users["sales_west"], db, 99_999) is None


def test_a_department_segment_stays_with_the_department_it_was_shared_with(db, world):
    u = world.users
    shared = save(db, u["sales_east"], "East team", RED, Visibility.DEPARTMENT)
    segment = segments.get_segment(u["sales_east_2"], db, shared)
    assert (segment.department_id, segment.shared_with()) == (world.east, "East department")


def test_the_owner_changes_whom_a_segment_is_shared_with(db, world):
    u = world.users
    segment_id = save(db, u["sales_east"], "Red", RED)
    segments.share_segment(u["sales_east"], db, segment_id, Visibility.DEPARTMENT)
    assert "Red" in names_seen_by(db, u["sales_east_2"])
    segments.share_segment(u["sales_east"], db, segment_id, Visibility.PRIVATE)
    assert "Red" not in names_seen_by(db, u["sales_east_2"])
    with pytest.raises(NotPermitted, match="share segments with the whole company"):
        segments.share_segment(u["sales_east"], db, segment_id, Visibility.COMPANY)


# ------------------------------------------------------------- evaluated in each scope


def test_a_shared_segment_counts_only_the_records_each_viewer_may_see(db, world):
    u = world.users
    red = save(db, u["company_manager"], "Red contacts", RED, Visibility.COMPANY)
    assert count(db, u["company_manager"], red) == 3  # Eastone, Easttwo, Westone
    assert count(db, u["sales_east"], red) == 2  # Eastone, Easttwo
    assert count(db, u["sales_west"], red) == 1  # Westone


def test_a_search_in_a_segment_stays_inside_the_viewers_scope(db, world):
    u = world.users
    from crm.storage import search

    with db.transaction() as tx:
        search.refresh(tx, Entity.CONTACT)
    everyone = save(db, u["company_manager"], "Named one", ListQuery(search="one"),
                    Visibility.COMPANY)
    assert count(db, u["company_manager"], everyone) == 2  # Eastone, Westone
    assert count(db, u["sales_west"], everyone) == 1
    by_id = save(db, u["company_manager"], "Westone by ID",
                 ListQuery(search=f"#{world.contacts['west']}"), Visibility.COMPANY)
    assert count(db, u["sales_east"], by_id) == 0


def test_a_department_filter_the_viewer_cannot_use_is_left_out_as_on_their_list(db, world):
    u = world.users
    west_red = save(db, u["company_manager"], "West red",
                    ListQuery(filters={"department": (str(world.west),),
                                       "newsletter": ("not_mailed",)}), Visibility.COMPANY)
    assert count(db, u["company_manager"], west_red) == 1
    seen_by_east = segments.get_segment(u["sales_east"], db, west_red)
    assert seen_by_east.left_out(u["sales_east"]) == ["Department"]
    # As the Contacts list would show it when opened: their red contacts, never West's.
    assert count(db, u["sales_east"], west_red) == 2
    assert segments.size(u["sales_east"], db, seen_by_east) == 2


def test_live_counts_of_many_segments_in_one_query_match_one_by_one(db, world):
    me = world.users["sales_east"]
    ids = [save(db, me, "Red", RED), save(db, me, "VIP", VIP),
           save(db, me, "Lead VIPs", VIP, entity=Entity.LEAD),
           save(db, me, "Tagged", ListQuery(filters={"tag": ("1",)}))]
    found = segments.segments_for(me, db)
    counts = segments.sizes(me, db, found)
    assert counts == {s.id: segments.size(me, db, s) for s in found}
    assert [counts[i] for i in ids] == [2, 1, 0, 0]


def test_a_count_follows_the_records(db, world):
    me = world.users["sales_east"]
    vip = save(db, me, "VIP", VIP)
    assert count(db, me, vip) == 1
    db.execute("UPDATE contacts SET vip = TRUE WHERE id = ?", (world.contacts["east_other"],))
    assert count(db, me, vip) == 2


# ----------------------------------------------------------------------- owner only


def test_the_owner_renames_a_segment(db, world):
    me = world.users["sales_east"]
    segment_id = save(db, me, "Red", RED)
    save(db, me, "VIP", VIP)
    segments.rename_segment(me, db, segment_id, "Red in the East")
    renamed = segments.get_segment(me, db, segment_id)
    assert renamed.name == "Red in the East"
    assert renamed.updated_at >= renamed.created_at
    segments.rename_segment(me, db, segment_id, "RED IN THE EAST")  # its own name, recased
    with pytest.raises(SegmentError, match="already have"):
        segments.rename_segment(me, db, segment_id, "vip")


def test_only_the_owner_renames_or_deletes_a_shared_segment(db, world):
    u = world.users
    shared = save(db, u["sales_east"], "East team", RED, Visibility.DEPARTMENT)
    with pytest.raises(SegmentError, match=r"Only Sales\.East can rename"):
        segments.rename_segment(u["sales_east_2"], db, shared, "Mine now")
    with pytest.raises(SegmentError, match=r"Only Sales\.East can delete"):
        segments.delete_segment(u["sales_east_2"], db, shared)
    with pytest.raises(SegmentError, match=r"Only Sales\.East can share"):
        segments.share_segment(u["sales_east_2"], db, shared, Visibility.PRIVATE)
    with pytest.raises(SegmentError, match="does not exist"):
        segments.delete_segment(u["sales_west"], db, shared)
    assert names_seen_by(db, u["sales_east_2"]) == ["East team"]
    segments.delete_segment(u["sales_east"], db, shared)
    assert names_seen_by(db, u["sales_east_2"]) == []


def test_deleting_a_segment_keeps_its_records(db, world):
    me = world.users["sales_east"]
    segments.delete_segment(me, db, save(db, me, "Red", RED))
    assert db.scalar("SELECT count(*) FROM contacts") == 5


# ----------------------------------------------------------------------- comparing


def test_the_overlap_of_two_segments(db, world):
    me = world.users["company_manager"]
    red, vip = save(db, me, "Red", RED), save(db, me, "VIP", VIP)
    comparison = segments.compare(me, db, [red, vip])
    # Red: Eastone, Easttwo, Westone. VIP: Eastone, Westone.
    assert (comparison.size_of(red), comparison.size_of(vip)) == (3, 2)
    assert comparison.size_of(red, vip) == 2
    assert (comparison.only_in(red), comparison.only_in(vip)) == (1, 0)
    assert comparison.in_any == 3


def test_the_overlaps_of_three_segments(db, world):
    me = world.users["company_manager"]
    red, vip = save(db, me, "Red", RED), save(db, me, "VIP", VIP)
    east = save(db, me, "Sales East's", ListQuery(
        filters={"manager": (str(world.users["sales_east"].id),)}))
    comparison = segments.compare(me, db, [red, vip, east])
    # Sales East's: Eastone, Eastthree.
    assert [(o.members, o.size) for o in comparison.overlaps] == [
        ((red,), 3), ((vip,), 2), ((east,), 2),
        ((red, vip), 2), ((red, east), 1), ((vip, east), 1), ((red, vip, east), 1)]
    assert [comparison.only_in(i) for i in (red, vip, east)] == [1, 0, 1]  # Easttwo; Eastthree
    assert comparison.in_any == 4


def test_overlaps_are_counted_inside_the_viewers_scope(db, world):
    u = world.users
    red = save(db, u["company_manager"], "Red", RED, Visibility.COMPANY)
    vip = save(db, u["company_manager"], "VIP", VIP, Visibility.COMPANY)
    comparison = segments.compare(u["sales_west"], db, [red, vip])
    assert comparison.size_of(red, vip) == 1  # Westone only
    assert comparison.in_any == 1


def test_compare_two_or_three_segments_of_one_list(db, world):
    me = world.users["sales_east"]
    a, b, c, d = (save(db, me, n, RED) for n in "abcd")
    lead = save(db, me, "Leads", RED, entity=Entity.LEAD)
    private = save(db, world.users["sales_east_2"], "Theirs", RED)
    with pytest.raises(SegmentError, match="two or three"):
        segments.compare(me, db, [a])
    with pytest.raises(SegmentError, match="two or three"):
        segments.compare(me, db, [a, b, c, d])
    with pytest.raises(SegmentError, match="same list"):
        segments.compare(me, db, [a, lead])
    with pytest.raises(SegmentError, match="does not exist"):
        segments.compare(me, db, [a, private])


# ----------------------------------------------------------------------- exporting


def exported(db, user, segment_id) -> list[str]:
    segment = segments.get_segment(user, db, segment_id)
    buffer = io.BytesIO()
    segments.export(user, db, segment, buffer)
    header, *rows = openpyxl.load_workbook(buffer, read_only=True).active.iter_rows(
        values_only=True)
    return sorted(row[header.index("Name")] for row in rows)


def test_a_contacts_segment_exports_only_the_contacts_assigned_to_the_exporter(db, world):
    u = world.users
    red = save(db, u["company_manager"], "Red", RED, Visibility.COMPANY)
    assert exported(db, u["sales_east"], red) == ["Test Eastone"]  # not Easttwo (a colleague's)
    assert exported(db, u["company_manager"], red) == []
    segment = segments.get_segment(u["sales_east"], db, red)
    assert segments.export_plan(u["sales_east"], db, segment).rows == 1
    assert segments.export_note(u["sales_east"], db, segment) == (
        "1 of the 2 matching contacts is assigned to you; the file has that one.")


def test_a_leads_segment_exports_every_lead_the_user_sees(db, world):
    u = world.users
    every = save(db, u["company_manager"], "All leads", ListQuery(), Visibility.COMPANY,
                 entity=Entity.LEAD)
    assert exported(db, u["sales_west"], every) == ["Test Westlead"]
    assert exported(db, u["company_manager"], every) == ["Test Eastlead", "Test Westlead"]
