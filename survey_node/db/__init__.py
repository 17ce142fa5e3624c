"""All SQL lives in this package: the connection, migrations and one module per area.

Connections are short-lived (one per request or per command), in WAL mode with
``synchronous=FULL`` so that a save the user saw acknowledged survives a power cut.
Writes go through :func:`transaction`, which takes the write lock up front
(``BEGIN IMMEDIATE``) so two writers queue instead of failing half-way, and every change
that matters is recorded with :func:`audit` inside that same transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Iterator

from sqlite_utils import Database

BUSY_TIMEOUT_MS = 10_000
# Most values one statement's IN (...) list takes: far under SQLite's and PostgreSQL's
# parameter limits, and short enough that a statement stays cheap to parse and plan.
IN_LIST_LIMIT = 500


def connect(path: str | Path, *, migrate: bool = True) -> Database:
    """Open the database file, set the pragmas and apply pending migrations."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    db = Database(conn, execute_plugins=False)
    if migrate:
        from .migrations import migrations

        migrations.apply(db)
    return db


def hold_open(db: Database) -> Database:
    """Keep `db` open for the life of a server process, so reads work on a full disk.

    When the last connection to a WAL database closes, SQLite deletes its ``-wal`` and
    ``-shm`` files, and the next connection must create a 32 KB ``-shm`` again: on a full
    disk that fails (SQLITE_IOERR_SHMSIZE) and even reading a page or logging in breaks.
    Requests open and close their own connections, so a server holds one more, idle (no
    transaction, so it holds no snapshot back), for as long as it runs.
    """
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # really opens the WAL
    return db


@contextlib.contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One short write transaction; nested calls become savepoints.

    A database that is not SQLite (the registry's PostgreSQL connection) brings its own
    BEGIN/COMMIT and savepoints as `atomic()`; its row locks stand in for BEGIN IMMEDIATE."""
    conn = db.conn
    if conn.in_transaction or not isinstance(db, Database):
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def now_iso() -> str:
    """UTC now, ISO 8601 with seconds; what every *_at column holds."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def audit(
    db: Database,
    *,
    actor: str | None,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    detail: dict | None = None,
) -> None:
    """Append to the audit log; call inside the transaction that makes the change."""
    if not db.conn.in_transaction:
        raise RuntimeError("audit() must run inside the transaction of the change it records")
    db.execute(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            now_iso(),
            actor,
            action,
            entity,
            None if entity_id is None else str(entity_id),
            json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
        ],
    )


def rows_audit(db: Database, *, entity: str | None = None, limit: int = 100) -> list[dict]:
    where, params = ("WHERE entity = ?", [entity]) if entity else ("", [])
    cursor = db.execute(
        f"SELECT * FROM audit_log {where} ORDER BY id DESC LIMIT ?", [*params, limit]
    )
    cols = [c[0] for c in cursor.description]
    return [dict(zip(cols, row)) for row in cursor.fetchall()]


def ping(db: Database) -> None:
    """A query that reaches the database file (for health checks): raises if it cannot."""
    db.execute("SELECT 1").fetchone()


def database_file(db: Database) -> str:
    """The file this connection's main database lives in (a server database: its URL
    without the password)."""
    if not isinstance(db, Database):
        return db.location
    return db.execute("PRAGMA database_list").fetchone()[2]


def check_integrity(db: Database) -> str:
    """SQLite's quick check of the database file: "ok", or the first problem it found."""
    return db.execute("PRAGMA quick_check").fetchone()[0]


def rows(db: Database, sql: str, params: list | tuple | dict = ()) -> list[dict]:
    """Run a query and return dicts (a small helper the area modules share)."""
    cursor = db.execute(sql, params)
    cols = [c[0] for c in cursor.description]
    return [dict(zip(cols, row)) for row in cursor.fetchall()]


def row(db: Database, sql: str, params: list | tuple | dict = ()) -> dict | None:
    found = rows(db, sql, params)
    return found[0] if found else None


def chunked(items: list, size: int = IN_LIST_LIMIT) -> Iterator[list]:
    """`items` in consecutive slices of at most `size`, for statements with a bounded
    number of parameters."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def placeholders(count: int) -> str:
    """`?, ?, ?` with `count` marks, for an IN (...) or VALUES (...) list."""
    return ", ".join("?" * count)
