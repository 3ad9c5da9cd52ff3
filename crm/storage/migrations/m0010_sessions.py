"""Sessions with an identity on the server, and sign-in throttling per username and client.

A session is a row with a random identity (only its SHA-256 is stored; the browser's signed
cookie holds the identity itself). Sign-out ends that row, so every tab, reload and server
sees it at the next interaction; deactivating a user, resetting their password or changing
their role ends all of their sessions; an admin can see and end them.

Sign-in attempts remember the client they came from (a hash of its address), so a stranger's
failures lock that stranger's client, not the user's; `sign_in_unlocks` records an admin
lifting a lock.
"""

STATEMENTS = [
    """CREATE TABLE sessions (
        id_hash VARCHAR PRIMARY KEY,
        user_id BIGINT NOT NULL,
        client_key VARCHAR NOT NULL DEFAULT '',
        created_at TIMESTAMP NOT NULL,
        last_seen_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP NOT NULL,
        ended_at TIMESTAMP,
        ended_reason VARCHAR NOT NULL DEFAULT ''
    )""",
    "ALTER TABLE sign_in_attempts ADD COLUMN client_key VARCHAR NOT NULL DEFAULT ''",
    """CREATE TABLE sign_in_unlocks (
        username VARCHAR NOT NULL,
        unlocked_at TIMESTAMP NOT NULL,
        user_id BIGINT
    )""",
]

POSTGRES_ONLY = [
    "CREATE INDEX sessions_user_idx ON sessions (user_id, ended_at)",
    "CREATE INDEX sign_in_unlocks_username_idx ON sign_in_unlocks (username, unlocked_at)",
]
