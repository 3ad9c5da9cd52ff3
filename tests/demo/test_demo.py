"""The demo data loader: sizes, determinism, consistency, sign-ins, refusal, sequences."""

from __future__ import annotations

from datetime import datetime

import pytest

from crm.access.auth import sign_in
from crm.common.names import company_name_key
from crm.demo.builder import load_demo
from crm.demo.errors import DatabaseNotEmpty, DemoError
from crm.demo.reference import ANCHOR, DEMO_PASSWORD, DEMO_SIGN_INS
from crm.identity.roles import Role
from crm.storage import settings, store

CONTACTS, LEADS = 300, 200


@pytest.fixture
def fresh_duck(tmp_path):
    """A second empty database (DuckDB), to compare a load with the one in `db`."""
    url = f"duckdb:///{tmp_path}/second.duckdb"
    yield store.open_store(url)
    store.close_store(url)


def _rows(database, sql: str) -> list[tuple]:
    return [tuple(row.values()) for row in database.fetch_all(sql)]


def _count(database, table: str) -> int:
    return database.scalar(f"SELECT count(*) FROM {table}")


def test_loads_the_requested_sizes(db):
    summary = load_demo(db, contacts=CONTACTS, leads=LEADS)
    assert (summary.contacts, summary.leads) == (CONTACTS, LEADS)
    made_by_conversion = db.scalar(
        "SELECT count(DISTINCT contact_id) FROM leads WHERE contact_id > ?", (CONTACTS,))
    assert _count(db, "contacts") == CONTACTS + made_by_conversion
    assert _count(db, "leads") == LEADS
    assert _count(db, "companies") >= summary.companies == max(10, CONTACTS // 10)
    assert _count(db, "departments") == summary.departments >= 4
    assert _count(db, "users") == summary.users >= 25
    assert _count(db, "tags") == summary.tags >= 10
    assert _count(db, "mailings") == summary.mailings >= 5
    assert _count(db, "mailing_recipients") == summary.mailing_recipients > 0
    assert _count(db, "subscription_events") == summary.subscription_events > 0
    assert _count(db, "contact_tags") > 0
    assert _count(db, "company_industries") >= summary.companies
    assert db.scalar("SELECT count(*) FROM leads WHERE converted_at IS NOT NULL "
                     "AND company_id IS NOT NULL AND contact_id IS NOT NULL") \
        == summary.converted_leads == LEADS // 100
    assert summary.seconds >= 0 and "contacts" in summary.describe()
    assert settings.is_demo(db)


def test_every_index_is_there_after_a_load(db):
    """PostgreSQL: the demo drops the secondary indexes while it loads and builds them again
    after; the loaded database has exactly the indexes a migrated one has."""
    if db.dialect != "postgres":
        pytest.skip("the DuckDB load keeps its indexes")
    listed = ("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
              "ORDER BY 1")
    migrated = _rows(db, listed)
    assert any("gin_trgm_ops" in definition for _, definition in migrated)
    load_demo(db, contacts=CONTACTS, leads=LEADS)
    assert _rows(db, listed) == migrated


def test_empty_sizes_are_allowed_and_bad_sizes_refused(db):
    with pytest.raises(DemoError, match="number of contacts"):
        load_demo(db, contacts=-1, leads=10)
    with pytest.raises(DemoError, match="seed"):
        load_demo(db, contacts=1, leads=1, seed=1.5)
    summary = load_demo(db, contacts=0, leads=0)
    assert summary.companies == 10 and _count(db, "contacts") == 0 and _count(db, "leads") == 0


def test_same_seed_gives_the_same_data(db, fresh_duck):
    load_demo(db, contacts=CONTACTS, leads=LEADS, seed=11)
    load_demo(fresh_duck, contacts=CONTACTS, leads=LEADS, seed=11)
    queries = [
        "SELECT id, first_name, middle_name, last_name, email, phone, mobile, company_id, "
        "owner_id, department_id, created_at, updated_at, newsletter_opt_in, last_mailed_at, "
        "unsubscribed_at, vip FROM contacts ORDER BY id",
        "SELECT id, first_name, last_name, email, company_name, website, owner_id, created_at, "
        "last_mailed_at, unsubscribed_at, disqualified FROM leads ORDER BY id",
        "SELECT id, name, name_key, country_code, city, owner_id, created_at FROM companies "
        "ORDER BY id",
        "SELECT id, username, full_name, role, department_id FROM users ORDER BY id",
        "SELECT id, mailing_id, entity, entity_id, email, sent_at FROM mailing_recipients "
        "ORDER BY id",
        "SELECT id, entity, entity_id, event, occurred_at, source FROM subscription_events "
        "ORDER BY id",
    ]
    for sql in queries:
        first, second = _rows(db, sql), _rows(fresh_duck, sql)
        assert first and first == second, sql


def test_another_seed_gives_other_data(db, fresh_duck):
    load_demo(db, contacts=50, leads=0, seed=1)
    load_demo(fresh_duck, contacts=50, leads=0, seed=2)
    sql = "SELECT first_name, last_name, email FROM contacts ORDER BY id"
    assert _rows(db, sql) != _rows(fresh_duck, sql)


STATUS = ("CASE WHEN NOT newsletter_opt_in THEN 'gray' WHEN last_mailed_at IS NULL THEN 'red' "
          "ELSE 'turquoise' END")


@pytest.mark.parametrize(("table", "entity"), [("contacts", "contact"), ("leads", "lead")])
def test_newsletter_statuses_and_history_agree(db, table, entity):
    load_demo(db, contacts=CONTACTS, leads=LEADS)
    # A contact made by converting a lead carries the lead's earlier history (tested below).
    born_here = ("p.id NOT IN (SELECT contact_id FROM leads WHERE contact_id IS NOT NULL)"
                 if table == "contacts" else "TRUE")
    statuses = {row["status"]: row["n"] for row in db.fetch_all(
        f"SELECT {STATUS} AS status, count(*) AS n FROM {table} GROUP BY 1")}
    assert set(statuses) == {"gray", "red", "turquoise"}
    # Some gray people were mailed before they unsubscribed.
    assert db.scalar(f"SELECT count(*) FROM {table} WHERE NOT newsletter_opt_in "
                     "AND last_mailed_at IS NOT NULL AND unsubscribed_at > last_mailed_at") > 0
    # last_mailed_at is the latest delivery recorded for the person.
    assert db.scalar(
        f"SELECT count(*) FROM {table} p LEFT JOIN (SELECT entity_id, max(sent_at) AS s "
        f"FROM mailing_recipients WHERE entity = '{entity}' AND status = 'sent' "
        "GROUP BY entity_id) r ON r.entity_id = p.id "
        "WHERE p.last_mailed_at IS DISTINCT FROM r.s") == 0
    # Nobody is mailed after unsubscribing, nor before being created; times are in order.
    assert db.scalar(
        f"SELECT count(*) FROM {table} p WHERE {born_here} AND (unsubscribed_at <= "
        "last_mailed_at OR last_mailed_at <= created_at OR unsubscribed_at < created_at "
        "OR updated_at < created_at OR created_at > ? OR updated_at > ? "
        "OR unsubscribed_at > updated_at)", (ANCHOR, ANCHOR)) == 0
    assert db.scalar(f"SELECT count(*) FROM {table} WHERE newsletter_opt_in "
                     "AND unsubscribed_at IS NOT NULL") == 0
    # Everyone who opted in has a 'subscribed' event; every unsubscription has its event.
    assert db.scalar(
        f"SELECT count(*) FROM {table} p WHERE {born_here} AND (p.newsletter_opt_in OR "
        "p.unsubscribed_at IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM subscription_events e "
        "WHERE e.entity = ? "
        "AND e.entity_id = p.id AND e.event = 'subscribed' AND e.occurred_at = p.created_at)",
        (entity,)) == 0
    assert db.scalar(
        f"SELECT count(*) FROM {table} p WHERE p.unsubscribed_at IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM subscription_events e WHERE e.entity = ? AND e.entity_id = p.id "
        "AND e.event = 'unsubscribed' AND e.occurred_at = p.unsubscribed_at)", (entity,)) == 0
    # Recipients of a department mailing belong to that department.
    assert db.scalar(
        f"SELECT count(*) FROM mailing_recipients r JOIN mailings m ON m.id = r.mailing_id "
        f"JOIN {table} p ON p.id = r.entity_id WHERE r.entity = ? "
        "AND m.department_id IS NOT NULL AND m.department_id <> p.department_id "
        "OR r.entity = ? AND r.email <> p.email", (entity, entity)) == 0


def test_some_leads_are_converted_by_their_managers_keeping_their_newsletter_status(db):
    load_demo(db, contacts=CONTACTS, leads=2_000)
    def status(alias: str) -> str:
        return STATUS.replace("newsletter_opt_in", f"{alias}.newsletter_opt_in").replace(
            "last_mailed_at", f"{alias}.last_mailed_at")

    converted = db.fetch_all(
        "SELECT l.id, l.created_at, l.converted_at, l.converted_by, l.owner_id, "
        f"{status('l')} AS lead_status, {status('c')} AS contact_status, "
        "c.created_at AS contact_created, c.company_id, l.company_id AS lead_company "
        "FROM leads l JOIN contacts c ON c.id = l.contact_id WHERE l.converted_at IS NOT NULL")
    assert len(converted) == 20
    admin = db.scalar("SELECT id FROM users WHERE username = 'admin'")
    for lead in converted:
        assert lead["created_at"] < lead["converted_at"] <= ANCHOR
        # By the lead's manager, or (no manager, or an operator who may not convert) an admin.
        assert lead["converted_by"] in (lead["owner_id"], admin)
        assert lead["contact_status"] == lead["lead_status"]
        assert lead["company_id"] == lead["lead_company"]
    # Conversions are dated: the contacts they created were added when the lead converted.
    created = [c for c in converted if c["contact_created"] == c["converted_at"]]
    assert created and all(c["contact_created"] <= ANCHOR for c in converted)
    assert len({lead["converted_at"].strftime("%Y-%m") for lead in converted}) > 5
    assert db.scalar("SELECT count(*) FROM audit_log WHERE entity = 'lead' "
                     "AND action = 'convert' AND changed_at > ?", (ANCHOR,)) == 0


def test_contacts_belong_to_companies_of_their_department(db):
    load_demo(db, contacts=CONTACTS, leads=LEADS)
    assert db.scalar(
        "SELECT count(*) FROM contacts c LEFT JOIN companies co ON co.id = c.company_id "
        "WHERE co.id IS NULL OR co.department_id <> c.department_id "
        "OR co.country_code <> c.country_code") == 0
    companies = db.fetch_all("SELECT name, name_key, country_code FROM companies")
    assert all(company_name_key(c["name"]) == c["name_key"] for c in companies)
    assert len({(c["name_key"], c["country_code"]) for c in companies}) == len(companies)
    assert db.scalar("SELECT count(*) FROM companies WHERE country_code NOT IN "
                     "(SELECT code FROM countries)") == 0


@pytest.mark.parametrize("table", ["contacts", "leads", "companies"])
def test_owners_work_in_the_record_department(db, table):
    load_demo(db, contacts=CONTACTS, leads=LEADS)
    assert db.scalar(
        f"SELECT count(*) FROM {table} r JOIN users u ON u.id = r.owner_id "
        "WHERE u.department_id IS DISTINCT FROM r.department_id "
        "OR u.role NOT IN ('sales_manager', 'operator')") == 0
    assert db.scalar(f"SELECT count(*) FROM {table} WHERE owner_id IS NOT NULL AND owner_id "
                     "NOT IN (SELECT id FROM users)") == 0
    owned = db.scalar(f"SELECT count(*) FROM {table} WHERE owner_id IS NOT NULL")
    assert owned >= 0.9 * _count(db, table)


def test_role_users_exist_and_sign_in(db):
    load_demo(db, contacts=20, leads=20)
    labels = {role.label: role for role in Role}
    assert [name for name, _ in DEMO_SIGN_INS] == [
        "admin", "company.manager", "super.operator", "operator", "sales.manager", "analyst"]
    for username, label in DEMO_SIGN_INS:
        user = sign_in(db, username, DEMO_PASSWORD)
        assert user.username == username and user.role is labels[label]
    europe = db.scalar("SELECT id FROM departments WHERE name = 'Europe'")
    assert db.scalar("SELECT department_id FROM users WHERE username = 'operator'") == europe
    assert db.scalar("SELECT count(*) FROM users WHERE role = 'sales_manager'") >= 20
    assert db.scalar("SELECT count(*) FROM users WHERE email = '' OR NOT active") == 0
    # Every department has sales managers to own its records.
    assert db.scalar("SELECT count(*) FROM departments d WHERE NOT EXISTS (SELECT 1 FROM users "
                     "u WHERE u.department_id = d.id AND u.role = 'sales_manager')") == 0


def test_refuses_a_database_that_is_not_empty(db):
    load_demo(db, contacts=20, leads=20)
    with pytest.raises(DemoError, match="empty") as raised:
        load_demo(db, contacts=20, leads=20)
    assert "\n" not in str(raised.value)
    assert _count(db, "contacts") == 20


def test_refuses_when_only_users_exist(db):
    db.execute("INSERT INTO users (username, full_name, role, password_hash, created_at, "
               "updated_at) VALUES ('boss', 'The Boss', 'admin', 'x', ?, ?)",
               (datetime(2026, 1, 1), datetime(2026, 1, 1)))
    with pytest.raises(DemoError, match=r"already has 1 user\.$"):
        load_demo(db, contacts=20, leads=20)
    assert _count(db, "departments") == 0


def test_sequences_continue_after_the_demo_ids(db):
    load_demo(db, contacts=CONTACTS, leads=LEADS)
    stamp = datetime(2026, 11, 2)
    with db.transaction() as tx:
        department = tx.scalar("INSERT INTO departments (name, created_at) VALUES ('Nordics', ?) "
                               "RETURNING id", (stamp,))
        lead = tx.scalar("INSERT INTO leads (last_name, department_id, created_at, updated_at) "
                         "VALUES ('New', ?, ?, ?) RETURNING id", (department, stamp, stamp))
        company = tx.scalar(
            "INSERT INTO companies (name, name_key, department_id, created_at, updated_at) "
            "VALUES ('New Co', 'new co', ?, ?, ?) RETURNING id", (department, stamp, stamp))
        contact = tx.scalar(
            "INSERT INTO contacts (company_id, last_name, department_id, created_at, updated_at) "
            "VALUES (?, 'New', ?, ?, ?) RETURNING id", (company, department, stamp, stamp))
        event = tx.scalar(
            "INSERT INTO subscription_events (entity, entity_id, event, occurred_at) "
            "VALUES ('lead', ?, 'subscribed', ?) RETURNING id", (lead, stamp))
        user = tx.scalar(
            "INSERT INTO users (username, full_name, role, password_hash, created_at, "
            "updated_at) VALUES ('new.user', 'New User', 'admin', 'x', ?, ?) RETURNING id",
            (stamp, stamp))
    assert department == 6
    assert lead == LEADS + 1
    assert company == _count(db, "companies")
    assert contact == _count(db, "contacts")
    assert event == _count(db, "subscription_events")
    assert user == _count(db, "users")
    for table in ("leads", "contacts", "companies", "subscription_events", "users"):
        assert db.scalar(f"SELECT count(DISTINCT id) FROM {table}") == _count(db, table)


@pytest.mark.parametrize(("name", "key"), [
    ("Müller GmbH & Co. KG", "muller"),
    ("MULLER gmbh", "muller"),
    ("Smith & Co.", "smith"),
    ("Johnson and Johnson", "johnson and johnson"),
    ("Rossi S.p.A.", "rossi"),
    ("Acme Sp. z o.o.", "acme"),
    ("Tanaka Co., Ltd.", "tanaka"),
    ("Novo Nordisk A/S", "novo nordisk"),
    ("Koç Holding A.Ş.", "koc holding"),
    ("Łódź  Søren,  Ltd", "lodz soren"),
    ("Straße AG", "strasse"),
    ("Grupo Bimbo, S.A.B. de C.V.", "grupo bimbo"),
    ("Company", "company"),
    ("Ltd", "ltd"),
])
def test_company_name_key(name, key):
    assert company_name_key(name) == key


def test_servers_starting_together_load_the_demo_once(db, database_url):
    """Two loads at the same moment (two app servers' first start): one loads, the other
    finds the data there; with --if-empty that is no error."""
    from concurrent.futures import ThreadPoolExecutor

    def load() -> str:
        try:
            load_demo(db, contacts=20, leads=20)
        except DatabaseNotEmpty:
            return "not empty"
        return "loaded"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda _: load(), range(2)))
    assert outcomes == ["loaded", "not empty"]
    assert _count(db, "contacts") == 20


def test_demo_if_empty_does_nothing_on_a_database_with_data(db, database_url, capsys):
    from crm.cli import main

    load_demo(db, contacts=20, leads=20)
    assert main(["--db", database_url, "demo", "--if-empty", "--contacts", "5",
                 "--leads", "5"]) == 0
    assert capsys.readouterr().out == "demo data not loaded: the database already has data\n"
    assert _count(db, "contacts") == 20
