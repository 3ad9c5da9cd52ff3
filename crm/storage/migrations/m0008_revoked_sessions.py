"""Sign-out that holds on the server: the sign-in cookie of a session that signed out is
recorded as revoked, so a browser that kept it (its deletion is done by a browser component,
which a quick reload can outrun) is not let back in."""

STATEMENTS = [
    """CREATE TABLE revoked_sessions (
        username VARCHAR NOT NULL,
        expires VARCHAR NOT NULL,
        revoked_at TIMESTAMP NOT NULL,
        PRIMARY KEY (username, expires)
    )""",
]
