"""Tags an import put on records: which tag went on which record, so that undoing the batch
takes off exactly those (and none a record had before or was given since by someone else)."""

STATEMENTS = [
    """CREATE TABLE import_batch_tags (
        batch_id BIGINT NOT NULL,
        entity_id BIGINT NOT NULL,
        tag_id BIGINT NOT NULL
    )""",
]

POSTGRES_ONLY = [
    "CREATE INDEX import_batch_tags_batch_idx ON import_batch_tags (batch_id, tag_id)",
]
