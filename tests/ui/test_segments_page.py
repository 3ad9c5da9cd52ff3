"""Saved segments through Streamlit's AppTest: "Save as segment" on the Leads and Contacts
pages, and the Segments page (live counts per viewer, open, export, rename, delete, compare).

The world is tests.worlds.segments, the one of tests/analysis/test_segments.py (East: Eastone
red VIP, Easttwo red, Eastthree gray; West: Westone red VIP, Westsuper turquoise).
"""

from __future__ import annotations

import json

import pytest

from crm.access import Entity, Visibility
from crm.analysis import segments
from crm.lists.listing import ListQuery
from crm.storage import search
from tests import worlds
from tests.conftest import shown
from tests.pages import SEGMENTS, open_contacts, open_leads, open_page, sentence
from tests.worlds import RED, VIP


@pytest.fixture
def world(db, app_env):
    return worlds.segments(db)


def open_segments(username: str):
    return open_page(username, SEGMENTS)


def save_segment(at, noun: str, name: str, visibility: Visibility | None = None):
    at.text_input(key=f"{noun}_segment_name").input(name)
    if visibility is not None:
        at.radio(key=f"{noun}_segment_visibility").set_value(visibility)
    at.button(key=f"FormSubmitter:{noun}_segment_save-Save segment").click().run()
    assert not at.exception
    return at


def stored(db) -> list[dict]:
    return db.fetch_all("SELECT name, entity, filters, search, visibility FROM segments "
                        "ORDER BY id")


def popovers(at) -> list[str]:
    return [p.proto.popover.label for p in at.get("popover")]


def table(at) -> list[dict]:
    frame = at.dataframe[0].value
    return frame[["Name", "List", "Count", "Shared with", "Made by"]].to_dict("records")


# ------------------------------------------------------------- Save as segment


def test_a_sales_manager_saves_the_filtered_lead_list_as_a_segment(db, world):
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    at = open_leads("sales.east", vip="no", q="test")
    save_segment(at, "lead", "Ordinary tests", Visibility.DEPARTMENT)
    assert [shown(s.value) for s in at.success] == [
        "Saved the segment “Ordinary tests” (1 lead now). Find it on the Segments page."]
    assert stored(db) == [{"name": "Ordinary tests", "entity": "lead",
                           "filters": json.dumps({"vip": ["no"]}), "search": "test",
                           "visibility": "department"}]


def test_save_as_segment_on_the_contacts_page_sits_beside_tags(db, world):
    at = open_contacts("sales.east", newsletter="not_mailed")
    assert popovers(at)[1:3] == ["Tags", "Save as segment"]
    save_segment(at, "contact", "Red **bold** [link](http://x)")
    # The name is shown as typed, never as markup.
    # (a word joiner keeps the address from becoming a link)
    assert "“Red \\*\\*bold\\*\\* \\[link\\]\\(http\u2060\\://x\\)”" in at.success[0].value
    assert shown(at.success[0].value).startswith(
        "Saved the segment “Red **bold** [link](http://x)” (2 contacts now)")
    assert stored(db)[0]["filters"] == json.dumps({"newsletter": ["not_mailed"]})


def test_a_segment_without_a_name_is_refused(db, world):
    at = open_contacts("sales.east")
    save_segment(at, "contact", "   ")
    assert [shown(e.value) for e in at.error] == ["Give the segment a name."]
    assert stored(db) == []


def test_sales_staff_are_not_offered_the_whole_company(world):
    at = open_contacts("sales.east")
    assert at.radio(key="contact_segment_visibility").options == ["Only me", "My department"]
    at = open_contacts("company.manager")
    assert at.radio(key="contact_segment_visibility").options == ["Only me",
                                                                  "The whole company"]


# ------------------------------------------------------------- the Segments page


def test_without_segments_the_page_says_how_to_make_one(world):
    at = open_segments("sales.east")
    assert "Save as segment" in at.info[0].value


def test_each_viewer_counts_a_shared_segment_in_their_own_scope(db, world):
    u = world.users
    segments.save_segment(u["company_manager"], db, Entity.CONTACT, "Red contacts", RED,
                          Visibility.COMPANY)
    segments.save_segment(u["sales_east"], db, Entity.CONTACT, "My VIPs", VIP)
    assert table(open_segments("company.manager")) == [
        {"Name": "Red contacts", "List": "Contacts", "Count": 3, "Shared with": "Whole company",
         "Made by": "Company.Manager (you)"}]
    assert table(open_segments("sales.east")) == [
        {"Name": "My VIPs", "List": "Contacts", "Count": 1, "Shared with": "Only its owner",
         "Made by": "Sales.East (you)"},
        {"Name": "Red contacts", "List": "Contacts", "Count": 2,
         "Shared with": "Whole company", "Made by": "Company.Manager"}]
    assert table(open_segments("sales.west"))[0]["Count"] == 1


def test_opening_a_segment_shows_its_list_with_its_filters(db, world):
    segments.save_segment(world.users["company_manager"], db, Entity.CONTACT, "Red VIPs",
                          ListQuery(filters={"newsletter": ("not_mailed",), "vip": ("yes",)}),
                          Visibility.COMPANY)
    at = open_segments("sales.east")
    at.button(key="segment_open").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Contacts"]
    assert sentence(at) == (
        "1 contact where newsletter is Subscribed, not mailed yet and VIP")
    assert at.query_params["newsletter"] == "not_mailed"


def test_a_segment_starts_a_mass_mailing_to_everyone_it_holds_for_the_viewer(db, world):
    segments.save_segment(world.users["company_manager"], db, Entity.CONTACT, "Red VIPs",
                          ListQuery(filters={"newsletter": ("not_mailed",), "vip": ("yes",)}),
                          Visibility.COMPANY)
    at = open_segments("sales.east")
    at.button(key="segment_mail").click().run()
    assert not at.exception
    selection = at.session_state["mailing_selection"]
    assert (selection.entity, selection.ids) == (Entity.CONTACT, None)
    assert selection.query.filters == {"newsletter": ("not_mailed",), "vip": ("yes",)}
    at.switch_page("pages/workspace/mailings.py").run()  # where the browser goes next
    assert not at.exception
    assert [t.value for t in at.title] == ["New mass mailing"]


def test_the_owner_renames_a_segment(db, world):
    segments.save_segment(world.users["sales_east"], db, Entity.CONTACT, "Red", RED)
    at = open_segments("sales.east")
    segment_id = db.scalar("SELECT id FROM segments")
    at.text_input(key=f"segment_new_name_{segment_id}").input("Red in the East")
    at.button(key="FormSubmitter:segment_rename-Rename").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Renamed to “Red in the East”."]
    assert table(at)[0]["Name"] == "Red in the East"


def test_the_owner_deletes_a_segment(db, world):
    segments.save_segment(world.users["sales_east"], db, Entity.CONTACT, "Red", RED)
    at = open_segments("sales.east")
    at.button(key="segment_delete").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Deleted the segment “Red”."]
    assert db.scalar("SELECT count(*) FROM segments") == 0


def test_someone_elses_segment_can_be_opened_and_exported_but_not_changed(db, world):
    segments.save_segment(world.users["sales_east"], db, Entity.CONTACT, "East red", RED,
                          Visibility.DEPARTMENT)
    at = open_segments("sales.east2")
    assert popovers(at) == ["Export"]
    assert any("only they can rename" in c.value for c in at.caption)
    # Exports hold only the exporter's own contacts: Easttwo.
    assert at.get("download_button")[0].proto.label == "Download 1 contact"
    assert "1 of the 2 matching contacts is assigned to you; the file has that one." in [
        shown(c.value) for c in at.caption]


def test_comparing_two_segments_shows_their_overlaps(db, world):
    u = world.users
    red = segments.save_segment(u["company_manager"], db, Entity.CONTACT, "Red", RED)
    vip = segments.save_segment(u["company_manager"], db, Entity.CONTACT, "VIP", VIP)
    at = open_segments("company.manager")
    at.multiselect(key="segment_compare").select(red).select(vip).run()
    assert not at.exception
    overlaps = at.dataframe[1].value.to_dict("records")
    assert overlaps == [{"Segments": "Red and VIP", "Records": 2},
                        {"Segments": "Only in Red", "Records": 1},
                        {"Segments": "Only in VIP", "Records": 0}]
    assert "3 contacts are in at least one of them." in [c.value for c in at.caption]


def test_segments_of_different_lists_are_not_compared(db, world):
    me = world.users["sales_east"]
    contacts = segments.save_segment(me, db, Entity.CONTACT, "Red", RED)
    leads = segments.save_segment(me, db, Entity.LEAD, "Red leads", RED)
    at = open_segments("sales.east")
    at.multiselect(key="segment_compare").select(contacts).select(leads).run()
    assert "same list" in at.warning[0].value
