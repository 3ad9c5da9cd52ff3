"""The schema: versioned, applied once, complete."""

from __future__ import annotations

from crm.storage import migrations

TABLES = {
    "departments", "users", "companies", "company_industries", "contacts", "contact_tags",
    "leads", "lead_tags", "tags", "industries", "company_types", "lead_sources", "countries",
    "subscription_events", "mailings", "mailing_recipients", "import_batches",
    "import_batch_items", "audit_log", "sign_in_attempts", "schema_migrations", "app_settings",
}


def test_migrating_again_changes_nothing(db):
    assert migrations.migrate(db) == []
    assert migrations.current_version(db) == max(v for v, _ in migrations.available())


def test_every_entity_has_a_table(db):
    for table in TABLES:
        assert db.scalar(f"SELECT count(*) FROM {table}") is not None


def test_the_full_iso_3166_country_list_is_loaded(db):
    assert db.scalar("SELECT count(*) FROM countries") == 249
    assert db.fetch_one("SELECT name, alpha3 FROM countries WHERE code = 'GB'") == {
        "name": "United Kingdom", "alpha3": "GBR"}


def test_starter_vocabularies_exist(db):
    assert db.scalar("SELECT count(*) FROM company_types WHERE name = 'Distributor'") == 1
    assert db.scalar("SELECT count(*) FROM industries") > 10
    assert db.scalar("SELECT count(*) FROM lead_sources") > 5
