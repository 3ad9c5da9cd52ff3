"""The app's pages load nothing from other hosts: no fonts, icons or scripts from a CDN, so
that a visitor's browser tells no third party it is here, and the app works offline."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import sign_in, wait_idle

pytestmark = pytest.mark.browser


def test_sign_in_and_the_lists_load_nothing_from_other_hosts(page, server):
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    sign_in(page, server, "sales.east")
    for name in ("Leads", "Contacts", "Overview"):
        page.get_by_role("link", name=name).click()
        page.get_by_role("heading", name=name).first.wait_for()
        wait_idle(page)

    app_host = urlsplit(server.url).netloc
    elsewhere = sorted({url for url in asked
                        if urlsplit(url).scheme in ("http", "https", "ws", "wss")
                        and urlsplit(url).netloc != app_host})
    assert elsewhere == []
    assert any(urlsplit(url).netloc == app_host for url in asked)
