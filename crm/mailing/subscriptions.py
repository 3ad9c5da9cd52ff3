"""Subscribing and unsubscribing, and each person's newsletter history.

The subscription events are the history; the person's row keeps the current state
(`newsletter_opt_in`, `unsubscribed_at`, and `last_mailed_at` from deliveries) so the status
stays one fast expression at a million rows (crm.records.newsletter.status_sql). Every change writes
the event, the row and the audit entry in one transaction, so the two always agree;
`disagreements` checks that they do.

An unsubscribe belongs to the address and to the person: it puts the address on the
suppression list (so every lead and contact with it is unsubscribed, now and later: see
crm.storage.writer) and unsubscribes the same person's other record, the contact a lead was
converted into (or the lead a contact came from), even under another address.

Who may change it:
- the person, through the signed link in every message (unsubscribe, and subscribe again);
- staff with the person in their scope may unsubscribe them on request (source "operator");
- only an admin may subscribe someone again, and must say why (source "admin");
- nobody else: an import never subscribes an unsubscribed address again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.access import Action, Condition, Entity, can_resubscribe_others, scope
from crm.common.errors import Refusal
from crm.identity.entities import person_table
from crm.identity.user import User
from crm.mailing import tokens
from crm.records.newsletter import NewsletterStatus, status_sql
from crm.storage.db import Database, Session
from crm.storage.writer import Writer

BY_LINK = "unsubscribe link"
BY_OPERATOR = "operator"
BY_ADMIN = "admin"
SOURCE_LABELS = {BY_LINK: "their unsubscribe link", BY_OPERATOR: "staff, on request",
                 "suppressed address": "the address was unsubscribed before",
                 "bounce": "the mail server: no such mailbox",
                 "conversion": "lead conversion", "carried over": "earlier unsubscribe",
                 BY_ADMIN: "an admin", "demo": "demo data", "manual entry": "added by hand"}


class SubscriptionError(Refusal):
    """A subscription change that is not allowed or not possible, with the reason."""


@dataclass(frozen=True)
class LinkView:
    """What the public page shows the holder of a valid link."""

    entity: Entity
    entity_id: int
    masked_email: str
    subscribed: bool


# ----------------------------------------------------------------------- staff


def unsubscribe(user: User, db: Database, entity: Entity | str, entity_id: int, *,
                note: str = "") -> bool:
    """Unsubscribe a person in the user's scope on their request; False if already out."""
    entity = Entity(entity)
    with db.transaction() as tx:
        _in_scope(tx, user, entity, entity_id, Action.EDIT)
        return _unsubscribe(Writer(tx, user), entity, entity_id, source=BY_OPERATOR,
                            note=note.strip())


def resubscribe(user: User, db: Database, entity: Entity | str, entity_id: int, *,
                reason: str) -> bool:
    """An admin subscribes someone again, saying why; False if already subscribed."""
    entity = Entity(entity)
    if not can_resubscribe_others(user):
        raise SubscriptionError("Only an admin may subscribe someone again; the person can "
                                "also use the link in any newsletter they received.")
    if len(reason.strip()) < 5:
        raise SubscriptionError("Say why this person is subscribed again (for example: "
                                "asked by phone on 3 March).")
    with db.transaction() as tx:
        _in_scope(tx, user, entity, entity_id, Action.EDIT)
        return _resubscribe(Writer(tx, user), entity, entity_id, source=BY_ADMIN,
                            note=reason.strip())


# ----------------------------------------------------------------------- the person's link


def link_view(db: Database, token: str) -> LinkView | None:
    """The person a link is for, or None when it is not a valid link (say nothing more)."""
    with db.transaction() as tx:
        row = _person_for_token(tx, token)
    if row is None:
        return None
    subject = tokens.read_token(token)
    assert subject is not None
    return LinkView(subject.entity, subject.entity_id, mask(row["email"]),
                    bool(row["newsletter_opt_in"]))


def unsubscribe_by_link(db: Database, token: str) -> LinkView | None:
    """The person unsubscribes through their own link. None: not a valid link (no change)."""
    return _by_link(db, token, subscribed=False)


def resubscribe_by_link(db: Database, token: str) -> LinkView | None:
    """The person subscribes again through their own link. None: not a valid link."""
    return _by_link(db, token, subscribed=True)


def mask(email: str) -> str:
    """"anna.adler@example.com" -> "a•••r@example.com": recognisable to its owner only."""
    local, _, domain = email.strip().replace("`", "'").partition("@")
    shown = local[:1] + "•••" if len(local) <= 2 else f"{local[0]}•••{local[-1]}"
    return f"{shown}@{domain}"


# ----------------------------------------------------------------------- history


def events(user: User, db: Database, entity: Entity | str,
           entity_id: int) -> list[dict[str, Any]]:
    """One person's subscription events, newest first; empty outside the user's scope."""
    entity = Entity(entity)
    allowed = scope(user, entity, Action.VIEW)
    if not db.scalar(f"SELECT count(*) FROM {person_table(entity)} WHERE id = ? AND {allowed.sql}",
                     (entity_id, *allowed.params)):
        return []
    return db.fetch_all(
        "SELECT e.occurred_at, e.event, e.source, coalesce(u.full_name, '') AS by_user, e.note "
        "FROM subscription_events e LEFT JOIN users u ON u.id = e.user_id "
        "WHERE e.entity = ? AND e.entity_id = ? ORDER BY e.occurred_at DESC, e.id DESC",
        (entity.value, entity_id))


def disagreements(db: Database | Session, entity: Entity | str) -> int:
    """People whose stored status differs from what their events and deliveries say.

    From the history: subscribed when the latest event is a (re)subscription (no event: never
    opted in); mailed when a delivery to them was recorded. Always 0 unless something wrote
    the row without its event.
    """
    entity = Entity(entity)
    latest = ("(SELECT e.event FROM subscription_events e WHERE e.entity = ? "
              "AND e.entity_id = p.id ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1)")
    mailed = ("EXISTS (SELECT 1 FROM mailing_recipients r WHERE r.entity = ? "
              "AND r.entity_id = p.id AND r.status = 'sent')")
    from_history = (
        f"CASE WHEN coalesce({latest} IN ('subscribed', 'resubscribed'), FALSE) = FALSE "
        f"THEN '{NewsletterStatus.UNSUBSCRIBED}' WHEN NOT {mailed} "
        f"THEN '{NewsletterStatus.NOT_MAILED}' ELSE '{NewsletterStatus.RECEIVING}' END")
    last_delivery = ("(SELECT max(r.sent_at) FROM mailing_recipients r WHERE r.entity = ? "
                     "AND r.entity_id = p.id AND r.status = 'sent')")
    return int(db.scalar(
        f"SELECT count(*) FROM {person_table(entity)} p WHERE {status_sql('p')} <> {from_history} "
        f"OR p.last_mailed_at IS DISTINCT FROM {last_delivery}",
        (entity.value, entity.value, entity.value)))


# ----------------------------------------------------------------------- internals


def _by_link(db: Database, token: str, *, subscribed: bool) -> LinkView | None:
    with db.transaction() as tx:
        row = _person_for_token(tx, token)
        if row is None:
            return None
        subject = tokens.read_token(token)
        assert subject is not None
        change = _resubscribe if subscribed else _unsubscribe
        change(Writer(tx, None), subject.entity, subject.entity_id, source=BY_LINK,
               action=BY_LINK)
    return LinkView(subject.entity, subject.entity_id, mask(row["email"]), subscribed)


def _person_for_token(tx: Session, token: str) -> dict[str, Any] | None:
    subject = tokens.read_token(token)
    if subject is None:
        return None
    row = tx.fetch_one(f"SELECT email, newsletter_opt_in FROM {person_table(subject.entity)} "
                       "WHERE id = ?", (subject.entity_id,))
    if row is None or not tokens.verify(token, row["email"]):
        return None
    return row


def _in_scope(tx: Session, user: User, entity: Entity, entity_id: int, action: Action) -> None:
    allowed = scope(user, entity, action)
    if not tx.scalar(f"SELECT count(*) FROM {person_table(entity)} WHERE id = ? AND {allowed.sql}",
                     (entity_id, *allowed.params)):
        raise SubscriptionError(f"{entity.value.capitalize()} {entity_id} does not exist.")


def _unsubscribe(writer: Writer, entity: Entity, entity_id: int, *, source: str,
                 note: str = "", action: str = "update") -> bool:
    """The person, the same person's other record and their addresses; False if the person
    was already unsubscribed (their address is suppressed all the same)."""
    changed = writer.set_subscription(entity, _one(entity_id), False, source=source,
                                      note=note, action=action)
    addresses = [writer.tx.scalar(f"SELECT email FROM {person_table(entity)} WHERE id = ?",
                                  (entity_id,))]
    for other, other_id in same_person(writer.tx, entity, entity_id):
        writer.set_subscription(other, _one(other_id), False, source=source, action=action,
                                note=f"the same person as {entity.value} {entity_id}")
        addresses.append(writer.tx.scalar(f"SELECT email FROM {person_table(other)} WHERE id = ?",
                                          (other_id,)))
    writer.suppress([a for a in addresses if a], source=source, note=note,
                    origin=(entity, entity_id), action=action)
    return changed > 0


def _resubscribe(writer: Writer, entity: Entity, entity_id: int, *, source: str,
                 note: str = "", action: str = "update") -> bool:
    """The person's address is mailable again and they are subscribed; False if they were."""
    email = writer.tx.scalar(f"SELECT email FROM {person_table(entity)} WHERE id = ?", (entity_id,))
    writer.lift_suppression(email or "")
    return writer.set_subscription(entity, _one(entity_id), True, source=source, note=note,
                                   action=action) > 0


def same_person(tx: Session, entity: Entity, entity_id: int) -> list[tuple[Entity, int]]:
    """The other records of one person: a converted lead's contact, a contact's leads."""
    if entity is Entity.LEAD:
        found = tx.scalar("SELECT contact_id FROM leads WHERE id = ?", (entity_id,))
        return [(Entity.CONTACT, int(found))] if found is not None else []
    return [(Entity.LEAD, int(r["id"])) for r in tx.fetch_all(
        "SELECT id FROM leads WHERE contact_id = ? ORDER BY id", (entity_id,))]


def _one(entity_id: int) -> Condition:
    return Condition("t.id = ?", (entity_id,))
