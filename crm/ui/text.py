"""Text on screen: what anybody typed is shown as typed, never as markup.

Streamlit draws titles, messages, captions, markdown, widget labels and help tooltips as
Markdown, where `[Sign in again](https://evil.example)` is a link and `![x](…)` an image.
So every such text in the app is built here: the template is ours (a string literal, with
the Markdown formatting we want); every value filled into it is escaped first.

    text.title("{}", lead_name)
    text.markdown("**{total:,} leads** {sentence}", total=n, sentence=described)
    text.error("{}", problem.message)
    st.button(text.md("Delete “{}”", segment.name))      # labels and help: md() / plain()
    text.markdown("You receive it at {}.", text.code(email))  # a value as inline code

Numbers, dates and times are formatted as they are (they cannot carry markup); a value wrapped
in `code()` becomes an inline code span (where Markdown is never markup, and a backslash
would show); anything else is escaped. tests/ui/test_text_on_screen.py reads the source of
crm/ui, pages and app.py: a message, title, caption, label or tooltip built any other way (an
f-string, a variable) fails it, so escaping is the only way there is, not a choice per call.
"""

from __future__ import annotations

import numbers
import re
from datetime import date, datetime, time
from typing import Any

import streamlit as st

# Every character Markdown (and Streamlit's extensions: math, colours, emoji shortcodes,
# directives) gives a meaning to.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:^=&\"'%@])")
_SAFE = (numbers.Number, datetime, date, time)  # numpy's numbers too


# Streamlit's Markdown turns addresses in plain text into links after escapes are read
# (GitHub's "autolink literals": https://…, www.…, name@host). An invisible word joiner
# (U+2060) right before the ":", "." or "@" they start with keeps them text.
_AUTOLINK = re.compile(r"(?i)(?<![a-z])(https?|ftp|mailto|xmpp|www)(?=[:.])|(?=@)")
JOINER = "\u2060"


def plain(value: Any) -> str:
    """`value` as Markdown that shows every character as it is (lines joined by spaces), and
    never as a link."""
    text = "" if value is None else str(value)
    text = _AUTOLINK.sub(lambda m: (m.group(1) or "") + JOINER, text)
    return _SPECIAL.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


class Code:
    """A value to fill into a template as inline code (`code(value)`)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = "" if value is None else str(value)

    def markdown(self) -> str:
        """The value as a code span: its fence is longer than any run of backticks in it,
        and a space pads a value that starts or ends with a backtick (or with spaces on both
        sides, which Markdown would strip), so every character shows as it is."""
        inner = self.value.replace("\r", " ").replace("\n", " ")
        if not inner:
            return ""
        fence = "`" * (max((len(run) for run in re.findall("`+", inner)), default=0) + 1)
        pad = " " if (inner[0] == "`" or inner[-1] == "`"
                      or (inner[0] == " " and inner[-1] == " " and inner.strip())) else ""
        return f"{fence}{pad}{inner}{pad}{fence}"


def code(value: Any) -> Code:
    """`value` to be shown as inline code by md() and text.markdown & co."""
    return Code(value)


def md(template: str, *args: Any, **values: Any) -> str:
    """`template` (ours, Markdown) with every value escaped, as str.format fills it."""
    return template.format(*(_escaped(a) for a in args),
                           **{k: _escaped(v) for k, v in values.items()})


def _escaped(value: Any) -> Any:
    if isinstance(value, Code):
        return value.markdown()
    if isinstance(value, bool) or not isinstance(value, _SAFE):
        return plain(value)
    return value  # a number or a date: its format spec ("{n:,}") still applies


def _show(element: Any, template: str, args: tuple, values: dict, **options: Any) -> Any:
    return element(md(template, *args, **values), **options)


# Headings drawn with values carry no anchor link: its address would be made of what
# somebody typed (`#eve-https-evil-example-login`), and no page links into its headings.


def markdown(template: str, *args: Any, place: Any = st, **values: Any) -> Any:
    return _show(place.markdown, template, args, values)


def title(template: str, *args: Any, place: Any = st, **values: Any) -> Any:
    return _show(place.title, template, args, values, anchor=False)


def header(template: str, *args: Any, place: Any = st, **values: Any) -> Any:
    return _show(place.header, template, args, values, anchor=False)


def subheader(template: str, *args: Any, place: Any = st, **values: Any) -> Any:
    return _show(place.subheader, template, args, values, anchor=False)


def caption(template: str, *args: Any, place: Any = st, **values: Any) -> Any:
    return _show(place.caption, template, args, values)


def error(template: str, *args: Any, place: Any = st, **values: Any) -> Any:
    return _show(place.error, template, args, values)


def warning(template: str, *args: Any, place: Any = st, **values: Any) -> Any:
    return _show(place.warning, template, args, values)


def info(template: str, *args: Any, place: Any = st, **values: Any) -> Any:
    return _show(place.info, template, args, values)


def success(template: str, *args: Any, place: Any = st, **values: Any) -> Any:
    return _show(place.success, template, args, values)


def toast(template: str, *args: Any, **values: Any) -> Any:
    return _show(st.toast, template, args, values)
