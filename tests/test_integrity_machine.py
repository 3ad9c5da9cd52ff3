"""Random sequences of the real services, by users of every role, checked against a model.

A Hypothesis state machine adds, loads and edits records (with the version each user saw, so
often a stale one), sets VIP on checked rows, imports files (create, update, skip), undoes
imports, converts leads, unsubscribes people by their link and on request, subscribes them
again, tags contacts and sends mailings to the outbox. After every step it checks:

- no change was written over a version the actor did not see, and a refused action wrote
  nothing at all;
- every field that changed has an audit entry written in that step, with its new value, and
  every record whose version moved has one too;
- after an undo every field the import wrote is back (on the records undo did not keep), or
  the undo was refused and changed nothing; subscription state is never touched by an undo;
- no mailing reached an address on the suppression list, and everyone holding a suppressed
  address is unsubscribed;
- no reference points to a record that does not exist;
- every list, count, export plan and ID look-up stays inside the actor's scope;
- each person's stored newsletter status agrees with their history.
"""

from __future__ import annotations

import io
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import openpyxl
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from crm import importing
from crm.access import Entity, sees_all_departments
from crm.lists import list_export, listing
from crm.lists.listing import ListQuery
from crm.mailing import campaigns, sending, subscriptions, tokens
from crm.mailing.recipients import Selection
from crm.pipeline import conversion
from crm.records import contacts, leads, lookup, tags
from crm.records.contacts import CONTACTS
from crm.records.editing import EditRejected, RowEdit
from crm.records.leads import LEADS
from tests import factories
from tests.mailing_fixtures import subscribe

CITIES = ("Graz", "Linz", "Bonn", "Ulm")
# A small pool of addresses, so imports match, edits collide and unsubscribes are shared.
ADDRESSES = tuple(f"p{i}@example.com" for i in range(8))
OUTCOMES: dict[str, int] = {}  # how often each rule did what (printed with -s)
REFUSALS = (EditRejected, ValueError, PermissionError, importing.ImportRefused,
            importing.UndoRefused)
DATA_TABLES = ("audit_log", "subscription_events", "mailing_recipients", "mailings",
               "import_batch_items", "import_batch_companies", "import_batches",
               "suppressions", "contact_tags", "lead_tags", "company_industries", "deals",
               "requests", "leads", "contacts", "companies", "tags", "sign_in_attempts",
               "users", "departments")
# What a snapshot compares: everything a person or company is, not the bookkeeping.
IGNORED = {"updated_at", "modified_by", "row_version", "search_text", "name_key",
           "created_by", "created_at"}


@dataclass
class Batch:
    id: int
    entity: Entity
    created: list[int]
    wrote: dict[int, dict[str, str | None]]  # record -> field -> value before the import
    undone: bool = False


@dataclass
class Model:
    seen: dict[tuple[str, Entity, int], int] = field(default_factory=dict)  # user -> version
    batches: list[Batch] = field(default_factory=list)


def _sheet(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _snapshot(db) -> dict[tuple[Entity, int], dict[str, Any]]:
    """Every lead, contact and company with its fields, its tags and its version."""
    found: dict[tuple[Entity, int], dict[str, Any]] = {}
    for entity, table in ((Entity.LEAD, "leads"), (Entity.CONTACT, "contacts"),
                          (Entity.COMPANY, "companies")):
        for row in db.fetch_all(f"SELECT * FROM {table}"):
            found[(entity, row["id"])] = row
    for entity, table, column in ((Entity.LEAD, "lead_tags", "lead_id"),
                                  (Entity.CONTACT, "contact_tags", "contact_id")):
        for row in db.fetch_all(f"SELECT {column} AS id, tag_id FROM {table} ORDER BY tag_id"):
            found[(entity, row["id"])].setdefault("tags", []).append(row["tag_id"])
    return found


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@pytest.fixture
def machine_db(db, mail_env, monkeypatch):
    monkeypatch.setenv("CRM_BCRYPT_ROUNDS", "4")
    return db


def test_the_promises_hold_under_random_sequences_of_the_real_services(machine_db, backend):
    db = machine_db

    class Workspace(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            for table in DATA_TABLES:  # one by one: DuckDB checks foreign keys per statement
                db.execute(f"DELETE FROM {table}")
            self.w = factories.world(db)
            for entity, ids in ((Entity.LEAD, self.w.leads), (Entity.CONTACT, self.w.contacts)):
                for record_id in ids.values():  # the event the app writes with a person
                    subscribe(db, entity, record_id)
            self.users = self.w.users
            self.model = Model()
            self.tag = db.scalar("INSERT INTO tags (name) VALUES ('Fair') RETURNING id")
            for n, address in enumerate(ADDRESSES[:4]):
                self._new_person(self.users["sales_east"], Entity.CONTACT if n % 2 else
                                 Entity.LEAD, address, n)
            self.before = _snapshot(db)
            self.audit_mark = self._audit_mark()

        # ------------------------------------------------------------ helpers

        def _audit_mark(self) -> int:
            return int(db.scalar("SELECT coalesce(max(id), 0) FROM audit_log"))

        def _new_person(self, user, entity: Entity, email: str, n: int) -> int | None:
            values = {"first_name": f"P{n}", "last_name": f"Person{n}", "email": email}
            try:
                if entity is Entity.LEAD:
                    return leads.create_lead(user, db, {**values, "company_name": f"Firm {n}"},
                                             department_id=self.w.east)
                company = self.w.companies["east" if user.department_id != self.w.west
                                           else "west"]
                return contacts.create_contact(user, db, {**values, "company_id": company},
                                               department_id=self.w.east)
            except REFUSALS:
                return None

        def _people(self, entity: Entity) -> list[dict]:
            table = "leads" if entity is Entity.LEAD else "contacts"
            return db.fetch_all(f"SELECT * FROM {table} ORDER BY id")

        def _pick_person(self, data, entity: Entity | None = None) -> dict | None:
            entity = entity or data.draw(st.sampled_from([Entity.LEAD, Entity.CONTACT]))
            people = self._people(entity)
            if not people:
                return None
            row = data.draw(st.sampled_from(people))
            return {**row, "entity": entity}

        def _user(self, data):
            return self.users[data.draw(st.sampled_from(sorted(self.users)))]

        def _note(self, outcome: str) -> None:
            OUTCOMES[outcome] = OUTCOMES.get(outcome, 0) + 1

        def _unchanged(self) -> None:
            """A refused action wrote nothing."""
            self._note(f"{sys._getframe(1).f_code.co_name} refused")
            assert _snapshot(db) == self.before
            assert self._audit_mark() == self.audit_mark

        # ------------------------------------------------------------ rules

        @rule(data=st.data(), entity=st.sampled_from([Entity.LEAD, Entity.CONTACT]),
              address=st.sampled_from(ADDRESSES))
        def add(self, data, entity, address):
            user = self._user(data)
            self._new_person(user, entity, address, data.draw(st.integers(10, 99)))

        @rule(data=st.data())
        def load(self, data):
            """The user opens a record: its version is the one their next save is based on."""
            user, person = self._user(data), self._pick_person(data)
            if person is None:
                return
            found = lookup.find(user, db, person["entity"], person["id"])
            if found is not None:
                self.model.seen[(user.username, person["entity"], person["id"])] = \
                    found["row_version"]

        def _version_seen(self, data, user, entity: Entity, row: dict) -> int:
            """What the user's screen shows: the version they loaded (if they did), or the
            current one, or one from before the last change (a page opened earlier)."""
            remembered = self.model.seen.get((user.username, entity, row["id"]))
            choices = [row["row_version"], max(1, row["row_version"] - 1)]
            if remembered is not None:
                choices.append(remembered)
            return data.draw(st.sampled_from(choices))

        @rule(data=st.data(), city=st.sampled_from(CITIES),
              email=st.sampled_from((None, *ADDRESSES)))
        def edit(self, data, city, email):
            user, person = self._user(data), self._pick_person(data)
            if person is None:
                return
            entity, record_id = person["entity"], person["id"]
            version = self._version_seen(data, user, entity, person)
            changes = {"city": city, **({"email": email} if email else {})}
            service = leads if entity is Entity.LEAD else contacts
            try:
                service.save_edits(user, db, [RowEdit(record_id, version, changes)])
            except REFUSALS:
                self._unchanged()
                return
            # Saved: only over the very version this user saw.
            assert person["row_version"] == version
            self.model.seen[(user.username, entity, record_id)] = version + 1
            self._note("edit saved")

        @rule(data=st.data(), vip=st.booleans())
        def bulk_vip(self, data, vip):
            user = self._user(data)
            people = self._people(Entity.LEAD)
            if not people:
                return
            chosen = data.draw(st.lists(st.sampled_from(people), min_size=1, max_size=3,
                                        unique_by=lambda r: r["id"]))
            seen = {r["id"]: self._version_seen(data, user, Entity.LEAD, r) for r in chosen}
            try:
                leads.set_vip(user, db, vip, ids=list(seen), versions=seen)
            except REFUSALS:
                self._unchanged()
                return
            for row in chosen:  # nothing moved since this user saw them
                assert row["row_version"] == seen[row["id"]] or lookup.find(
                    user, db, Entity.LEAD, row["id"]) is None
            self._note("bulk VIP done")

        @rule(data=st.data(), entity=st.sampled_from([Entity.LEAD, Entity.CONTACT]),
              on_duplicate=st.sampled_from(importing.ON_DUPLICATE),
              stale=st.booleans())
        def import_file(self, data, entity, on_duplicate, stale):
            user = self._user(data)
            rows = data.draw(st.lists(st.tuples(
                st.sampled_from(ADDRESSES), st.sampled_from(("", *CITIES)),
                st.sampled_from(("", "yes", "no")), st.sampled_from(("", "yes", "no"))),
                min_size=1, max_size=4, unique_by=lambda r: r[0]))
            owner = "sales.east" if sees_all_departments(user) else ""
            header = ["First name", "Last name", "Email", "City", "Newsletter", "VIP",
                      "Assigned manager"]
            body = [[f"I{n}", f"Imported{n}", *row, owner] for n, row in enumerate(rows)]
            if entity is Entity.CONTACT:
                header.append("Company")
                body = [[*r, "Eastwind GmbH"] for r in body]
            table = importing.read_table(_sheet([header, *body]), "random.xlsx")
            try:
                preview = importing.validate(user, db, entity, table,
                                             importing.guess_mapping(entity, table.headers))
            except REFUSALS:
                self._unchanged()
                return
            if stale and preview.matches:
                # Someone edits a matched record between the preview and the commit.
                match = next(iter(preview.matches.values()))
                service = leads if entity is Entity.LEAD else contacts
                with suppress(*REFUSALS):
                    service.save_edits(self.users["admin"], db, [RowEdit(
                        match.record_id, match.version, {"city": "Wien"})])
                self.before, self.audit_mark = _snapshot(db), self._audit_mark()
            try:
                result = importing.commit(user, db, entity, preview, on_duplicate=on_duplicate,
                                          skip_invalid=True)
            except REFUSALS as refused:
                self._note(f"import refused: {str(refused)[:60]}")
                self._unchanged()
                return
            wrote: dict[int, dict[str, str | None]] = {}
            for row in db.fetch_all(
                    "SELECT entity_id, field, old_value FROM audit_log WHERE batch_id = ? "
                    "AND action = 'update' AND field NOT IN ('newsletter_opt_in', "
                    "'unsubscribed_at')", (result.batch_id,)):
                wrote.setdefault(row["entity_id"], {}).setdefault(row["field"],
                                                                  row["old_value"])
            created = [r["entity_id"] for r in db.fetch_all(
                "SELECT entity_id FROM import_batch_items WHERE batch_id = ? AND "
                "action = 'create'", (result.batch_id,))]
            for record_id in wrote:  # an update only over the version of the preview
                seen = next(m.version for m in preview.matches.values()
                            if m.record_id == record_id)
                assert self.before[(entity, record_id)]["row_version"] == seen
            self.model.batches.append(Batch(result.batch_id, entity, created, wrote))
            self._note(f"import {on_duplicate} done ({len(created)} new, {len(wrote)} changed)")

        @rule(data=st.data(), keep_changed=st.booleans())
        def undo(self, data, keep_changed):
            open_batches = [b for b in self.model.batches if not b.undone]
            if not open_batches:
                return
            batch = data.draw(st.sampled_from(open_batches))
            user = self._user(data)
            try:
                done = importing.undo_batch(user, db, batch.id, keep_changed=keep_changed)
            except REFUSALS:
                self._unchanged()
                return
            batch.undone = True
            self._note(f"undo done ({len(done.kept)} kept)")
            after = _snapshot(db)
            for record_id, fields in batch.wrote.items():
                if record_id in done.kept or (batch.entity, record_id) not in after:
                    continue
                row = after[(batch.entity, record_id)]
                for name, old in fields.items():
                    assert _text(row[name]) == old, (record_id, name)
            for record_id in batch.created:
                assert ((batch.entity, record_id) in after) == (record_id in done.kept)
            for key, row in after.items():  # undo never touches subscription state
                if key in self.before and key[0] is not Entity.COMPANY:
                    assert row["newsletter_opt_in"] == self.before[key]["newsletter_opt_in"]
            for record_id in done.kept:  # what undo keeps, it leaves exactly as it was
                assert after[(batch.entity, record_id)] == self.before[(batch.entity,
                                                                        record_id)]

        @rule(data=st.data(), fresh=st.booleans())
        def convert(self, data, fresh):
            user, person = self._user(data), self._pick_person(data, Entity.LEAD)
            if person is None:
                return
            seen = self.model.seen.get((user.username, Entity.LEAD, person["id"]))
            version = person["row_version"] if fresh or seen is None else seen
            try:
                conversion.convert_lead(user, db, person["id"], version=version)
            except REFUSALS:
                self._unchanged()
                return
            assert person["row_version"] == version and person["converted_at"] is None
            self._note("convert done")

        @rule(data=st.data())
        def unsubscribe_by_link(self, data):
            person = self._pick_person(data)
            if person is None or not person["email"]:
                return
            token = tokens.make_token(person["entity"], person["id"], person["email"])
            assert subscriptions.unsubscribe_by_link(db, token) is not None
            assert db.scalar("SELECT count(*) FROM suppressions WHERE address = ?",
                             (person["email"].strip().lower(),)) == 1

        @rule(data=st.data())
        def unsubscribe_on_request(self, data):
            user, person = self._user(data), self._pick_person(data)
            if person is None:
                return
            try:
                subscriptions.unsubscribe(user, db, person["entity"], person["id"], note="asked")
            except REFUSALS:
                self._unchanged()

        @rule(data=st.data(), by_link=st.booleans())
        def resubscribe(self, data, by_link):
            user, person = self._user(data), self._pick_person(data)
            if person is None or not person["email"]:
                return
            try:
                if by_link:
                    token = tokens.make_token(person["entity"], person["id"], person["email"])
                    subscriptions.resubscribe_by_link(db, token)
                else:
                    subscriptions.resubscribe(user, db, person["entity"], person["id"],
                                              reason="asked by phone")
            except (*REFUSALS, subscriptions.SubscriptionError):
                self._unchanged()

        @rule(data=st.data())
        def tag(self, data):
            user, person = self._user(data), self._pick_person(data, Entity.CONTACT)
            if person is None:
                return
            with suppress(*REFUSALS):
                tags.add_tags(user, db, [self.tag], ids=[person["id"]])

        @rule(data=st.data(), entity=st.sampled_from([Entity.LEAD, Entity.CONTACT]))
        def send_mailing(self, data, entity):
            user = self._user(data)
            ids = tuple(r["id"] for r in self._people(entity))
            if not ids:
                return
            chosen = tuple(data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4,
                                              unique=True)))
            try:
                mailing = campaigns.create_mailing(user, db, Selection(entity, ids=chosen),
                                                   subject="News", body="Hi {first_name}")
            except REFUSALS:
                self._unchanged()
                return
            suppressed = {r["address"] for r in db.fetch_all("SELECT address FROM suppressions")}
            sending.send_mailing(user, db, mailing)
            sent = db.fetch_all("SELECT email FROM mailing_recipients WHERE mailing_id = ? "
                                "AND status = 'sent'", (mailing,))
            assert not {r["email"].strip().lower() for r in sent} & suppressed
            self._note(f"mailing sent to {len(sent)}")

        # ------------------------------------------------------------ after every step

        @invariant()
        def every_change_is_versioned_and_audited(self):
            after = _snapshot(db)
            entries = db.fetch_all(
                "SELECT entity, entity_id, action, field, new_value FROM audit_log "
                "WHERE id > ?", (self.audit_mark,))
            logged = {(e["entity"], e["entity_id"]) for e in entries}
            by_field = {(e["entity"], e["entity_id"], e["field"]): e for e in entries}
            for key, row in after.items():
                entity, record_id = key
                old = self.before.get(key)
                if old is None:
                    assert (entity.value, record_id) in logged, f"{key} created unaudited"
                    continue
                assert row["row_version"] >= old["row_version"], f"{key} went back"
                changed = [c for c in row if c not in IGNORED
                           and _text(row.get(c)) != _text(old.get(c))]
                for column in changed:
                    if column == "tags":
                        assert (entity.value, record_id, "tags") in by_field, key
                        continue
                    entry = by_field.get((entity.value, record_id, column))
                    assert entry is not None, f"{key}.{column} changed without an audit entry"
                    assert entry["new_value"] == _text(row[column]), (key, column)
                if changed:
                    assert row["row_version"] > old["row_version"], f"{key} changed unversioned"
                if row["row_version"] != old["row_version"]:
                    assert (entity.value, record_id) in logged, f"{key} bumped unaudited"
            for key in set(self.before) - set(after):
                assert (key[0].value, key[1]) in logged, f"{key} deleted unaudited"
            self.before, self.audit_mark = after, self._audit_mark()

        @invariant()
        def unsubscribes_win(self):
            assert db.scalar(
                "SELECT count(*) FROM (SELECT email, newsletter_opt_in FROM leads UNION ALL "
                "SELECT email, newsletter_opt_in FROM contacts) p JOIN suppressions s "
                "ON s.address = lower(trim(p.email)) WHERE p.newsletter_opt_in") == 0
            assert db.scalar(
                "SELECT count(*) FROM mailing_recipients r JOIN suppressions s "
                "ON s.address = lower(trim(r.email)) WHERE r.status = 'sent' "
                "AND r.sent_at > s.suppressed_at") == 0
            for entity in (Entity.LEAD, Entity.CONTACT):
                assert subscriptions.disagreements(db, entity) == 0

        @invariant()
        def nothing_dangles(self):
            checks = {
                "contact without company": "SELECT count(*) FROM contacts c WHERE NOT EXISTS "
                "(SELECT 1 FROM companies co WHERE co.id = c.company_id)",
                "lead to a missing contact": "SELECT count(*) FROM leads l WHERE l.contact_id "
                "IS NOT NULL AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = l.contact_id)",
                "lead to a missing company": "SELECT count(*) FROM leads l WHERE l.company_id "
                "IS NOT NULL AND NOT EXISTS (SELECT 1 FROM companies c WHERE c.id = l.company_id)",
                "deal to a missing lead": "SELECT count(*) FROM deals d WHERE d.lead_id IS NOT "
                "NULL AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = d.lead_id)",
                "deal to a missing contact": "SELECT count(*) FROM deals d WHERE d.contact_id "
                "IS NOT NULL AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = d.contact_id)",
                "tag of a missing contact": "SELECT count(*) FROM contact_tags x WHERE NOT "
                "EXISTS (SELECT 1 FROM contacts c WHERE c.id = x.contact_id)",
                "tag of a missing lead": "SELECT count(*) FROM lead_tags x WHERE NOT EXISTS "
                "(SELECT 1 FROM leads l WHERE l.id = x.lead_id)",
                "recipient gone": "SELECT count(*) FROM mailing_recipients r WHERE NOT EXISTS "
                "(SELECT 1 FROM leads l WHERE r.entity = 'lead' AND l.id = r.entity_id) AND "
                "NOT EXISTS (SELECT 1 FROM contacts c WHERE r.entity = 'contact' "
                "AND c.id = r.entity_id)",
                "events of nobody": "SELECT count(*) FROM subscription_events e WHERE NOT "
                "EXISTS (SELECT 1 FROM leads l WHERE e.entity = 'lead' AND l.id = e.entity_id) "
                "AND NOT EXISTS (SELECT 1 FROM contacts c WHERE e.entity = 'contact' "
                "AND c.id = e.entity_id)",
            }
            found = {name: db.scalar(sql) for name, sql in checks.items()}
            assert found == dict.fromkeys(checks, 0)

        @invariant()
        def everyone_stays_in_scope(self):
            """Two users a step, in turn: every role is checked many times over a run."""
            self.turn = getattr(self, "turn", -1) + 1
            everybody = sorted(self.users.values(), key=lambda u: u.username)
            for user in (everybody[(2 * self.turn + k) % len(everybody)] for k in range(2)):
                for spec, table in ((LEADS, "leads"), (CONTACTS, "contacts")):
                    mine = "TRUE" if sees_all_departments(user) else "department_id = ?"
                    params = () if sees_all_departments(user) else (user.department_id,)
                    expected = {r["id"] for r in db.fetch_all(
                        f"SELECT id FROM {table} WHERE {mine}", params)}
                    page = listing.fetch_page(user, db, spec, ListQuery(page_size=250))
                    assert set(page.rows["id"]) == expected and page.total == len(expected)
                    everyone = [r["id"] for r in db.fetch_all(f"SELECT id FROM {table} "
                                                               "ORDER BY id")]
                    outside = [i for i in everyone if i not in expected]
                    for record_id in (everyone[-1:] + outside[-1:]):  # the newest of each
                        found = lookup.find(user, db, spec.entity, record_id) is not None
                        assert found == (record_id in expected)
                exported = list_export.plan(user, db, CONTACTS, ListQuery()).rows
                assert exported == db.scalar(
                    "SELECT count(*) FROM contacts WHERE owner_id = ?"
                    + ("" if sees_all_departments(user) else " AND department_id = ?"),
                    (user.id,) + (() if sees_all_departments(user) else (user.department_id,)))

    run_state_machine_as_test(Workspace, settings=settings(
        max_examples=10, stateful_step_count=20, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
    print(dict(sorted(OUTCOMES.items())))
