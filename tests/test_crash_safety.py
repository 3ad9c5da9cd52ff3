"""Crash safety: a process killed with SIGKILL at any point of an import, a bulk action, a
conversion, an undo or a sending run leaves the database as before the operation or as after
it (per transaction), never in between; the next run goes on (sending) or the operation can
simply be repeated. On both backends.

How: the parent builds a small world, closes its store (DuckDB allows one process per file)
and runs the operation in a forked child that opens its own store. The child counts its SQL
statements (every `Session` call, plus a tick just before and one just after each COMMIT)
and SIGKILLs itself at tick N; the Ns are spread over the whole operation, whose tick count
is measured once in an uninterrupted run. A few kills come from the parent after a random
(seeded) delay within the measured duration, so they also land inside statements and
commits. The child also tells, through shared memory, how many of its "unit of work"
transactions (a batch, a conversion, a delivery) committed before it died: the database must
hold exactly those.

After each kill the parent reopens the database and checks the invariants; then a fresh
child runs the operation again without being killed, and the state it leaves must equal the
uninterrupted run's. Between kill points the database is restored from a copy (DuckDB: the
file; PostgreSQL: a snapshot schema, copied back table by table). The kill points run on two
copies at once (two "lanes", each driven by a forked process of its own), one per core.

The children's clock is fixed (`crm.common.clock.fixed_at`), so two runs that do the same write the
same values. States are compared through an id-free summary: PostgreSQL sequences are not
transactional, so a killed transaction leaves gaps and a repeat draws other ids.
"""

from __future__ import annotations

import email.parser
import email.policy
import gc
import multiprocessing
import os
import random
import re
import shutil
import signal
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from crm import importing
from crm.access import Entity
from crm.common import clock
from crm.common.names import company_name_key
from crm.importing import ImportRefused, UndoRefused
from crm.lists.listing import ListQuery
from crm.mailing import campaigns, sending, subscriptions
from crm.mailing.recipients import Selection
from crm.pipeline import conversion
from crm.records import leads, tags
from crm.storage import db as crm_db
from crm.storage import search
from crm.storage.store import close_store, open_store
from tests import factories
from tests.mailing_fixtures import contact as subscribed_contact
from tests.mailing_fixtures import lead as subscribed_lead
from tests.mailing_fixtures import mailing_world

PG_BASE = os.environ.get("CRM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
FORK = multiprocessing.get_context("fork")
SETUP_MOMENT = datetime(2026, 2, 1, 8, 0)  # the world's own history (an earlier import)
MOMENT = datetime(2026, 2, 2, 9, 30)  # "now" in every child: equal runs write equal values
KILL_POINTS = 20  # at least, per operation and backend
STATEMENT_KILLS = 15  # at most, at tick N: spread evenly, and on both sides of some COMMITs
TIMED_KILLS = 5  # from the parent, after a random delay within the operation's duration
CHILD_TIMEOUT = 120
LANES = 2  # kill points run two at a time (a 2-core machine)
WORDS = ("Aurora", "Basalt", "Cobalt")
MARKED = "*"  # a transaction that ran the scenario's marking statement (see _KillSwitch)


# --------------------------------------------------------------------------- the world


@dataclass
class CrashWorld:
    w: factories.World
    tag: int  # the tag the bulk action puts on every contact
    contacts: list[int] = field(default_factory=list)
    leads: list[int] = field(default_factory=list)
    convertible: list[int] = field(default_factory=list)  # complete leads, nothing matches

    @property
    def sales(self):
        return self.w.users["sales_east"]

    @property
    def manager(self):
        return self.w.users["company_manager"]


def build_world(db) -> CrashWorld:
    """About 80 people in two departments, subscribed as the app records it, some tagged,
    some VIP, one unsubscribed; three leads complete enough to be converted without review."""
    w = mailing_world(db)
    with db.transaction() as tx:  # one unit of work: the world costs a few dozen statements
        cw = _people(tx, w)
        for entity in (Entity.LEAD, Entity.CONTACT, Entity.COMPANY):
            search.refresh(tx, entity)
    return cw


def _people(tx, w: factories.World) -> CrashWorld:
    for company_id in w.companies.values():  # the key the app gives a name (loose matching)
        name = tx.scalar("SELECT name FROM companies WHERE id = ?", (company_id,))
        tx.execute("UPDATE companies SET name_key = ? WHERE id = ?",
                   (company_name_key(name), company_id))
    fair = tx.scalar("INSERT INTO tags (name) VALUES ('Fair') RETURNING id")
    key = tx.scalar("INSERT INTO tags (name) VALUES ('Key account') RETURNING id")
    cw = CrashWorld(w=w, tag=key)
    for i in range(30):
        east = i % 3 != 0
        cw.contacts.append(subscribed_contact(
            tx, w, f"Person{i:02d}", f"person{i:02d}@clients.example",
            department="east" if east else "west", company="east" if east else "west",
            first_name=f"Pat{i:02d}", phone=f"+49 30 555 {i:04d}", city="Berlin",
            vip=i % 4 == 0))
    for n, contact_id in enumerate(cw.contacts[:8]):
        tx.execute("INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)",
                   (contact_id, fair if n % 2 else key))
    for i in range(30):
        cw.leads.append(subscribed_lead(
            tx, w, f"Prospect{i:02d}", f"prospect{i:02d}@prospects.example",
            department="east" if i % 2 else "west", first_name=f"Lee{i:02d}",
            vip=i % 5 == 0))
    gone = subscribed_lead(tx, w, "Gone", "gone@prospects.example", newsletter_opt_in=False,
                           unsubscribed_at=factories.STAMP)
    tx.execute("INSERT INTO subscription_events (entity, entity_id, event, occurred_at, "
               "source) VALUES ('lead', ?, 'unsubscribed', ?, 'test')", (gone, factories.STAMP))
    cw.leads.append(gone)
    for i, word in enumerate(WORDS):
        lead_id = subscribed_lead(
            tx, w, f"{word}son", f"buyer@{word.lower()}.example", first_name=f"Kim{i}",
            phone=f"+49 40 777 {i:04d}", country_code="DE", city="Hamburg",
            company_name=f"{word} Trading GmbH", company_email=f"info@{word.lower()}.example",
            website=f"https://www.{word.lower()}.example", vip=i == 2)
        if i % 2 == 0:
            tx.execute("INSERT INTO lead_tags (lead_id, tag_id) VALUES (?, ?)", (lead_id, fair))
        cw.convertible.append(lead_id)
    return cw


def import_preview(db, cw: CrashWorld):
    """A contacts file: 20 new people (at Eastwind or at four new companies; three opt out)
    and 6 updates of existing east contacts (new city and country; two opt out)."""
    lines = ["First name,Last name,Email,Phone,City,Company,Country,Newsletter"]
    for i in range(20):
        company = "Eastwind GmbH" if i % 3 == 0 else f"Newco {i % 4} Ltd"
        lines.append(f"New{i:02d},Importee{i:02d},new{i:02d}@imported.example,"
                     f"+49 89 {1000 + i},Munich,{company},Germany,{'no' if i % 6 == 5 else 'yes'}")
    east = [c for i, c in enumerate(cw.contacts) if i % 3][:6]
    for n, contact_id in enumerate(east):
        row = db.fetch_one("SELECT first_name, last_name, email FROM contacts WHERE id = ?",
                           (contact_id,))
        lines.append(f"{row['first_name']},{row['last_name']},{row['email']},,Hamburg,"
                     f"Eastwind GmbH,DE,{'no' if n < 2 else ''}")
    table = importing.read_table(("\n".join(lines) + "\n").encode(), "fair-contacts.csv")
    mapping = importing.guess_mapping("contact", table.headers)
    preview = importing.validate(cw.sales, db, "contact", table, mapping)
    assert preview.problems == [], preview.problems
    return preview


# --------------------------------------------------------------------------- the state

RAW_TABLES = ("leads", "contacts", "companies", "company_industries", "contact_tags",
              "lead_tags", "tags", "subscription_events", "suppressions", "audit_log",
              "import_batches", "import_batch_items", "import_batch_companies", "mailings",
              "mailing_recipients", "deals", "requests", "users")
PERSON = ("first_name", "last_name", "email", "phone", "city", "country_code", "vip",
          "newsletter_opt_in", "unsubscribed_at", "last_mailed_at", "disqualified",
          "row_version", "updated_at", "search_text")

Raw = dict[str, list[dict[str, Any]]]


def load(db) -> Raw:
    """Every row of the tables an operation may touch (a few hundred: one query each)."""
    return {table: db.fetch_all(f"SELECT * FROM {table}") for table in RAW_TABLES}


def _by_id(raw: Raw, table: str) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in raw[table]}


def _get(rows: dict[int, dict[str, Any]], key: Any, column: str) -> Any:
    row = rows.get(key)
    return None if row is None else row[column]


def _norm(value: Any) -> str:
    """A value with its digits hidden (ids differ between runs on PostgreSQL)."""
    return re.sub(r"\d+", "#", "" if value is None else str(value))


def _sorted(rows) -> list[tuple]:
    return sorted((tuple(r) for r in rows), key=repr)


def summary(raw: Raw, outbox: Path | None) -> dict[str, Any]:
    """The state of everything an operation may change, free of surrogate ids, so that two
    runs that did the same compare equal."""
    leads_, contacts = _by_id(raw, "leads"), _by_id(raw, "contacts")
    companies, tags_ = _by_id(raw, "companies"), _by_id(raw, "tags")
    batches = _by_id(raw, "import_batches")
    people = {"lead": leads_, "contact": contacts}

    def person(entity: str, record_id: Any) -> Any:
        return _get(people.get(entity, {}), record_id, "email")

    return {
        "counts": {table: len(rows) for table, rows in raw.items()},
        "leads": _sorted((*(r[c] for c in PERSON), r["converted_at"],
                          _get(contacts, r["contact_id"], "email"),
                          _get(companies, r["company_id"], "name")) for r in raw["leads"]),
        "contacts": _sorted((*(r[c] for c in PERSON), _get(companies, r["company_id"], "name"),
                             _get(leads_, r["source_lead_id"], "email"))
                            for r in raw["contacts"]),
        "companies": _sorted((r["name"], r["country_code"], r["email"], r["website"],
                              r["department_id"], r["row_version"], r["updated_at"],
                              r["search_text"]) for r in raw["companies"]),
        "industries": _sorted((_get(companies, r["company_id"], "name"), r["industry_id"])
                              for r in raw["company_industries"]),
        "contact_tags": _sorted((_get(contacts, r["contact_id"], "email"),
                                 _get(tags_, r["tag_id"], "name")) for r in raw["contact_tags"]),
        "lead_tags": _sorted((_get(leads_, r["lead_id"], "email"),
                              _get(tags_, r["tag_id"], "name")) for r in raw["lead_tags"]),
        "events": _sorted((r["entity"], person(r["entity"], r["entity_id"]), r["event"],
                           _norm(r["source"]), _norm(r["note"]), r["occurred_at"])
                          for r in raw["subscription_events"]),
        "suppressions": _sorted((r["address"], r["suppressed_at"], _norm(r["source"]),
                                 r["note"], r["entity"]) for r in raw["suppressions"]),
        "audit": _sorted((r["entity"], r["action"], r["field"], _norm(r["old_value"]),
                          _norm(r["new_value"]), r["changed_at"], r["batch_id"] is None)
                         for r in raw["audit_log"]),
        "batches": _sorted((r["entity"], r["file_name"], r["created_at"], r["created_count"],
                            r["updated_count"], r["skipped_count"], r["rejected_count"],
                            r["undone_at"], r["kept_count"]) for r in raw["import_batches"]),
        "items": _sorted((r["action"], _norm(r["before_image"]), r["row_version"],
                          person(_get(batches, r["batch_id"], "entity"), r["entity_id"]))
                         for r in raw["import_batch_items"]),
        "mailings": _sorted((r["name"], r["status"], r["started_at"], r["finished_at"],
                             r["last_error"], r["sender"] is None) for r in raw["mailings"]),
        "recipients": _sorted((r["entity"], r["email"], r["status"], r["error"], r["sent_at"],
                               r["attempts"], r["handed_at"])
                              for r in raw["mailing_recipients"]),
        "outbox": sorted(outbox_files(outbox)) if outbox is not None else [],
        # Messages a dead run was writing (the next one writes them again, or drops them).
        "partial": sorted(p.name for p in outbox.glob("mailing-*/.*.part"))
        if outbox is not None else [],
    }


def outbox_files(outbox: Path) -> list[tuple[str, str, str]]:
    """(mailing folder, file, To address) of every complete message in the outbox."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    found = []
    for path in sorted(outbox.glob("mailing-*/*.eml")):
        with path.open("rb") as handle:
            to = parser.parse(handle)["To"]
        found.append((path.parent.name, path.name, to.addresses[0].addr_spec.lower()))
    return found


ENTITY_TABLES = {"lead": "leads", "contact": "contacts", "company": "companies",
                 "deal": "deals", "request": "requests"}
REFERENCES = (  # (table, column, the table it points to)
    ("deals", "lead_id", "leads"), ("deals", "contact_id", "contacts"),
    ("deals", "company_id", "companies"), ("requests", "lead_id", "leads"),
    ("requests", "contact_id", "contacts"), ("leads", "contact_id", "contacts"),
    ("leads", "company_id", "companies"), ("contacts", "company_id", "companies"),
    ("contacts", "source_lead_id", "leads"), ("contact_tags", "contact_id", "contacts"),
    ("contact_tags", "tag_id", "tags"), ("lead_tags", "lead_id", "leads"),
    ("lead_tags", "tag_id", "tags"), ("company_industries", "company_id", "companies"),
    ("mailing_recipients", "mailing_id", "mailings"),
    ("import_batch_companies", "batch_id", "import_batches"),
)


def check_general(db, raw: Raw) -> None:
    """What holds after any crash: every change is audited, newsletter state agrees with its
    history, and nothing points to a record that is not there."""
    audited: dict[tuple[str, int], datetime] = {}
    for a in raw["audit_log"]:
        key = (a["entity"], a["entity_id"])
        audited[key] = max(audited.get(key, a["changed_at"]), a["changed_at"])
    unaudited = [(entity, r["id"]) for entity, table in ENTITY_TABLES.items()
                 for r in raw[table] if r["row_version"] > 1
                 and not audited.get((entity, r["id"]), datetime.min) >= r["created_at"]]
    assert unaudited == [], f"records changed without an audit entry: {unaudited}"
    for entity in (Entity.LEAD, Entity.CONTACT):
        assert subscriptions.disagreements(db, entity) == 0, f"{entity} newsletter state"
    ids = {table: {r["id"] for r in raw[table]} for table in
           ("leads", "contacts", "companies", "tags", "mailings", "import_batches")}
    dangling = [(table, column, r[column]) for table, column, target in REFERENCES
                for r in raw[table] if r[column] is not None and r[column] not in ids[target]]
    people = {"lead": ids["leads"], "contact": ids["contacts"]}
    dangling += [("subscription_events", e["entity"], e["entity_id"])
                 for e in raw["subscription_events"] if e["entity_id"] not in people[e["entity"]]]
    dangling += [("import_batch_items", i["batch_id"], i["entity_id"])
                 for i in raw["import_batch_items"] if i["action"] == "create"
                 and i["batch_id"] not in ids["import_batches"]
                 and (i["entity_id"] in ids["leads"] or i["entity_id"] in ids["contacts"])]
    assert dangling == [], f"dangling references: {dangling}"


# --------------------------------------------------------------------------- the child


class _KillSwitch:
    """Counts the child's SQL statements and commits, and SIGKILLs the process at tick N.

    It also keeps, in memory shared with the parent, how many transactions that ran the
    operation's marking statement (its "done" write: the batch row, the converted lead, the
    message recorded as sent) are committed: 2 * that number, plus 1 while such a COMMIT is
    in flight (its outcome unknown when the process dies then). One aligned 8-byte store,
    so the parent reads a consistent value after the kill, wherever it landed."""

    def __init__(self, kill_at: int | None, marker: str, progress) -> None:
        self.kill_at = kill_at
        self.marker = marker
        self.progress = progress
        self.durable = 0
        self.ticks = 0
        # "sql", or "commit"/"committed", MARKED if marked, and the transaction's first
        # statement (to find the COMMITs of a kind of transaction in a measured run).
        self.kinds: list[str] = []
        self.marked: list[bool] = []  # per open transaction: ran the marking statement
        self.first: list[str] = []  # per open transaction: its first statement
        self.armed = False

    def tick(self, kind: str) -> None:
        if not self.armed:
            return
        self.ticks += 1
        self.kinds.append(kind)
        if self.ticks == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def statement(self, sql: Any) -> None:
        if self.armed and self.marked and isinstance(sql, str):
            self.marked[-1] = self.marked[-1] or sql.startswith(self.marker)
            self.first[-1] = self.first[-1] or sql[:80]
        self.tick("sql")

    def install(self) -> None:
        """Wrap the session and database classes of crm.storage.db, in this (forked) process only:
        every statement, bulk insert and streamed query, and both sides of every COMMIT."""
        for cls, names in ((crm_db._DuckSession, ("_run", "stream_frames")),
                           (crm_db._PgSession, ("_run", "insert_frame", "stream_frames"))):
            for name in names:
                setattr(cls, name, _counted(getattr(cls, name), self))
        for cls in (crm_db.DuckDatabase, crm_db.PgDatabase):
            cls.transaction = _counted_transaction(cls.transaction, self)


def _counted(method: Callable, switch: _KillSwitch) -> Callable:
    def counted(self, *args, **kwargs):
        switch.statement(args[0] if args else None)
        return method(self, *args, **kwargs)
    return counted


def _counted_transaction(method: Callable, switch: _KillSwitch) -> Callable:
    @contextmanager
    def transaction(self) -> Iterator[crm_db.Session]:
        switch.marked.append(False)
        switch.first.append("")
        try:
            with method(self) as tx:
                yield tx
                marked = switch.marked[-1] and switch.armed
                what = f"{MARKED if marked else ''} {switch.first[-1]}"
                switch.tick(f"commit{what}")  # every statement done, COMMIT not sent yet
                switch.progress[0] = 2 * switch.durable + marked
            switch.durable += marked
            switch.progress[0] = 2 * switch.durable
            switch.tick(f"committed{what}")
        except BaseException:
            switch.progress[0] = 2 * switch.durable  # rolled back (or a COMMIT refused)
            raise
        finally:
            switch.marked.pop()
            switch.first.pop()
    return transaction


@dataclass
class ChildRun:
    exitcode: int | None
    progress: int = 0  # see _KillSwitch
    ticks: int = 0
    kinds: list[str] = field(default_factory=list)
    seconds: float = 0.0
    outcome: Any = None
    summary: dict[str, Any] | None = None
    error: str = ""

    @property
    def killed(self) -> bool:
        return self.exitcode == -signal.SIGKILL

    @property
    def committed(self) -> set[int]:
        """How many marked transactions may be committed: one number, or two when the
        process died during such a COMMIT."""
        durable, in_flight = divmod(self.progress, 2)
        return {durable, durable + 1} if in_flight else {durable}


def _child_main(lane: Lane, scenario: Scenario, kill_at: int | None, progress, conn) -> None:
    gc.disable()  # short-lived: no collection touching (and copying) the parent's pages
    code = 1
    try:
        os.environ["CRM_MAIL_OUTBOX"] = str(lane.outbox)
        if lane.app:
            os.environ["PGAPPNAME"] = lane.app  # how the parent finds this child's sessions
        switch = _KillSwitch(kill_at, scenario.marker, progress)
        database = open_store(lane.url)
        switch.install()
        conn.send(("ready", None))
        switch.armed = True
        started = time.perf_counter()
        with clock.fixed_at(MOMENT):
            outcome = scenario.run(database)
        seconds = time.perf_counter() - started
        switch.armed = False
        with database.transaction() as tx:  # the state it leaves, read by the same child
            final = summary(load(tx), lane.outbox)
        conn.send(("done", {"ticks": switch.ticks, "kinds": switch.kinds, "seconds": seconds,
                            "outcome": outcome, "summary": final}))
        code = 0
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # no atexit, no pytest teardown, no DuckDB checkpoint: like a crash


def run_child(lane: Lane, scenario: Scenario, *, kill_at: int | None = None,
              kill_after: float | None = None) -> ChildRun:
    """Run the operation in a forked child on `lane`'s database; it kills itself at tick
    `kill_at`, or the parent kills it `kill_after` seconds after it is ready (if it still
    runs then)."""
    receiver, sender = FORK.Pipe(duplex=False)
    progress = FORK.RawArray("q", 1)
    child = FORK.Process(target=_child_main,
                         args=(lane, scenario, kill_at, progress, sender))
    child.start()
    sender.close()
    messages: list[tuple[str, Any]] = []
    try:
        while True:  # until the child closes its end: it exited or died
            if not receiver.poll(CHILD_TIMEOUT):
                raise AssertionError("the child neither finished nor died")
            messages.append(receiver.recv())
            if messages[-1][0] == "ready" and kill_after is not None:
                child.join(kill_after)
                if child.exitcode is None:
                    os.kill(child.pid, signal.SIGKILL)
    except EOFError:
        pass
    finally:
        receiver.close()
        child.join(CHILD_TIMEOUT)
        if child.exitcode is None:
            child.kill()
            child.join()
    run = ChildRun(child.exitcode, progress[0])
    for kind, payload in messages:
        if kind == "done":
            run.ticks, run.kinds, run.seconds = (payload["ticks"], payload["kinds"],
                                                 payload["seconds"])
            run.outcome, run.summary = payload["outcome"], payload["summary"]
        elif kind == "error":
            run.error = payload
    return run


# ------------------------------------------------------------------ the database's copies


class Lane:
    """A database the kill points run on, seen from the process that forks the children:
    open it, settle a dead child's sessions, restore a snapshot into it. Two lanes (the
    test's own database and a spare one) run the kill points two at a time."""

    def __init__(self, url: str, backend: str, outbox: Path) -> None:
        self.url, self.backend, self.outbox = url, backend, outbox
        self.app = ""
        if backend == "postgres":
            self.schema = dict(parse_qsl(urlsplit(url).query))["schema"]
            self.app = f"crash_{self.schema}"  # the children's sessions (PGAPPNAME)
        else:
            self.path = Path(url.removeprefix("duckdb:///"))

    @contextmanager
    def opened(self) -> Iterator[crm_db.Database]:
        """The store, closed again before the next child starts (DuckDB: one process per
        file; PostgreSQL: no pool threads across a fork). The schema stays known as
        migrated, so a forked child's open_store does not check it again."""
        database = open_store(self.url)
        try:
            yield database
        finally:
            crm_db.forget(self.url)

    @contextmanager
    def reading(self) -> Iterator[crm_db.Session]:
        with self.opened() as database, database.transaction() as tx:
            yield tx

    def settle(self) -> None:
        """PostgreSQL: end the sessions a dead child left (a COMMIT it sent may still be
        running), waiting until each is gone, so that what is read next is final."""
        if self.backend != "postgres":
            return
        with _pg() as conn:
            for _ in range(10):
                left = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name "
                                    "= %s", (self.app,)).fetchall()
                if not left:
                    return
                for (pid,) in left:  # waits until it is gone (false: it was gone already)
                    conn.execute("SELECT pg_terminate_backend(%s, 20000)", (pid,))
        raise AssertionError(f"the sessions of {self.app} do not end")


def _pg():
    import psycopg

    return psycopg.connect(PG_BASE, autocommit=True)


class Snapshot:
    """A copy of a lane's database (DuckDB: the file; PostgreSQL: a schema of table copies
    and the sequences' values), restored into any lane between kill points."""

    def __init__(self, lane: Lane, folder: Path) -> None:
        self.backend = lane.backend
        if lane.backend == "duckdb":
            assert not Path(f"{lane.path}.wal").exists()
            self.path = folder / "snapshot.duckdb"
            shutil.copyfile(lane.path, self.path)
            return
        self.schema = f"{lane.schema}_snap"
        with _pg() as conn:
            self.tables = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_type = 'BASE TABLE' ORDER BY table_name", (lane.schema,))]
            # Users refer to departments: delete users first, insert departments first.
            self.tables.sort(key=lambda t: {"users": 0, "departments": 2}.get(t, 1))
            conn.execute(f"CREATE SCHEMA {self.schema}")
            for table in self.tables:
                conn.execute(f"CREATE TABLE {self.schema}.{table} AS "
                             f"TABLE {lane.schema}.{table}")
            self.sequences = conn.execute("SELECT sequencename, last_value FROM pg_sequences "
                                          "WHERE schemaname = %s", (lane.schema,)).fetchall()

    def restore(self, lane: Lane) -> None:
        shutil.rmtree(lane.outbox, ignore_errors=True)
        if self.backend == "duckdb":
            Path(f"{lane.path}.wal").unlink(missing_ok=True)
            shutil.copyfile(self.path, lane.path)
            return
        target = lane.schema
        with _pg() as conn, conn.transaction():
            conn.execute(";\n".join(
                [f"DELETE FROM {target}.{t}" for t in self.tables]
                + [f"INSERT INTO {target}.{t} SELECT * FROM {self.schema}.{t}"
                   for t in reversed(self.tables)]
                + [f"SELECT setval('{target}.{name}', {value or 1}, {value is not None})"
                   for name, value in self.sequences]))

    def drop(self) -> None:
        if self.backend == "postgres":
            with _pg() as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


# --------------------------------------------------------------------------- the harness


@dataclass
class Scenario:
    """One operation: `run(db)` in the child returns "done" (or, repeated on a state where
    it is complete, `repeat_when_done`); `check(raw, outbox)` asserts its own invariants
    (`outbox`: the messages in the outbox, as in the summary). `marker` starts the SQL
    statement that does the operation's unit of work (one per transaction), and `done(raw)`
    counts the units found done in the database: exactly those committed."""

    name: str
    run: Callable[[Any], str]
    check: Callable[[Raw, list], None]
    marker: str
    done: Callable[[Raw], int]
    single_transaction: bool  # then a killed run leaves exactly the state before or after
    repeat_when_done: str = "done"
    # Kill points on both sides of the COMMIT of a transaction starting with each of these
    # statements (MARKED: a transaction that ran the marker).
    focus: tuple[str, ...] = ()


@dataclass
class Expected:
    before: dict[str, Any]
    after: dict[str, Any]
    ticks: int


def crash_test(lanes: list[Lane], folder: Path, scenario: Scenario, before: dict,
               seed: str) -> dict[str, Any]:
    """Measure the operation on the first lane, then kill it at every kill point, on all
    lanes at once (see the module docstring)."""
    main = lanes[0]
    snapshot = Snapshot(main, folder)
    try:
        reference = run_child(main, scenario)
        main.settle()
        assert reference.exitcode == 0 and reference.outcome == "done", reference.error
        with main.reading() as db:
            raw = load(db)
            after = summary(raw, main.outbox)
            check_general(db, raw)
            scenario.check(raw, after["outbox"])
        assert reference.summary == after, "what the child saw is not what was kept"
        assert scenario.done(raw) > 0
        assert reference.committed == {scenario.done(raw)}
        assert after != before, "the operation changed nothing"
        total = reference.ticks
        rng = random.Random(seed)  # noqa: S311  (reproducible kill points, not secrets)
        # Spread evenly over the whole operation, plus both sides of its last COMMIT and of
        # the COMMITs of one (random) transaction of each kind the scenario points out.
        count = min(STATEMENT_KILLS - 2 - 2 * len(scenario.focus), total)
        points = {round(1 + i * (total - 1) / max(count - 1, 1)) for i in range(count)}
        points |= {max(total - 1, 1), total}
        for focus in scenario.focus:
            commits = [n for n, kind in enumerate(reference.kinds, 1)
                       if kind.startswith(f"commit{focus}" if focus == MARKED
                                          else f"commit {focus}")]
            assert commits, f"no transaction starts with {focus!r}"
            n = rng.choice(commits)
            points |= {n, n + 1}
        kills: list[tuple[str, float]] = [("statement", p) for p in sorted(points)]
        kills += [("timed", rng.uniform(0, reference.seconds))
                  for _ in range(max(TIMED_KILLS, KILL_POINTS - len(points)))]
        expected = Expected(before, after, total)
        seen = _on_lanes(lanes, [kills[i::len(lanes)] for i in range(len(lanes))],
                         snapshot, scenario, expected)
        return {"ticks": total, "transactions": sum(kind.startswith("committed")
                                                    for kind in reference.kinds),
                "seconds": round(reference.seconds, 3), "kill_points": len(kills),
                "states after a kill": dict(seen)}
    finally:
        snapshot.drop()


def _on_lanes(lanes: list[Lane], shares: list[list[tuple[str, float]]], snapshot: Snapshot,
              scenario: Scenario, expected: Expected) -> Counter[str]:
    """Each lane's kill points in a process of its own (forked while this one has no store
    open and no threads), which forks the operation's children; their reports come back."""
    workers = []
    for lane, share in zip(lanes, shares, strict=True):
        receiver, sender = FORK.Pipe(duplex=False)
        worker = FORK.Process(target=_lane_main,
                              args=(lane, share, snapshot, scenario, expected, sender))
        worker.start()
        sender.close()
        workers.append((worker, receiver))
    seen: Counter[str] = Counter()
    errors = []
    for worker, receiver in workers:
        try:
            while True:
                if not receiver.poll(CHILD_TIMEOUT * 10):
                    raise AssertionError("a lane neither finished nor failed")
                kind, payload = receiver.recv()
                if kind == "point":
                    seen[payload] += 1
                elif kind == "error":
                    errors.append(payload)
        except EOFError:
            pass
        finally:
            receiver.close()
            worker.join(CHILD_TIMEOUT)
        assert worker.exitcode is not None, "a lane does not end"
    assert not errors, "\n".join(errors)
    assert all(worker.exitcode == 0 for worker, _ in workers)
    assert sum(seen.values()) == sum(map(len, shares))
    return seen


def _lane_main(lane: Lane, kills: list[tuple[str, float]], snapshot: Snapshot,
               scenario: Scenario, expected: Expected, conn) -> None:
    code = 1
    try:
        for how, where in kills:
            conn.send(("point", _kill_point(lane, snapshot, scenario, expected, how, where)))
        code = 0
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _kill_point(lane: Lane, snapshot: Snapshot, scenario: Scenario, expected: Expected,
                how: str, where: float) -> str:
    """Kill the operation at one point, check what it left, run it again to the end; returns
    which state the kill left: "before", "after" or "between" (several transactions)."""
    before, after = expected.before, expected.after
    snapshot.restore(lane)
    if how == "statement":
        run = run_child(lane, scenario, kill_at=int(where))
        assert run.killed, (f"{scenario.name}: tick {where} of {expected.ticks} was not "
                            f"reached (exit {run.exitcode}) {run.error}")
    else:
        run = run_child(lane, scenario, kill_after=where)
        assert run.killed or run.exitcode == 0, run.error
    lane.settle()
    with lane.reading() as db:
        raw = load(db)
        state = summary(raw, lane.outbox)
        check_general(db, raw)
        scenario.check(raw, state["outbox"])
    label = "before" if state == before else "after" if state == after else "between"
    if any(r["status"] == "sending" for r in raw["mailing_recipients"]):
        label += ", a message in doubt"
    done = scenario.done(raw)
    assert done in run.committed, (f"{scenario.name}, {how} kill at {where}: {done} units "
                                   f"done, but {run.committed} committed")
    if scenario.single_transaction:
        assert label == ("after" if done else "before"), _difference(
            f"{scenario.name}, {how} kill at {where}", state, before, after)
    again = run_child(lane, scenario)
    lane.settle()
    assert again.exitcode == 0, again.error
    assert again.outcome == (scenario.repeat_when_done if label == "after" else "done")
    assert again.summary == after, _difference(
        f"{scenario.name} repeated after a {how} kill at {where}", again.summary or {},
        before, after)
    return label


def _difference(what: str, state: dict, before: dict, after: dict) -> str:
    parts = [what]
    for key in after:
        if state.get(key) != after[key]:
            same = state.get(key) == before.get(key)
            parts.append(f"{key} differs from after{' (as before)' if same else ''}: "
                         f"{state.get(key)!r:.600}")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def spare_schemas() -> Iterator[dict[int, str]]:
    """PostgreSQL schemas for the spare lanes, migrated once for the module."""
    made: dict[int, str] = {}
    yield made
    for schema in made.values():
        close_store(f"{PG_BASE}?schema={schema}")
        with _pg() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def lanes(database_url, backend, tmp_path, mail_env,
          spare_schemas) -> Iterator[list[Lane]]:
    """The test's own database, and spare ones for the other lanes."""
    found = [Lane(database_url, backend, mail_env)]
    for index in range(1, LANES):
        outbox = tmp_path / f"outbox-{index}"
        if backend == "duckdb":
            found.append(Lane(f"duckdb:///{tmp_path}/lane-{index}.duckdb", backend, outbox))
            continue
        if index not in spare_schemas:
            spare_schemas[index] = f"crash_lane_{uuid.uuid4().hex[:12]}"
            url = f"{PG_BASE}?schema={spare_schemas[index]}"
            open_store(url)
            crm_db.forget(url)  # migrated: known as such to the forked children
        found.append(Lane(f"{PG_BASE}?schema={spare_schemas[index]}", backend, outbox))
    yield found
    close_store(database_url)


def _world(lane: Lane, extra: Callable | None = None) -> tuple[CrashWorld, Any, dict]:
    """The world (and what `extra(db, world)` adds to it), checked, and its summary."""
    with lane.opened() as db:
        cw = build_world(db)
        with clock.fixed_at(SETUP_MOMENT):
            made = extra(db, cw) if extra else None
    with lane.reading() as db:
        raw = load(db)
        check_general(db, raw)
    return cw, made, summary(raw, lane.outbox)


def _report(name: str, backend: str, result: dict) -> None:
    print(f"\n{name} [{backend}]: {result}")  # shown with -s


def _ids(rows, column: str = "id", **where: Any) -> set[int]:
    return {r[column] for r in rows if all(r[k] == v for k, v in where.items())}


# --------------------------------------------------------------------------- the tests


def test_an_import_killed_anywhere_is_all_or_nothing_and_can_be_repeated(
        lanes, backend, tmp_path):
    cw, preview, before = _world(lanes[0], import_preview)

    def run(db) -> str:
        try:
            importing.commit(cw.sales, db, "contact", preview, on_duplicate="update")
        except ImportRefused as refused:
            # Imported already: the rows now match the records the import added.
            assert "added after the preview" in refused.problems[0].message
            return "refused"
        return "done"

    def check(raw: Raw, outbox: list) -> None:
        imported = [c for c in raw["contacts"] if c["email"].endswith("@imported.example")]
        hamburg = [c for c in raw["contacts"] if c["city"] == "Hamburg"]
        newco = [c for c in raw["companies"] if c["name"].startswith("Newco")]
        by_batch = [a for a in raw["audit_log"] if a["batch_id"] is not None]
        events = [e for e in raw["subscription_events"] if e["source"].startswith("import:")]
        if not raw["import_batches"]:
            assert (imported, hamburg, newco, by_batch, events) == ([], [], [], [], [])
            assert raw["import_batch_items"] == raw["import_batch_companies"] == []
            assert raw["suppressions"] == []
            return
        [batch] = raw["import_batches"]
        assert (batch["created_count"], batch["updated_count"]) == (20, 6)
        items = Counter(i["action"] for i in raw["import_batch_items"]
                        if i["batch_id"] == batch["id"])
        assert items == {"create": 20, "update": 6}
        assert {i["entity_id"] for i in raw["import_batch_items"] if i["action"] == "create"} \
            == _ids(imported)
        assert (len(imported), len(hamburg), len(newco)) == (20, 6, 4)
        assert len(raw["import_batch_companies"]) == 4
        assert _ids(by_batch, "entity_id", entity="contact", action="create") == _ids(imported)
        assert {e["source"] for e in events} == {f"import:{batch['id']}"}
        # 17 new people subscribed (3 said no), 2 existing ones opted out.
        assert Counter(e["event"] for e in events) == {"subscribed": 17, "unsubscribed": 2}
        assert len(raw["suppressions"]) == 5

    scenario = Scenario(
        "import", run, check, marker="INSERT INTO import_batches",
        done=lambda raw: len(raw["import_batches"]), single_transaction=True,
        repeat_when_done="refused")
    result = crash_test(lanes, tmp_path, scenario, before, f"import-{backend}")
    _report("import", backend, result)


def test_an_undo_killed_anywhere_is_all_or_nothing_and_can_be_repeated(
        lanes, backend, tmp_path):
    def imported(db, cw) -> int:
        return importing.commit(cw.sales, db, "contact", import_preview(db, cw),
                                on_duplicate="update").batch_id

    cw, batch_id, before = _world(lanes[0], imported)

    def run(db) -> str:
        try:
            importing.undo_batch(cw.sales, db, batch_id)
        except UndoRefused as refused:
            assert "already undone" in str(refused)
            return "refused"
        return "done"

    def check(raw: Raw, outbox: list) -> None:
        [batch] = raw["import_batches"]
        made = [c for c in raw["contacts"] if c["email"].endswith("@imported.example")]
        moved = [c for c in raw["contacts"] if c["city"] == "Hamburg"]
        newco = [c for c in raw["companies"] if c["name"].startswith("Newco")]
        undone = [a for a in raw["audit_log"] if a["action"] == "undo import"]
        if batch["undone_at"] is None:
            assert (len(made), len(moved), len(newco), undone) == (20, 6, 4, [])
            return
        assert (made, moved, newco, batch["kept_count"]) == ([], [], [], 0)
        # 20 contacts and 4 companies removed; city and country of 6 contacts restored.
        assert Counter((a["entity"], a["field"]) for a in undone) == {
            ("contact", ""): 20, ("company", ""): 4, ("contact", "city"): 6,
            ("contact", "country_code"): 6}

    scenario = Scenario(
        "undo", run, check, marker="UPDATE import_batches SET undone_at",
        done=lambda raw: sum(b["undone_at"] is not None for b in raw["import_batches"]),
        single_transaction=True, repeat_when_done="refused")
    result = crash_test(lanes, tmp_path, scenario, before, f"undo-{backend}")
    _report("undo", backend, result)


def test_bulk_vip_killed_anywhere_is_all_or_nothing_and_can_be_repeated(
        lanes, backend, tmp_path):
    def vips(db, cw) -> set[int]:
        return _ids(db.fetch_all("SELECT id FROM leads WHERE vip"))

    cw, vip_before, before = _world(lanes[0], vips)

    def run(db) -> str:
        leads.set_vip(cw.manager, db, True, query=ListQuery())  # every lead, all departments
        return "done"

    def check(raw: Raw, outbox: list) -> None:
        vip, everyone = _ids(raw["leads"], vip=True), _ids(raw["leads"])
        audited = _ids(raw["audit_log"], "entity_id", entity="lead", field="vip")
        assert (vip, audited) in ((vip_before, set()), (everyone, everyone - vip_before))

    scenario = Scenario(
        "bulk VIP", run, check, marker="UPDATE leads SET vip",
        done=lambda raw: int(_ids(raw["leads"], vip=True) != vip_before),
        single_transaction=True)
    result = crash_test(lanes, tmp_path, scenario, before, f"vip-{backend}")
    _report("bulk VIP", backend, result)


def test_bulk_tags_killed_anywhere_are_all_or_nothing_and_can_be_repeated(
        lanes, backend, tmp_path):
    def tagged(db, cw) -> set[int]:
        return _ids(db.fetch_all("SELECT contact_id FROM contact_tags WHERE tag_id = ?",
                                 (cw.tag,)), "contact_id")

    cw, tagged_before, before = _world(lanes[0], tagged)

    def run(db) -> str:
        tags.add_tags(cw.manager, db, [cw.tag], query=ListQuery())  # every contact
        return "done"

    def check(raw: Raw, outbox: list) -> None:
        now_tagged = _ids(raw["contact_tags"], "contact_id", tag_id=cw.tag)
        everyone = _ids(raw["contacts"])
        audited = _ids(raw["audit_log"], "entity_id", entity="contact", field="tags")
        assert (now_tagged, audited) in ((tagged_before, set()),
                                         (everyone, everyone - tagged_before))

    scenario = Scenario(
        "bulk tags", run, check, marker="INSERT INTO contact_tags",
        done=lambda raw: int(_ids(raw["contact_tags"], "contact_id", tag_id=cw.tag)
                             != tagged_before), single_transaction=True)
    result = crash_test(lanes, tmp_path, scenario, before, f"tags-{backend}")
    _report("bulk tags", backend, result)


def test_a_bulk_conversion_killed_anywhere_converts_each_lead_fully_or_not(
        lanes, backend, tmp_path):
    cw, _, before = _world(lanes[0])
    ids = list(cw.convertible)

    def run(db) -> str:
        report = conversion.convert_leads(cw.sales, db, ids=ids)
        assert {o.outcome for o in report.outcomes} <= {conversion.Outcome.CONVERTED,
                                                        conversion.Outcome.NOT_CONVERTED}
        return "done"

    def check(raw: Raw, outbox: list) -> None:
        leads_, contacts = _by_id(raw, "leads"), _by_id(raw, "contacts")
        companies = Counter(c["name"] for c in raw["companies"])
        converted = []
        for lead_id in ids:
            lead = leads_[lead_id]
            made = [c for c in raw["contacts"] if c["source_lead_id"] == lead_id]
            if lead["converted_at"] is None:
                assert (lead["contact_id"], lead["company_id"], lead["row_version"], made,
                        companies[lead["company_name"]]) == (None, None, 1, [], 0), (
                    f"lead {lead_id} is half converted")
                continue
            converted.append(lead_id)
            [contact] = made
            assert lead["contact_id"] == contact["id"] and lead["contact_id"] in contacts
            assert lead["company_id"] == contact["company_id"]
            assert companies[lead["company_name"]] == 1
            assert (contact["email"], contact["vip"]) == (lead["email"], lead["vip"])
            lead_tags = _ids(raw["lead_tags"], "tag_id", lead_id=lead_id)
            assert lead_tags <= _ids(raw["contact_tags"], "tag_id", contact_id=contact["id"])
        # One transaction per lead, in the order of their ids: the converted ones first.
        assert converted == ids[:len(converted)]

    scenario = Scenario(
        "conversion", run, check, marker="UPDATE leads SET converted_at",
        done=lambda raw: sum(r["converted_at"] is not None for r in raw["leads"]),
        single_transaction=False, focus=(MARKED,))
    result = crash_test(lanes, tmp_path, scenario, before, f"conversion-{backend}")
    _report("conversion", backend, result)


def test_a_sending_run_killed_anywhere_goes_on_and_mails_nobody_twice(
        lanes, backend, tmp_path):
    def mailing(db, cw) -> int:
        east = [c for i, c in enumerate(cw.contacts) if i % 3][:6]
        return campaigns.create_mailing(cw.sales, db, Selection(Entity.CONTACT, ids=tuple(east)),
                                        subject="News for {first_name}", body="Hello!")

    cw, mailing_id, before = _world(lanes[0], mailing)

    def run(db) -> str:
        report = sending.send_mailing(cw.sales, db, mailing_id)
        assert report.finished and report.failed == report.unknown == 0
        return "done"

    def check(raw: Raw, outbox: list) -> None:
        rows = [r for r in raw["mailing_recipients"] if r["mailing_id"] == mailing_id]
        assert len(rows) == 6
        addresses = [address for _, _, address in outbox]
        assert len(addresses) == len(set(addresses)), "an address got the mailing twice"
        written = {name for folder, name, _ in outbox if folder == f"mailing-{mailing_id}"}
        statuses = Counter(r["status"] for r in rows)
        assert set(statuses) <= {"pending", "sending", "sent"}, statuses
        assert statuses["sending"] <= 1  # one message in the hands of the dead process
        for row in rows:
            if row["status"] == "sent":
                assert f"{row['id']}.eml" in written, f"recipient {row['id']}: no message"
            elif row["status"] == "pending":
                assert f"{row['id']}.eml" not in written, f"recipient {row['id']}: mailed"
        mailed = {c["email"] for c in raw["contacts"] if c["last_mailed_at"] is not None}
        assert mailed == {r["email"] for r in rows if r["status"] == "sent"}

    scenario = Scenario(
        "sending", run, check, marker="UPDATE mailing_recipients SET status = 'sent'",
        done=lambda raw: sum(r["status"] == "sent" for r in raw["mailing_recipients"]),
        single_transaction=False,
        # Both sides of "being handed over" (before the message is written) and of "sent"
        # (the message written): the two moments the next run must settle.
        focus=("UPDATE mailing_recipients SET status = 'sending'", MARKED))
    result = crash_test(lanes, tmp_path, scenario, before, f"sending-{backend}")
    _report("sending", backend, result)
