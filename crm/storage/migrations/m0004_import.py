"""What undoing an import needs: each record's version right after the import (a later edit
shows as a newer version), the importer's department (who may see the batch in the import
history), and the companies an import of contacts created."""

STATEMENTS = [
    "ALTER TABLE import_batch_items ADD COLUMN row_version INTEGER",
    "ALTER TABLE import_batches ADD COLUMN department_id BIGINT",
    "ALTER TABLE import_batches ADD COLUMN on_duplicate VARCHAR NOT NULL DEFAULT 'skip'",
    """CREATE TABLE import_batch_companies (
        batch_id BIGINT NOT NULL,
        company_id BIGINT NOT NULL,
        PRIMARY KEY (batch_id, company_id)
    )""",
]

POSTGRES_ONLY = [
    "CREATE INDEX import_batches_entity_idx ON import_batches (entity, created_at)",
]
