"""Sending a mailing: throttled, resumable after a crash or a restart, and never sending anyone
the same mailing twice.

One process sends a mailing at a time: it holds the mailing's lease (`mailings.sender`, renewed
with every message). Another process may take over only when that lease is stale (not renewed
for LEASE_SECONDS, or its process on this machine is gone).

Each message goes out in three steps, and the recipient's row says where it stands:

1. the envelope (MAIL FROM, RCPT TO): the row stays `pending`; a refusal here means the server
   did not take the message, so it is safe to try again;
2. just before the content (DATA) the row becomes `sending`;
3. once the server has accepted the message the row becomes `sent`, in the same transaction as
   the person's `last_mailed_at`.

A crash between 2 and 3 leaves the row `sending`: the server may or may not have the message.
We choose at-most-once: such a row is resolved as `unknown` ("interrupted while the mail server
was receiving it") and never sent again. The outbox can tell (the file is there or not), so
there the row becomes `sent` or goes back to `pending`. A crash anywhere else loses nothing:
pending rows are simply sent by the next run.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crm.access import Action, Entity, mailing_scope, scope
from crm.common import links
from crm.common.clock import now
from crm.common.errors import Refusal
from crm.identity.entities import person_table
from crm.identity.user import SYSTEM, User
from crm.mailing import compose, tokens
from crm.mailing.campaigns import DRAFT, SENDING, SENT, Counts, counts
from crm.mailing.compose import Person
from crm.mailing.recipients import EMAIL_PATTERN
from crm.mailing.transport import (
    Deferred,
    InDoubt,
    MailSettings,
    Refused,
    Transport,
    Unreachable,
    settings,
    transport_for,
)
from crm.storage import audit
from crm.storage.db import ConcurrencyError, Database, Session
from crm.storage.writer import ADDRESS_SQL, Writer

LEASE_SECONDS = 120
MAX_ATTEMPTS = 3  # a recipient the server defers this many times is marked failed
BATCH = 200
UNKNOWN_REASON = ("Interrupted while the mail server was receiving it; not sent again, so "
                  "that nobody gets the mailing twice.")
BOUNCE = "bounce"  # the source of a suppression the mail server asked for


class SendRefused(Refusal):
    """Sending cannot start (unknown mailing, no right, sent by another process now)."""


class _Withdrawn(Exception):
    """The recipient stopped being mailable between the batch read and their turn."""


class _LeaseLost(Exception):
    """Another process took the mailing over (this one was taken for dead): stop at once."""


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    sent: int
    failed: int  # failed and unknown

    @property
    def fraction(self) -> float:
        return 1.0 if self.total == 0 else min(1.0, self.done / self.total)


@dataclass
class SendReport:
    mailing_id: int
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    unknown: int = 0
    resolved: int = 0  # rows left in doubt by an earlier run, settled at the start
    finished: bool = False
    stopped: str = ""  # why the run stopped before the end, when it did
    counts: Counts = field(default_factory=Counts)

    def sentence(self, where: str = "") -> str:
        text = f"Sent {self.sent:,} message{'s' if self.sent != 1 else ''}"
        if where:
            text += f" to {where}"
        notes = [f"{n:,} {label}" for n, label in (
            (self.failed, "failed"), (self.skipped, "skipped"),
            (self.deferred, "deferred for a later try"), (self.unknown, "interrupted"))
            if n]
        if notes:
            text += f" ({', '.join(notes)})"
        text += "."
        if self.finished:
            text += " The mailing is complete."
        elif self.stopped:
            text += f" Stopped: {self.stopped}"
        return text


def send_mailing(user: User | None, db: Database, mailing_id: int, *,
                 mail: MailSettings | None = None, transport: Transport | None = None,
                 progress: Callable[[Progress], None] | None = None,
                 limit: int | None = None, rate: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> SendReport:
    """Send (or go on sending) a mailing, at most `rate` messages per second.

    `user` None is the installation itself (the command line). `limit` stops after that many
    messages (the rest stays pending for the next run).
    """
    mail = mail or settings()
    mailing = _mailing_to_send(user, db, mailing_id)
    report = SendReport(mailing_id)
    if mailing["status"] == SENT:
        report.finished = True
        report.counts = _counts(user, db, mailing_id)
        return report
    transport = transport or transport_for(mail, mailing_id)
    token = _sender_token()
    _acquire(db, mailing_id, token)
    try:
        transport.open()
        report.resolved = _settle_in_doubt(db, mailing_id, transport, others_than=token)
        _skip_unmailable(user, db, mailing_id)
        _run(user, db, mailing, token, mail, transport, report, progress, limit,
             rate or mail.rate, clock, sleep)
    except Unreachable as problem:
        report.stopped = problem.reason
    except _LeaseLost:
        report.stopped = "another process took this mailing over."
    finally:
        transport.close()
        try:
            _settle_in_doubt(db, mailing_id, transport, sender=token)
        finally:
            report.finished = _release(user, db, mailing_id, token, report)
    report.counts = _counts(user, db, mailing_id)
    return report


def being_sent_elsewhere(mailing: Any) -> bool:
    """Whether another process holds a fresh lease on this mailing now."""
    return bool(mailing.sender) and not _stale(mailing.sender, mailing.sender_seen_at)


# ----------------------------------------------------------------------- the run


def _run(user: User | None, db: Database, mailing: dict[str, Any], token: str,
         mail: MailSettings, transport: Transport, report: SendReport,
         progress: Callable[[Progress], None] | None, limit: int | None, rate: float,
         clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
    mailing_id = int(mailing["id"])
    start = _counts(user, db, mailing_id)
    total, done = start.recipients, start.done
    interval = 1.0 / rate
    next_at = renewed_at = clock()
    last_id = 0
    handed = 0
    while True:
        batch = _pending_batch(db, mailing_id, last_id)
        if not batch:
            return
        for row in batch:
            last_id = int(row["id"])
            if clock() - renewed_at > LEASE_SECONDS / 6:
                _renew(db, mailing_id, token)
                renewed_at = clock()
            if limit is not None and handed >= limit:
                report.stopped = f"the limit of {limit:,} messages was reached."
                return
            wait = next_at - clock()
            if wait > 0:
                sleep(wait)
            next_at = max(next_at, clock()) + interval
            outcome = _send_one(db, mailing, token, mail, transport, row)
            handed += outcome != "skipped"
            setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome != "deferred":
                done += 1
            if progress is not None:
                progress(Progress(total=total, done=done, sent=start.sent + report.sent,
                                  failed=start.failed + start.unknown + report.failed
                                  + report.unknown))


def _send_one(db: Database, mailing: dict[str, Any], token: str, mail: MailSettings,
              transport: Transport, row: dict[str, Any]) -> str:
    """Hand one message over; returns what became of it (a SendReport field name)."""
    recipient_id = int(row["id"])
    entity = Entity(row["entity"])
    person = Person(row["first_name"] or "", row["last_name"] or "", row["company"] or "",
                    (row["email"] or "").strip())
    link = links.public_link(links.UNSUBSCRIBE,
                             token=tokens.make_token(entity, row["entity_id"], person.email))
    rendered = compose.render(mailing["subject"], mailing["body"], person, link)
    unsubscribe = f"<{link}>" + (f", <mailto:{mail.unsubscribe_mailto}?subject=unsubscribe>"
                                 if mail.unsubscribe_mailto else "")
    message = compose.build_message(
        rendered, sender=mail.sender, person=person, list_unsubscribe=unsubscribe,
        message_id=f"<mailing-{mailing['id']}.recipient-{recipient_id}@{mail.sender_domain}>")

    def handing_over() -> None:
        if not _mark_sending(db, mailing["id"], token, recipient_id, entity,
                             int(row["entity_id"]), person.email):
            _renew(db, mailing["id"], token)  # raises when the lease is gone
            raise _Withdrawn

    try:
        transport.send(message, mail.sender, person.email, str(recipient_id), handing_over)
    except _Withdrawn:
        _finish(db, recipient_id, "skipped", "No longer subscribed when its turn came.")
        return "skipped"
    except Refused as refusal:
        _finish(db, recipient_id, "failed", refusal.reason, tried=True)
        if refusal.no_such_mailbox:
            _bounced(db, entity, int(row["entity_id"]), person.email, refusal.reason)
        return "failed"
    except Deferred as deferral:
        _defer(db, recipient_id, deferral.reason)
        return "deferred"
    except InDoubt as doubt:
        _finish(db, recipient_id, "unknown", f"{UNKNOWN_REASON} ({doubt.reason})", tried=True)
        return "unknown"
    except Unreachable:
        _back_to_pending(db, recipient_id)
        raise
    _delivered(db, mailing["id"], token, recipient_id, entity, int(row["entity_id"]))
    return "sent"


def _pending_batch(db: Database, mailing_id: int, after_id: int) -> list[dict[str, Any]]:
    return db.fetch_all(
        "SELECT r.id, r.entity, r.entity_id, coalesce(l.first_name, c.first_name) AS first_name, "
        "coalesce(l.last_name, c.last_name) AS last_name, "
        "coalesce(l.company_name, co.name, '') AS company, coalesce(l.email, c.email) AS email "
        "FROM mailing_recipients r "
        "LEFT JOIN leads l ON r.entity = 'lead' AND l.id = r.entity_id "
        "LEFT JOIN contacts c ON r.entity = 'contact' AND c.id = r.entity_id "
        "LEFT JOIN companies co ON co.id = c.company_id "
        "WHERE r.mailing_id = ? AND r.status = 'pending' AND r.id > ? ORDER BY r.id LIMIT ?",
        (mailing_id, after_id, BATCH))


# ----------------------------------------------------------------------- row states


def _mark_sending(db: Database, mailing_id: int, token: str, recipient_id: int,
                  entity: Entity, entity_id: int, email: str) -> bool:
    """Step 2: only while we hold the lease and the person is still mailable."""
    with db.transaction() as tx:
        return tx.execute(
            "UPDATE mailing_recipients SET status = 'sending', handed_at = ?, sender = ?, "
            "email = ? WHERE id = ? AND status = 'pending' "
            "AND EXISTS (SELECT 1 FROM mailings m WHERE m.id = ? AND m.sender = ?) "
            f"AND EXISTS (SELECT 1 FROM {person_table(entity)} p WHERE p.id = ? "
            "AND p.newsletter_opt_in AND NOT p.disqualified) "
            "AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.address = lower(trim(?)))",
            (now(), token, email, recipient_id, mailing_id, token, entity_id, email)) == 1


def _renew(db: Database, mailing_id: int, token: str) -> None:
    """Show we are alive; raises _LeaseLost when another process holds the mailing now."""
    with db.transaction() as tx:
        if tx.execute("UPDATE mailings SET sender_seen_at = ? WHERE id = ? AND sender = ?",
                      (now(), mailing_id, token)) != 1:
            raise _LeaseLost


def _delivered(db: Database, mailing_id: int, token: str | None, recipient_id: int,
               entity: Entity, entity_id: int, sent_at: datetime | None = None) -> None:
    """Step 3, with the person's last_mailed_at and the lease renewed, in one transaction.

    Retried when another session touched the same person at that moment: the message has
    gone, so its record must not be lost.
    """
    stamp = sent_at or now()
    for attempt in range(5):
        try:
            with db.transaction() as tx:
                tx.execute("UPDATE mailing_recipients SET status = 'sent', sent_at = ?, "
                           "error = '', attempts = attempts + 1 WHERE id = ?",
                           (stamp, recipient_id))
                Writer(tx, SYSTEM).record_delivery(entity, entity_id, stamp)
                if token is not None:
                    tx.execute("UPDATE mailings SET sender_seen_at = ? WHERE id = ? "
                               "AND sender = ?", (now(), mailing_id, token))
            return
        except ConcurrencyError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))


def _bounced(db: Database, entity: Entity, entity_id: int, email: str, reason: str) -> None:
    """The server says the mailbox does not exist: the address is suppressed like an
    unsubscribe (only the person or an admin can lift it), so no mailing tries it again."""
    with db.transaction() as tx:
        Writer(tx, SYSTEM).suppress([email], source=BOUNCE, note=reason[:500],
                                  origin=(entity, entity_id), action=BOUNCE)


def _finish(db: Database, recipient_id: int, status: str, reason: str,
            tried: bool = False) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE mailing_recipients SET status = ?, error = ?"
            + (", attempts = attempts + 1" if tried else "") + " WHERE id = ?",
            (status, reason[:500], recipient_id))


def _defer(db: Database, recipient_id: int, reason: str) -> None:
    """A 4xx answer: try again in a later run, until MAX_ATTEMPTS."""
    with db.transaction() as tx:
        tx.execute(
            "UPDATE mailing_recipients SET status = CASE WHEN attempts + 1 >= ? THEN 'failed' "
            "ELSE 'pending' END, attempts = attempts + 1, error = ?, handed_at = NULL, "
            "sender = NULL WHERE id = ?", (MAX_ATTEMPTS, reason[:500], recipient_id))


def _back_to_pending(db: Database, recipient_id: int) -> None:
    with db.transaction() as tx:
        tx.execute("UPDATE mailing_recipients SET status = 'pending', handed_at = NULL, "
                   "sender = NULL WHERE id = ? AND status = 'sending'", (recipient_id,))


def _settle_in_doubt(db: Database, mailing_id: int, transport: Transport, *,
                     sender: str | None = None, others_than: str | None = None) -> int:
    """Rows left `sending` by a run that stopped: sent, pending again, or unknown.

    At most one such row per interrupted run, so a loop is fine here.
    """
    mine = "AND sender = ?" if sender is not None else "AND sender IS DISTINCT FROM ?"
    rows = db.fetch_all(
        "SELECT id, entity, entity_id, handed_at FROM mailing_recipients "
        f"WHERE mailing_id = ? AND status = 'sending' {mine}",
        (mailing_id, sender if sender is not None else others_than))
    for row in rows:
        known = transport.delivered(str(row["id"]))
        if known is True:
            _delivered(db, mailing_id, None, int(row["id"]), Entity(row["entity"]),
                       int(row["entity_id"]), sent_at=row["handed_at"])
        elif known is False:
            _back_to_pending(db, int(row["id"]))
        else:
            _finish(db, int(row["id"]), "unknown", UNKNOWN_REASON, tried=True)
    return len(rows)


def _skip_unmailable(user: User | None, db: Database, mailing_id: int) -> None:
    """Before a run, set-based: pending recipients no longer mailable are skipped, with why."""
    reasons = [
        ("NOT coalesce(l.newsletter_opt_in, c.newsletter_opt_in)",
         "Unsubscribed before it was sent."),
        (f"EXISTS (SELECT 1 FROM suppressions s WHERE s.address = "
         f"{ADDRESS_SQL.format(column='coalesce(l.email, c.email)')})",
         "The address was unsubscribed before it was sent."),
        ("coalesce(l.disqualified, c.disqualified)", "Disqualified before it was sent."),
        ("NOT (trim(coalesce(l.email, c.email)) ~ ?)", "No valid email address any more."),
    ]
    lead = scope(user, Entity.LEAD, Action.MAIL, alias="l") if user else None
    contact = scope(user, Entity.CONTACT, Action.MAIL, alias="c") if user else None
    in_reach = (f"LEFT JOIN leads l ON r.entity = 'lead' AND l.id = r.entity_id "
                f"AND {lead.sql if lead else 'TRUE'} "
                f"LEFT JOIN contacts c ON r.entity = 'contact' AND c.id = r.entity_id "
                f"AND {contact.sql if contact else 'TRUE'}")
    reach_params = (*(lead.params if lead else ()), *(contact.params if contact else ()))
    with db.transaction() as tx:
        tx.execute(
            "UPDATE mailing_recipients SET status = 'skipped', error = ? WHERE id IN "
            f"(SELECT r.id FROM mailing_recipients r {in_reach} WHERE r.mailing_id = ? "
            "AND r.status = 'pending' AND l.id IS NULL AND c.id IS NULL)",
            ("The record was deleted or is no longer in the sender's departments.",
             *reach_params, mailing_id))
        for condition, reason in reasons:
            tx.execute(
                "UPDATE mailing_recipients SET status = 'skipped', error = ? WHERE id IN "
                f"(SELECT r.id FROM mailing_recipients r {in_reach} WHERE r.mailing_id = ? "
                f"AND r.status = 'pending' AND {condition})",
                (reason, *reach_params, mailing_id,
                 *([EMAIL_PATTERN] if "?" in condition else [])))


# ----------------------------------------------------------------------- the lease


def _mailing_to_send(user: User | None, db: Database, mailing_id: int) -> dict[str, Any]:
    allowed = mailing_scope(user, Action.MAIL) if user is not None else None
    row = db.fetch_one(
        "SELECT * FROM mailings WHERE id = ?" + (f" AND {allowed.sql}" if allowed else ""),
        (mailing_id, *(allowed.params if allowed else ())))
    if row is None:
        raise SendRefused(f"Mailing {mailing_id} does not exist.")
    if row["status"] not in (DRAFT, SENDING, SENT):
        raise SendRefused(f"Mailing {mailing_id} cannot be sent (status {row['status']}).")
    return row


def _sender_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _stale(sender: str, seen_at: datetime | None) -> bool:
    """A lease nobody renewed for LEASE_SECONDS, or whose process on this host is gone."""
    if seen_at is None or now() - seen_at > timedelta(seconds=LEASE_SECONDS):
        return True
    host, _, rest = sender.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _acquire(db: Database, mailing_id: int, token: str) -> None:
    try:
        _claim(db, mailing_id, token)
    except ConcurrencyError as exc:  # a draft change or another sender, at the same moment
        raise SendRefused(f"Mailing {mailing_id} was changed at the same moment; nothing was "
                          "sent. Open it again to see it as it is now.") from exc


def _claim(db: Database, mailing_id: int, token: str) -> None:
    with db.transaction() as tx:
        row = tx.fetch_one("SELECT sender, sender_seen_at FROM mailings WHERE id = ?",
                           (mailing_id,))
        holder = row["sender"] if row else None
        if holder and not _stale(holder, row["sender_seen_at"]):
            raise SendRefused(f"Mailing {mailing_id} is being sent right now by another "
                              "session or process; wait for it to finish or stop.")
        stamp = now()
        taken = tx.execute(
            "UPDATE mailings SET sender = ?, sender_seen_at = ?, status = 'sending', "
            "started_at = coalesce(started_at, ?), last_error = '' WHERE id = ? "
            "AND status IN ('draft', 'sending') AND sender IS NOT DISTINCT FROM ?",
            (token, stamp, stamp, mailing_id, holder))
    if taken != 1:
        raise SendRefused(f"Mailing {mailing_id} was just started elsewhere.")


def _release(user: User | None, db: Database, mailing_id: int, token: str,
             report: SendReport) -> bool:
    """Give the lease back; the mailing is complete when nothing is left to send."""
    stamp = now()
    with db.transaction() as tx:
        left = tx.scalar("SELECT count(*) FROM mailing_recipients WHERE mailing_id = ? "
                         "AND status IN ('pending', 'sending')", (mailing_id,))
        finished = left == 0
        # Nothing went out (say the server could not be reached): it is still a draft.
        untouched = not finished and not tx.scalar(
            "SELECT count(*) FROM mailing_recipients WHERE mailing_id = ? "
            "AND status IN ('sent', 'failed', 'unknown', 'sending')", (mailing_id,))
        note = "" if finished else (report.stopped or (
            f"{report.deferred:,} message(s) deferred by the mail server; send again later "
            "to retry." if report.deferred else ""))
        tx.execute(
            "UPDATE mailings SET sender = NULL, sender_seen_at = NULL, status = ?, "
            "started_at = CASE WHEN ? THEN NULL ELSE started_at END, finished_at = ?, "
            "last_error = ? WHERE id = ? AND sender = ?",
            (SENT if finished else DRAFT if untouched else SENDING, untouched,
             stamp if finished else None, note, mailing_id, token))
        audit.record(tx, user, "mailing", mailing_id, "send", new={
            "sent": report.sent, "failed": report.failed, "skipped": report.skipped,
            "deferred": report.deferred, "unknown": report.unknown,
            "complete": finished, "stopped": report.stopped or None})
    return finished


def _counts(user: User | None, db: Database | Session, mailing_id: int) -> Counts:
    return counts(user, db, mailing_id)
