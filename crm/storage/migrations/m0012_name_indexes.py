"""PostgreSQL: the likely-duplicate check (same name and phone) that runs on every person
added, converted or imported looks people up by name; without an index that is a scan of
every lead or contact (2.3 s of the demo's 100 conversions at 100,000 contacts)."""

POSTGRES_ONLY = [
    "CREATE INDEX leads_name_idx ON leads (lower(last_name), lower(first_name))",
    "CREATE INDEX contacts_name_idx ON contacts (lower(last_name), lower(first_name))",
]
