"""The Mailings page: campaigns with their counts, and one mailing in detail (its message,
recipients and problems), with Send, Resume, Edit and Delete for a draft."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from crm.access import Action, Entity, can, refusal
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.mailing import campaigns, sending, transport
from crm.mailing.campaigns import Mailing
from crm.mailing.recipients import EXCLUSION_LABELS
from crm.storage.db import Database
from crm.ui import text
from crm.ui.mailing_compose import placeholder_help, preview
from crm.ui.record_view import record_id

FLASH = "mailing_flash"
PAGE = "pages/workspace/mailings.py"


def mailing_list(user: User, db: Database) -> None:
    st.title("Mailings")
    st.caption("Start a mass mailing from the Leads or Contacts list: tick rows and choose "
               "**Make massmail** in the Action bar (or apply it to all matching rows), "
               "or the **Make massmail** button above the Contacts list for everyone the "
               "filters match.")
    left, right, _ = st.columns([1, 1, 5])
    left.page_link("pages/workspace/leads.py", label="Leads", icon=":material/person_search:")
    right.page_link("pages/workspace/contacts.py", label="Contacts",
                    icon=":material/contacts:")
    frame = campaigns.list_mailings(user, db)
    if frame.empty:
        st.info("No mailings yet.")
        return
    shown = pd.DataFrame({
        "link": [f"?id={i}" for i in frame["id"]],
        "name": frame["name"],
        "status": frame["status"].map(campaigns.STATUS_LABELS),
        "created_at": frame["created_at"],
        "recipients": frame["recipients"],
        "sent": frame["sent"],
        "failed": frame["failed"],
        "waiting": frame["waiting"],
        "unsubscribed_since": frame["unsubscribed_since"],
        "created_by": frame["created_by"],
        "department": frame["department"].fillna("All departments"),
    })
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "link": st.column_config.LinkColumn("ID", display_text=r"\?id=(\d+)", width="small"),
        "name": st.column_config.TextColumn("Mailing", width="medium"),
        "status": "Status",
        "created_at": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm"),
        "recipients": st.column_config.NumberColumn("Recipients", format="localized"),
        "sent": st.column_config.NumberColumn("Sent", format="localized"),
        "failed": st.column_config.NumberColumn("Failed", format="localized"),
        "waiting": st.column_config.NumberColumn("Waiting", format="localized"),
        "unsubscribed_since": st.column_config.NumberColumn(
            "Unsubscribed since", format="localized",
            help="Recipients who unsubscribed after receiving it"),
        "created_by": "Created by",
        "department": "Department",
    })
    st.caption("Counts are of the recipients in your departments.")


def mailing_detail(user: User, db: Database, raw_id: str) -> None:
    st.page_link(page=PAGE, label="All mailings", icon=":material/arrow_back:",
                 query_params={})
    mailing = campaigns.get_mailing(user, db, record_id(raw_id))
    if mailing is None:
        text.error("Mailing {} does not exist.", raw_id)
        return
    text.title("{}", mailing.name)
    if flash := st.session_state.pop(FLASH, None):
        text.success("{}", flash)
    text.caption("{}", _about(mailing))
    _figures(mailing)
    if mailing.last_error:
        text.warning("{}", mailing.last_error)
    if mailing.may_send and mailing.status != campaigns.SENT:
        _send_panel(user, db, mailing)
    elif mailing.status != campaigns.SENT and not can(user, Action.MAIL, mailing.entity):
        text.caption("{}", refusal(user, Action.MAIL, mailing.entity))  # why no Send
    message, people, problems = st.tabs(["Message", "Recipients", "Problems"])
    with message:
        _message_tab(user, db, mailing)
    with people:
        _recipients_tab(user, db, mailing)
    with problems:
        _problems_tab(user, db, mailing)


def _about(mailing: Mailing) -> str:
    parts = [f"{campaigns.STATUS_LABELS.get(mailing.status, mailing.status)}",
             f"created by {mailing.created_by} on {mailing.created_at:%Y-%m-%d %H:%M}"]
    if mailing.selection:
        parts.append(f"from {mailing.selection}")
    parts.append(mailing.department or "all departments")
    if mailing.finished_at:
        parts.append(f"finished {mailing.finished_at:%Y-%m-%d %H:%M}")
    return " · ".join(parts)


def _figures(mailing: Mailing) -> None:
    k = mailing.counts
    cols = st.columns(5)
    cols[0].metric("Recipients", f"{k.recipients:,}")
    cols[1].metric("Sent", f"{k.sent:,}")
    cols[2].metric("Failed", f"{k.failed + k.unknown:,}",
                   help="Refused by the mail server, or interrupted while being handed over")
    cols[3].metric("Waiting", f"{k.pending + k.sending:,}")
    cols[4].metric("Unsubscribed since", f"{k.unsubscribed_since:,}",
                   help="Recipients who unsubscribed after receiving it")
    if mailing.excluded is not None:
        parts = [f"{n:,} {EXCLUSION_LABELS[r]}" for r, n in mailing.excluded.items() if n]
        if parts:
            text.caption("Left out when it was created: {}.", ", ".join(parts))
    if k.skipped:
        text.caption("{:,} skipped when their turn came (unsubscribed or changed since); "
                     "see Problems.", k.skipped)


def _send_panel(user: User, db: Database, mailing: Mailing) -> None:
    try:
        mail = transport.settings()
    except Refusal as problem:
        text.error("Mail settings: {}", problem)
        return
    route = transport.transport_for(mail, mailing.id)
    left = mailing.counts.pending + mailing.counts.sending
    with st.container(border=True):
        if mail.uses_smtp:
            text.markdown("Messages go out through {}, from {}.", route.describe(), mail.sender)
        else:
            text.markdown("No mail server is configured (`CRM_SMTP_HOST`), so messages are "
                          "written as `.eml` files to {}.", text.code(route.folder))
        minutes = left / mail.rate / 60
        duration = ("under a minute" if minutes < 1 else
                    f"about {round(minutes):,} minute{'s' if round(minutes) != 1 else ''}")
        text.caption("{rate:g} messages per second: {duration} for {left:,} message{s}. Keep "
                     "this page open while it sends; if it stops, Resume goes on where it "
                     "stopped and nobody gets the mailing twice. For large mailings: "
                     "`python -m crm mailings send {id}`.", rate=mail.rate, duration=duration,
                     left=left, s="s" if left != 1 else "", id=mailing.id)
        if sending.being_sent_elsewhere(mailing):
            st.info("This mailing is being sent by another session or process right now.")
            st.button("Refresh", key="mailing_refresh")
            return
        if left == 0:
            return
        if st.button(text.md("Send to {:,} recipient{}", left, "s" if left != 1 else "")
                     if mailing.is_draft else text.md("Resume sending ({:,} left)", left),
                     type="primary", key="mailing_send", icon=":material/send:"):
            _send(user, db, mailing, route.describe())
        if mailing.is_draft:
            _edit_draft(user, db, mailing)


def _send(user: User, db: Database, mailing: Mailing, where: str) -> None:
    bar = st.progress(0.0, text="Starting…")
    shown = {"at": 0.0}

    def update(step: sending.Progress) -> None:
        if time.monotonic() - shown["at"] < 0.25 and step.done < step.total:
            return
        shown["at"] = time.monotonic()
        bar.progress(step.fraction, text=f"{step.done:,} of {step.total:,} done · "
                                         f"{step.sent:,} sent · {step.failed:,} failed")

    try:
        report = sending.send_mailing(user, db, mailing.id, progress=update)
    except Refusal as problem:
        text.error("{}", problem)
        return
    st.session_state[FLASH] = report.sentence(where)
    st.rerun()


def _edit_draft(user: User, db: Database, mailing: Mailing) -> None:
    with st.expander("Change or delete the draft"):
        with st.form(f"mailing_edit_{mailing.id}"):
            name = st.text_input("Name", value=mailing.name)
            subject = st.text_input("Subject", value=mailing.subject)
            body = st.text_area("Message (Markdown)", value=mailing.body, height=220)
            placeholder_help()
            saved = st.form_submit_button("Save draft")
        if saved:
            try:
                campaigns.update_draft(user, db, mailing.id, name=name, subject=subject,
                                       body=body)
            except campaigns.MailingError as problem:
                text.error("{}", problem)
            else:
                st.session_state[FLASH] = "Draft saved."
                st.rerun()
        sure = st.checkbox("Yes, delete this draft", key=f"mailing_delete_sure_{mailing.id}")
        if st.button("Delete draft", disabled=not sure, key=f"mailing_delete_{mailing.id}"):
            try:
                campaigns.delete_draft(user, db, mailing.id)
            except campaigns.MailingError as problem:
                text.error("{}", problem)
            else:
                st.query_params.clear()
                st.rerun()


def _message_tab(user: User, db: Database, mailing: Mailing) -> None:
    st.markdown("**Subject as written**")
    st.code(mailing.subject, language=None, wrap_lines=True)
    people = campaigns.preview_people(user, db, mailing.id)
    if people:
        preview(mailing.subject, mailing.body, people, key=f"mailing_preview_{mailing.id}")
    else:
        st.caption("No recipient in your departments to preview it for.")


def _recipients_tab(user: User, db: Database, mailing: Mailing) -> None:
    statuses = [None, *campaigns.RECIPIENT_STATUSES]
    status = st.selectbox("Show", statuses, key=f"mailing_recipients_status_{mailing.id}",
                          format_func=lambda s: "Everyone" if s is None
                          else campaigns.RECIPIENT_LABELS[s])
    frame = campaigns.recipients(user, db, mailing.id, status)
    if frame.empty:
        st.caption("Nobody here.")
        return
    shown = pd.DataFrame({
        "link": [f"/{Entity(e).plural}?id={i}" for e, i in zip(frame["entity"], frame["entity_id"],
                                                      strict=True)],
        "name": frame["name"], "email": frame["email"],
        "status": frame["status"].map(campaigns.RECIPIENT_LABELS),
        "sent_at": frame["sent_at"], "error": frame["error"],
    })
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "link": st.column_config.LinkColumn("Person", display_text=r"id=(\d+)", width="small"),
        "name": "Name", "email": "Email", "status": "Status",
        "sent_at": st.column_config.DatetimeColumn("Sent", format="YYYY-MM-DD HH:mm"),
        "error": st.column_config.TextColumn("Reason", width="large"),
    })
    if len(frame) == 500:
        st.caption("The first 500 are shown.")


def _problems_tab(user: User, db: Database, mailing: Mailing) -> None:
    rows = campaigns.problems(user, db, mailing.id)
    if not rows:
        st.caption("No failures.")
        return
    st.dataframe(pd.DataFrame({
        "Status": [campaigns.RECIPIENT_LABELS[r["status"]] for r in rows],
        "Reason": [r["error"] for r in rows],
        "Recipients": [int(r["n"]) for r in rows],
    }), hide_index=True, width="stretch")
