"""The permission table, enforced: every role against every permission, on both backends.

For each (role, permission) the real service that does the action is called as that role's
user on a record of the east department (which each of those users reaches). What the table
allows succeeds and its effect is there; what it denies is refused with the table's own
sentence and writes nothing. Seeing is checked by taking it away; "export every contact in
scope" by granting it. Then: an admin's change takes effect when the user is next loaded, the
admin role cannot lose the right to manage, and whatever overrides are stored, what a loaded
user may do is the defaults with exactly those overrides applied.

The tests share one workspace per backend (and worker): a fresh database for each of the
~400 cases would cost most of a second apiece. Each case makes the records it acts on, and
every override is reset when a test ends.
"""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm import importing
from crm.access import Visibility, permissions, scope
from crm.access.permissions import DEFAULTS, PERMISSIONS, NotPermitted, Permission, can, refusal
from crm.access.users import create_department, get_user_by_id
from crm.analysis import segments
from crm.identity.entities import Action, Entity
from crm.identity.roles import Role
from crm.identity.user import User
from crm.importing import ImportOptions, read_table
from crm.lists.list_export import export
from crm.lists.listing import ListQuery, ListSpec
from crm.mailing.campaigns import create_mailing
from crm.mailing.recipients import Selection
from crm.pipeline import requests
from crm.pipeline.conversion import convert_lead
from crm.pipeline.request_import import import_requests, preview_requests
from crm.records import companies, contacts, leads, lookup, tags
from crm.records.editing import RowEdit
from crm.storage.db import Database
from crm.storage.store import close_store, open_store
from tests import factories
from tests.conftest import PG_BASE
from tests.factories import World

A, E = Action, Entity

# The world's user who plays each role; each of them reaches the east department.
ROLE_USER = {
    Role.SALES_MANAGER: "sales_east",
    Role.OPERATOR: "operator_east",
    Role.COMPANY_MANAGER: "company_manager",
    Role.SUPER_OPERATOR: "super_operator",
    Role.ANALYST: "analyst",
    Role.ADMIN: "admin",
}
assert set(ROLE_USER) == set(Role)

TABLES = {E.LEAD: "leads", E.CONTACT: "contacts", E.COMPANY: "companies",
          E.REQUEST: "requests", E.DEAL: "deals"}

# ------------------------------------------------------------------------ the workspace


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One workspace per backend for the whole module (see the module's docstring)."""
    if "workspace_backend" in metafunc.fixturenames:
        backends = [b.strip() for b in metafunc.config.getoption("backends").split(",") if b]
        metafunc.parametrize("workspace_backend", backends, scope="module")


@pytest.fixture(scope="module")
def workspace(workspace_backend: str,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, World]]:
    """factories.world, plus a request and a deal in east (so that seeing them shows)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = (f"duckdb:///{tmp_path_factory.mktemp('permissions')}/crm.duckdb"
           if workspace_backend == "duckdb" else f"{PG_BASE}?schema={schema}")
    db = open_store(url)
    try:
        w = factories.world(db)
        admin = w.users["admin"]
        request_id = requests.create_request(admin, db, enquiry("Dora", "Deal"),
                                             department_id=w.east)
        requests.create_deal(admin, db, request_id, {"name": "East deal"})
        yield db, w
    finally:
        close_store(url)
        if workspace_backend == "postgres":
            with psycopg.connect(PG_BASE, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def db(workspace: tuple[Database, World]) -> Iterator[Database]:
    """The module's shared workspace (not an empty database); overrides are reset after."""
    yield workspace[0]
    permissions.reset_defaults(None, workspace[0])


@pytest.fixture
def world(workspace: tuple[Database, World]) -> World:
    return workspace[1]


# ------------------------------------------------------------------------------ helpers

_serial = itertools.count(1)


def unique(word: str) -> str:
    """A name no other case in this workspace uses (imports and duplicates compare names)."""
    return f"{word}{next(_serial)}"


def enquiry(first: str, last: str) -> dict[str, str]:
    return {"first_name": first, "last_name": last, "email": f"{last.lower()}@ask.example",
            "company_name": f"{last} Pumps", "subject": "50 pumps",
            "message": "Please send an offer."}


def user_of(world: World, role: Role) -> User:
    return world.users[ROLE_USER[role]]


def reload(db: Database, user: User) -> User:
    """The user as the next request loads them (with the admin's overrides applied)."""
    found = get_user_by_id(db, user.id)
    assert found is not None
    return found


def row(db: Database, table: str, record_id: int) -> dict[str, Any]:
    return db.fetch_one(f"SELECT * FROM {table} WHERE id = ?", (record_id,))


def reach(db: Database, world: World, user: User, table: str) -> set[int]:
    """The ids of `table` the user reaches, said independently of crm.access: a sales
    manager's or operator's department, every department for the others."""
    if user.role in (Role.SALES_MANAGER, Role.OPERATOR):
        rows = db.fetch_all(f"SELECT id FROM {table} WHERE department_id = ?",
                            (user.department_id,))
    else:
        rows = db.fetch_all(f"SELECT id FROM {table}")
    return {r["id"] for r in rows}


FOOTPRINT = {
    **{f"{table} rows": f"SELECT count(*) FROM {table}" for table in (
        "audit_log", "leads", "contacts", "companies", "company_industries", "requests",
        "deals", "departments", "tags", "contact_tags", "lead_tags", "import_batches",
        "import_batch_items", "mailings", "mailing_recipients", "segments",
        "subscription_events", "role_permissions", "users")},
    **{f"{table} versions": f"SELECT coalesce(sum(row_version), 0) FROM {table}"
       for table in ("leads", "contacts", "companies", "requests", "deals")},
    "undone batches": "SELECT count(undone_at) FROM import_batches",
    "tag names": "SELECT string_agg(name, '|' ORDER BY id) FROM tags",
    "department names": "SELECT string_agg(name, '|' ORDER BY id) FROM departments",
}


def footprint(db: Database) -> dict[str, Any]:
    """Everything a refused action could have written: row counts, versions, names."""
    found = db.fetch_one("SELECT " + ", ".join(
        f"({sql}) AS f{i}" for i, sql in enumerate(FOOTPRINT.values())))
    return {name: found[f"f{i}"] for i, name in enumerate(FOOTPRINT)}


def exported_ids(user: User, db: Database, spec: ListSpec,
                 ids: list[int] | None = None) -> set[int]:
    """The IDs in the CSV export the user downloads."""
    target = io.BytesIO()
    count = export(user, db, spec, target, ids=ids, fmt="csv")
    found = [int(r["ID"]) for r in csv.DictReader(io.StringIO(target.getvalue().decode(
        "utf-8-sig")))]
    assert count == len(found)
    return set(found)


def import_file(user: User, db: Database, world: World, entity: str) -> importing.ImportResult:
    """One person imported into east through the import service (preview, then commit)."""
    name = unique("Port")
    text = f"Name,Email\nIma {name},{name.lower()}@import.example\n"
    if entity == "contact":
        text = (f"Name,Email,Company,Country\nIma {name},{name.lower()}@import.example,"
                "Eastwind GmbH,DE\n")
    table = read_table(text.encode(), "people.csv")
    mapping = importing.guess_mapping(entity, table.headers, table.frame)
    preview = importing.validate(user, db, entity, table, mapping,
                                 ImportOptions(department_id=world.east))
    return importing.commit(user, db, entity, preview)


def imported_id(db: Database, result: importing.ImportResult) -> int:
    [item] = db.fetch_all("SELECT entity_id FROM import_batch_items WHERE batch_id = ?",
                          (result.batch_id,))
    return item["entity_id"]


def east_lead(db: Database, world: World, **values) -> int:
    name = unique("Lead")
    return factories.lead(db, name, world.east, world.users["sales_east"], first_name="Lena",
                          email=f"{name.lower()}@lead.example",
                          company_name=f"{name} Lampen", **values)


def east_contact(db: Database, world: World, **values) -> int:
    name = unique("Contact")
    return factories.contact(db, name, world.companies["east"], world.east,
                             world.users["sales_east"], first_name="Cora",
                             email=f"{name.lower()}@contact.example", **values)


def east_request(db: Database, world: World) -> int:
    return requests.create_request(world.users["admin"], db, enquiry("Kai", unique("Kern")),
                                   department_id=world.east)


# ----------------------------------------------- preparing, performing, and the effect
#
# PREPARE makes what the action needs (as the admin, or directly), before anything is
# counted; PERFORM calls the real service as `user`; EFFECT checks what an allowed action did.

Made = dict[str, Any]

PREPARE: dict[tuple[Action, Entity], Callable[[Database, World], Made]] = {
    (A.ADD, E.LEAD): lambda db, w: {"name": unique("Added")},
    (A.ADD, E.CONTACT): lambda db, w: {"name": unique("Added")},
    (A.ADD, E.COMPANY): lambda db, w: {"name": f"{unique('Added')} GmbH"},
    (A.ADD, E.REQUEST): lambda db, w: {"name": unique("Asked")},
    (A.IMPORT, E.REQUEST): lambda db, w: {"name": unique("Quest")},
    (A.EDIT, E.LEAD): lambda db, w: {"id": east_lead(db, w)},
    (A.EDIT, E.CONTACT): lambda db, w: {"id": east_contact(db, w)},
    (A.EDIT, E.COMPANY): lambda db, w: {"id": factories.company(db, f"{unique('Edited')} AG",
                                                                w.east)},
    (A.EDIT, E.REQUEST): lambda db, w: {"id": east_request(db, w)},
    # An east colleague's batch (an admin's has its own test, at the end).
    (A.UNDO_IMPORT, E.LEAD): lambda db, w: {
        "result": import_file(w.users["sales_east_2"], db, w, "lead")},
    (A.UNDO_IMPORT, E.CONTACT): lambda db, w: {
        "result": import_file(w.users["sales_east_2"], db, w, "contact")},
    (A.CONVERT, E.LEAD): lambda db, w: {"id": east_lead(db, w)},
    (A.CONVERT, E.REQUEST): lambda db, w: {"id": east_request(db, w)},
    (A.VIP, E.LEAD): lambda db, w: {"id": east_lead(db, w)},
    (A.VIP, E.CONTACT): lambda db, w: {"id": east_contact(db, w)},
    (A.TAG, E.CONTACT): lambda db, w: {"id": east_contact(db, w), "tag": unique("Fair ")},
    (A.MAIL, E.LEAD): lambda db, w: {"id": east_lead(db, w)},
    (A.MAIL, E.CONTACT): lambda db, w: {"id": east_contact(db, w)},
    (A.SHARE, E.SEGMENT): lambda db, w: {"name": unique("Everyone's ")},
    (A.MANAGE, E.TAG): lambda db, w: {
        "id": tags.create_tag(w.users["admin"], db, unique("Old ")), "name": unique("New ")},
    (A.MANAGE, E.USER): lambda db, w: {"name": unique("North ")},
}


def edit(module, table: str) -> Callable[[User, Database, World, Made], int]:
    def perform(user: User, db: Database, world: World, made: Made) -> int:
        version = row(db, table, made["id"])["row_version"]  # what the user loaded
        return module.save_edits(user, db, [RowEdit(made["id"], version, {"city": "Potsdam"})])
    return perform


def edit_company(user: User, db: Database, world: World, made: Made) -> None:
    version = row(db, "companies", made["id"])["row_version"]
    companies.save_company(user, db, RowEdit(made["id"], version, {"city": "Potsdam"}), [])


def tag_contact(user: User, db: Database, world: World, made: Made) -> int:
    tag_id = tags.create_tag(user, db, made["tag"])
    return tags.add_tags(user, db, [tag_id], ids=[made["id"]])


def import_requests_file(user: User, db: Database, world: World, made: Made) -> int:
    name = made["name"]
    data = f"Name,Email,Subject\nRe {name},{name.lower()}@ask.example,Pumps\n".encode()
    preview = preview_requests(user, db, data, "requests.csv", department_id=world.east)
    assert preview.problems == []
    return import_requests(user, db, preview, department_id=world.east)


PERFORM: dict[tuple[Action, Entity], Callable[[User, Database, World, Made], Any]] = {
    (A.ADD, E.LEAD): lambda user, db, w, made: leads.create_lead(
        user, db, {"first_name": "Ada", "last_name": made["name"]}, department_id=w.east),
    (A.ADD, E.CONTACT): lambda user, db, w, made: contacts.create_contact(
        user, db, {"first_name": "Ada", "last_name": made["name"],
                   "company_id": w.companies["east"]}),
    (A.ADD, E.COMPANY): lambda user, db, w, made: companies.create_company(
        user, db, {"name": made["name"], "country_code": "DE"}, department_id=w.east),
    (A.ADD, E.REQUEST): lambda user, db, w, made: requests.create_request(
        user, db, enquiry("Ada", made["name"]), department_id=w.east),
    (A.EDIT, E.LEAD): edit(leads, "leads"),
    (A.EDIT, E.CONTACT): edit(contacts, "contacts"),
    (A.EDIT, E.COMPANY): edit_company,
    (A.EDIT, E.REQUEST): lambda user, db, w, made: requests.dismiss(user, db, ids=[made["id"]]),
    (A.IMPORT, E.LEAD): lambda user, db, w, made: import_file(user, db, w, "lead"),
    (A.IMPORT, E.CONTACT): lambda user, db, w, made: import_file(user, db, w, "contact"),
    (A.IMPORT, E.REQUEST): import_requests_file,
    (A.UNDO_IMPORT, E.LEAD): lambda user, db, w, made: importing.undo_batch(
        user, db, made["result"].batch_id),
    (A.UNDO_IMPORT, E.CONTACT): lambda user, db, w, made: importing.undo_batch(
        user, db, made["result"].batch_id),
    (A.CONVERT, E.LEAD): lambda user, db, w, made: convert_lead(user, db, made["id"]),
    (A.CONVERT, E.REQUEST): lambda user, db, w, made: requests.create_deal(
        user, db, made["id"], {"name": "Pumps"}),
    (A.EXPORT, E.LEAD): lambda user, db, w, made: exported_ids(
        user, db, leads.LEADS, [w.leads["east"]]),
    (A.EXPORT, E.CONTACT): lambda user, db, w, made: exported_ids(
        user, db, contacts.CONTACTS,
        [w.contacts["east_mine"], w.contacts["east_other"]]),
    (A.EXPORT, E.COMPANY): lambda user, db, w, made: exported_ids(
        user, db, companies.COMPANIES, [w.companies["east"]]),
    (A.VIP, E.LEAD): lambda user, db, w, made: leads.set_vip(user, db, True, ids=[made["id"]]),
    (A.VIP, E.CONTACT): lambda user, db, w, made: contacts.set_vip(user, db, True,
                                                                   ids=[made["id"]]),
    (A.TAG, E.CONTACT): tag_contact,
    (A.MAIL, E.LEAD): lambda user, db, w, made: create_mailing(
        user, db, Selection(E.LEAD, ids=(made["id"],)), subject="News", body="Hi {first_name}"),
    (A.MAIL, E.CONTACT): lambda user, db, w, made: create_mailing(
        user, db, Selection(E.CONTACT, ids=(made["id"],)), subject="News",
        body="Hi {first_name}"),
    (A.SHARE, E.SEGMENT): lambda user, db, w, made: segments.save_segment(
        user, db, E.CONTACT, made["name"], ListQuery(), Visibility.COMPANY),
    (A.MANAGE, E.TAG): lambda user, db, w, made: tags.rename_tag(user, db, made["id"],
                                                                 made["name"]),
    (A.MANAGE, E.USER): lambda user, db, w, made: create_department(user, db, made["name"]),
}


def added(table: str, **expected):
    """The new record (the service returned its id) is in east, made by the user."""
    def check(user: User, db: Database, w: World, made: Made, new_id: int) -> None:
        found = row(db, table, new_id)
        assert (found["department_id"], found["created_by"]) == (w.east, user.id)
        assert {k: found[k] for k in expected} == expected
    return check


def edited(table: str, returns: int | None = 1):
    """`returns`: what the service says (save_edits: how many it changed; the form: None)."""
    def check(user: User, db: Database, w: World, made: Made, changed: int | None) -> None:
        found = row(db, table, made["id"])
        assert changed == returns
        assert (found["city"], found["modified_by"], found["row_version"]) == (
            "Potsdam", user.id, 2)
    return check


def imported(table: str):
    def check(user: User, db: Database, w: World, made: Made,
              result: importing.ImportResult) -> None:
        assert (result.created, result.updated, result.skipped, result.rejected) == (1, 0, 0, 0)
        found = row(db, table, imported_id(db, result))
        assert (found["department_id"], found["created_by"]) == (w.east, user.id)
        if table == "contacts":  # at the east company the file names
            assert (found["company_id"], result.new_companies) == (w.companies["east"], 0)
    return check


def dismissed(user: User, db: Database, w: World, made: Made, count: int) -> None:
    found = row(db, "requests", made["id"])
    assert (count, found["status"], found["modified_by"]) == (1, "dismissed", user.id)


def requests_imported(user: User, db: Database, w: World, made: Made, count: int) -> None:
    newest = db.fetch_one("SELECT department_id, channel, created_by, last_name FROM requests "
                          "ORDER BY id DESC LIMIT 1")
    assert count == 1
    assert newest == {"department_id": w.east, "channel": "import", "created_by": user.id,
                      "last_name": made["name"]}


def undone(table: str):
    def check(user: User, db: Database, w: World, made: Made, result) -> None:
        batch = made["result"].batch_id
        assert (result.removed, result.restored, result.kept) == (1, 0, {})
        assert db.scalar(f"SELECT count(*) FROM {table} WHERE id IN (SELECT entity_id FROM "
                         "import_batch_items WHERE batch_id = ?)", (batch,)) == 0
        assert row(db, "import_batches", batch)["undone_by"] == user.id
    return check


def converted(user: User, db: Database, w: World, made: Made, done) -> None:
    lead = row(db, "leads", made["id"])
    assert lead["converted_by"] == user.id and lead["converted_at"] is not None
    contact = row(db, "contacts", done.contact_id)
    assert (contact["department_id"], contact["company_id"], contact["last_name"]) == (
        w.east, done.company_id, lead["last_name"])
    assert done.company_created and done.contact_created


def made_deal(user: User, db: Database, w: World, made: Made, done) -> None:
    request = row(db, "requests", made["id"])
    assert (request["status"], request["deal_id"]) == ("deal", done.deal_id)
    deal = row(db, "deals", done.deal_id)
    assert (deal["name"], deal["department_id"], deal["created_by"]) == ("Pumps", w.east,
                                                                          user.id)


def exported_as_table_says(entity: Entity):
    def check(user: User, db: Database, w: World, made: Made, ids: set[int]) -> None:
        if entity is E.CONTACT:  # only the contacts assigned to the user (nobody has EXPORT_ALL)
            mine = {w.contacts["east_mine"]} if user.id == w.users["sales_east"].id else set()
            assert ids == mine
        else:
            assert ids == {w.leads["east"] if entity is E.LEAD else w.companies["east"]}
    return check


def made_vip(table: str):
    def check(user: User, db: Database, w: World, made: Made, result) -> None:
        assert (result.changed, result.unchanged, result.skipped_read_only) == (1, 0, 0)
        found = row(db, table, made["id"])
        assert (found["vip"], found["modified_by"]) == (True, user.id)
    return check


def tagged(user: User, db: Database, w: World, made: Made, new_taggings: int) -> None:
    assert new_taggings == 1
    assert [r["name"] for r in db.fetch_all(
        "SELECT t.name FROM contact_tags x JOIN tags t ON t.id = x.tag_id "
        "WHERE x.contact_id = ?", (made["id"],))] == [made["tag"]]


def mailed(entity: Entity):
    def check(user: User, db: Database, w: World, made: Made, mailing_id: int) -> None:
        mailing = row(db, "mailings", mailing_id)
        assert (mailing["status"], mailing["entity"], mailing["created_by"],
                mailing["department_id"]) == ("draft", entity.value, user.id, w.east)
        assert [(r["entity"], r["entity_id"]) for r in db.fetch_all(
            "SELECT entity, entity_id FROM mailing_recipients WHERE mailing_id = ?",
            (mailing_id,))] == [(entity.value, made["id"])]
    return check


def shared(user: User, db: Database, w: World, made: Made, segment_id: int) -> None:
    segment = row(db, "segments", segment_id)
    assert (segment["name"], segment["owner_id"], segment["visibility"]) == (
        made["name"], user.id, "company")
    assert segments.get_segment(w.users["sales_west"], db, segment_id) is not None


def renamed(user: User, db: Database, w: World, made: Made, result: None) -> None:
    assert db.scalar("SELECT name FROM tags WHERE id = ?", (made["id"],)) == made["name"]


def department_made(user: User, db: Database, w: World, made: Made, new_id: int) -> None:
    assert db.scalar("SELECT name FROM departments WHERE id = ?", (new_id,)) == made["name"]


EFFECT: dict[tuple[Action, Entity], Callable[[User, Database, World, Made, Any], None]] = {
    (A.ADD, E.LEAD): added("leads", first_name="Ada"),
    (A.ADD, E.CONTACT): added("contacts", first_name="Ada"),
    (A.ADD, E.COMPANY): added("companies", country_code="DE"),
    (A.ADD, E.REQUEST): added("requests", status="new", channel="manual"),
    (A.EDIT, E.LEAD): edited("leads"),
    (A.EDIT, E.CONTACT): edited("contacts"),
    (A.EDIT, E.COMPANY): edited("companies", returns=None),
    (A.EDIT, E.REQUEST): dismissed,
    (A.IMPORT, E.LEAD): imported("leads"),
    (A.IMPORT, E.CONTACT): imported("contacts"),
    (A.IMPORT, E.REQUEST): requests_imported,
    (A.UNDO_IMPORT, E.LEAD): undone("leads"),
    (A.UNDO_IMPORT, E.CONTACT): undone("contacts"),
    (A.CONVERT, E.LEAD): converted,
    (A.CONVERT, E.REQUEST): made_deal,
    (A.EXPORT, E.LEAD): exported_as_table_says(E.LEAD),
    (A.EXPORT, E.CONTACT): exported_as_table_says(E.CONTACT),
    (A.EXPORT, E.COMPANY): exported_as_table_says(E.COMPANY),
    (A.VIP, E.LEAD): made_vip("leads"),
    (A.VIP, E.CONTACT): made_vip("contacts"),
    (A.TAG, E.CONTACT): tagged,
    (A.MAIL, E.LEAD): mailed(E.LEAD),
    (A.MAIL, E.CONTACT): mailed(E.CONTACT),
    (A.SHARE, E.SEGMENT): shared,
    (A.MANAGE, E.TAG): renamed,
    (A.MANAGE, E.USER): department_made,
}

# Seeing and "export every contact" have tests of their own (below).
ACTED = [p for p in PERMISSIONS if p.action not in (A.VIEW, A.EXPORT_ALL)]


def cases(chosen: list[Permission]) -> list:
    return [pytest.param(role, p, id=f"{role}-{p.action}-{p.entity}")
            for role in Role for p in chosen]


def test_every_permission_of_the_table_has_a_service_to_try():
    assert set(PERFORM) == set(EFFECT) == {p.key for p in ACTED}
    assert set(PREPARE) <= set(PERFORM)


# ------------------------------------------------------------ every role, every action


@pytest.mark.parametrize(("role", "perm"), cases(ACTED))
def test_the_service_does_what_the_table_says(db, world, role, perm):
    user = user_of(world, role)
    made = PREPARE.get(perm.key, lambda db, w: {})(db, world)
    before = footprint(db)
    if perm.key in DEFAULTS[role]:
        result = PERFORM[perm.key](user, db, world, made)
        EFFECT[perm.key](user, db, world, made, result)
    else:
        with pytest.raises(NotPermitted) as refused:
            PERFORM[perm.key](user, db, world, made)
        assert str(refused.value) == refusal(user, perm.action, perm.entity)
        assert footprint(db) == before


@pytest.mark.parametrize(("role", "perm"), cases([p for p in PERMISSIONS
                                                  if p.action is A.VIEW]))
def test_seeing_is_as_the_table_says_until_an_admin_takes_it_away(db, world, role, perm):
    user, entity, table = user_of(world, role), perm.entity, TABLES[perm.entity]
    east_record = min(reach(db, world, world.users["sales_east"], table))
    assert perm.key in DEFAULTS[role]  # every role sees every kind of record by default
    assert scope(user, entity).sql != "FALSE"
    assert lookup.count(user, db, entity) == len(reach(db, world, user, table)) > 0
    assert lookup.find(user, db, entity, east_record)["id"] == east_record

    assert permissions.set_allowed(None, db, role, A.VIEW, entity, False)
    blind = reload(db, user)
    assert not can(blind, A.VIEW, entity)
    assert scope(blind, entity).sql == "FALSE"
    assert lookup.count(blind, db, entity) == 0
    assert lookup.find(blind, db, entity, east_record) is None
    for other, other_table in TABLES.items():  # only that kind went out of sight
        if other is not entity:
            assert lookup.count(blind, db, other) == len(reach(db, world, user, other_table))


@pytest.mark.parametrize("role", list(Role))
def test_every_contact_is_exported_only_once_an_admin_grants_it(db, world, role):
    user = user_of(world, role)
    seen = reach(db, world, user, "contacts")
    mine = {r["id"] for r in db.fetch_all("SELECT id FROM contacts WHERE owner_id = ?",
                                          (user.id,))} & seen
    assert (A.EXPORT_ALL, E.CONTACT) not in DEFAULTS[role]
    assert exported_ids(user, db, contacts.CONTACTS) == mine
    assert seen - mine  # someone else's contact: the grant must make a difference

    assert permissions.set_allowed(None, db, role, A.EXPORT_ALL, E.CONTACT, True)
    widened = reload(db, user)
    assert exported_ids(widened, db, contacts.CONTACTS) == seen
    assert exported_ids(user, db, contacts.CONTACTS) == mine


# ------------------------------------------------------------------ an admin's changes


def permission_audit(db: Database, since: int) -> list[tuple]:
    return [(r["user_id"], r["action"], r["field"], r["old_value"], r["new_value"])
            for r in db.fetch_all(
                "SELECT user_id, action, field, old_value, new_value FROM audit_log "
                "WHERE entity = 'permission' AND id > ? ORDER BY id", (since,))]


def test_an_admins_change_takes_effect_when_the_user_is_next_loaded(db, world):
    admin, sales, operator = (world.users[k] for k in ("admin", "sales_east", "operator_east"))
    start = db.scalar("SELECT coalesce(max(id), 0) FROM audit_log")
    lead_id = east_lead(db, world)

    assert permissions.set_allowed(admin, db, Role.SALES_MANAGER, A.CONVERT, E.LEAD, False)
    assert can(sales, A.CONVERT, E.LEAD)  # as loaded before the change
    sales_now = reload(db, sales)
    with pytest.raises(NotPermitted) as refused:
        convert_lead(sales_now, db, lead_id)
    assert str(refused.value) == "Your role (Sales manager) may not convert leads."
    assert row(db, "leads", lead_id)["converted_at"] is None

    assert permissions.set_allowed(admin, db, Role.OPERATOR, A.CONVERT, E.LEAD, True)
    assert not permissions.set_allowed(admin, db, Role.OPERATOR, A.CONVERT, E.LEAD, True)
    done = convert_lead(reload(db, operator), db, lead_id)
    assert row(db, "leads", lead_id)["converted_by"] == operator.id and done.contact_created
    assert [(r["role"], r["action"], r["entity"], r["allowed"], r["changed_by"])
            for r in permissions.changed(db)] == [
        ("operator", "convert", "lead", True, "admin"),
        ("sales_manager", "convert", "lead", False, "admin")]

    assert permissions.reset_defaults(admin, db) == 2
    assert permissions.table(db) == DEFAULTS
    assert can(reload(db, sales), A.CONVERT, E.LEAD)
    assert not can(reload(db, operator), A.CONVERT, E.LEAD)
    audited = permission_audit(db, start)
    assert audited[:2] == [
        (admin.id, "revoke", "sales_manager:convert:lead", "True", "False"),
        (admin.id, "grant", "operator:convert:lead", "False", "True"),
    ]
    assert sorted(audited[2:]) == [  # the reset, in no particular order
        (admin.id, "grant", "sales_manager:convert:lead", "False", "True"),
        (admin.id, "revoke", "operator:convert:lead", "True", "False"),
    ]


def test_the_admin_role_keeps_managing_and_only_admins_change_the_table(db, world):
    admin = world.users["admin"]
    before = footprint(db)
    for actor in (admin, None):  # None: the command line
        with pytest.raises(NotPermitted) as refused:
            permissions.set_allowed(actor, db, Role.ADMIN, A.MANAGE, E.USER, False)
        assert isinstance(refused.value, ValueError)
        assert str(refused.value) == ("The admin role keeps the right to manage users and "
                                      "permissions; otherwise nobody could give it back.")
    with pytest.raises(NotPermitted):  # nor in company with a change that could be made
        permissions.set_many(admin, db, {(Role.OPERATOR, A.CONVERT, E.LEAD): True,
                                         (Role.ADMIN, A.MANAGE, E.USER): False})
    for key in ("sales_east", "operator_east", "company_manager", "super_operator",
                "analyst"):
        user = world.users[key]
        for attempt in (
                lambda u: permissions.set_allowed(u, db, Role.OPERATOR, A.CONVERT, E.LEAD, True),
                lambda u: permissions.set_many(u, db, {(u.role, A.MANAGE, E.USER): True}),
                lambda u: permissions.reset_defaults(u, db)):
            with pytest.raises(NotPermitted) as refused:
                attempt(user)
            assert str(refused.value) == refusal(user, A.MANAGE, E.USER)
    assert footprint(db) == before
    assert permissions.table(db) == DEFAULTS


# --------------------------------------------- whatever is stored, users load exactly it

TRIPLES = [(role, *p.key) for role in Role for p in PERMISSIONS
           if (role, *p.key) != (Role.ADMIN, A.MANAGE, E.USER)]


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wanted=st.dictionaries(st.sampled_from(TRIPLES), st.booleans(), max_size=15))
def test_a_loaded_user_may_do_the_defaults_with_exactly_the_overrides_applied(db, world,
                                                                              wanted):
    permissions.reset_defaults(None, db)
    overridden = {(role, action, entity) for (role, action, entity), allowed in wanted.items()
                  if ((action, entity) in DEFAULTS[role]) != allowed}
    assert permissions.set_many(world.users["admin"], db, wanted) == len(overridden)
    assert {(Role(r["role"]), Action(r["action"]), Entity(r["entity"]))
            for r in permissions.changed(db)} == overridden
    table = permissions.table(db)
    for role in Role:
        user = reload(db, user_of(world, role))
        assert user.grants == table[role]
        for p in PERMISSIONS:
            default = p.key in DEFAULTS[role]
            assert can(user, p.action, p.entity) == (default != ((role, *p.key) in overridden))


# ----------------------------------------------------------- per kind, and per department


def test_a_draft_is_changed_and_sent_as_the_table_says_for_its_kind_of_recipient(db, world):
    """Mailing leads and mailing contacts are two rows of the table: a draft to contacts is
    changed or offered for sending only to a role that may mail contacts."""
    from crm.mailing.campaigns import delete_draft, get_mailing, update_draft

    contact = east_contact(db, world)
    sales = world.users["sales_east"]
    draft = create_mailing(sales, db, Selection(E.CONTACT, ids=(contact,)), subject="News",
                           body="Hi {first_name}")
    permissions.set_allowed(None, db, Role.SALES_MANAGER, A.MAIL, E.CONTACT, False)
    sales = reload(db, sales)
    assert can(sales, A.MAIL, E.LEAD) and not can(sales, A.MAIL, E.CONTACT)
    assert get_mailing(sales, db, draft).may_send is False
    refused = "Your role (Sales manager) may not create and send mass mailings to contacts."
    with pytest.raises(NotPermitted, match=f"^{refused}$".replace("(", r"\(").replace(")", r"\)")):
        update_draft(sales, db, draft, name="Changed", subject="Changed", body="Hi")
    with pytest.raises(NotPermitted):
        delete_draft(sales, db, draft)
    assert row(db, "mailings", draft)["subject"] == "News"

    permissions.set_allowed(None, db, Role.OPERATOR, A.MAIL, E.CONTACT, True)
    operator = reload(db, world.users["operator_east"])
    own = create_mailing(operator, db, Selection(E.CONTACT, ids=(contact,)), subject="Ops",
                         body="Hi")
    assert get_mailing(operator, db, own).may_send is True
    update_draft(operator, db, own, name="Ops 2", subject="Ops 2", body="Hi")
    assert row(db, "mailings", own)["subject"] == "Ops 2"


def test_an_admins_import_into_a_department_is_undone_by_that_departments_staff(db, world):
    """An admin has no department: the batch belongs to the department its rows went to,
    so the people of that department see it and may undo it (the table lets them)."""
    result = import_file(world.users["admin"], db, world, "lead")
    assert row(db, "import_batches", result.batch_id)["department_id"] == world.east
    done = importing.undo_batch(world.users["operator_east"], db, result.batch_id)
    assert done.removed == 1
    with pytest.raises(importing.UndoRefused, match="does not exist"):
        importing.undo_batch(world.users["sales_west"], db, import_file(
            world.users["admin"], db, world, "lead").batch_id)
