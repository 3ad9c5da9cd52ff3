"""Absolute links to the app's public pages, for emails and other sites.

A public page needs no sign-in; it is addressed by `?view=NAME` on the app's root URL (see
crm.ui.navigation). The base URL comes from `CRM_PUBLIC_URL` (crm.common.config).
"""

from __future__ import annotations

from urllib.parse import urlencode

from crm.common import config

UNSUBSCRIBE = "unsubscribe"
REQUEST_FORM = "request"
PUBLIC_VIEWS = frozenset({UNSUBSCRIBE, REQUEST_FORM})


def public_link(view: str, base_url: str | None = None, **params: str) -> str:
    if view not in PUBLIC_VIEWS:
        raise KeyError(view)
    base = (base_url or config.public_base_url()).rstrip("/")
    return f"{base}/?{urlencode({'view': view, **params})}"
