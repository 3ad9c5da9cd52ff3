"""Where messages go: a real SMTP server, or (with no server configured) `.eml` files in an
outbox folder, so the demo works out of the box.

A transport hands one message over in two steps and says which failures are safe to retry:
the envelope first (MAIL FROM, RCPT TO: a refusal here means the message was not taken), then,
right after the caller has recorded that the message is being handed over, the content (DATA).
Only a failure during DATA without an answer from the server leaves it unknown whether the
message was taken: `InDoubt`. The sender never sends such a message again.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from crm.common import config
from crm.common.errors import Refusal

SECURITIES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_OUTBOX = config.ROOT / "data" / "outbox"
DEFAULT_RATE = 5.0  # messages per second
TIMEOUT_SECONDS = 30


class DeliveryError(Exception):
    """A message was not handed over; `reason` is fit for the recipient list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Refused(DeliveryError):
    """The server refused this message for good (for example: no such mailbox)."""

    def __init__(self, reason: str, no_such_mailbox: bool = False) -> None:
        super().__init__(reason)
        self.no_such_mailbox = no_such_mailbox  # the address itself was refused: a bounce


class Deferred(DeliveryError):
    """The server refused this message for now (a 4xx answer); it may be tried again later."""


class Unreachable(DeliveryError):
    """The server cannot be reached or refused us: stop sending, nothing was handed over."""


class InDoubt(DeliveryError):
    """The connection broke while the server was receiving the message: it may have it."""


@dataclass(frozen=True)
class MailSettings:
    """SMTP settings from the environment or secrets (CRM_SMTP_HOST, …)."""

    host: str
    port: int
    user: str
    password: str
    security: str
    sender: str
    rate: float
    outbox: Path
    unsubscribe_mailto: str = ""

    @property
    def uses_smtp(self) -> bool:
        return bool(self.host)

    @property
    def sender_domain(self) -> str:
        address = parseaddr(self.sender)[1]
        return address.rpartition("@")[2] or "localhost"


def settings() -> MailSettings:
    """Read the mail settings; raises ValueError naming a bad one."""
    security = config.setting("smtp_security", "starttls").strip().lower()
    if security not in SECURITIES:
        raise Refusal(f"CRM_SMTP_SECURITY must be one of {', '.join(SECURITIES)}, "
                      f"not {security!r}")
    raw_port = config.setting("smtp_port", str(DEFAULT_PORTS[security]))
    raw_rate = config.setting("mail_rate", str(DEFAULT_RATE))
    try:
        port = int(raw_port)
        rate = float(raw_rate)
    except ValueError as exc:
        raise Refusal(f"CRM_SMTP_PORT and CRM_MAIL_RATE must be numbers, not {raw_port!r} "
                      f"and {raw_rate!r}") from exc
    if not 0 < port < 65536:
        raise Refusal("CRM_SMTP_PORT must be between 1 and 65535")
    if not 0.1 <= rate <= 1000:
        raise Refusal("CRM_MAIL_RATE must be between 0.1 and 1000 messages per second")
    host = config.setting("smtp_host").strip()
    sender = config.setting("mail_from").strip()
    if host and not sender:
        raise Refusal("Set CRM_MAIL_FROM (the sender address) to send through SMTP.")
    return MailSettings(
        host=host, port=port, user=config.setting("smtp_user"),
        password=config.setting("smtp_password"), security=security,
        sender=sender or "Leads & Contacts <newsletter@localhost>", rate=rate,
        outbox=Path(config.setting("mail_outbox", str(DEFAULT_OUTBOX))),
        unsubscribe_mailto=config.setting("mail_unsubscribe_mailto").strip(),
    )


class Transport(Protocol):
    def open(self) -> None: ...

    def send(self, message: EmailMessage, sender: str, recipient: str, key: str,
             handing_over: Callable[[], None]) -> None:
        """Hand one message over; call `handing_over()` just before the content goes out."""

    def delivered(self, key: str) -> bool | None:
        """After a crash: whether the message `key` was handed over (None: cannot know)."""

    def close(self) -> None: ...

    def describe(self) -> str: ...


class SmtpTransport:
    """One SMTP connection reused for many messages, reopened when the server drops it."""

    def __init__(self, mail: MailSettings) -> None:
        self.mail = mail
        self._smtp: smtplib.SMTP | None = None

    def describe(self) -> str:
        return f"the mail server {self.mail.host}:{self.mail.port} ({self.mail.security})"

    def open(self) -> None:
        if self._smtp is not None:
            return
        m = self.mail
        try:
            if m.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    m.host, m.port, timeout=TIMEOUT_SECONDS,
                    context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(m.host, m.port, timeout=TIMEOUT_SECONDS)
                if m.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo_or_helo_if_needed()
            if m.user:
                smtp.login(m.user, m.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise Unreachable(f"The mail server refused the sign-in: {_answer(exc)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise Unreachable(f"Cannot reach {self.describe()}: {_answer(exc)}") from exc
        self._smtp = smtp

    def send(self, message: EmailMessage, sender: str, recipient: str, key: str,
             handing_over: Callable[[], None]) -> None:
        try:
            self._envelope(sender, recipient)
        except (smtplib.SMTPServerDisconnected, OSError):
            # A server drops idle connections; nothing of this message went out yet.
            self._drop()
            try:
                self._envelope(sender, recipient)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._drop()
                raise Unreachable(f"Lost the connection to {self.describe()}: "
                                  f"{_answer(exc)}") from exc
        try:
            handing_over()
        except BaseException:
            self._reset()
            raise
        smtp = self._smtp
        assert smtp is not None
        try:
            smtp.data(message.as_bytes())
        except smtplib.SMTPDataError as exc:
            # The server answered: it did not take the message.
            self._reset()
            raise _refusal(exc.smtp_code, exc.smtp_error, "message") from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise InDoubt(f"The connection broke while {self.describe()} was receiving the "
                          f"message: {_answer(exc)}") from exc

    def _envelope(self, sender: str, recipient: str) -> None:
        """MAIL FROM and RCPT TO; a refusal here means the server did not take the message."""
        self.open()
        smtp = self._smtp
        assert smtp is not None
        code, answer = smtp.mail(parseaddr(sender)[1])
        if code != 250:
            self._reset()
            raise _refusal(code, answer, "sender")
        code, answer = smtp.rcpt(recipient)
        if code not in (250, 251):
            self._reset()
            raise _refusal(code, answer, "recipient")

    def delivered(self, key: str) -> bool | None:
        return None  # an SMTP server cannot be asked afterwards

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
        self._smtp = None

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.close()
        finally:
            self._smtp = None


class OutboxTransport:
    """Writes each message as `<outbox>/mailing-<id>/<key>.eml`; a file exists once complete
    (written beside it, then renamed), so after a crash its presence says whether it went."""

    def __init__(self, folder: Path, mailing_id: int) -> None:
        self.folder = Path(folder) / f"mailing-{mailing_id}"

    def describe(self) -> str:
        return f"the outbox folder {self.folder}"

    def open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Unreachable(f"Cannot write to {self.folder}: {exc.strerror}") from exc

    def send(self, message: EmailMessage, sender: str, recipient: str, key: str,
             handing_over: Callable[[], None]) -> None:
        handing_over()
        partial = self.folder / f".{key}.part"
        try:
            partial.write_bytes(message.as_bytes())
            os.replace(partial, self._path(key))
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise Unreachable(f"Cannot write to {self.folder}: {exc.strerror}") from exc

    def delivered(self, key: str) -> bool | None:
        return self._path(key).exists()

    def close(self) -> None:
        pass

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.eml"


def transport_for(mail: MailSettings, mailing_id: int) -> SmtpTransport | OutboxTransport:
    return SmtpTransport(mail) if mail.uses_smtp else OutboxTransport(mail.outbox, mailing_id)


def _refusal(code: int, answer: bytes | str, what: str) -> DeliveryError:
    text = f"{code} {_text(answer)}".strip()
    if 400 <= code < 500:
        return Deferred(f"The mail server deferred the {what}: {text}")
    # 550/551/553 to RCPT TO: the mailbox does not exist (or may not receive mail) for good.
    return Refused(f"The mail server refused the {what}: {text}",
                   no_such_mailbox=what == "recipient" and code in (550, 551, 553))


def _answer(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return str(exc) or type(exc).__name__


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
