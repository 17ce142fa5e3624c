"""The few SQL fragments that differ between the registry's two engines.

The query modules call these instead of writing engine-specific SQL: a JSON field of a
stored record, a row lock, serialising the writers of a `seq` cursor, and running a few
writes as one. SQLite needs no row lock and no serialising: a registry write takes the
whole database (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from ...db import transaction

SQLITE, POSTGRESQL = "sqlite", "postgresql"


def dialect_of(db) -> str:
    return getattr(db, "dialect", SQLITE)


def json_text(db, alias: str, path: str) -> str:
    """A field of `alias.record` as text, for comparing with a parameter."""
    if dialect_of(db) == POSTGRESQL:
        return f"({alias}.record::jsonb #>> '{{{path.replace('.', ',')}}}')"
    return f"json_extract({alias}.record, '$.{path}')"


def json_value(db, alias: str, path: str) -> str:
    """A field of `alias.record` as its JSON value (numbers stay numbers), for reading."""
    if dialect_of(db) == POSTGRESQL:
        return f"({alias}.record::jsonb #> '{{{path.replace('.', ',')}}}')"
    return f"json_extract({alias}.record, '$.{path}')"


def for_update(db) -> str:
    """Lock the selected rows until the transaction ends (a second process waits)."""
    return " FOR UPDATE" if dialect_of(db) == POSTGRESQL else ""


def serialize_writers(db, name: str) -> None:
    """Let one transaction at a time write the `seq` rows of `name`.

    Nodes pull decisions and cameras with `since=<seq>`: if two transactions took seq 10
    and 11 and 11 committed first, a pull between the commits would answer up to 11 and
    the node would never see 10. Held to the end of the transaction."""
    if dialect_of(db) == POSTGRESQL:
        db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [f"registry.seq.{name}"])


def lock_table_writes(db, table: str) -> None:
    """Wait for the transactions writing `table` to end and hold off new ones to the end
    of this transaction (a fold of delta rows must not miss one committed meanwhile)."""
    if dialect_of(db) == POSTGRESQL:
        db.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


def write_as_one(db, statements: list[tuple[str, list]]) -> None:
    """Run a few writes that need no answer (INSERT ... ON CONFLICT DO NOTHING and the
    like) all or none.

    PostgreSQL runs them as one statement (data-modifying WITH clauses): one round trip
    instead of BEGIN, each write and COMMIT, which on a request as small as an evidence
    upload is most of its database time. The writes must not depend on each other's rows:
    they all see the snapshot from before the statement. SQLite has no data-modifying WITH;
    there they run in one transaction, which costs no round trips."""
    if dialect_of(db) == POSTGRESQL:
        *first, (last_sql, last_params) = statements
        heads = [f"w{k} AS ({sql})" for k, (sql, _) in enumerate(first)]
        params = [p for _, ps in first for p in ps] + list(last_params)
        db.execute((f"WITH {', '.join(heads)} " if heads else "") + last_sql, params)
        return
    with transaction(db):
        for sql, params in statements:
            db.execute(sql, params)
