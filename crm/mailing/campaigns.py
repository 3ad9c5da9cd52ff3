"""Mailings (campaigns): create a draft from a selection, change or delete it, list them with
their counts, and look at one.

Counts are always of the recipients inside the viewer's scope: a recipient outside it does
not exist for that user, in a list of mailings as anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from crm.access import (
    EVERYTHING,
    Action,
    Entity,
    can,
    mailing_scope,
    require,
    scope,
    sees_all_departments,
)
from crm.common.clock import now
from crm.common.errors import Refusal
from crm.identity.entities import person_table
from crm.identity.user import User
from crm.mailing import compose
from crm.mailing.compose import Person
from crm.mailing.recipients import (
    Audience,
    Exclusion,
    Selection,
    audience,
    describe,
    insert_recipients,
)
from crm.storage import audit
from crm.storage.db import ConcurrencyError, Database, Session

DRAFT, SENDING, SENT = "draft", "sending", "sent"
STATUS_LABELS = {DRAFT: "Draft", SENDING: "Sending", SENT: "Sent"}
RECIPIENT_STATUSES = ("pending", "sending", "sent", "failed", "skipped", "unknown")
RECIPIENT_LABELS = {
    "pending": "Waiting", "sending": "Being handed over", "sent": "Sent", "failed": "Failed",
    "skipped": "Skipped", "unknown": "Unknown (interrupted)",
}


class MailingError(Refusal):
    """A mailing that cannot be created, changed or sent as asked, with the reason."""


@dataclass(frozen=True)
class Counts:
    recipients: int = 0
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0
    unsubscribed_since: int = 0

    @property
    def done(self) -> int:
        """Recipients whose turn has come and gone (sent, failed, skipped or unknown)."""
        return self.sent + self.failed + self.skipped + self.unknown


@dataclass(frozen=True)
class Mailing:
    id: int
    name: str
    subject: str
    body: str
    status: str
    entity: str | None
    selection: str
    department: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_error: str
    sender: str | None
    sender_seen_at: datetime | None
    excluded: dict[Exclusion, int] | None  # None for mailings from before exclusions were kept
    counts: Counts
    may_send: bool  # the viewer may send, change and delete it

    @property
    def is_draft(self) -> bool:
        return self.status == DRAFT


def create_mailing(user: User, db: Database, selection: Selection, *, subject: str, body: str,
                   name: str = "") -> int:
    """A draft mailing to the selection's recipients (frozen now; re-checked when sent)."""
    entity = Entity(selection.entity)
    require(user, Action.MAIL, entity)
    _check(subject, body, name)
    stamp = now()
    with db.transaction() as tx:
        reach = audience(user, tx, selection)
        if reach.recipients == 0:
            reasons = reach.exclusion_sentence()
            raise MailingError("Nobody in this selection can be mailed." + (
                f" {reasons}" if reasons else ""))
        mailing_id = tx.scalar(
            "INSERT INTO mailings (name, subject, body, status, entity, selection, created_by, "
            "created_at, updated_at, excluded_unsubscribed, excluded_disqualified, "
            "excluded_converted, excluded_no_email, excluded_duplicate) "
            "VALUES (?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (name.strip() or subject.strip(), subject.strip(), body, entity.value,
             describe(user, tx, selection, reach.selected), user.id, stamp, stamp,
             *(reach.excluded[reason] for reason in Exclusion)),
        )
        insert_recipients(tx, user, selection, mailing_id)
        _set_department(tx, mailing_id, entity)
        audit.record(tx, user, "mailing", mailing_id, "create", new={
            "name": name.strip() or subject.strip(), "subject": subject.strip(),
            "recipients": reach.recipients, "left out": reach.left_out})
    return int(mailing_id)


def preview_audience(user: User, db: Database, selection: Selection) -> Audience:
    """What `create_mailing` would do with this selection, said before anything is written."""
    return audience(user, db, selection)


def update_draft(user: User, db: Database, mailing_id: int, *, name: str, subject: str,
                 body: str) -> None:
    _check(subject, body, name)
    with _one_writer(), db.transaction() as tx:
        before = _draft(tx, user, mailing_id)
        after = {"name": name.strip() or subject.strip(), "subject": subject.strip(),
                 "body": body}
        changed = {k: v for k, v in after.items() if before[k] != v}
        if not changed:
            return
        assignments = ", ".join(f"{k} = ?" for k in changed)
        _still_draft(tx.execute(f"UPDATE mailings SET {assignments}, updated_at = ?, "
                                f"{_CLAIM} WHERE id = ? AND status = 'draft'",
                                (*changed.values(), now(), mailing_id)))
        audit.record(tx, user, "mailing", mailing_id, "update",
                     old={k: before[k] for k in changed}, new=changed)


def delete_draft(user: User, db: Database, mailing_id: int) -> None:
    """A draft nobody was sent anything of can go; a mailing that went out is history."""
    with _one_writer(), db.transaction() as tx:
        before = _draft(tx, user, mailing_id)
        # Claimed first, guarded by its status in the same statement: a send that started
        # since `_draft` read it keeps its recipients and its mailing.
        _still_draft(tx.execute(f"UPDATE mailings SET updated_at = ?, {_CLAIM} WHERE id = ? "
                                "AND status = 'draft'", (now(), mailing_id)))
        tx.execute("DELETE FROM mailing_recipients WHERE mailing_id = ?", (mailing_id,))
        tx.execute("DELETE FROM mailings WHERE id = ?", (mailing_id,))
        audit.record(tx, user, "mailing", mailing_id, "delete",
                     old={"name": before["name"], "subject": before["subject"]})


def list_mailings(user: User, db: Database) -> pd.DataFrame:
    """Every mailing the user may see, newest first, with counts of their own recipients."""
    counts_sql, counts_params = _counts_sql(user)
    visible = mailing_scope(user, Action.VIEW, alias="m")
    return db.fetch_frame(
        "SELECT m.id, m.name, m.subject, m.status, m.entity, m.created_at, m.started_at, "
        "m.finished_at, coalesce(u.full_name, 'system') AS created_by, dp.name AS department, "
        "coalesce(k.recipients, 0) AS recipients, coalesce(k.sent, 0) AS sent, "
        "coalesce(k.failed, 0) + coalesce(k.unknown, 0) AS failed, "
        "coalesce(k.pending, 0) + coalesce(k.sending, 0) AS waiting, "
        "coalesce(k.unsubscribed_since, 0) AS unsubscribed_since "
        f"FROM mailings m LEFT JOIN ({counts_sql}) k ON k.mailing_id = m.id "
        "LEFT JOIN users u ON u.id = m.created_by "
        "LEFT JOIN departments dp ON dp.id = m.department_id "
        f"WHERE {visible.sql} ORDER BY m.created_at DESC, m.id DESC",
        (*counts_params, *visible.params),
    )


def get_mailing(user: User, db: Database | Session, mailing_id: int) -> Mailing | None:
    visible = mailing_scope(user, Action.VIEW, alias="m")
    row = db.fetch_one(
        "SELECT m.*, coalesce(u.full_name, 'system') AS created_by_name, "
        "dp.name AS department_name FROM mailings m "
        "LEFT JOIN users u ON u.id = m.created_by "
        "LEFT JOIN departments dp ON dp.id = m.department_id "
        f"WHERE m.id = ? AND {visible.sql}", (mailing_id, *visible.params))
    if row is None:
        return None
    sendable = mailing_scope(user, Action.MAIL, alias="m")
    may_send = bool(db.scalar(f"SELECT count(*) FROM mailings m WHERE m.id = ? AND "
                              f"{sendable.sql}", (mailing_id, *sendable.params)))
    excluded = None
    if row["excluded_unsubscribed"] is not None:
        excluded = {reason: int(row[f"excluded_{reason.value}"] or 0) for reason in Exclusion}
    selection = row["selection"]
    if row["department_id"] is None and not sees_all_departments(user):
        # A company-wide mailing seen by department staff: how it was chosen and who was
        # left out speak of other departments' records, which do not exist for them.
        selection, excluded = "", None
    return Mailing(
        id=int(row["id"]), name=row["name"], subject=row["subject"], body=row["body"],
        status=row["status"], entity=row["entity"], selection=selection,
        department=row["department_name"], created_by=row["created_by_name"],
        created_at=row["created_at"], started_at=row["started_at"],
        finished_at=row["finished_at"], last_error=row["last_error"], sender=row["sender"],
        sender_seen_at=row["sender_seen_at"], excluded=excluded,
        counts=counts(user, db, mailing_id),
        may_send=may_send and can(user, Action.MAIL, row["entity"]),
    )


def counts(user: User | None, db: Database | Session, mailing_id: int) -> Counts:
    """Recipients by state, in the user's scope (None: the installation, every recipient)."""
    sql, params = _counts_sql(user, mailing_id)
    row = db.fetch_one(sql, params)
    if row is None:
        return Counts()
    return Counts(**{k: int(row[k] or 0) for k in Counts.__dataclass_fields__})


def recipients(user: User, db: Database, mailing_id: int, status: str | None = None,
               limit: int = 500) -> pd.DataFrame:
    """Recipients in the user's scope (first `limit` by ID), optionally of one status."""
    if get_mailing(user, db, mailing_id) is None:
        return pd.DataFrame()
    reach, params, where = _reach(user)
    wanted = "AND r.status = ? " if status else ""
    return db.fetch_frame(
        "SELECT r.id, r.entity, r.entity_id, "
        "trim(concat_ws(' ', coalesce(l.first_name, c.first_name), "
        "coalesce(l.last_name, c.last_name))) AS name, r.email, r.status, r.error, r.sent_at "
        f"{reach} WHERE {where} AND r.mailing_id = ? {wanted}ORDER BY r.id LIMIT ?",
        (*params, mailing_id, *([status] if status else []), limit),
    )


def problems(user: User, db: Database, mailing_id: int) -> list[dict[str, Any]]:
    """Why recipients failed or were skipped, with how many each, in the user's scope."""
    if get_mailing(user, db, mailing_id) is None:
        return []
    reach, params, where = _reach(user)
    return db.fetch_all(
        f"SELECT r.status, r.error, count(*) AS n {reach} WHERE {where} AND r.mailing_id = ? "
        "AND r.status IN ('failed', 'skipped', 'unknown') GROUP BY r.status, r.error "
        "ORDER BY n DESC, r.status, r.error", (*params, mailing_id))


def preview_people(user: User, db: Database, mailing_id: int,
                   limit: int = 20) -> list[tuple[int, Person]]:
    """The mailing's first recipients in the user's scope, to preview the message for."""
    reach, params, where = _reach(user)
    rows = db.fetch_all(
        "SELECT r.id, coalesce(l.first_name, c.first_name) AS first_name, "
        "coalesce(l.last_name, c.last_name) AS last_name, "
        "coalesce(l.company_name, co.name, '') AS company, r.email "
        f"{reach} LEFT JOIN companies co ON co.id = c.company_id "
        f"WHERE {where} AND r.mailing_id = ? ORDER BY r.id LIMIT ?",
        (*params, mailing_id, limit))
    return [(int(r["id"]), Person(r["first_name"] or "", r["last_name"] or "",
                                  r["company"] or "", r["email"] or "")) for r in rows]


def mailings_received(user: User, db: Database, entity: Entity | str,
                      entity_id: int) -> list[dict[str, Any]]:
    """The mailings one person (in the user's scope) was in, newest first."""
    entity = Entity(entity)
    allowed = scope(user, entity, Action.VIEW)
    table = person_table(entity)
    if not db.scalar(f"SELECT count(*) FROM {table} WHERE id = ? AND {allowed.sql}",
                     (entity_id, *allowed.params)):
        return []
    return db.fetch_all(
        "SELECT m.id AS mailing_id, m.name, m.subject, r.status, r.error, r.sent_at, r.email "
        "FROM mailing_recipients r JOIN mailings m ON m.id = r.mailing_id "
        "WHERE r.entity = ? AND r.entity_id = ? "
        "ORDER BY coalesce(r.sent_at, m.created_at) DESC, m.id DESC",
        (entity.value, entity_id))


# ----------------------------------------------------------------------- internals


def _check(subject: str, body: str, name: str) -> None:
    problems_ = compose.check_content(subject, body)
    if len(name) > 200:
        problems_.append("The name is longer than 200 characters.")
    if problems_:
        raise MailingError(" ".join(problems_))


def _draft(tx: Session, user: User, mailing_id: int) -> dict[str, Any]:
    allowed = mailing_scope(user, Action.MAIL)
    row = tx.fetch_one(f"SELECT * FROM mailings WHERE id = ? AND {allowed.sql}",
                       (mailing_id, *allowed.params))
    if row is None:
        raise MailingError(f"Mailing {mailing_id} does not exist.")
    require(user, Action.MAIL, row["entity"])  # the table has a row per kind of recipient
    if row["status"] != DRAFT:
        raise MailingError("This mailing has started sending; it can no longer be changed.")
    return row


# Written by every draft change, as the send's claim writes it: DuckDB finds write conflicts
# per column, so only a write to the same column makes the later of the two fail.
_CLAIM = "status = 'draft'"


@contextmanager
def _one_writer() -> Iterator[None]:
    """A draft written while someone else wrote it or a send claimed it (DuckDB refuses the
    later writer at once) is refused with the draft's own words."""
    try:
        yield
    except ConcurrencyError as exc:
        raise MailingError("Someone else changed this mailing or started sending it at the "
                           "same moment; nothing was changed. Reload it to see.") from exc


def _still_draft(changed: int) -> None:
    """The statement that wrote a draft was guarded by `status = 'draft'`: it changed nothing
    when a send started after the draft was read (the send's claim committed first)."""
    if changed == 0:
        raise MailingError("This mailing has started sending; it can no longer be changed.")


def _set_department(tx: Session, mailing_id: int, entity: Entity) -> None:
    """A mailing whose recipients all sit in one department belongs to it; else to none."""
    table = person_table(entity)
    row = tx.fetch_one(
        f"SELECT min(p.department_id) AS lo, max(p.department_id) AS hi FROM "
        f"mailing_recipients r JOIN {table} p ON p.id = r.entity_id WHERE r.mailing_id = ?",
        (mailing_id,))
    department = row["lo"] if row and row["lo"] == row["hi"] else None
    tx.execute("UPDATE mailings SET department_id = ? WHERE id = ?", (department, mailing_id))


def _reach(user: User | None) -> tuple[str, tuple, str]:
    """`FROM mailing_recipients r` joined to the recipients' people inside the user's scope,
    its parameters, and the condition keeping only recipients in that scope.

    A delivery to a lead that was since converted is counted under its contact, which
    carries a copy of it (crm.pipeline.conversion): never twice.
    """
    lead = scope(user, Entity.LEAD, Action.VIEW, alias="l") if user else EVERYTHING
    contact = scope(user, Entity.CONTACT, Action.VIEW, alias="c") if user else EVERYTHING
    sql = ("FROM mailing_recipients r "
           f"LEFT JOIN leads l ON r.entity = 'lead' AND l.id = r.entity_id AND {lead.sql} "
           "AND NOT (r.status = 'sent' AND l.contact_id IS NOT NULL) "
           "LEFT JOIN contacts c ON r.entity = 'contact' AND c.id = r.entity_id "
           f"AND {contact.sql} ")
    return sql, (*lead.params, *contact.params), "(l.id IS NOT NULL OR c.id IS NOT NULL)"


def _counts_sql(user: User | None, mailing_id: int | None = None) -> tuple[str, tuple]:
    reach, params, where = _reach(user)
    statuses = ", ".join(f"count(*) FILTER (WHERE r.status = '{s}') AS {s}"
                         for s in RECIPIENT_STATUSES)
    one = "AND r.mailing_id = ? " if mailing_id is not None else ""
    return (
        f"SELECT r.mailing_id, count(*) AS recipients, {statuses}, "
        "count(*) FILTER (WHERE r.status = 'sent' AND NOT coalesce(l.newsletter_opt_in, "
        "c.newsletter_opt_in) AND coalesce(l.unsubscribed_at, c.unsubscribed_at) >= r.sent_at) "
        f"AS unsubscribed_since {reach} WHERE {where} {one}GROUP BY r.mailing_id",
        (*params, *([mailing_id] if mailing_id is not None else [])),
    )
