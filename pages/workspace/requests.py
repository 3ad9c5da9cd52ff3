"""Requests: incoming commercial requests (web form, entered by hand, imported), what each
matches in the CRM, and Create deal, which links or creates the contact or lead."""

from crm.pipeline import requests
from crm.ui.list_page import ListPage, render
from crm.ui.request_forms import DISMISS_ACTION, add_request_dialog, request_detail, toolbar
from crm.ui.session import current_user, database

render(
    ListPage(
        spec=requests.REQUESTS,
        title="Requests",
        save_edits=lambda user, db, edits: 0,
        to_changes=lambda values, owners: values,
        set_vip=None,
        add=add_request_dialog,
        add_label="Add request",
        detail=request_detail,
        extra_actions={"dismiss": DISMISS_ACTION},
        buttons=toolbar,
    ),
    current_user(),
    database(),
)
