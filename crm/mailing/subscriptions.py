"""Subscribing and unsubscribing, and each person's newsletter history.

The subscription events are the history; the person's row keeps the current state
(`newsletter_opt_in`, `unsubscribed_at`, and `last_mailed_at` from deliveries) so the status
stays one fast expression at a million rows (crm.newsletter.status_sql). Every change writes
the event, the row and the audit entry in one transaction, so the two always agree;
`disagreements` checks that they do.

Who may change it:
- the person, through the signed link in every message (unsubscribe, and subscribe again);
- staff with the person in their scope may unsubscribe them on request (source "operator");
- only an admin may subscribe someone again, and must say why (source "admin").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm import audit
from crm.access import Action, Entity, can_resubscribe_others, scope
from crm.clock import now
from crm.db import Database, Session
from crm.mailing import tokens
from crm.newsletter import NewsletterStatus, status_sql
from crm.users import User

TABLES = {Entity.LEAD: "leads", Entity.CONTACT: "contacts"}
BY_LINK = "unsubscribe link"
BY_OPERATOR = "operator"
BY_ADMIN = "admin"
SOURCE_LABELS = {BY_LINK: "their unsubscribe link", BY_OPERATOR: "staff, on request",
                 BY_ADMIN: "an admin", "demo": "demo data", "manual entry": "added by hand"}


class SubscriptionError(ValueError):
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
        return _change(tx, user, entity, entity_id, subscribed=False, source=BY_OPERATOR,
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
        return _change(tx, user, entity, entity_id, subscribed=True, source=BY_ADMIN,
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
    if not db.scalar(f"SELECT count(*) FROM {TABLES[entity]} WHERE id = ? AND {allowed.sql}",
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
        f"SELECT count(*) FROM {TABLES[entity]} p WHERE {status_sql('p')} <> {from_history} "
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
        _change(tx, None, subject.entity, subject.entity_id, subscribed=subscribed,
                source=BY_LINK)
    return LinkView(subject.entity, subject.entity_id, mask(row["email"]), subscribed)


def _person_for_token(tx: Session, token: str) -> dict[str, Any] | None:
    subject = tokens.read_token(token)
    if subject is None:
        return None
    row = tx.fetch_one(f"SELECT email, newsletter_opt_in FROM {TABLES[subject.entity]} "
                       "WHERE id = ?", (subject.entity_id,))
    if row is None or not tokens.verify(token, row["email"]):
        return None
    return row


def _in_scope(tx: Session, user: User, entity: Entity, entity_id: int, action: Action) -> None:
    allowed = scope(user, entity, action)
    if not tx.scalar(f"SELECT count(*) FROM {TABLES[entity]} WHERE id = ? AND {allowed.sql}",
                     (entity_id, *allowed.params)):
        raise SubscriptionError(f"{entity.value.capitalize()} {entity_id} does not exist.")


def _change(tx: Session, actor: User | None, entity: Entity, entity_id: int, *,
            subscribed: bool, source: str, note: str = "") -> bool:
    """Row, event and audit entry together; nothing when the person is already so."""
    stamp = now()
    modified = ", modified_by = ?" if actor is not None else ""
    changed = tx.execute(
        f"UPDATE {TABLES[entity]} SET newsletter_opt_in = ?, unsubscribed_at = ?, "
        f"updated_at = ?{modified} WHERE id = ? AND newsletter_opt_in = ?",
        (subscribed, None if subscribed else stamp, stamp,
         *([actor.id] if actor is not None else []), entity_id, not subscribed))
    if changed == 0:
        return False
    tx.execute(
        "INSERT INTO subscription_events (entity, entity_id, event, occurred_at, user_id, "
        "source, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (entity.value, entity_id, "resubscribed" if subscribed else "unsubscribed", stamp,
         actor.id if actor is not None else None, source, note))
    audit.record(tx, actor, entity.value, entity_id, "update",
                 old={"newsletter_opt_in": not subscribed},
                 new={"newsletter_opt_in": subscribed})
    return True
