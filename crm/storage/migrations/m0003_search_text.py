"""Keyword search over one precomputed, lower-cased column per record.

`search_text` holds the searchable fields (names, emails, phones also as bare digits,
company, city, address, description) so a keyword is one LIKE on one column: a fast scan in
DuckDB and a trigram-index look-up in PostgreSQL. `crm.storage.search.refresh` keeps it current.
"""

STATEMENTS = [
    "ALTER TABLE leads ADD COLUMN search_text VARCHAR NOT NULL DEFAULT ''",
    "ALTER TABLE contacts ADD COLUMN search_text VARCHAR NOT NULL DEFAULT ''",
    "ALTER TABLE companies ADD COLUMN search_text VARCHAR NOT NULL DEFAULT ''",
]

POSTGRES_ONLY = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public",
    "CREATE INDEX leads_search_idx ON leads USING gin (search_text public.gin_trgm_ops)",
    "CREATE INDEX contacts_search_idx ON contacts USING gin (search_text public.gin_trgm_ops)",
    "CREATE INDEX companies_search_idx ON companies USING gin (search_text public.gin_trgm_ops)",
    "CREATE INDEX leads_created_idx ON leads (created_at, id)",
    "CREATE INDEX contacts_created_idx ON contacts (created_at, id)",
]
