"""The compose screen: who the mailing reaches and who is left out, subject and Markdown body,
a preview as one recipient will see it, then Create draft."""

from __future__ import annotations

import streamlit as st

from crm.common import links
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.mailing import campaigns, compose
from crm.mailing.compose import Person
from crm.mailing.recipients import Selection, describe, sample, spec_for
from crm.storage.db import Database
from crm.ui import text
from crm.ui.mailing_start import forget_selection

PREVIEW_TOKEN = "personal-link"  # noqa: S105  (a stand-in: previews hold no working link)
EXAMPLE_BODY = ("Dear {first_name} {last_name},\n\n"
                "We are glad to share our latest news with **{company}**.\n\n"
                "Kind regards,\nYour sales team")


def compose_view(user: User, db: Database, selection: Selection) -> None:
    spec = spec_for(selection.entity)
    st.title("New mass mailing")
    reach = campaigns.preview_audience(user, db, selection)
    text.caption("From {}.", describe(user, db, selection, reach.selected))
    _audience(reach, spec.noun, spec.noun_plural)
    if reach.recipients == 0:
        if st.button("Back", key="compose_cancel"):
            forget_selection()
            st.rerun()
        return
    name = st.text_input("Name (for your list of mailings)", key="compose_name",
                         placeholder="Spring newsletter 2026")
    subject = st.text_input("Subject", key="compose_subject", max_chars=compose.MAX_SUBJECT,
                            placeholder="News for {first_name}")
    st.session_state.setdefault("compose_body", EXAMPLE_BODY)
    body = st.text_area("Message (Markdown)", key="compose_body", height=260)
    placeholder_help()
    people = sample(user, db, selection)
    preview(subject, body, people, key="compose_preview")
    problems = compose.check_content(subject, body)
    for problem in problems:
        text.warning("{}", problem)
    create, cancel, _ = st.columns([1.4, 1, 5])
    if create.button(text.md("Create draft for {:,}", reach.recipients), type="primary",
                     key="compose_create", disabled=bool(problems)):
        try:
            mailing_id = campaigns.create_mailing(user, db, selection, subject=subject,
                                                  body=body, name=name)
        except Refusal as problem:
            text.error("{}", problem)
            return
        forget_selection()
        for key in ("compose_name", "compose_subject", "compose_body"):
            st.session_state.pop(key, None)
        st.session_state["mailing_flash"] = ("Draft saved. Check the preview, then send it "
                                             "from here.")
        st.query_params["id"] = str(mailing_id)
        st.rerun()
    if cancel.button("Cancel", key="compose_cancel"):
        forget_selection()
        st.rerun()


def placeholder_help() -> None:
    st.caption("Placeholders: `{first_name}`, `{last_name}`, `{company}`. Markdown: "
               "`**bold**`, `*italic*`, `[link text](https://…)`, `- list items`, "
               "`# Heading`. HTML tags are shown as text.")


def _audience(reach, noun: str, noun_plural: str) -> None:
    text.markdown("**{n:,} recipient{s}** of {selected:,} selected {noun}.", n=reach.recipients,
                  s="s" if reach.recipients != 1 else "", selected=reach.selected,
                  noun=noun if reach.selected == 1 else noun_plural)
    if reach.exclusion_sentence():
        text.caption("{} Only people who are subscribed, not disqualified and have a valid "
                     "email address are mailed, each address once.", reach.exclusion_sentence())
    if reach.recipients == 0:
        st.warning("Nobody in this selection can be mailed.")


def preview(subject: str, body: str, people: list[tuple[int, Person]], key: str) -> None:
    """The message as the chosen recipient will see it; its link is a stand-in, so a preview
    never holds anyone's working unsubscribe link."""
    if not people:
        return
    with st.container(border=True):
        by_id = dict(people)
        chosen = st.selectbox(
            "Preview for", list(by_id), key=key,
            format_func=lambda i: f"{by_id[i].display_name or '(no name)'} <{by_id[i].email}>")
        person = by_id[chosen]
        stand_in = links.public_link(links.UNSUBSCRIBE, token=PREVIEW_TOKEN)
        rendered = compose.render(subject, body, person, stand_in)
        text.markdown("**Subject:** {}", rendered.subject or "—")
        text.markdown("**To:** {} <{}>", person.display_name, person.email)
        message_html(rendered.html_body)
        with st.expander("Plain-text version"):
            st.code(rendered.text, language=None, wrap_lines=True)


def message_html(body: str) -> None:
    """The message body as HTML, as crm.mailing.compose renders it (raw HTML disabled, user
    text escaped, unsafe link targets refused); st.html sanitises it once more and runs no
    scripts. The footer is our own constant."""
    st.html(f"<div style='padding:4px 8px'>{body}"
            "<hr><p style='font-size:12px;color:#777'>You receive this because you "
            "subscribed to our newsletter. <u>Unsubscribe</u> (a personal link)</p></div>")
