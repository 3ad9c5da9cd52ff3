"""Mass mailing: what a campaign was made from, who was left out and why, and the state a
crash-safe, resumable sender needs.

`mailing_recipients` is rebuilt (its rows kept) because its status check grows: a recipient
is `pending`, `sending` (handed to the mail server; in doubt after a crash), `sent`,
`failed` (refused, with the reason), `skipped` (no longer subscribed, or out of reach, when
its turn came) or `unknown` (interrupted while the mail server was receiving it: never sent
again, so nobody gets the same mailing twice). Neither backend can change a CHECK in place
in the same SQL, so the table is copied.

Mailings from before this version (the demo's) have no entity and no exclusion counts.
"""

STATEMENTS = [
    "ALTER TABLE mailings ADD COLUMN entity VARCHAR",
    "ALTER TABLE mailings ADD COLUMN selection VARCHAR NOT NULL DEFAULT ''",
    "ALTER TABLE mailings ADD COLUMN excluded_unsubscribed INTEGER",
    "ALTER TABLE mailings ADD COLUMN excluded_disqualified INTEGER",
    "ALTER TABLE mailings ADD COLUMN excluded_converted INTEGER",
    "ALTER TABLE mailings ADD COLUMN excluded_no_email INTEGER",
    "ALTER TABLE mailings ADD COLUMN excluded_duplicate INTEGER",
    "ALTER TABLE mailings ADD COLUMN updated_at TIMESTAMP",
    # The one process sending the mailing now, and when it last showed it was alive.
    "ALTER TABLE mailings ADD COLUMN sender VARCHAR",
    "ALTER TABLE mailings ADD COLUMN sender_seen_at TIMESTAMP",
    "ALTER TABLE mailings ADD COLUMN last_error VARCHAR NOT NULL DEFAULT ''",
    """CREATE TABLE mailing_recipients_v6 (
        id BIGINT PRIMARY KEY DEFAULT nextval('mailing_recipients_id_seq'),
        mailing_id BIGINT NOT NULL,
        entity VARCHAR NOT NULL,
        entity_id BIGINT NOT NULL,
        email VARCHAR NOT NULL,
        status VARCHAR NOT NULL DEFAULT 'pending',
        error VARCHAR NOT NULL DEFAULT '',
        sent_at TIMESTAMP,
        attempts INTEGER NOT NULL DEFAULT 0,
        handed_at TIMESTAMP,
        sender VARCHAR,
        UNIQUE (mailing_id, entity, entity_id),
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'unknown'))
    )""",
    """INSERT INTO mailing_recipients_v6 (id, mailing_id, entity, entity_id, email, status,
        error, sent_at) SELECT id, mailing_id, entity, entity_id, email, status, error, sent_at
        FROM mailing_recipients""",
    "DROP TABLE mailing_recipients",
    "ALTER TABLE mailing_recipients_v6 RENAME TO mailing_recipients",
]

POSTGRES_ONLY = [
    "CREATE INDEX mailing_recipients_entity_idx ON mailing_recipients (entity, entity_id)",
    "CREATE INDEX mailing_recipients_queue_idx ON mailing_recipients (mailing_id, status, id)",
    "CREATE INDEX mailings_department_idx ON mailings (department_id, created_at)",
]
