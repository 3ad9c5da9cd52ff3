"""Deterministic, realistic demo data for an empty workspace, fast enough for millions of rows.

    summary = load_demo(db, contacts=1_000_000, leads=1_000_000, seed=7, progress=print)

Faker is called only to fill small pools (names, streets) per locale; every row is then
assembled with numpy and pyarrow compute from random indices into those pools, and loaded
with `Session.insert_frame` in chunks inside one unit of work, so a failed load leaves
nothing behind. Everything depends only on the seed and the requested sizes: timestamps are
relative to the fixed `ANCHOR`, never to the clock.

Departments follow the customer base by region; every company, contact and lead belongs to
the department of its country, and is owned by staff of that department. Newsletter data
gives all three statuses: subscribed but never mailed (red), mailed and still subscribed
(turquoise), unsubscribed or never opted in (gray), with mailings, per-recipient rows and a
subscription history that agree with the persons' `last_mailed_at` and `unsubscribed_at`.
"""

from __future__ import annotations

import importlib
import numbers
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm.access import Entity
from crm.common.names import company_name_key
from crm.demo import arrays
from crm.demo.conversions import add_demo_conversions
from crm.demo.errors import DatabaseNotEmpty, DemoError
from crm.demo.newsletter import Sent
from crm.demo.newsletter import history as newsletter_history
from crm.demo.reference import (
    ANCHOR,
    ANCHOR_S,
    BRAND_FIRST,
    BRAND_SECOND,
    COMPANY_TYPE_WEIGHTS,
    CONTACT_NOTES,
    CONTACT_SOURCE_WEIGHTS,
    COUNTRIES,
    DAY_S,
    DEMO_PASSWORD,
    DEPARTMENTS,
    EU,
    FREE_MAIL,
    HAND_NAMES,
    HISTORY_DAYS,
    LEAD_NOTES,
    LEAD_SOURCE_WEIGHTS,
    LEAD_TAGS,
    MAILINGS,
    PATTERN_P,
    ROLE_USERS,
    SALES_MANAGERS_PER_DEPARTMENT,
    SEND_SPREAD_S,
    STAFF_EMAIL_DOMAIN,
    START_S,
    TAGS,
    TITLES,
    WORDS,
    Country,
)
from crm.demo.requests import add_demo_requests
from crm.identity.roles import Role
from crm.identity.user import SYSTEM, USERNAME_PATTERN, hash_password
from crm.storage import settings
from crm.storage.db import Database, PgDatabase, Session
from crm.storage.writer import Writer, carry_over_unsubscribes

CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class DemoSummary:
    departments: int
    users: int
    tags: int
    companies: int
    contacts: int
    leads: int
    mailings: int
    mailing_recipients: int
    subscription_events: int
    converted_leads: int
    seconds: float

    def describe(self) -> str:
        return (
            f"Loaded {self.contacts:,} contacts, {self.leads:,} leads and "
            f"{self.companies:,} companies in {self.departments} departments, "
            f"{self.users} users, {self.mailings} mailings "
            f"({self.mailing_recipients:,} recipients, "
            f"{self.subscription_events:,} subscription events), "
            f"{self.converted_leads:,} leads converted, in {self.seconds:.1f} s."
        )


# ---------------------------------------------------------------------- the loader


_loading = threading.Lock()  # one load at a time in this process (DuckDB: one process)


def load_demo(
    db: Database,
    *,
    contacts: int,
    leads: int,
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Fill an empty, migrated database with demo data; the same seed gives the same data."""
    for label, value in (("number of contacts", contacts), ("number of leads", leads),
                         ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise DemoError(f"The {label} must be a whole number of at least 0, not {value!r}.")
    contacts, leads, seed = int(contacts), int(leads), int(seed)
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    with db.transaction() as tx:
        _require_empty(tx)
    say("Preparing name pools…")
    password_hash = hash_password(DEMO_PASSWORD)
    builder = _Builder(seed, say)
    with _loading, db.transaction() as tx:
        if tx.dialect == "postgres":  # servers starting together: one loads, the others wait
            tx.execute("SELECT pg_advisory_xact_lock(727003)")
        _require_empty(tx)
        with _indexes_after(tx):
            counts = builder.load(tx, contacts=contacts, leads=leads,
                                  password_hash=password_hash)
        say("Converting some leads into customers…")
        counts["converted_leads"] = add_demo_conversions(
            tx, leads=leads, seed=seed, until=ANCHOR)
        for table in ("mailing_recipients", "subscription_events"):  # with the carried history
            counts[table] = tx.scalar(f"SELECT count(*) FROM {table}")
        say("Adding commercial requests…")
        add_demo_requests(tx)
        say("Suppressing the addresses of people who unsubscribed…")
        carry_over_unsubscribes(tx)
        settings.put(tx, "demo", "1")  # the sign-in page then shows the demo sign-ins
    if isinstance(db, PgDatabase):  # statistics and visibility map for the new rows, at once
        say("Updating the query planner's statistics…")
        db.vacuum_analyze()
    summary = DemoSummary(**counts, seconds=round(time.perf_counter() - started, 2))
    say(summary.describe())
    return summary


@contextmanager
def _indexes_after(tx: Session) -> Iterator[None]:
    """PostgreSQL: the secondary indexes (search trigrams, names, addresses, departments…)
    are built once over the loaded rows, not kept up to date row by row while millions are
    inserted. Unique and primary-key indexes stay: they keep the data right while it loads.
    All in the same transaction: nobody sees the tables without them."""
    if tx.dialect != "postgres":
        yield
        return
    found = tx.fetch_all(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "JOIN pg_class c ON c.relname = i.indexname "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname "
        "JOIN pg_index x ON x.indexrelid = c.oid "
        "WHERE i.schemaname = current_schema() AND NOT x.indisunique AND NOT x.indisprimary "
        "ORDER BY 1")
    for index in found:
        tx.execute(f"DROP INDEX {index['indexname']}")
    yield
    tx.execute("SET LOCAL maintenance_work_mem = '256MB'")  # the build sorts in memory
    for index in found:
        tx.execute(index["indexdef"])


def _require_empty(tx: Session) -> None:
    found = []
    for table, singular in (("users", "user"), ("departments", "department"),
                            ("companies", "company"), ("contacts", "contact"),
                            ("leads", "lead")):
        count = tx.scalar(f"SELECT count(*) FROM {table}")
        if count:
            found.append(f"{count:,} {singular if count == 1 else table}")
    if found:
        raise DatabaseNotEmpty(
            "Demo data loads only into an empty database, but this one already has "
            + ", ".join(found) + "."
        )


class _Builder:
    def __init__(self, seed: int, say: Callable[[str], None]) -> None:
        self.seed = seed
        self.say = say
        self._fakers: dict[str, Any] = {}
        countries = COUNTRIES
        self.codes = pa.array([c.code for c in countries])
        self.country_p = np.array([c.weight for c in countries]) / sum(c.weight for c in countries)
        self.country_department = np.array([c.department for c in countries], dtype=np.int64)
        self.calling = pa.array([c.calling for c in countries])
        self.tld = pa.array([c.tld for c in countries])
        self.cities = arrays.Pool([c.cities for c in countries])
        self.legal = arrays.Pool([c.legal for c in countries])
        name_sets = list(dict.fromkeys(c.names for c in countries))
        self.name_group = np.array([name_sets.index(c.names) for c in countries], dtype=np.int64)
        male, female, last = zip(*(self._names(key) for key in name_sets), strict=True)
        self.first = arrays.Pool([*male, *female], slugs=True)  # group: name set, + len for female
        self.female_offset = len(name_sets)
        self.last = arrays.Pool(last, slugs=True)
        self.streets = arrays.Pool([self._streets(c) for c in countries])
        self.words = arrays.Pool([WORDS], slugs=True)
        self.brand_first = arrays.Pool([BRAND_FIRST], slugs=True)
        self.brand_second = arrays.Pool([BRAND_SECOND], slugs=True)
        self.titles = arrays.Pool([TITLES])
        self.free_mail = arrays.Pool([FREE_MAIL])
        self.contact_notes = arrays.Pool([CONTACT_NOTES])
        self.lead_notes = arrays.Pool([LEAD_NOTES])

    # ------------------------------------------------------------------ pools

    def _faker(self, locale: str) -> Any:
        """A Faker generator with only the person and address providers of `locale`.

        Much cheaper to create than `Faker(locale)`, with the same locale fallbacks.
        """
        fake = self._fakers.get(locale)
        if fake is None:
            from faker import Generator

            fake = Generator()
            fake.seed_instance(self.seed)
            for kind in ("person", "address"):
                for candidate in (locale, locale.split("_")[0], "en_US"):
                    try:
                        module = importlib.import_module(f"faker.providers.{kind}.{candidate}")
                    except ModuleNotFoundError:
                        continue
                    fake.add_provider(module.Provider)
                    break
            self._fakers[locale] = fake
        return fake

    def _names(self, key: str) -> tuple[list[str], list[str], list[str]]:
        if key in HAND_NAMES:
            male, female, last = HAND_NAMES[key]
            return list(male), list(female), list(last)
        if key == "ja":
            fake = self._faker("ja_JP")
            return (arrays.unique(fake.first_romanized_name_male() for _ in range(200)),
                    arrays.unique(fake.first_romanized_name_female() for _ in range(200)),
                    arrays.unique(fake.last_romanized_name() for _ in range(400)))
        if key == "zh":
            fake = self._faker("zh_CN")
            first = arrays.unique(fake.first_romanized_name() for _ in range(200))
            return first, first, arrays.unique(fake.last_romanized_name() for _ in range(200))
        fake = self._faker(key)
        return (arrays.unique(fake.first_name_male() for _ in range(200)),
                arrays.unique(fake.first_name_female() for _ in range(200)),
                arrays.unique(fake.last_name() for _ in range(400)))

    def _streets(self, country: Country) -> list[str]:
        if isinstance(country.streets, str):
            fake = self._faker(country.streets)
            return arrays.unique(
                ", ".join(fake.street_address().splitlines()) for _ in range(120)
            )
        rng = np.random.default_rng((self.seed, 99, COUNTRIES.index(country)))
        out = []
        for i in range(120):
            street = country.streets[i % len(country.streets)]
            if country.code == "JP":
                a, b, c = rng.integers(1, 9), rng.integers(1, 20), rng.integers(1, 30)
                out.append(f"{street} {a}-{b}-{c}")
            else:
                out.append(f"{rng.integers(1, 400)} {street}")
        return arrays.unique(out)

    def rng(self, *stream: int) -> np.random.Generator:
        return np.random.default_rng((self.seed, *stream))

    # --------------------------------------------------------------- building

    def load(self, tx: Session, *, contacts: int, leads: int, password_hash: str) -> dict:
        self.tx = tx
        self.writer = Writer(tx, SYSTEM)
        self.reference = {
            table: {r["name"]: r["id"] for r in tx.fetch_all(f"SELECT id, name FROM {table}")}
            for table in ("industries", "company_types", "lead_sources")
        }
        for table, values in self.reference.items():
            if not values:
                raise DemoError(f"The {table} list is empty; run the migrations first.")
        self.say("Creating departments, users and tags…")
        self._departments()
        users = self._users(password_hash)
        self._tags()
        self._mailings()
        n_companies = max(10, contacts // 10)
        self.say(f"Creating {n_companies:,} companies…")
        self._companies(n_companies)
        self.recipient_id = 0
        self.event_id = 0
        self._people("contact", contacts)
        self._people("lead", leads)
        for sequence, table in (
            ("departments_id_seq", "departments"), ("users_id_seq", "users"),
            ("tags_id_seq", "tags"), ("companies_id_seq", "companies"),
            ("contacts_id_seq", "contacts"), ("leads_id_seq", "leads"),
            ("mailings_id_seq", "mailings"), ("mailing_recipients_id_seq", "mailing_recipients"),
            ("subscription_events_id_seq", "subscription_events"),
        ):
            tx.sync_sequence(sequence, table)
        return {
            "departments": len(DEPARTMENTS), "users": users, "tags": len(TAGS),
            "companies": n_companies, "contacts": contacts, "leads": leads,
            "mailings": len(MAILINGS), "mailing_recipients": self.recipient_id,
            "subscription_events": self.event_id,
        }

    def _departments(self) -> None:
        created = arrays.timestamps(np.full(len(DEPARTMENTS), START_S - 60 * DAY_S))
        self.tx.insert_frame("departments", arrays.frame({
            "id": np.arange(1, len(DEPARTMENTS) + 1), "name": pa.array(DEPARTMENTS),
            "created_at": created,
        }))

    def _users(self, password_hash: str) -> int:
        rng = self.rng(1)
        rows: list[tuple[str, str, str, int | None]] = []  # username, full name, role, dept
        taken: set[str] = set()

        def person(department: int) -> tuple[str, str]:
            in_department = np.flatnonzero(self.country_department == department)
            weights = self.country_p[in_department]
            country = in_department[arrays.weighted(rng, 1, weights)[0]]
            group = self.name_group[country]
            female = rng.random() < 0.45
            first_group = group + (self.female_offset if female else 0)
            first = self.first.values[int(self.first.pick(rng, np.array([first_group]), 2)[0])]
            last = self.last.values[int(self.last.pick(rng, np.array([group]), 2)[0])]
            return first.as_py(), last.as_py()

        for username, role, department in ROLE_USERS:
            d = None if department is None else DEPARTMENTS.index(department)
            first, last = person(EU if d is None else d)
            rows.append((username, f"{first} {last}", role.value, d))
            taken.add(username)
        for department, count in enumerate(SALES_MANAGERS_PER_DEPARTMENT):
            made = 0
            while made < count:
                first, last = person(department)
                username = f"{arrays.slug(first)}.{arrays.slug(last)}".replace("-", "")[:50]
                if username in taken or not USERNAME_PATTERN.match(username):
                    continue
                taken.add(username)
                rows.append((username, f"{first} {last}", Role.SALES_MANAGER.value, department))
                made += 1
        ids = np.arange(1, len(rows) + 1)
        self.user_ids = {row[0]: int(i) for row, i in zip(rows, ids, strict=True)}
        self.sales = [
            [int(i) for row, i in zip(rows, ids, strict=True)
             if row[2] == Role.SALES_MANAGER.value and row[3] == d]
            for d in range(len(DEPARTMENTS))
        ]
        # Staff who may own records: the sales managers, and the department's operator.
        self.staff = [
            group + [int(i) for row, i in zip(rows, ids, strict=True)
                     if row[2] == Role.OPERATOR.value and row[3] == d]
            for d, group in enumerate(self.sales)
        ]
        self.sales_pool = arrays.Pool(self.sales)
        self.staff_pool = arrays.Pool(self.staff)
        self.sales_ids = self.sales_pool.values.to_numpy()
        self.staff_ids = self.staff_pool.values.to_numpy()
        created = START_S - 45 * DAY_S + rng.integers(0, 10 * DAY_S, len(rows))
        departments = np.array([-1 if r[3] is None else r[3] + 1 for r in rows])
        self.tx.insert_frame("users", arrays.frame({
            "id": ids,
            "username": pa.array([r[0] for r in rows]),
            "full_name": pa.array([r[1] for r in rows]),
            "email": pa.array([f"{r[0]}@{STAFF_EMAIL_DOMAIN}" for r in rows]),
            "role": pa.array([r[2] for r in rows]),
            "department_id": arrays.ids(departments, departments > 0),
            "active": np.ones(len(rows), dtype=bool),
            "password_hash": pa.repeat(password_hash, len(rows)),
            "created_at": arrays.timestamps(created),
            "updated_at": arrays.timestamps(created),
        }))
        return len(rows)

    def _tags(self) -> None:
        self.tx.insert_frame("tags", arrays.frame({
            "id": np.arange(1, len(TAGS) + 1), "name": pa.array(TAGS),
        }))

    def _mailings(self) -> None:
        sent = np.array([arrays.seconds(m.sent) for m in MAILINGS])
        departments = np.array([-1 if m.department is None else m.department for m in MAILINGS])
        manager = self.user_ids["company.manager"]
        creators = np.array([
            manager if m.department is None else self.sales[m.department][0] for m in MAILINGS
        ])
        self.mailings = Sent(sent, departments)
        self.tx.insert_frame("mailings", arrays.frame({
            "id": np.arange(1, len(MAILINGS) + 1),
            "name": pa.array([m.name for m in MAILINGS]),
            "subject": pa.array([m.subject for m in MAILINGS]),
            "body": pa.array([
                f"Hello,\n\n{m.subject}. Read the full story on our website.\n\n"
                "Kind regards,\nYour sales team" for m in MAILINGS
            ]),
            "status": pa.repeat("sent", len(MAILINGS)),
            "department_id": arrays.ids(departments + 1, departments >= 0),
            "created_by": creators,
            "created_at": arrays.timestamps(sent - 2 * DAY_S),
            "started_at": arrays.timestamps(sent),
            "finished_at": arrays.timestamps(sent + SEND_SPREAD_S),
        }))

    def _org_names(self, rng: np.random.Generator, country: np.ndarray
                   ) -> tuple[pa.Array, pa.Array, pa.Array]:
        """Company names, their domain slugs and alternative names, for these countries."""
        n = len(country)
        group = self.name_group[country]
        l1, l2 = self.last.pick(rng, group, 1.5), self.last.pick(rng, group, 1.5)
        w = self.words.pick(rng, np.zeros(n, dtype=np.int64))
        b1 = self.brand_first.pick(rng, np.zeros(n, dtype=np.int64))
        b2 = self.brand_second.pick(rng, np.zeros(n, dtype=np.int64))
        last1, last2 = self.last.take(l1), self.last.take(l2)
        slug1, slug2 = self.last.take_slug(l1), self.last.take_slug(l2)
        word, word_slug = self.words.take(w), self.words.take_slug(w)
        brand1, brand2 = self.brand_first.take(b1), self.brand_second.take(b2)
        brand_slug = arrays.join(self.brand_first.take_slug(b1), self.brand_second.take_slug(b2))
        pattern = pa.array(arrays.weighted(rng, n, PATTERN_P).astype(np.int8))
        base = pc.choose(
            pattern, last1, arrays.join(last1, " & ", last2), arrays.join(last1, "-", last2),
            arrays.join(last1, " ", word), arrays.join(brand1, brand2),
            arrays.join(brand1, " ", brand2, " ", word),
        )
        slug = pc.choose(
            pattern, slug1, arrays.join(slug1, "-", slug2), arrays.join(slug1, "-", slug2),
            arrays.join(slug1, word_slug), brand_slug, arrays.join(brand_slug, word_slug),
        )
        pattern_np = pattern.to_numpy(zero_copy_only=False)
        with_legal = (rng.random(n) < 0.85) | (pattern_np == 0)
        legal = self.legal.take(self.legal.pick(rng, country, 1.5))
        name = arrays.when(with_legal, arrays.join(base, " ", legal), base)
        initials = arrays.join(pc.utf8_slice_codeunits(last1, 0, 1), "&",
                         pc.utf8_slice_codeunits(last2, 0, 1))
        chance = rng.random(n) < 0.3
        alternative = pc.choose(
            pattern, "", arrays.when(chance, initials), arrays.when(chance, initials), "",
            arrays.when(chance, arrays.join(brand1, " ", brand2)),
            arrays.when(chance, arrays.join(brand1, brand2)),
        )
        return name, slug, alternative

    def _phones(self, rng: np.random.Generator, country: np.ndarray,
                mobile: bool = False) -> pa.Array:
        n = len(country)
        if mobile:
            area = rng.integers(600, 800, n)
            number = rng.integers(1_000_000, 99_999_999, n)
        else:
            area = rng.integers(20, 990, n)
            number = rng.integers(100_000, 9_999_999, n)
        return arrays.join(self.calling.take(pa.array(country)), " ", arrays.text(area), " ",
                           arrays.text(number))

    def _companies(self, n: int) -> None:
        rng = self.rng(2)
        country = arrays.weighted(rng, n, self.country_p)
        name, slug, alternative = self._org_names(rng, country)
        # Unique per (name key, country): draw new names for the clashes until none is left.
        names = name.to_pylist()
        keys = [company_name_key(v) for v in names]
        slugs = slug.to_pylist()
        alternatives = alternative.to_pylist()
        seen: set[tuple[str, int]] = set()
        redo = []
        for i, key in enumerate(keys):
            if (key, int(country[i])) in seen:
                redo.append(i)
            else:
                seen.add((key, int(country[i])))
        for _attempt in range(50):
            if not redo:
                break
            again = np.array(redo, dtype=np.int64)
            new_name, new_slug, new_alternative = self._org_names(rng, country[again])
            redo = []
            for i, value, value_slug, value_alt in zip(
                again.tolist(), new_name.to_pylist(), new_slug.to_pylist(),
                new_alternative.to_pylist(), strict=True,
            ):
                key = company_name_key(value)
                if (key, int(country[i])) in seen:
                    redo.append(i)
                    continue
                seen.add((key, int(country[i])))
                names[i], keys[i], slugs[i], alternatives[i] = value, key, value_slug, value_alt
        if redo:
            raise DemoError("Could not invent enough distinct company names.")
        department = self.country_department[country]
        owner = self.sales_ids[self.sales_pool.pick(rng, department)]
        created = np.sort(rng.integers(START_S, ANCHOR_S - 14 * DAY_S, n))
        updated = np.where(rng.random(n) < 0.6,
                           created + (rng.random(n) * (ANCHOR_S - created)).astype(np.int64),
                           created)
        domain = arrays.join(pa.array(slugs, pa.string()), ".", self.tld.take(pa.array(country)))
        phone = self._phones(rng, country)
        city = self.cities.take(self.cities.pick(rng, country, 2.0))
        street = self.streets.take(self.streets.pick(rng, country))
        mailbox = pa.array(["info", "sales", "contact", "office", "hello"]).take(
            pa.array(arrays.weighted(rng, n, (45, 20, 15, 12, 8))))
        types = self.reference["company_types"]
        type_names = sorted(types)
        type_ids = np.array([types[t] for t in type_names])
        type_weights = [COMPANY_TYPE_WEIGHTS.get(t, 3) for t in type_names]
        company_type = type_ids[arrays.weighted(rng, n, type_weights)]
        self.writer.load_frame(Entity.COMPANY, arrays.frame({
            "id": np.arange(1, n + 1),
            "name": pa.array(names, pa.string()),
            "name_key": pa.array(keys, pa.string()),
            "alternative_names": pa.array(alternatives, pa.string()),
            "website": arrays.when(rng.random(n) < 0.9, arrays.join("https://www.", domain)),
            "email": arrays.when(rng.random(n) < 0.8, arrays.join(mailbox, "@", domain)),
            "phone": arrays.when(rng.random(n) < 0.95, phone),
            "country_code": self.codes.take(pa.array(country)),
            "city": city,
            "address": arrays.when(rng.random(n) < 0.9, street),
            "company_type_id": arrays.ids(company_type, rng.random(n) < 0.95),
            "owner_id": owner,
            "department_id": department + 1,
            "created_at": arrays.timestamps(created),
            "updated_at": arrays.timestamps(updated),
            "created_by": owner,
            "modified_by": owner,
        }))
        industries = self.reference["industries"]
        industry_ids = np.array([industries[k] for k in sorted(industries)])
        first = rng.integers(0, len(industry_ids), n)
        second = (first + rng.integers(1, max(2, len(industry_ids)), n)) % len(industry_ids)
        two = (rng.random(n) < 0.3) & (second != first)
        company_ids = np.arange(1, n + 1)
        self.writer.load_links(Entity.COMPANY, "industries", arrays.frame({
            "company_id": np.concatenate([company_ids, company_ids[two]]),
            "industry_id": np.concatenate([industry_ids[first], industry_ids[second[two]]]),
        }))
        self.company = {
            "country": country, "department": department, "owner": owner, "created": created,
            "domain": domain, "phone": phone, "city": city, "street": street,
            "name": pa.array(names, pa.string()),
        }

    # ---------------------------------------------------------------- people

    def _people(self, entity: str, n: int) -> None:
        if n == 0:
            return
        stream = 3 if entity == "contact" else 4
        rng = self.rng(stream, 0)
        if entity == "contact":
            weights = rng.lognormal(0.0, 1.1, len(self.company["country"]))
            company = rng.choice(len(weights), size=n, p=weights / weights.sum())
            start = self.company["created"][company]
            created = start + (rng.random(n) * (ANCHOR_S - start)).astype(np.int64)
            order = np.argsort(created, kind="stable")
            skeleton = {"company": company[order], "created": created[order]}
        else:
            ago = (rng.random(n) ** 1.3 * HISTORY_DAYS * DAY_S).astype(np.int64)
            skeleton = {"created": np.sort(ANCHOR_S - 1 - ago)}
        for chunk, lo in enumerate(range(0, n, CHUNK_ROWS)):
            hi = min(n, lo + CHUNK_ROWS)
            part = {k: v[lo:hi] for k, v in skeleton.items()}
            chunk_rng = self.rng(stream, chunk + 1)
            if entity == "contact":
                self._contact_chunk(chunk_rng, np.arange(lo + 1, hi + 1), part)
            else:
                self._lead_chunk(chunk_rng, np.arange(lo + 1, hi + 1), part)
            self.say(f"{entity.capitalize()}s: {hi:,} of {n:,}")

    def _person(self, rng: np.random.Generator, country: np.ndarray, formats: Sequence[float]
                ) -> dict[str, pa.Array]:
        n = len(country)
        group = self.name_group[country]
        # One in ten people carries a name from another country's pool.
        foreign = rng.random(n) < 0.1
        group = np.where(foreign, self.name_group[arrays.weighted(rng, n, self.country_p)], group)
        female = rng.random(n) < 0.42
        first_group = group + np.where(female, self.female_offset, 0)
        f = self.first.pick(rng, first_group, 1.6)
        m = self.first.pick(rng, first_group)
        last = self.last.pick(rng, group, 1.6)
        first_slug, last_slug = self.first.take_slug(f), self.last.take_slug(last)
        initial = pc.utf8_slice_codeunits(first_slug, 0, 1)
        local = pc.choose(
            pa.array(arrays.weighted(rng, n, formats).astype(np.int8)),
            arrays.join(first_slug, ".", last_slug), arrays.join(initial, ".", last_slug),
            arrays.join(first_slug, last_slug), arrays.join(last_slug, ".", first_slug),
            arrays.join(initial, last_slug),
        )
        return {
            "first_name": self.first.take(f),
            "middle_name": arrays.when((rng.random(n) < 0.03) & (m != f), self.first.take(m)),
            "last_name": self.last.take(last),
            "local": local,
            "private_local": arrays.join(first_slug, ".", last_slug,
                                         arrays.text(rng.integers(1, 99, n))),
        }

    def _owners(self, rng: np.random.Generator, department: np.ndarray) -> np.ndarray:
        return self.staff_ids[self.staff_pool.pick(rng, department, 1.3)]

    def _audit_users(self, rng: np.random.Generator, owner: np.ndarray, department: np.ndarray,
                     created: np.ndarray, updated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(owner)
        colleague = self._owners(rng, department)
        importer = self.user_ids["super.operator"]
        u = rng.random(n)
        created_by = np.where(u < 0.75, owner, np.where(u < 0.93, colleague, importer))
        changed = updated > created
        modified_by = np.where(changed & (rng.random(n) < 0.4), colleague, created_by)
        modified_by = np.where(changed & (rng.random(n) < 0.5), owner, modified_by)
        return created_by, modified_by

    def _updated(self, rng: np.random.Generator, created: np.ndarray, share: float) -> np.ndarray:
        n = len(created)
        later = created + (rng.random(n) ** 2 * (ANCHOR_S - created)).astype(np.int64)
        return np.where(rng.random(n) < share, later, created)

    def _sources(self, rng: np.random.Generator, n: int, weights: dict[str, int],
                 share: float) -> pa.Array:
        sources = self.reference["lead_sources"]
        names = sorted(sources)
        ids = np.array([sources[s] for s in names])
        return arrays.ids(ids[arrays.weighted(rng, n, [weights.get(s, 2) for s in names])],
                    rng.random(n) < share)

    def _contact_chunk(self, rng: np.random.Generator, ids: np.ndarray, part: dict) -> None:
        n = len(ids)
        company = part["company"]
        created = part["created"]
        c = self.company
        country = c["country"][company]
        department = c["department"][company]
        owner = np.where(rng.random(n) < 0.85, c["owner"][company], self._owners(rng, department))
        updated = self._updated(rng, created, 0.55)
        created_by, modified_by = self._audit_users(rng, owner, department, created, updated)
        person = self._person(rng, country, (55, 20, 10, 5, 10))
        company_index = pa.array(company)
        email = arrays.join(person["local"], "@", c["domain"].take(company_index))
        has_email = rng.random(n) < 0.97
        extension = arrays.text(rng.integers(10, 999, n))
        direct = arrays.join(c["phone"].take(company_index), "-", extension)
        newsletter = newsletter_history(
            rng, "contact", ids, created, department, has_email, email, owner, self.mailings)
        updated = np.maximum(updated, newsletter.pop("touched"))
        self.writer.load_frame(Entity.CONTACT, arrays.frame({
            "id": ids,
            "company_id": company + 1,
            "first_name": person["first_name"],
            "middle_name": person["middle_name"],
            "last_name": person["last_name"],
            "title": arrays.when(rng.random(n) < 0.9, self.titles.take(
                self.titles.pick(rng, np.zeros(n, dtype=np.int64), 1.5))),
            "email": arrays.when(has_email, email),
            "secondary_email": arrays.when(rng.random(n) < 0.04, arrays.join(
                person["private_local"], "@",
                self.free_mail.take(self.free_mail.pick(rng, np.zeros(n, np.int64), 1.5)))),
            "phone": arrays.when(rng.random(n) < 0.85, direct),
            "mobile": arrays.when(rng.random(n) < 0.55, self._phones(rng, country, mobile=True)),
            "country_code": self.codes.take(pa.array(country)),
            "city": c["city"].take(company_index),
            "address": arrays.when(rng.random(n) < 0.7, c["street"].take(company_index)),
            "description": arrays.when(rng.random(n) < 0.15, self.contact_notes.take(
                self.contact_notes.pick(rng, np.zeros(n, dtype=np.int64)))),
            "lead_source_id": self._sources(rng, n, CONTACT_SOURCE_WEIGHTS, 0.9),
            "vip": rng.random(n) < 0.08,
            "newsletter_opt_in": newsletter["opt_in"],
            "last_mailed_at": newsletter["last_mailed_at"],
            "unsubscribed_at": newsletter["unsubscribed_at"],
            "disqualified": rng.random(n) < 0.01,
            "owner_id": owner,
            "department_id": department + 1,
            "created_at": arrays.timestamps(created),
            "updated_at": arrays.timestamps(updated),
            "created_by": created_by,
            "modified_by": modified_by,
        }))
        # Tags: three in ten contacts have one, some of those a second one.
        tag_count = len(TAGS)
        tagged = rng.random(n) < 0.3
        first = arrays.skewed(rng, np.full(n, tag_count), 1.5)
        second = (first + rng.integers(1, tag_count, n)) % tag_count
        double = tagged & (rng.random(n) < 0.35)
        self.writer.load_links(Entity.CONTACT, "tags", arrays.frame({
            "contact_id": np.concatenate([ids[tagged], ids[double]]),
            "tag_id": np.concatenate([first[tagged], second[double]]) + 1,
        }))
        self._insert_newsletter(newsletter)

    def _lead_chunk(self, rng: np.random.Generator, ids: np.ndarray, part: dict) -> None:
        n = len(ids)
        created = part["created"]
        c = self.company
        # One lead in eight comes from a company that is already a customer.
        known = rng.random(n) < 0.12
        known_company = rng.integers(0, len(c["country"]), n)
        country = np.where(known, c["country"][known_company],
                           arrays.weighted(rng, n, self.country_p))
        department = self.country_department[country]
        name, slug, _alternative = self._org_names(rng, country)
        known_index = pa.array(known_company)
        company_name = arrays.when(known, c["name"].take(known_index), name)
        domain = arrays.when(known, c["domain"].take(known_index),
                       arrays.join(slug, ".", self.tld.take(pa.array(country))))
        assigned = rng.random(n) < 0.97
        owner = self._owners(rng, department)
        updated = self._updated(rng, created, 0.45)
        created_by, modified_by = self._audit_users(rng, owner, department, created, updated)
        person = self._person(rng, country, (50, 20, 15, 5, 10))
        private = rng.random(n) < 0.3
        free_mail = self.free_mail.take(self.free_mail.pick(rng, np.zeros(n, np.int64), 1.5))
        email = arrays.when(private, arrays.join(person["private_local"], "@", free_mail),
                      arrays.join(person["local"], "@", domain))
        has_email = rng.random(n) < 0.98
        city = arrays.when(known, c["city"].take(known_index),
                     self.cities.take(self.cities.pick(rng, country, 2.0)))
        street = arrays.when(known, c["street"].take(known_index),
                       self.streets.take(self.streets.pick(rng, country)))
        company_phone = arrays.when(known, c["phone"].take(known_index), self._phones(rng, country))
        industries = self.reference["industries"]
        industry_ids = np.array([industries[k] for k in sorted(industries)])
        types = self.reference["company_types"]
        type_ids = np.array([types[k] for k in sorted(types)])
        newsletter = newsletter_history(
            rng, "lead", ids, created, department, has_email, email,
            np.where(assigned, owner, created_by), self.mailings)
        updated = np.maximum(updated, newsletter.pop("touched"))
        self.writer.load_frame(Entity.LEAD, arrays.frame({
            "id": ids,
            "company_name": company_name,
            "company_email": arrays.when(rng.random(n) < 0.6, arrays.join("info@", domain)),
            "company_phone": arrays.when(rng.random(n) < 0.6, company_phone),
            "website": arrays.when(rng.random(n) < 0.75, arrays.join("https://www.", domain)),
            "company_address": arrays.when(rng.random(n) < 0.7, street),
            "industry_id": arrays.ids(industry_ids[rng.integers(0, len(industry_ids), n)],
                                rng.random(n) < 0.85),
            "company_type_id": arrays.ids(type_ids[rng.integers(0, len(type_ids), n)],
                                    rng.random(n) < 0.65),
            "first_name": person["first_name"],
            "middle_name": person["middle_name"],
            "last_name": person["last_name"],
            "title": arrays.when(rng.random(n) < 0.75, self.titles.take(
                self.titles.pick(rng, np.zeros(n, dtype=np.int64), 1.5))),
            "email": arrays.when(has_email, email),
            "secondary_email": arrays.when(~private & (rng.random(n) < 0.05),
                                     arrays.join(person["private_local"], "@", free_mail)),
            "phone": arrays.when(rng.random(n) < 0.8, self._phones(rng, country)),
            "mobile": arrays.when(rng.random(n) < 0.5, self._phones(rng, country, mobile=True)),
            "country_code": self.codes.take(pa.array(country)),
            "city": city,
            "address": arrays.when(rng.random(n) < 0.25, street),
            "description": arrays.when(rng.random(n) < 0.25, self.lead_notes.take(
                self.lead_notes.pick(rng, np.zeros(n, dtype=np.int64)))),
            "lead_source_id": self._sources(rng, n, LEAD_SOURCE_WEIGHTS, 0.95),
            "vip": rng.random(n) < 0.06,
            "newsletter_opt_in": newsletter["opt_in"],
            "last_mailed_at": newsletter["last_mailed_at"],
            "unsubscribed_at": newsletter["unsubscribed_at"],
            "disqualified": rng.random(n) < 0.10,
            "owner_id": arrays.ids(owner, assigned),
            "department_id": department + 1,
            "created_at": arrays.timestamps(created),
            "updated_at": arrays.timestamps(updated),
            "created_by": created_by,
            "modified_by": modified_by,
        }))
        tagged = rng.random(n) < 0.12
        lead_tag_ids = np.array([TAGS.index(t) + 1 for t in LEAD_TAGS])
        self.writer.load_links(Entity.LEAD, "tags", arrays.frame({
            "lead_id": ids[tagged],
            "tag_id": lead_tag_ids[rng.integers(0, len(lead_tag_ids), int(tagged.sum()))],
        }))
        self._insert_newsletter(newsletter)

    # ------------------------------------------------------------- newsletter

    def _insert_newsletter(self, newsletter: dict) -> None:
        recipients = newsletter["recipients"]
        count = len(recipients["entity_id"])
        ids = np.arange(self.recipient_id + 1, self.recipient_id + count + 1)
        self.tx.insert_frame("mailing_recipients", arrays.frame({"id": ids, **recipients}))
        self.recipient_id += count
        events = newsletter["events"]
        count = len(events["entity_id"])
        ids = np.arange(self.event_id + 1, self.event_id + count + 1)
        self.tx.insert_frame("subscription_events", arrays.frame({"id": ids, **events}))
        self.event_id += count
