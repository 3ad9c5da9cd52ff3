"""The Leads page through Streamlit's AppTest: the count sentence, sidebar filters, search,
sort, the view in the URL, the detail view and bulk VIP, always inside the user's scope."""

from __future__ import annotations

from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from crm.access import Entity
from crm.storage import search
from tests import factories, worlds
from tests.conftest import shown
from tests.pages import LEADS, OVERVIEW, names, open_leads, sentence, sidebar_filters


@pytest.fixture
def world(db, app_env):
    return worlds.leads(db)


def bulk_target(at: AppTest) -> tuple[str, list[str]]:
    """The bulk bar's chosen target and the counts under its options."""
    radio = at.radio(key="lead_bulk_target")
    return radio.options[radio.index], list(radio.proto.captions)


def vip_leads(db) -> set[str]:
    return {r["last_name"] for r in db.fetch_all("SELECT last_name FROM leads WHERE vip")}


def test_a_sales_manager_sees_only_their_departments_leads(world):
    at = open_leads("sales.east")
    assert [t.value for t in at.title] == ["Leads"]
    assert sentence(at) == "4 leads"
    assert names(at) == ["Clara Conrad", "Bernd Becker", "Anna Adler", "Test Eastlead"]


def test_a_company_manager_sees_every_department(world):
    at = open_leads("company.manager")
    assert sentence(at) == "6 leads"


def test_sidebar_filters_narrow_the_count_and_combine(world):
    at = open_leads("sales.east")
    at.multiselect(key="lead_filter_vip").select("no").run()
    assert not at.exception
    assert sentence(at) == "3 leads where not VIP"
    at.multiselect(key="lead_filter_country").select("DE").run()
    assert not at.exception
    assert sentence(at) == "1 lead where country is Germany and not VIP"
    assert names(at) == ["Clara Conrad"]
    assert at.query_params == {"vip": "no", "country": "DE"}


def test_filter_options_count_only_the_users_department(world):
    at = open_leads("sales.east")
    countries = at.multiselect(key="lead_filter_country")
    assert countries.options == ["Germany (2)", "France (1)", "No country (1)"]


def test_cached_filter_options_are_shared_by_scope_and_never_cross_it(world):
    """Options are cached per scope: a colleague of the same department is served the same
    counts, a manager of another department or the company never theirs."""
    east = open_leads("sales.east").multiselect(key="lead_filter_country").options
    assert open_leads("sales.east2").multiselect(key="lead_filter_country").options == east
    assert open_leads("sales.west").multiselect(key="lead_filter_country").options == [
        "Germany (1)", "No country (1)"]
    assert open_leads("company.manager").multiselect(key="lead_filter_country").options == [
        "Germany (3)", "No country (2)", "France (1)"]
    assert open_leads("sales.east").multiselect(key="lead_filter_country").options == east


def test_the_department_filter_is_offered_to_a_company_manager_only(world):
    assert "lead_filter_department" not in sidebar_filters(open_leads("sales.east"))

    at = open_leads("company.manager")
    assert "lead_filter_department" in sidebar_filters(at)
    at.multiselect(key="lead_filter_department").select(str(world.west)).run()
    assert not at.exception
    assert sentence(at) == "2 leads where department is West"
    assert names(at) == ["Wim Wagner", "Test Westlead"]


@pytest.mark.parametrize("text", ["becker", "Bernd", "boulangerie", "bernd@becker.example"])
def test_the_search_box_finds_a_lead_by_name_email_or_company(world, text):
    at = open_leads("sales.east")
    at.text_input(key="lead_search").input(text).run()
    assert not at.exception
    assert sentence(at) == f"1 lead, matching “{text}”"
    assert names(at) == ["Bernd Becker"]
    assert at.query_params == {"q": text}


def test_the_search_box_finds_a_lead_by_id(world):
    at = open_leads("sales.east")
    at.text_input(key="lead_search").input(f"#{world.leads['Adler']}").run()
    assert not at.exception
    assert names(at) == ["Anna Adler"]
    assert sentence(at).startswith("1 lead,")


@pytest.mark.parametrize("form", ["#{}", "ID {}"])
def test_an_id_search_for_another_departments_lead_finds_nothing(world, form):
    at = open_leads("sales.east")
    at.text_input(key="lead_search").input(form.format(world.leads["Wagner"])).run()
    assert not at.exception
    assert sentence(at).startswith("0 leads,")
    assert names(at) == []


def test_sorting_orders_the_whole_list_and_lands_in_the_url(world):
    at = open_leads("sales.east")
    assert names(at)[0] == "Clara Conrad"  # newest first by default

    at.selectbox(key="lead_sort").set_value("name").run()
    assert not at.exception
    assert names(at)[0] == "Test Eastlead"  # still descending
    assert at.query_params == {"sort": "name"}

    at.toggle(key="lead_descending").set_value(False).run()
    assert not at.exception
    assert names(at) == ["Anna Adler", "Bernd Becker", "Clara Conrad", "Test Eastlead"]
    assert at.query_params == {"sort": "name", "dir": "asc"}


def test_a_bookmarked_url_restores_filters_search_and_sort(world):
    at = open_leads("sales.east", country="DE", sort="name", dir="asc")
    assert at.multiselect(key="lead_filter_country").value == ["DE"]
    assert at.selectbox(key="lead_sort").value == "name"
    assert at.toggle(key="lead_descending").value is False
    assert sentence(at) == "2 leads where country is Germany"
    assert names(at) == ["Anna Adler", "Clara Conrad"]

    at = open_leads("sales.east", q="conrad")
    assert at.text_input(key="lead_search").value == "conrad"
    assert names(at) == ["Clara Conrad"]


def test_a_url_value_outside_the_users_scope_is_dropped(world):
    at = open_leads("sales.east", department=str(world.west), country="XX")
    assert sentence(at) == "4 leads"
    assert at.query_params == {}


def test_coming_back_to_the_list_starts_from_the_default_view(world):
    at = open_leads("sales.east", sort="name", dir="asc", vip="no")
    assert names(at)[0] == "Bernd Becker"
    at.switch_page(OVERVIEW).run()
    at.query_params.clear()  # the sidebar link opens the page without the old query
    at.switch_page(LEADS).run()
    assert not at.exception
    assert at.selectbox(key="lead_sort").value == "created_at"
    assert at.toggle(key="lead_descending").value is True
    assert at.selectbox(key="lead_size").value == 50
    assert sentence(at) == "4 leads"
    assert names(at)[0] == "Clara Conrad"


def test_the_detail_view_shows_a_lead_with_its_tabs(world):
    at = open_leads("sales.east", id=str(world.leads["Adler"]))
    assert [t.value for t in at.title] == ["Anna Adler"]
    assert [t.label for t in at.tabs] == ["Details", "Edit", "Newsletter", "History"]
    facts = at.dataframe[0].value.set_index("Field")["Value"]
    assert facts["Email"] == "anna@adler.example"
    assert facts["Department"] == "East"
    assert facts["VIP"] == "Yes"


def test_another_departments_lead_does_not_exist_for_a_sales_manager(world):
    west_id = world.leads["Wagner"]
    at = open_leads("sales.east", id=str(west_id))
    assert [e.value for e in at.error] == [f"Lead {west_id} does not exist."]
    assert not at.title
    assert not at.tabs


def test_set_vip_on_all_matching_leads(world, db):
    at = open_leads("sales.east", vip="no")
    at.radio(key="lead_bulk_target").set_value("all").run()
    at.selectbox(key="lead_bulk_action").set_value("set_vip").run()
    apply = at.button(key="lead_bulk_apply")
    assert apply.label == "Set VIP: 3 leads"
    apply.click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Set VIP on 3 leads."]
    assert vip_leads(db) == {"Adler", "Becker", "Conrad", "Eastlead", "Wagner"}
    assert sentence(at) == "0 leads where not VIP"
    # The filter counts follow the user's own change at once; the emptied choice stays.
    assert at.multiselect(key="lead_filter_vip").options == ["VIP (4)", "Not VIP (0)"]
    assert at.multiselect(key="lead_filter_vip").value == ["no"]


def test_set_vip_on_checked_rows_only(world, db):
    at = open_leads("sales.east", sort="name", dir="asc")
    editor = at.data_editor[0]
    assert names(at) == ["Anna Adler", "Bernd Becker", "Clara Conrad", "Test Eastlead"]
    at.session_state[editor.key] = {"edited_rows": {1: {"Select": True}, 2: {"Select": True}},
                                    "added_rows": [], "deleted_rows": []}
    at.run()
    assert bulk_target(at) == ("Checked rows", ["2 checked", "4 matching"])
    apply = at.button(key="lead_bulk_apply")
    assert apply.label == "Set VIP: 2 leads"
    apply.click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Set VIP on 2 leads."]
    assert vip_leads(db) == {"Adler", "Becker", "Conrad", "Wagner"}
    assert bulk_target(at) == ("Checked rows", ["0 checked", "4 matching"])


def test_without_checked_rows_the_bulk_button_is_disabled(world):
    at = open_leads("sales.east")
    button = at.button(key="lead_bulk_none")
    assert button.disabled
    assert not [b for b in at.button if b.key == "lead_bulk_apply"]


def test_every_run_sends_the_lists_sort_to_the_browser(world):
    """A browser that missed the first run of a visit (a quick second run right after the page
    opened) must still be told the state, or it draws the widgets' defaults ("Sort by ID")."""
    at = open_leads("sales.east", sort="name", dir="asc")
    at.run()
    sort, descending = at.selectbox(key="lead_sort").proto, at.toggle(key="lead_descending").proto
    assert sort.set_value and sort.raw_value == "Name"
    assert descending.set_value and descending.value is False


def test_the_gray_label_tells_unsubscribed_from_never_subscribed(world, db):
    """Both are gray; the text beside the icon says which (SPEC: newsletter status)."""
    stamp = datetime(2026, 3, 9, 9, 0)
    factories.lead(db, "Nevermore", world.east, world.users["sales_east"], first_name="Nina",
                   newsletter_opt_in=False, created_at=stamp, updated_at=stamp)
    factories.lead(db, "Gone", world.east, world.users["sales_east"], first_name="Gus",
                   newsletter_opt_in=False, unsubscribed_at=stamp, created_at=stamp,
                   updated_at=stamp)
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    at = open_leads("sales.east")
    shown_rows = at.data_editor[0].value.set_index("name")
    assert shown_rows.at["Nina Nevermore", "newsletter"] == "Never subscribed"
    assert shown_rows.at["Gus Gone", "newsletter"] == "Unsubscribed"
    assert shown_rows.at["Anna Adler", "newsletter"] == "Subscribed, not mailed yet"
    assert shown_rows.at["Nina Nevermore", "icon"] == shown_rows.at["Gus Gone", "icon"]
