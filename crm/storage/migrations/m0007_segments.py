"""Saved segments: a list's filters and search kept under a name, private or shared.

A segment stores a definition (the filters as JSON text, the search box), never records: each
viewer evaluates it in their own scope. `department_id` is the department a segment is shared
with (its owner's when it was shared), so moving the owner later does not move the segment.
JSON is kept as text: the one type DuckDB and PostgreSQL read alike.
"""

STATEMENTS = [
    "CREATE SEQUENCE IF NOT EXISTS segments_id_seq",
    """CREATE TABLE segments (
        id BIGINT PRIMARY KEY DEFAULT nextval('segments_id_seq'),
        entity VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        filters VARCHAR NOT NULL DEFAULT '{}',
        search VARCHAR NOT NULL DEFAULT '',
        owner_id BIGINT NOT NULL,
        visibility VARCHAR NOT NULL DEFAULT 'private',
        department_id BIGINT,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        UNIQUE (owner_id, entity, name),
        CHECK (entity IN ('lead', 'contact')),
        CHECK (visibility IN ('private', 'department', 'company'))
    )""",
]

POSTGRES_ONLY = [
    "CREATE INDEX segments_owner_idx ON segments (owner_id)",
    "CREATE INDEX segments_visibility_idx ON segments (visibility, department_id)",
]
