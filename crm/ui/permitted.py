"""Buttons the permission table gates: drawn for every role, so that nobody wonders where a
button went, and disabled with the reason as its tooltip for a role that may not.

The services refuse on their own (crm.access.permissions); these only spare the user the click.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from crm.access import Action, Entity, can, refusal
from crm.identity.user import User
from crm.ui import text


def button(label: str, user: User, action: Action, entity: Entity, *, place: Any = None,
           help: str | None = None, disabled: bool = False, **kwargs: Any) -> bool:
    """`st.button` (or `place.button`) that is disabled, saying why, when the role may not.
    `label` and `help` are Markdown the caller built (a literal, or crm.ui.text's md/plain:
    tests/ui/test_text_on_screen.py checks the calls of this function as it checks st.button)."""
    allowed = can(user, action, entity)
    return (place or st).button(label, disabled=disabled or not allowed,
                                help=help if allowed else text.plain(refusal(user, action,
                                                                             entity)),
                                **kwargs)


def form_submit(label: str, user: User, action: Action, entity: Entity,
                **kwargs: Any) -> bool:
    """A form's submit button, gated like `button`."""
    allowed = can(user, action, entity)
    return st.form_submit_button(label, disabled=not allowed,
                                 help=None if allowed else text.plain(refusal(user, action,
                                                                              entity)),
                                 **kwargs)
