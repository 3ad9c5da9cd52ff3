"""A list read twice at one generation of the database runs its statements once; any change
committed anywhere (any service, any app server) moves the generation on, and the next read
sees it. Never an old count or page after a write, on both backends."""

from __future__ import annotations

import pytest

from crm.lists import listing
from crm.lists.listing import ListQuery
from crm.records import leads, tags
from crm.records.leads import LEADS
from crm.storage.db import _make, changes_data, connect, counted
from tests import factories


@pytest.fixture
def world(db):
    return factories.world(db)


def read(user, db, query: ListQuery) -> tuple[int, list[str], int]:
    """(total, the page's names, statements run) of one list read."""
    with counted() as stats:
        page = listing.fetch_page(user, db, LEADS, query)
    return page.total, list(page.rows["name"]), stats.queries


def test_a_list_read_again_at_one_generation_runs_nothing(db, world):
    me = world.users["sales_east"]
    first = read(me, db, ListQuery())
    assert first[2] == 2  # the count, then the page
    assert read(me, db, ListQuery()) == (*first[:2], 0)
    # Another sort: the page is read, the count is not (the same rows are counted).
    assert read(me, db, ListQuery(sort="name", descending=False))[2] == 1


def test_every_change_moves_the_generation_on_and_the_next_read_sees_it(db, world):
    me = world.users["sales_east"]
    total = read(me, db, ListQuery(sort="name", descending=False))[0]
    before = db.generation()
    leads.create_lead(me, db, {"first_name": "Aaron", "last_name": "Aardvark"})
    assert db.generation() != before
    after = read(me, db, ListQuery(sort="name", descending=False))
    assert after[0] == total + 1 and after[1][0] == "Aaron Aardvark" and after[2] == 2
    # A plain statement through the database counts too (a test, a migration, the CLI).
    generation = db.generation()
    db.execute("UPDATE leads SET last_name = 'Abbott' WHERE last_name = 'Aardvark'")
    assert db.generation() != generation
    assert read(me, db, ListQuery(sort="name", descending=False))[1][0] == "Aaron Abbott"


def test_reads_and_sign_in_bookkeeping_leave_the_generation_alone(db, world):
    generation = db.generation()
    db.fetch_all("SELECT * FROM leads")
    db.execute("UPDATE sessions SET last_seen_at = last_seen_at")
    with db.transaction() as tx:
        tx.scalar("SELECT count(*) FROM leads")
    assert db.generation() == generation


def test_a_unit_of_work_that_fails_leaves_the_generation_alone(db, world):
    generation = db.generation()
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.execute("DELETE FROM leads")
        raise RuntimeError("changed my mind")
    assert db.generation() == generation
    assert db.scalar("SELECT count(*) FROM leads") == 2


def test_another_app_server_sees_a_change_at_its_next_read(db, database_url, world):
    """Two app servers on one PostgreSQL: what one commits, the other's next read shows
    (the generation is a sequence both read). DuckDB has one process per file, and in it one
    Database per file, so its counter sees every change."""
    if db.dialect == "duckdb":
        assert connect(database_url) is db
        return
    other = _make(database_url)  # a second server's own connection pool and memory
    try:
        me = world.users["sales_east"]
        total = read(me, other, ListQuery())[0]
        assert read(me, other, ListQuery())[2] == 0  # remembered there
        leads.create_lead(me, db, {"last_name": "Fromtheotherserver"})
        assert read(me, other, ListQuery())[0] == total + 1
    finally:
        other.close()


def test_tag_counts_are_read_once_per_generation_and_a_tagging_shows_at_once(db, world):
    """The Contacts page draws the tag counts on every rerun: remembered, never stale."""
    me = world.users["sales_east"]
    tag = tags.create_tag(me, db, "Fair 2027")
    with counted() as stats:
        first = tags.tag_counts(me, db)
        again = tags.tag_counts(me, db)
    assert again == first and stats.queries == 1
    again[0]["contacts"] = 99  # a caller's copy: what is remembered stays as read
    assert tags.tag_counts(me, db) == first
    tags.add_tags(me, db, [tag], ids=[world.contacts["east_mine"]])
    counts = {r["name"]: r["contacts"] for r in tags.tag_counts(me, db)}
    assert counts["Fair 2027"] == 1
    # Another scope is another entry: the west manager does not see the east contact's tag.
    west = {r["name"]: r["contacts"] for r in tags.tag_counts(world.users["sales_west"], db)}
    assert west["Fair 2027"] == 0


@pytest.mark.parametrize(("sql", "changes"), [
    ("SELECT * FROM leads", False),
    ("SELECT id FROM leads WHERE updated_at > ? FOR UPDATE", False),  # a lock, no change
    ("INSERT INTO leads (id) VALUES (1)", True),
    ("WITH x AS (SELECT 1) UPDATE leads SET vip = TRUE", True),
    ("delete from contact_tags where contact_id = ?", True),
    ("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", False),
    ("INSERT INTO sign_in_attempts (username) VALUES (?)", False),
    ("CREATE TEMPORARY TABLE tmp_1 (id BIGINT)", True),
    ("SELECT updated_count, deleted_at FROM import_batches", False),
])
def test_which_statements_change_data(sql, changes):
    assert changes_data(sql) is changes
