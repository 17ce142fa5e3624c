"""The registry's SQL on PostgreSQL: a pooled connection that reads like a sqlite-utils one.

The registry's SQL modules (and the node's accounts SQL the registry shares) are written
once, in SQL both engines accept: upserts with ON CONFLICT, RETURNING instead of
lastrowid, `?` and `:name` parameters. :class:`PgDatabase` runs that SQL on a psycopg 3
connection from a psycopg-pool pool: it rewrites the parameter marks to psycopg's
(`%s`, `%(name)s`), and offers the few parts of sqlite-utils' Database the shared code
uses (`execute`, `executemany`, `conn.in_transaction`, `atomic()`, `close()`). What must
differ between the engines (JSON paths, row locks, serialising sequence writers) is in
:mod:`.dialect`, never in an `if` inside a query module.

Connections are in autocommit mode and every write runs in an explicit transaction
(`atomic()`, psycopg's `transaction()`: BEGIN/COMMIT outside, savepoints inside), so a
request that only reads never leaves a transaction open on a pooled connection.
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

DIALECT = "postgresql"
CONNECT_TIMEOUT_S = 10
POOL_WAIT_S = 30
# Nothing hangs: a query that runs this long is cancelled by the server, and a lock
# waited on this long gives up (the request answers 500/retry instead of piling up).
STATEMENT_TIMEOUT_MS = 120_000
LOCK_TIMEOUT_MS = 60_000

# Another transaction got there first (the same batch from two processes, the same
# revision in two batches): the whole transaction is run again and then sees its work.
RETRYABLE = (pg_errors.UniqueViolation, pg_errors.SerializationFailure,
             pg_errors.DeadlockDetected)
DatabaseError = psycopg.Error

_TOKEN = re.compile(r"""('(?:[^']|'')*')|("(?:[^"]|"")*")|(::)|(\?)|:([A-Za-z_]\w*)|(%)""")


@functools.lru_cache(maxsize=1024)
def to_psycopg(sql: str) -> str:
    """`?` -> `%s`, `:name` -> `%(name)s`, `%` -> `%%`; quoted text and `::` casts kept."""

    def swap(m: re.Match) -> str:
        single, double, cast, mark, name, percent = m.groups()
        if single is not None:
            return single.replace("%", "%%")
        if double is not None or cast is not None:
            return m.group(0)
        if mark is not None:
            return "%s"
        if name is not None:
            return f"%({name})s"
        return "%%"

    return _TOKEN.sub(swap, sql)


def redact(url: str) -> str:
    """The URL without its password, fit for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


class PgDatabase:
    """One pooled connection, for the length of one request or command."""

    dialect = DIALECT

    def __init__(self, conn: psycopg.Connection, pool: ConnectionPool | None, location: str):
        self._conn = conn
        self._pool = pool
        self.location = location

    # sqlite-utils code reaches the DB-API connection as `db.conn`; here that is this object.
    @property
    def conn(self) -> "PgDatabase":
        return self

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Iterable | dict = ()) -> psycopg.Cursor:
        if not isinstance(params, dict):
            params = list(params)
        if not params:
            return self._conn.execute(sql)  # without parameters psycopg reads `%` as itself
        return self._conn.execute(to_psycopg(sql), params)

    def executemany(self, sql: str, seq: Iterable) -> None:
        rows = list(seq)
        if rows:
            with self._conn.cursor() as cursor:
                cursor.executemany(to_psycopg(sql), rows)

    @contextlib.contextmanager
    def atomic(self) -> Iterator["PgDatabase"]:
        with self._conn.transaction():
            yield self

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._pool is not None:
            self._pool.putconn(conn)  # rolls back anything left open
        else:
            conn.close()


def conninfo(url: str, password: str | None) -> dict:
    """Connection keywords: the URL, a password from the credentials directory when the URL
    has none, and the deadlines."""
    extra = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "survey-registry",
             "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
                        f" -c lock_timeout={LOCK_TIMEOUT_MS}"}
    if password and urlsplit(url).password is None:
        extra["password"] = password
    return extra


def _configure(conn: psycopg.Connection) -> None:
    conn.autocommit = True


def open_pool(url: str, *, password: str | None, size: int) -> ConnectionPool:
    """A pool for this process, opened now so a wrong URL or password fails at start."""
    pool = ConnectionPool(url, min_size=1, max_size=max(1, size), kwargs=conninfo(url, password),
                          configure=_configure, timeout=POOL_WAIT_S, open=False,
                          name="registry", check=ConnectionPool.check_connection)
    pool.open(wait=True, timeout=CONNECT_TIMEOUT_S + 5)
    return pool


def connect_once(url: str, *, password: str | None = None) -> PgDatabase:
    """A connection outside any pool (migrations, `registry migrate`, tests)."""
    conn = psycopg.connect(url, autocommit=True, **conninfo(url, password))
    return PgDatabase(conn, None, redact(url))
