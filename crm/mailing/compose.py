"""A mailing as one person receives it: the Markdown body with their placeholders filled in,
as HTML and as plain text, in an email with a personal unsubscribe link.

User text never reaches the HTML unescaped: the Markdown is rendered with raw HTML disabled
(`<b>` shows as text) and unsafe link targets (`javascript:`) refused, and the placeholder
values are filled in after rendering, escaped. Placeholders are a closed list
(`{first_name}`, `{last_name}`, `{company}`) replaced by a pattern, never by `str.format`,
which would let a body reach into Python objects.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate
from functools import lru_cache
from urllib.parse import quote

PLACEHOLDERS = ("first_name", "last_name", "company")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_SUBJECT = 200
MAX_BODY = 100_000


@dataclass(frozen=True)
class Person:
    """What a message needs to know about its recipient."""

    first_name: str
    last_name: str
    company: str
    email: str

    def values(self) -> dict[str, str]:
        return {"first_name": _one_line(self.first_name), "last_name": _one_line(self.last_name),
                "company": _one_line(self.company)}

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (_one_line(self.first_name), _one_line(self.last_name)) if p)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str  # the plain-text part, footer included
    html_body: str  # the HTML of the body alone (for previews)
    html: str  # the whole HTML document, footer included


def unknown_placeholders(*texts: str) -> list[str]:
    """Placeholders a subject or body uses that we cannot fill (for example `{firstname}`)."""
    found = {m.group(1) for text in texts for m in _PLACEHOLDER.finditer(text or "")}
    return sorted(found - set(PLACEHOLDERS))


def check_content(subject: str, body: str) -> list[str]:
    """What stops this subject and body from being sent, in words for the user."""
    problems = []
    if not subject.strip():
        problems.append("The subject is empty.")
    elif len(subject) > MAX_SUBJECT:
        problems.append(f"The subject is longer than {MAX_SUBJECT} characters.")
    if not body.strip():
        problems.append("The message is empty.")
    elif len(body) > MAX_BODY:
        problems.append(f"The message is longer than {MAX_BODY:,} characters.")
    unknown = unknown_placeholders(subject, body)
    if unknown:
        names = ", ".join(f"{{{u}}}" for u in unknown)
        usable = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
        problems.append(f"Unknown placeholder {names}: use {usable}.")
    return problems


def fill(text: str, person: Person) -> str:
    """Placeholders replaced by the person's values, as plain text."""
    values = person.values()
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def body_html(markdown_text: str, person: Person) -> str:
    """The body as HTML: Markdown rendered without raw HTML, then the values filled in."""
    rendered = _markdown().render(markdown_text)
    values = person.values()

    def in_text(match: re.Match) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else html.escape(value)

    def in_link(match: re.Match) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else quote(value, safe="")

    rendered = re.sub(r"%7B([A-Za-z_][A-Za-z0-9_]*)%7D", in_link, rendered)
    return _PLACEHOLDER.sub(in_text, rendered)


def render(subject: str, body: str, person: Person, unsubscribe_url: str) -> Rendered:
    text_body = fill(body, person).strip()
    text = (f"{text_body}\n\n-- \nYou receive this because you subscribed to our newsletter.\n"
            f"Unsubscribe: {unsubscribe_url}\n")
    fragment = body_html(body, person)
    link = html.escape(unsubscribe_url, quote=True)
    document = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>"
        "<body style=\"font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;"
        "color:#222\"><div style=\"max-width:640px;margin:0 auto\">"
        f"{fragment}"
        "<hr style=\"border:none;border-top:1px solid #ddd;margin:24px 0 8px\">"
        "<p style=\"font-size:12px;color:#777\">You receive this because you subscribed to "
        f"our newsletter. <a href=\"{link}\">Unsubscribe</a></p>"
        "</div></body></html>\n"
    )
    return Rendered(subject=_one_line(fill(subject, person)), text=text, html_body=fragment,
                    html=document)


def build_message(rendered: Rendered, *, sender: str, person: Person, message_id: str,
                  list_unsubscribe: str) -> EmailMessage:
    """The email: plain text and HTML alternatives, with the headers a bulk mail needs."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = formataddr((person.display_name, person.email.strip()))
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = list_unsubscribe
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def _one_line(text: str | None) -> str:
    """Values and subjects on one line: a line break in a header would start a new header."""
    return " ".join(str(text or "").split())


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    # CommonMark with raw HTML off: tags in the text are shown as text, not interpreted.
    # A line break stays a line break, as in the plain-text part and as people write letters.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False,
                                     "breaks": True})
