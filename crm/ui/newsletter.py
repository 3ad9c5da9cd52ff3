"""The newsletter status mailbox icon, its legend and text label."""

from __future__ import annotations

import html

import streamlit as st

from crm.records.newsletter import LOOKS, NewsletterStatus, status_label

_MAILBOX = (
    '<svg width="16" height="16" viewBox="0 0 24 24" aria-hidden="true" '
    'style="vertical-align:-3px"><path fill="{colour}" d="M20 4H4c-1.1 0-2 .9-2 2v12c0 1.1.9 '
    '2 2 2h16c1.1 0 2-.9 2-2V6c0-1.1-.9-2-2-2zm0 4-8 5-8-5V6l8 5 8-5v2z"/></svg>'
)


def _badge(status: NewsletterStatus | str, count: int | None = None) -> str:
    """Icon plus text label, as HTML; only our own constant strings go into it."""
    look = LOOKS[NewsletterStatus(status)]
    text = html.escape(look.label)
    if count is not None:
        text += f" &middot; {count:,}"
    return (f'<span title="{html.escape(look.meaning)}">'
            f"{_MAILBOX.format(colour=look.colour)} {text}</span>")


def badge_html(*statuses: NewsletterStatus | str, meaning: bool = False) -> None:
    """Draw the badges of `statuses` on one line (with `meaning`, the first one's meaning
    after a dash). The one place this module draws raw HTML: only our own constants (status
    labels, meanings and colours) go into it."""
    markup = " &nbsp; ".join(_badge(status) for status in statuses)
    if meaning and statuses:
        markup += f" — {html.escape(LOOKS[NewsletterStatus(statuses[0])].meaning)}"
    st.html(f"<div>{markup}</div>")


def legend() -> None:
    badge_html(*NewsletterStatus)


def icon_uri(status: NewsletterStatus | str) -> str:
    """The mailbox icon as an image URL, for grid image columns."""
    import base64

    look = LOOKS[NewsletterStatus(status)]
    svg = (_MAILBOX.replace(' style="vertical-align:-3px"', "")
           .replace('aria-hidden="true"', 'xmlns="http://www.w3.org/2000/svg"')
           .format(colour=look.colour))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def label(status: NewsletterStatus | str, never_subscribed: bool = False) -> str:
    return status_label(status, bool(never_subscribed))
