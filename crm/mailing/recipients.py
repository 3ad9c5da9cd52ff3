"""Who receives a mailing, and who is left out and why, decided in SQL over the whole selection.

A selection is the checked rows of a list or every row matching its filters (possibly
800,000 contacts), always inside the user's scope for mailing. Each selected person is either
a recipient or left out for the first reason that applies: unsubscribed, disqualified,
converted (a lead that became a contact), no valid email address, or a duplicate address
(the same address, in any case, as an earlier record of the selection: only the first one
is mailed). An address on the suppression list (unsubscribed under any record, see
crm.storage.writer) is never mailed: those count as unsubscribed, as do addresses unsubscribed under
another record of the selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from crm.access import Action, Entity
from crm.identity.user import User
from crm.lists import listing
from crm.lists.bulk import target_condition
from crm.lists.listing import ListQuery, ListSpec
from crm.mailing.compose import Person
from crm.records.kinds import PEOPLE_LISTS
from crm.storage.db import Database, Session
from crm.storage.writer import ADDRESS_SQL

# Loose on purpose: addresses were validated when entered; this only keeps out the empty and
# the plainly broken. Bound as a parameter; `~` is a regular-expression match on both backends.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Exclusion(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    DISQUALIFIED = "disqualified"
    CONVERTED = "converted"
    NO_EMAIL = "no_email"
    DUPLICATE = "duplicate"

    @property
    def label(self) -> str:
        return EXCLUSION_LABELS[self]


EXCLUSION_LABELS = {
    Exclusion.UNSUBSCRIBED: "unsubscribed",
    Exclusion.DISQUALIFIED: "disqualified",
    Exclusion.CONVERTED: "converted to a contact",
    Exclusion.NO_EMAIL: "no valid email address",
    Exclusion.DUPLICATE: "duplicate address",
}
RECIPIENT = "recipient"


@dataclass(frozen=True)
class Selection:
    """Checked rows (`ids`) of a list, or with `ids` None every row matching `query`."""

    entity: Entity
    query: ListQuery = field(default_factory=ListQuery)
    ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Audience:
    selected: int
    recipients: int
    excluded: dict[Exclusion, int]

    @property
    def left_out(self) -> int:
        return sum(self.excluded.values())

    def exclusion_sentence(self) -> str:
        """"Left out 12: 8 unsubscribed, 3 disqualified, 1 duplicate address." or ""."""
        parts = [f"{n:,} {reason.label}" for reason, n in self.excluded.items() if n]
        if not parts:
            return ""
        return f"Left out {self.left_out:,}: {', '.join(parts)}."




def spec_for(entity: Entity | str) -> ListSpec:
    """The list a selection comes from."""
    return PEOPLE_LISTS[Entity(entity)]


def audience(user: User, db: Database | Session, selection: Selection) -> Audience:
    """How many of the selection a mailing would reach, and how many are left out, and why."""
    sql, params = _outcomes(user, selection)
    rows = db.fetch_all(f"{sql} SELECT outcome, count(*) AS n FROM ranked GROUP BY outcome",
                        params)
    counts = {row["outcome"]: int(row["n"]) for row in rows}
    return Audience(
        selected=sum(counts.values()),
        recipients=counts.get(RECIPIENT, 0),
        excluded={reason: counts.get(reason.value, 0) for reason in Exclusion},
    )


def insert_recipients(tx: Session, user: User, selection: Selection, mailing_id: int) -> None:
    """Write the recipients of `mailing_id`: one set-based INSERT, whatever the size."""
    sql, params = _outcomes(user, selection)
    tx.execute(
        "INSERT INTO mailing_recipients (mailing_id, entity, entity_id, email, status) "
        f"{sql} SELECT ?, ?, id, email, 'pending' FROM ranked WHERE outcome = '{RECIPIENT}'",
        (*params, mailing_id, Entity(selection.entity).value),
    )


def sample(user: User, db: Database | Session, selection: Selection,
           limit: int = 20) -> list[tuple[int, Person]]:
    """The first recipients (by ID), for previewing the message as one of them will see it."""
    sql, params = _outcomes(user, selection)
    entity = Entity(selection.entity)
    first, last, company, joins = _PERSON_SQL[entity]
    a = spec_for(entity).alias
    rows = db.fetch_all(
        f"{sql} SELECT ranked.id, {first} AS first_name, {last} AS last_name, "
        f"{company} AS company, ranked.email FROM ranked JOIN {spec_for(entity).table} {a} "
        f"ON {a}.id = ranked.id {joins} WHERE outcome = '{RECIPIENT}' ORDER BY ranked.id LIMIT ?",
        (*params, limit),
    )
    return [(int(r["id"]), _person(r)) for r in rows]


def describe(user: User, db: Database | Session, selection: Selection, selected: int) -> str:
    """The selection in words: "3 checked leads", "1,204 contacts where country is Germany"."""
    spec = spec_for(selection.entity)
    noun = spec.noun if selected == 1 else spec.noun_plural
    if selection.ids is not None:
        return f"{selected:,} checked {noun}"
    labels = {}
    allowed = {f.key for f in spec.filters_for(user)}
    for key, values in selection.query.filters.items():
        if values and key in allowed:
            labels[key] = {o.value: o.label for o in listing.options(user, db, spec, key)}
    return listing.describe(spec, selection.query, selected, labels, user)


_PERSON_SQL: dict[Entity, tuple[str, str, str, str]] = {
    Entity.LEAD: ("l.first_name", "l.last_name", "l.company_name", ""),
    Entity.CONTACT: ("c.first_name", "c.last_name", "coalesce(co.name, '')",
                     "LEFT JOIN companies co ON co.id = c.company_id"),
}


def _person(row: dict[str, Any]) -> Person:
    return Person(first_name=row["first_name"] or "", last_name=row["last_name"] or "",
                  company=row["company"] or "", email=row["email"] or "")


def _outcomes(user: User, selection: Selection) -> tuple[str, tuple]:
    """`WITH chosen AS (…), ranked AS (…)`: every selected row with its outcome."""
    entity = Entity(selection.entity)
    spec = spec_for(entity)
    a = spec.alias
    ids = list(selection.ids) if selection.ids is not None else None
    condition = target_condition(user, spec, selection.query, ids, Action.MAIL)
    converted = (f"WHEN {a}.converted_at IS NOT NULL THEN '{Exclusion.CONVERTED}' "
                 if entity is Entity.LEAD else "")
    sql = (
        f"WITH chosen AS (SELECT {a}.id AS id, trim({a}.email) AS email, "
        f"lower(trim({a}.email)) AS address, "
        f"CASE WHEN NOT {a}.newsletter_opt_in OR EXISTS (SELECT 1 FROM suppressions s "
        f"WHERE s.address = {ADDRESS_SQL.format(column=a + '.email')}) "
        f"THEN '{Exclusion.UNSUBSCRIBED}' "
        f"WHEN {a}.disqualified THEN '{Exclusion.DISQUALIFIED}' {converted}"
        f"WHEN NOT (trim({a}.email) ~ ?) THEN '{Exclusion.NO_EMAIL}' END AS reason "
        f"FROM {spec.table} {a} WHERE {condition.sql}), "
        "ranked AS (SELECT id, email, CASE WHEN reason IS NOT NULL THEN reason "
        f"WHEN max(CASE WHEN reason = '{Exclusion.UNSUBSCRIBED}' THEN 1 ELSE 0 END) "
        f"OVER (PARTITION BY address) = 1 THEN '{Exclusion.UNSUBSCRIBED}' "
        "WHEN row_number() OVER (PARTITION BY reason IS NULL, address ORDER BY id) > 1 "
        f"THEN '{Exclusion.DUPLICATE}' ELSE '{RECIPIENT}' END AS outcome FROM chosen)"
    )
    return sql, (EMAIL_PATTERN, *condition.params)
