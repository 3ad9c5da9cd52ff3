"""A real SMTP server on loopback for the tests (aiosmtpd), keeping what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


@dataclass
class Inbox:
    """What the server accepted, in order. `on_data` runs for each message before the reply
    (the tests use it to kill a sender while the server holds its message)."""

    received: list[Received] = field(default_factory=list)
    on_data: Callable[[Received], None] | None = None
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    defer: set[str] = field(default_factory=set)  # recipients answered 451
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        if address in self.defer:
            return "451 4.7.1 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        item = Received(envelope.mail_from, list(envelope.rcpt_tos), message)
        with self.lock:
            self.received.append(item)
        if self.on_data is not None:
            self.on_data(item)
        return "250 Message accepted for delivery"

    def addresses(self) -> list[str]:
        with self.lock:
            return [to for item in self.received for to in item.rcpt_tos]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    """`with MailServer() as server:` an SMTP server on 127.0.0.1 (optionally with AUTH)."""

    def __init__(self, user: str = "", password: str = "") -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.logins: list[str] = []
        kwargs = {}
        if user:
            def authenticate(server, session, envelope, mechanism, auth_data):
                ok = (isinstance(auth_data, LoginPassword)
                      and auth_data.login.decode() == user
                      and auth_data.password.decode() == password)
                if ok:
                    self.logins.append(user)
                return AuthResult(success=ok)

            kwargs = {"authenticator": authenticate, "auth_require_tls": False,
                      "auth_required": True}
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                      **kwargs)

    def __enter__(self) -> MailServer:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    def env(self) -> dict[str, str]:
        """Settings that point the app at this server."""
        return {"CRM_SMTP_HOST": "127.0.0.1", "CRM_SMTP_PORT": str(self.port),
                "CRM_SMTP_SECURITY": "none", "CRM_MAIL_FROM": "Sales Team <news@crm.example>",
                "CRM_MAIL_RATE": "1000"}
