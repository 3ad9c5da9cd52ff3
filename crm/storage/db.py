"""One data-access API over DuckDB (embedded) and PostgreSQL (shared by several app servers).

Services write SQL once, with `?` placeholders, and run it inside a unit of work:

    with db.transaction() as tx:
        tx.execute("UPDATE app_settings SET value = ? WHERE name = ?", ("1", "demo"))

The unit of work commits when the block ends and rolls back when it raises, on both
backends. DuckDB is opened once per process (one database instance, a fresh cursor per unit
of work, so every Streamlit session thread gets its own); PostgreSQL uses a connection pool.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd

Params = Sequence[Any]


@dataclass(frozen=True)
class Condition:
    """A SQL boolean expression and its bound parameters."""

    sql: str
    params: tuple = ()

    def __and__(self, other: Condition) -> Condition:
        return Condition(f"({self.sql}) AND ({other.sql})", self.params + other.params)


class DatabaseError(Exception):
    """Base of the errors this layer raises, with a message fit for a user."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be opened or reached."""


class IntegrityError(DatabaseError):
    """A uniqueness or other constraint refused the change."""


class ConcurrencyError(DatabaseError):
    """Another transaction changed the same rows at the same time; try again."""


# Statements that change data, and the tables whose changes no list, count or chart shows
# (sign-in bookkeeping): a unit of work that changed anything else moves the database's
# generation on when it commits (see Database.generation).
_CHANGES = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE|ALTER\s+TABLE|DROP\s+TABLE|"
    r"CREATE\s+(?:TEMP(?:ORARY)?\s+)?TABLE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(\w+)",
    re.IGNORECASE)
_BOOKKEEPING = frozenset({"sessions", "sign_in_attempts", "sign_in_unlocks"})


def changes_data(sql: str) -> bool:
    """Whether a statement may change what lists, counts and charts show."""
    return any(table.lower() not in _BOOKKEEPING for table in _CHANGES.findall(sql))


class Session(ABC):
    """One open transaction."""

    dialect: str
    changed = False  # set by a statement that changes data (see changes_data)

    @abstractmethod
    def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; returns the number of rows it changed (when known)."""

    @abstractmethod
    def fetch_all(self, sql: str, params: Params = ()) -> list[dict[str, Any]]: ...

    @abstractmethod
    def fetch_frame(self, sql: str, params: Params = ()) -> pd.DataFrame: ...

    @abstractmethod
    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        """Bulk-insert a frame whose column names are the table's column names."""

    @abstractmethod
    def stream_frames(self, sql: str, params: Params = (),
                      chunk_rows: int = 50_000) -> Iterator[pd.DataFrame]:
        """The result of one query as frames of at most `chunk_rows`, read as they are used."""

    def fetch_one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = self.fetch_all(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        row = self.fetch_one(sql, params)
        return None if row is None else next(iter(row.values()))

    @abstractmethod
    def sync_sequence(self, sequence: str, table: str) -> None:
        """Move `sequence` past the table's largest id (after a bulk load with explicit ids)."""


class Database(ABC):
    dialect: str
    url: str

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Session]: ...

    @abstractmethod
    def close(self) -> None: ...

    def cap_memory(self, megabytes: int) -> None:
        """Keep this process's database engine within `megabytes` of working memory, for a
        process that does one large job (an export from the command line). DuckDB, which runs
        inside the process, otherwise keeps up to 80% of the machine's memory and then
        spills to disk; PostgreSQL's memory is the server's own, so there nothing changes."""
        return None

    @abstractmethod
    def generation(self) -> int:
        """A number that moves on after every committed unit of work that changed data, in
        any process: what was read at one generation holds until it moves."""

    def remembered(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """`compute()`, or its result from an earlier call with the same `key` at this
        generation (a list's count and page when only the sort or page changed, or the
        same list opened again). Kept per process, the most recent few hundred."""
        generation = self.generation()
        memo: OrderedDict = self.__dict__.setdefault("_memo", OrderedDict())
        lock: threading.Lock = self.__dict__.setdefault("_memo_lock", threading.Lock())
        with lock:
            if memo.get("generation") != generation:
                memo.clear()
                memo["generation"] = generation
            if key in memo:
                memo.move_to_end(key)
                return memo[key]
        value = compute()
        with lock:
            if memo.get("generation") == generation:
                memo[key] = value
                while len(memo) > _MEMO_SIZE + 1:
                    oldest = next(k for k in memo if k != "generation")
                    del memo[oldest]
        return value

    def read_remembered(self, method: str, sql: str, params: Params = ()) -> Any:
        """`self.<method>(sql, params)` (fetch_all, scalar, frame…), answered from the same
        statement's result at this generation when there is one (see `remembered`). A frame
        or rows come back as copies: a caller may change what it got."""
        key = (method, sql, tuple(tuple(p) if isinstance(p, list) else p for p in params))
        found = self.remembered(key, lambda: getattr(self, method)(sql, params))
        if isinstance(found, list):
            return [dict(row) if isinstance(row, dict) else row for row in found]
        return found.copy() if hasattr(found, "copy") else found

    # Shortcuts for a single statement in its own unit of work.
    def fetch_all(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        with self.transaction() as tx:
            return tx.fetch_all(sql, params)

    def fetch_one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        with self.transaction() as tx:
            return tx.fetch_one(sql, params)

    def fetch_frame(self, sql: str, params: Params = ()) -> pd.DataFrame:
        with self.transaction() as tx:
            return tx.fetch_frame(sql, params)

    def scalar(self, sql: str, params: Params = ()) -> Any:
        with self.transaction() as tx:
            return tx.scalar(sql, params)

    def execute(self, sql: str, params: Params = ()) -> int:
        with self.transaction() as tx:
            return tx.execute(sql, params)


_MEMO_SIZE = 256


@dataclass
class QueryStats:
    """Statements run and seconds spent running them, in this thread since `counted()`."""

    queries: int = 0
    seconds: float = 0.0


_counting = threading.local()


@contextmanager
def counted() -> Iterator[QueryStats]:
    """Count the statements this thread runs inside the block (a page's rerun, for the
    server's log line), however many sessions and transactions they use."""
    stats, outer = QueryStats(), getattr(_counting, "stats", None)
    _counting.stats = stats
    try:
        yield stats
    finally:
        _counting.stats = outer


def _counted(started: float) -> None:
    stats = getattr(_counting, "stats", None)
    if stats is not None:
        stats.queries += 1
        stats.seconds += time.perf_counter() - started


# Namespaces of `serialised` (the first key of PostgreSQL's two-key advisory locks).
SIGN_IN_LOCK, REQUEST_FORM_LOCK = 727002, 727004
_key_locks = [threading.Lock() for _ in range(64)]


@contextmanager
def serialised(db: Database, namespace: int, key: str) -> Iterator[Session]:
    """A transaction that no other one for the same (namespace, key) runs beside: in this
    process (a lock), and on PostgreSQL on every app server too (an advisory lock held until
    the transaction ends). For a check and the write it allows as one step, such as counting
    a client's attempts and recording one more."""
    local = _key_locks[int(hashlib.sha256(f"{namespace}:{key}".encode()).hexdigest(), 16) % 64]
    with local, db.transaction() as tx:
        if tx.dialect == "postgres":
            tx.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (namespace, key))
        yield tx


# --------------------------------------------------------------------------- DuckDB


class _DuckSession(Session):
    dialect = "duckdb"

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    def _run(self, sql: str, params: Params) -> Any:
        import duckdb

        self.changed = self.changed or changes_data(sql)
        started = time.perf_counter()
        try:
            return self._cur.execute(sql, list(params) if params else None)
        except duckdb.ConstraintException as exc:
            raise IntegrityError(_first_line(exc)) from exc
        except duckdb.TransactionException as exc:
            raise ConcurrencyError(
                "Someone else changed the same records at the same moment; please try again."
            ) from exc
        finally:
            _counted(started)

    def execute(self, sql: str, params: Params = ()) -> int:
        result = self._run(sql, params)
        if result.description and result.description[0][0] == "Count":
            row = result.fetchone()
            return int(row[0]) if row else 0
        return -1

    def fetch_all(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        result = self._run(sql, params)
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def fetch_frame(self, sql: str, params: Params = ()) -> pd.DataFrame:
        return self._run(sql, params).df()

    def stream_frames(self, sql: str, params: Params = (),
                      chunk_rows: int = 50_000) -> Iterator[pd.DataFrame]:
        # A relation (not a DB-API result) streams Arrow batches without an extra copy.
        reader = self._cur.sql(sql, params=list(params) if params else None).to_arrow_reader(
            chunk_rows)
        for batch in reader:
            if batch.num_rows:
                yield batch.to_pandas()

    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        if frame.empty:
            return 0
        columns = ", ".join(_identifier(c) for c in frame.columns)
        self._cur.register("_incoming_frame", frame)
        try:
            self._run(
                f"INSERT INTO {_identifier(table)} ({columns}) "
                f"SELECT {columns} FROM _incoming_frame",
                (),
            )
        finally:
            self._cur.unregister("_incoming_frame")
        return len(frame)

    def sync_sequence(self, sequence: str, table: str) -> None:
        top = self.scalar(f"SELECT coalesce(max(id), 0) FROM {_identifier(table)}")
        current = self.scalar(f"SELECT nextval('{_identifier(sequence)}')")
        if current < top:
            # DuckDB has no setval: draw the missing values in one vectorised statement.
            self.scalar(
                f"SELECT max(nextval('{_identifier(sequence)}')) FROM range(?)", (top - current,)
            )


class DuckDatabase(Database):
    dialect = "duckdb"

    def __init__(self, url: str, path: str) -> None:
        import duckdb

        self.url = url
        self.path = path
        # One process has the file (DuckDB locks it), so a counter here sees every change.
        self._generation = 0
        self._generation_lock = threading.Lock()
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(path)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise DatabaseUnavailable(
                    f"The database file {path} is in use by another process (is the app "
                    "running?). Stop it first, or use PostgreSQL for several processes."
                ) from exc
            raise DatabaseUnavailable(f"Cannot open {path}: {_first_line(exc)}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        cursor = self._con.cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")
            session = _DuckSession(cursor)
            try:
                yield session
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            try:
                cursor.execute("COMMIT")
                if session.changed:  # after the commit: see Database.generation
                    with self._generation_lock:
                        self._generation += 1
            except Exception as exc:
                import duckdb

                if isinstance(exc, duckdb.TransactionException):
                    raise ConcurrencyError(
                        "Someone else changed the same records at the same moment; "
                        "please try again."
                    ) from exc
                raise
        finally:
            cursor.close()

    def close(self) -> None:
        self._con.close()

    def cap_memory(self, megabytes: int) -> None:
        self._con.execute(f"SET memory_limit = '{int(megabytes)}MB'")

    def generation(self) -> int:
        return self._generation


# ----------------------------------------------------------------------- PostgreSQL

_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=4096)
def _to_pyformat(sql: str) -> str:
    """`?` placeholders to psycopg's `%s` (literal `%` doubled). SQL never holds a literal `?`."""
    return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))


class _PgSession(Session):
    dialect = "postgres"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def _run(self, sql: str, params: Params) -> Any:
        import psycopg

        self.changed = self.changed or changes_data(sql)
        cur = self._conn.cursor()
        started = time.perf_counter()
        try:
            cur.execute(_to_pyformat(sql), tuple(params) if params else None)
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(_first_line(exc)) from exc
        except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected) as exc:
            raise ConcurrencyError(
                "Someone else changed the same records at the same moment; please try again."
            ) from exc
        finally:
            _counted(started)
        return cur

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._run(sql, params).rowcount

    def fetch_all(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        return list(self._run(sql, params).fetchall())

    def fetch_frame(self, sql: str, params: Params = ()) -> pd.DataFrame:
        cur = self._run(sql, params)
        names = [d.name for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=names)

    def stream_frames(self, sql: str, params: Params = (),
                      chunk_rows: int = 50_000) -> Iterator[pd.DataFrame]:
        # A server-side cursor: PostgreSQL sends the rows as they are fetched.
        with self._conn.cursor(name="crm_stream") as cur:
            cur.itersize = chunk_rows
            cur.execute(_to_pyformat(sql), tuple(params) if params else None)
            names = [d.name for d in cur.description]
            while rows := cur.fetchmany(chunk_rows):
                yield pd.DataFrame(rows, columns=names)

    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        """COPY in CSV form, written by Arrow: about 6x faster than writing row by row.

        Arrow quotes every string, so an empty string stays '' and only a missing value
        (an unquoted empty field) becomes NULL.
        """
        if frame.empty:
            return 0
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        self.changed = True
        columns = ", ".join(_identifier(c) for c in frame.columns)
        buffer = io.BytesIO()
        pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buffer,
                         pa_csv.WriteOptions(include_header=False))
        cur = self._conn.cursor()
        with cur.copy(f"COPY {_identifier(table)} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())
        return len(frame)

    def sync_sequence(self, sequence: str, table: str) -> None:
        self.execute(
            f"SELECT setval('{_identifier(sequence)}', "
            f"greatest((SELECT coalesce(max(id), 0) FROM {_identifier(table)}), 1))"
        )


class PgDatabase(Database):
    dialect = "postgres"

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        conninfo, schema = _split_schema(url)
        self.url = url
        self.schema = schema
        kwargs: dict[str, Any] = {"row_factory": dict_row}
        if schema:
            kwargs["options"] = f"-c search_path={schema},public"
        try:
            with psycopg.connect(conninfo, connect_timeout=5, autocommit=True) as probe:
                if schema:
                    probe.execute(f"CREATE SCHEMA IF NOT EXISTS {_identifier(schema)}")
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(
                f"Cannot connect to PostgreSQL at {_redacted(conninfo)}: {_first_line(exc)}"
            ) from exc
        self._pool = ConnectionPool(
            conninfo, min_size=1, max_size=10, kwargs=kwargs, open=True, timeout=10
        )
        # Every app server shares the generation: a sequence, moved on after each commit
        # that changed data (a sequence takes no row lock, so writers do not queue on it).
        with self._pool.connection() as conn:
            try:
                with conn.transaction():
                    conn.execute("CREATE SEQUENCE IF NOT EXISTS data_generation")
            except psycopg.errors.UniqueViolation:
                pass  # another server created it at the same moment

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._pool.connection() as conn:
            with conn.transaction():
                session = _PgSession(conn)
                yield session
            if session.changed:  # after the commit, so a reader never keeps old data new
                with conn.transaction():
                    conn.execute("SELECT nextval('data_generation')")

    def generation(self) -> int:
        with self._pool.connection() as conn, conn.transaction():
            return int(conn.execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END "
                                    "AS n FROM data_generation").fetchone()["n"])

    def close(self) -> None:
        self._pool.close()

    def vacuum_analyze(self) -> None:
        """After a bulk load: the planner's statistics, and the visibility map that lets a
        count read an index alone (VACUUM runs outside a transaction)."""
        with self._pool.connection() as conn:
            conn.autocommit = True
            try:
                conn.execute("VACUUM (ANALYZE)")
            finally:
                conn.autocommit = False


# --------------------------------------------------------------------------- helpers


@contextmanager
def temporary_table(tx: Session, columns_sql: str, frame: pd.DataFrame) -> Iterator[str]:
    """`frame` as a temporary table for joins inside `tx`, dropped afterwards."""
    name = f"tmp_{uuid.uuid4().hex[:12]}"
    tx.execute(f"CREATE TEMPORARY TABLE {name} ({columns_sql})")
    try:
        tx.insert_frame(name, frame.reset_index(drop=True))
        yield name
    finally:
        tx.execute(f"DROP TABLE IF EXISTS {name}")


def column_types(tx: Session, table: str, columns: Sequence[str]) -> str:
    """`name TYPE, ...` for a temporary table shaped like some of `table`'s columns."""
    rows = tx.fetch_all(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = current_schema()", (table,))
    types = {r["column_name"]: r["data_type"] for r in rows}
    return ", ".join(f"{c} {types[c]}" for c in columns)


def ids_condition(ids: Sequence[int], column: str = "id") -> Condition:
    """`column IN (the ids)` as one bound array, whatever their number (both backends)."""
    return Condition(f"{column} IN (SELECT unnest(CAST(? AS BIGINT[])))",
                     ([int(i) for i in ids],))


# --------------------------------------------------------------------------- opening

_open: dict[str, Database] = {}
_open_lock = threading.Lock()


def connect(url: str) -> Database:
    """The process-wide database for `url` (opened once; DuckDB allows one instance per file)."""
    with _open_lock:
        db = _open.get(url)
        if db is None:
            db = _make(url)
            _open[url] = db
        return db


def forget(url: str) -> None:
    """Close and drop the process-wide instance for `url` (tests, CLI)."""
    with _open_lock:
        db = _open.pop(url, None)
    if db is not None:
        db.close()


def _make(url: str) -> Database:
    if url.startswith(("postgresql://", "postgres://")):
        return PgDatabase(url)
    if url.startswith("duckdb://"):
        # As SQLAlchemy reads it: duckdb:///relative.db, duckdb:////absolute.db, :memory:.
        path = url.removeprefix("duckdb://")
        path = path[1:] if path.startswith("/") else path
        return DuckDatabase(url, path or ":memory:")
    if "://" in url:
        raise DatabaseUnavailable(
            f"Unsupported database URL {url!r}: use duckdb:///path/file.duckdb or postgresql://…"
        )
    return DuckDatabase(url, url)


def _split_schema(url: str) -> tuple[str, str | None]:
    """Our own `schema=` query parameter selects a PostgreSQL schema (search_path)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = [(k, v) for k, v in query if k != "schema"]
    if schema is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", schema):
        raise DatabaseUnavailable(f"Invalid schema name {schema!r}")
    return urlunsplit(parts._replace(query=urlencode(rest))), schema


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _redacted(conninfo: str) -> str:
    parts = urlsplit(conninfo)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return conninfo
