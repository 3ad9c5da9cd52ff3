"""Unsubscribes belong to an address: the suppression list, and what undo keeps.

`suppressions` holds every normalised address (`lower(trim(email))`) that unsubscribed (by
its link, on request to staff, by an import's opt-out, by a bounce), when, how and from which
record. Every lead and contact with a suppressed address is unsubscribed, now and later, and
mailings choose recipients against the list. Only the person's own link or an admin with a
reason lifts an address.

Existing unsubscribes are carried over: each unsubscribed person's address is suppressed, and
anyone else holding that address is unsubscribed too (with an event saying why).

`import_batches.kept_count`: records an undo left as they were because they changed since the
import or other records point to them.
"""

from crm.storage.db import Session
from crm.storage.writer import carry_over_unsubscribes

STATEMENTS = [
    """CREATE TABLE suppressions (
        address VARCHAR PRIMARY KEY,
        suppressed_at TIMESTAMP NOT NULL,
        source VARCHAR NOT NULL,
        note VARCHAR NOT NULL DEFAULT '',
        user_id BIGINT,
        entity VARCHAR,
        entity_id BIGINT
    )""",
    "ALTER TABLE import_batches ADD COLUMN kept_count INTEGER NOT NULL DEFAULT 0",
]

POSTGRES_ONLY = [
    "CREATE INDEX leads_address_idx ON leads (lower(trim(email)))",
    "CREATE INDEX contacts_address_idx ON contacts (lower(trim(email)))",
]


def apply(tx: Session) -> None:
    carry_over_unsubscribes(tx)
