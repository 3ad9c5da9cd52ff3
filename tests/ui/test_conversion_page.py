"""Converting leads on the Leads page through Streamlit's AppTest: the Convert dialog with
its matches and required-data message, the converted lead's links, the status filter, and
the bulk Convert action with its report."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from crm.access import Entity
from crm.storage import search
from tests import factories
from tests.conftest import shown
from tests.factories import company
from tests.pages import open_leads, sentence


@pytest.fixture
def world(db, app_env):
    """East: Anna Berg of Nordlicht (a company Nordlicht Ltd exists), and Tom with no data."""
    w = factories.world(db)
    me = w.users["sales_east"]
    w.companies["nordlicht"] = company(db, "Nordlicht Ltd", w.east)
    w.leads["anna"] = factories.lead(db, "Berg", w.east, me, first_name="Anna",
                                     email="anna@nordlicht.example", company_name="Nordlicht",
                                     country_code="DE")
    w.leads["tom"] = factories.lead(db, "Thin", w.east, me, first_name="Tom")
    w.leads["carl"] = factories.lead(db, "Clean", w.east, me, first_name="Carl",
                                     email="carl@clean.example", company_name="Clean Water")
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    return w


def open_dialog(at: AppTest, lead_id: int) -> AppTest:
    at.button(key=f"convert_{lead_id}").click().run()
    assert not at.exception
    assert [d.proto.dialog.title for d in at.get("dialog")] == ["Convert lead"]
    return at


def test_the_dialog_links_a_lead_to_the_matching_company(world, db):
    lead_id = world.leads["anna"]
    at = open_dialog(open_leads("sales.east", id=str(lead_id)), lead_id)
    radio = at.radio(key=f"convert_{lead_id}_company")
    assert [shown(o) for o in radio.options] == [
        f"Link to Nordlicht Ltd (ID {world.companies['nordlicht']}, Germany): same name"]
    at.button(key=f"convert_{lead_id}").click()
    at.button(key=f"convert_{lead_id}_confirm").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == [
        "Lead converted into a new contact at an existing company."]
    lead = db.fetch_one("SELECT * FROM leads WHERE id = ?", (lead_id,))
    assert lead["company_id"] == world.companies["nordlicht"]
    assert [link.label for link in at.get("page_link")][1:] == [
        "Open the contact", "Open the company"]
    assert not [b for b in at.button if b.key == f"convert_{lead_id}"]  # read-only now


def test_the_dialog_says_which_data_to_fill_in(world, db):
    lead_id = world.leads["tom"]
    at = open_dialog(open_leads("sales.east", id=str(lead_id)), lead_id)
    assert [shown(e.value) for e in at.error] == [
        "To convert this lead, fill in: email or phone; company name."]
    assert not [b for b in at.button if b.key == f"convert_{lead_id}_confirm"]


def test_converted_leads_are_found_with_the_status_filter(world, db):
    db.execute("UPDATE leads SET converted_at = ? WHERE id = ?",
               (factories.STAMP, world.leads["carl"]))
    at = open_leads("sales.east")
    assert at.multiselect(key="lead_filter_status").options == [
        "Converted (1)", "Open (3)"]
    at.multiselect(key="lead_filter_status").select("converted").run()
    assert sentence(at) == "1 lead where status is Converted"
    assert at.data_editor[0].value["status"].tolist() == ["Converted"]


def test_bulk_conversion_reports_each_outcome(world, db):
    at = open_leads("sales.east")
    at.radio(key="lead_bulk_target").set_value("all").run()
    at.selectbox(key="lead_bulk_action").set_value("convert").run()
    at.button(key="lead_bulk_apply").click().run()
    assert not at.exception
    message = ("Converted 1 lead; 1 needs review (a matching company or contact; open each "
               "to choose); 2 need data (required data missing).")
    assert [shown(s.value) for s in at.success] == [message]
    assert [e.label for e in at.expander] == [
        "Conversion report: 4 leads, those to review first"]
    report = at.dataframe[0].value
    assert list(zip(report["name"], report["outcome"], strict=True)) == [
        ("Anna Berg", "Needs review"), ("Test Eastlead", "Needs data"),
        ("Tom Thin", "Needs data"), ("Carl Clean", "Converted")]
    assert db.scalar("SELECT count(*) FROM leads WHERE converted_at IS NOT NULL") == 1
