"""Move an embedded registry up: its rows into PostgreSQL, its evidence into a bucket.

`survey-node registry migrate --data-dir DIR --to postgresql://… [--evidence s3://…]`.
Evidence goes first (a row that names an object must never reach the target before the
object), each object verified against its SHA-256 by the target store as it is written.
Then the rows, table by table in the order their references need, page by page, each
page one transaction that keeps the source's keys and leaves a row already there alone:
a run that was killed is run again and finishes the job, and a second run after a
complete one writes nothing. The identity sequences are then moved past the copied ids.
Last, both sides are counted and every object the target database names is looked for
in the target store.

Without --evidence the evidence stays in DIR's folder: a PostgreSQL registry serving from
the same data dir keeps using it, so there is nothing to copy (only to verify).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Iterator

from ..config import Config
from ..db import transaction
from ..errors import BadInput, Conflict, ConfigError
from .db import move as move_db
from .db.dashboard import COUNT_TABLES, rebuild_counts
from .db import pg
from .store import CHUNK, EmbeddedStore, ObjectStore, PostgresStore, first_line, open_store

PAGE = 1000
# The source's objects were verified when they came in; a later, lower upload limit
# must not stop them from moving.
OBJECT_LIMIT = 1 << 40

OnPage = Callable[[str, int], None]


def move_registry(config: Config, *, to: str, evidence: str = "",
                  target_objects: ObjectStore | None = None, page: int = PAGE,
                  on_page: OnPage | None = None) -> dict:
    """Copy the embedded registry in `config.data_dir` into the database `to` (and the
    bucket `evidence`, or `target_objects`); return the report (see `report_lines`)."""
    if page < 1:
        raise BadInput("--page-size must be at least 1, not %(page)s", page=page)
    source = _open_source(config)
    target = _open_target(config, to, evidence)
    if target_objects is not None:
        target.objects = target_objects
    copy_evidence = target_objects is not None or bool(evidence.strip())
    report = {"source": str(source.db_path), "target": target.location,
              "evidence_target": evidence.strip() or (
                  "(another store)" if target_objects is not None
                  else config.registry.evidence_url or str(config.data_dir / "evidence")),
              "tables": [], "sequences": {}, "errors": []}
    try:
        target.prepare()  # migrates the target schema; a wrong URL fails here, in one line
        if copy_evidence:
            target.objects.ping()  # a missing bucket or a wrong key: one line, before a copy
        src, dst = source.connect(), target.connect()
        try:
            _move(src, dst, source.objects, target.objects if copy_evidence else None,
                  report, page, on_page)
            report["errors"] += verify_objects(dst, target.objects, page)
        finally:
            src.close()
            dst.close()
    finally:
        target.close()
    report["ok"] = not report["errors"]
    return report


def _move(src, dst, objects, target_objects, report: dict, page: int,
          on_page: OnPage | None) -> None:
    """Everything under one read snapshot of the source, taken before the objects are
    copied: the registry stores an object before a row names it, so every object the
    snapshot's rows name is already in the folder the copy walks."""
    move_db.begin_snapshot(src)
    try:
        # The dashboard's counts are derived from the rows: counted again on the target
        # once the rows are there, not copied (the target's triggers count as rows land).
        tables = [t for t in plan_tables(move_db.rows_source_tables(src),
                                         move_db.rows_target_columns(dst))
                  if t["name"] not in COUNT_TABLES]
        refuse_diverged_surveys(src, dst, page)
        stays = {"copied": 0, "skipped": 0, "bytes": 0, "stays": True}
        report["evidence"] = (stays if target_objects is None
                              else copy_objects(objects, target_objects, on_object=on_page))
        for table in tables:
            report["tables"].append(_copy_table(src, dst, table, page, on_page))
        if any(done["copied"] for done in report["tables"]):
            with transaction(dst):
                rebuild_counts(dst)
        for name, column, sequence in move_db.rows_target_sequences(dst):
            floor = move_db.get_source_sequence(src, name)
            report["sequences"][name] = move_db.update_sequence_past(dst, name, column,
                                                                     sequence, floor)
    finally:
        move_db.end_snapshot(src)
    for done in report["tables"]:
        if done["source"] != done["target"]:
            report["errors"].append(
                f"{done['table']}: {done['source']:,} row(s) in the source but"
                f" {done['target']:,} in the target")


def _open_source(config: Config) -> EmbeddedStore:
    # The data dir's own store, whatever its config says about database_url: the move
    # reads the SQLite file (brought to the current schema, as `serve` would).
    path = config.data_dir / "registry.db"
    if not path.is_file():
        raise BadInput("%(path)s does not exist: --data-dir must be an embedded registry's"
                       " data dir", path=str(path))
    section = dataclasses.replace(config.registry, database_url="")
    return open_store(dataclasses.replace(config, registry=section))


def _open_target(config: Config, to: str, evidence: str) -> PostgresStore:
    """The target through the same path as `serve`'s store: the config with the new
    database (and bucket) named, its password from the credentials directory."""
    to, evidence = to.strip(), evidence.strip()
    if not to.startswith(("postgresql://", "postgres://")):
        raise BadInput("--to must be a postgresql:// URL, not %(url)r", url=to.split("@")[-1])
    if evidence and not evidence.startswith("s3://"):
        raise BadInput("--evidence must be an s3://bucket/prefix URL, not %(url)r",
                       url=evidence)
    section = dataclasses.replace(config.registry, database_url=to,
                                  evidence_url=evidence or config.registry.evidence_url)
    return open_store(dataclasses.replace(config, registry=section))


# -- evidence ------------------------------------------------------------------------------

def copy_objects(source: ObjectStore, target: ObjectStore,
                 on_object: OnPage | None = None) -> dict:
    """Every object of `source` into `target` that is not there yet, streamed in chunks and
    verified by the target against its hash (a damaged source file is refused, not moved)."""
    done = {"copied": 0, "skipped": 0, "bytes": 0}
    for sha in source.iter_hashes():
        if target.has(sha):
            done["skipped"] += 1
        else:
            done["bytes"] += _copy_object(source, target, sha)
            done["copied"] += 1
        if on_object is not None:
            on_object("evidence objects", done["copied"] + done["skipped"])
    return done


def _copy_object(source: ObjectStore, target: ObjectStore, sha: str) -> int:
    try:
        with source.open(sha) as fh:
            return target.put_stream(sha, _chunks(fh), OBJECT_LIMIT)
    except BadInput as exc:  # its bytes do not hash to its name: damaged where it lies
        raise BadInput("Evidence object %(sha)s of the source was not copied: %(why)s",
                       sha=sha, why=exc.line()) from None


def _chunks(fh) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


def verify_objects(db, objects: ObjectStore, page: int) -> list[str]:
    """One line if an object the target database names is not in the target store."""
    missing, first = 0, ""
    for hashes in move_db.iter_evidence_hashes(db, max(page, 500)):
        for sha in hashes:
            if not objects.has(sha):
                missing += 1
                first = first or sha
    if not missing:
        return []
    return [f"{missing} evidence object(s) the database names are not in the target store"
            f" (first: {first[:12]})"]


# -- rows ----------------------------------------------------------------------------------

def plan_tables(source: list[dict], target: dict[str, dict[str, dict]]) -> list[dict]:
    """The source tables in an order where each comes after the tables it references, with
    the columns to copy; refuse (one line) when the target lacks a table or column."""
    for table in source:
        have = target.get(table["name"])
        if have is None:
            raise ConfigError("Schema drift: the target database has no table %(table)s",
                              table=table["name"])
        for column in table["columns"]:
            if column not in have:
                raise ConfigError("Schema drift: the target's table %(table)s has no column"
                                  " %(column)s", table=table["name"], column=column)
        for column, info in have.items():
            if info["required"] and column not in table["columns"]:
                raise ConfigError("Schema drift: the target's %(table)s.%(column)s needs a"
                                  " value the source does not have", table=table["name"],
                                  column=column)
    return _in_reference_order(source)


def _in_reference_order(tables: list[dict]) -> list[dict]:
    """Creation order, except that a table waits for the tables it references."""
    known = {t["name"] for t in tables}
    ordered, placed, pending = [], set(), list(tables)
    while pending:
        ready = next((t for t in pending
                      if all(r in placed or r not in known for r in t["references"])),
                     pending[0])  # a reference loop (SQLite allows one): take it as it comes
        ordered.append(ready)
        placed.add(ready["name"])
        pending.remove(ready)
    return ordered


def refuse_diverged_surveys(src, dst, page: int) -> None:
    """Refuse before writing a row when the target holds one of the source's surveys with
    other content: something else wrote that database, and a merge would hide one side."""
    for found in move_db.iter_source_survey_hashes(src, min(page, 500)):
        held = move_db.rows_target_survey_hashes(dst, [r[0] for r in found])
        for survey_id, revision, content in found:
            theirs = held.get(survey_id)
            if theirs is not None and theirs != (revision, content):
                raise Conflict("The target already holds survey %(id)s with other content"
                               " (revision %(theirs)s, here %(ours)s); move into an empty"
                               " database or the one an earlier move wrote",
                               id=survey_id, theirs=theirs[0], ours=revision)


def _copy_table(src, dst, table: dict, page: int, on_page: OnPage | None) -> dict:
    name, columns = table["name"], table["columns"]
    page = max(1, min(page, move_db.MAX_PARAMS // max(1, len(columns))))
    copied = read = 0
    for rows in move_db.iter_source_pages(src, table, columns, page):
        try:
            with dst.atomic():
                copied += move_db.insert_page(dst, name, columns, rows)
        except pg.DatabaseError as exc:
            raise ConfigError("Writing %(table)s into the target failed in the rows from"
                              " %(first)s: %(error)s (the rows before are kept: run the move"
                              " again once it is fixed)", table=name,
                              first=_key_of(table, columns, rows[0]),
                              error=first_line(exc)) from None
        read += len(rows)
        if on_page is not None:
            on_page(name, read)
    return {"table": name, "copied": copied, "already": read - copied,
            "source": move_db.count_rows(src, name), "target": move_db.count_rows(dst, name)}


def _key_of(table: dict, columns: list[str], values: tuple) -> str:
    named = table["key"] or columns[:1]
    return ", ".join(f"{k}={values[columns.index(k)]!r}" for k in named)


# -- the report ----------------------------------------------------------------------------

def report_lines(report: dict) -> Iterable[str]:
    yield f"moved {report['source']} -> {report['target']}"
    width = max([len(t["table"]) for t in report["tables"]] + [16])
    for done in report["tables"]:
        yield (f"  {done['table'] + ':':<{width + 1}} {done['copied']:>9,} copied,"
               f" {done['already']:>9,} already there")
    ev = report["evidence"]
    if ev.get("stays"):
        yield f"  {'evidence objects:':<{width + 1}} stay in {report['evidence_target']}"
    else:
        yield (f"  {'evidence objects:':<{width + 1}} {ev['copied']:>9,} copied"
               f" ({ev['bytes']:,} bytes), {ev['skipped']:,} already there"
               f" in {report['evidence_target']}")
    if report["ok"]:
        nothing = not ev["copied"] and not any(t["copied"] for t in report["tables"])
        yield ("nothing to move: the target already held everything" if nothing
               else "verified: every table has as many rows as the source, and every"
                    " evidence object the database names is in the target store")
