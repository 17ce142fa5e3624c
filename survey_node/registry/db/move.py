"""Registry SQL for `registry migrate`: read an embedded registry table by table, write the
rows into a PostgreSQL registry with their keys, and compare the two.

The source side is SQLite (its catalog: sqlite_master and the table_info pragmas), the
target side PostgreSQL (information_schema); both are the registry's own schema, so the
tables and columns are read from the databases rather than listed here again, and a table
added by a later migration moves without a change to this module.
"""

from __future__ import annotations

from typing import Iterator

from sqlite_utils import Database

from ...db import placeholders

# PostgreSQL takes at most 65,535 parameters in one statement.
MAX_PARAMS = 60_000
PAGE_BYTES = 16 << 20


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- the embedded registry (source) -------------------------------------------------------

def rows_source_tables(db: Database) -> list[dict]:
    """The registry's tables in creation order, each with its columns, primary key and the
    tables it references; not SQLite's own nor sqlite-utils' migration bookkeeping."""
    names = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%'"
        " ESCAPE '\\' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY rowid")]
    tables = []
    for name in names:
        info = db.execute(f"PRAGMA table_info({quote(name)})").fetchall()
        refs = {r[2] for r in db.execute(f"PRAGMA foreign_key_list({quote(name)})")}
        tables.append({"name": name, "columns": [c[1] for c in info],
                       "key": [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5]],
                       "references": sorted(refs - {name})})
    return tables


def get_source_sequence(db: Database, table: str) -> int:
    """The highest id AUTOINCREMENT ever gave out in `table` (deleted rows included)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone() is None:
        return 0
    found = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", [table]).fetchone()
    return int(found[0]) if found else 0


def count_rows(db, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0]


def iter_source_pages(db: Database, table: dict, columns: list[str], page: int,
                      page_bytes: int = PAGE_BYTES) -> Iterator[list[tuple]]:
    """The table's rows in key order, at most `page` rows or about `page_bytes` of values at
    a time (a batch's manifest may be 32 MB: a thousand of them would not fit in memory).
    SQLite steps the query lazily, so only the page being filled is held."""
    order = f" ORDER BY {', '.join(quote(k) for k in table['key'])}" if table["key"] else ""
    cursor = db.execute(f"SELECT {', '.join(quote(c) for c in columns)}"
                        f" FROM {quote(table['name'])}{order}")
    found, size = [], 0
    for r in cursor:
        found.append(tuple(r))
        size += sum(len(v) for v in r if isinstance(v, (str, bytes)))
        if len(found) >= page or size >= page_bytes:
            yield found
            found, size = [], 0
    if found:
        yield found


def begin_snapshot(db: Database) -> None:
    """One read transaction over the whole copy: every table is read as of one moment,
    even while the embedded registry is still serving (WAL readers do not block it)."""
    db.execute("BEGIN")
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the snapshot now


def end_snapshot(db: Database) -> None:
    if db.conn.in_transaction:
        db.execute("ROLLBACK")


def iter_source_survey_hashes(db: Database, page: int) -> Iterator[list[tuple]]:
    cursor = db.execute("SELECT id, revision, content_sha256 FROM surveys ORDER BY id")
    while found := cursor.fetchmany(page):
        yield [tuple(r) for r in found]


# -- the PostgreSQL registry (target) -----------------------------------------------------

def rows_target_columns(db) -> dict[str, dict[str, dict]]:
    """{table: {column: {"required": bool}}}: required = NOT NULL with no default (a row
    cannot be written without it)."""
    tables: dict[str, dict[str, dict]] = {}
    for table, column, nullable, default, identity in db.execute(
            "SELECT table_name, column_name, is_nullable, column_default, is_identity"
            " FROM information_schema.columns WHERE table_schema = current_schema()"
            " ORDER BY table_name, ordinal_position"):
        tables.setdefault(table, {})[column] = {
            "required": nullable == "NO" and default is None and identity != "YES"}
    return tables


def insert_page(db, table: str, columns: list[str], page: list[tuple]) -> int:
    """Write rows with their keys; a row already there is left as it is. Returns how many
    were new (call inside a transaction)."""
    marks = "(" + placeholders(len(columns)) + ")"
    cursor = db.execute(
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)})"
        f" VALUES {', '.join([marks] * len(page))} ON CONFLICT DO NOTHING",
        [value for r in page for value in r])
    return cursor.rowcount


def rows_target_sequences(db) -> list[tuple[str, str, str]]:
    """(table, column, sequence) of every identity or serial column."""
    return [tuple(r) for r in db.execute(
        "SELECT table_name, column_name,"
        " pg_get_serial_sequence(quote_ident(table_name), column_name)"
        " FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')"
        " ORDER BY table_name")]


def update_sequence_past(db, table: str, column: str, sequence: str, floor: int) -> int:
    """Move the sequence past the highest id in the table (and `floor`, the source's own
    counter), so the next row the registry writes gets a new one; return that id."""
    high = db.execute(f"SELECT coalesce(max({quote(column)}), 0) FROM {quote(table)}"
                      ).fetchone()[0]
    high = max(int(high), floor)
    if high > 0:
        db.execute("SELECT setval(?, ?, true)", [sequence, high])
    return high


def rows_target_survey_hashes(db, ids: list[str]) -> dict[str, tuple]:
    marks = placeholders(len(ids))
    return {r[0]: (r[1], r[2]) for r in db.execute(
        f"SELECT id, revision, content_sha256 FROM surveys WHERE id IN ({marks})", ids)}


def iter_evidence_hashes(db, page: int) -> Iterator[list[str]]:
    """The hashes the `evidence` table names, `page` at a time (keyset: no open cursor)."""
    after = ""
    while True:
        found = [r[0] for r in db.execute(
            "SELECT sha256 FROM evidence WHERE sha256 > ? ORDER BY sha256 LIMIT ?",
            [after, page])]
        if not found:
            return
        yield found
        after = found[-1]
