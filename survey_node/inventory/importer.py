"""Import a registry file: read, map, normalise, then merge all or nothing.

Memory stays flat however long the file is:

1. *Analyse*: the sheet, header row and mapping are found without touching the database.
2. *Read and write*: rows stream from the file, are normalised into camera records and
   written in batches inside one transaction (``survey_node.db.imports.CameraImport``),
   which compares them with ``cameras``, inserts/updates/marks removed, and records the
   import.

A file that cannot be imported at all raises :class:`BadInput`, which rolls the
transaction back, so the database is never half-changed. Rows that cannot be used are
*rejected* and reported; values that had to be fixed or dropped are *warnings*. Both
carry the row number a person sees in Excel (or the CSV line number).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import Callable

from sqlite_utils import Database

from ..db import imports as import_db
from ..errors import BadInput
from . import quarantine, worker
from .options import ImportOptions
from .text import N_
from ..db import transaction
from ..errors import Conflict, NotFound

STALE_STAGING_S = 6 * 3600  # staging dirs a killed import of an earlier version left behind
Progress = Callable[[float, str], None]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def analyse(path: Path, options: ImportOptions):
    """The file's layout (sheet, header row, mapping, samples): see ``reading.analyse``."""
    from .reading import analyse as analyse_file

    return analyse_file(path, options)


def run_import(db: Database, path: Path, options: ImportOptions, *,
               progress: Progress | None = None, work_dir: Path | None = None,
               child: bool | None = None, reader: worker.ReaderLimits | None = None,
               quarantine_dir: Path | None = None) -> dict:
    """Import (or with ``dry_run`` only count) the file; returns the full report.

    The file is read by :func:`survey_node.inventory.reading.read_file`: in a child
    process for a large file (see ``survey_node.inventory.worker``), so that normalising
    rows and writing them use both cores, else in this one. `work_dir` is where imports of
    earlier versions kept a staging file; what a killed one left there is removed.

    `child` forces the reader child (with `reader`'s memory limit and deadline) on or off.
    With `quarantine_dir`, a quarantined file is refused before it is read, and a file
    that kills its reader is quarantined.
    """
    path = Path(path)
    tick = progress or (lambda fraction, message: None)
    tick(0.0, N_("Reading the file"))
    name = options.display_name or path.name
    sha256 = None
    if quarantine.anything_in(quarantine_dir):  # hashed first only when it can matter
        sha256 = file_sha256(path)
        record = quarantine.find(quarantine_dir, sha256)
        if record is not None:
            raise quarantine.refusal(record, name)
    events = worker.read_events(path, options, child=child, limits=reader)
    try:
        sha256 = sha256 or file_sha256(path)
        if work_dir is not None:
            remove_stale(Path(work_dir), "import-*", STALE_STAGING_S)
    except BaseException:
        events.close()
        raise
    writer = import_db.CameraImport(db, actor=options.actor, dry_run=options.dry_run,
                                    remove_missing=options.remove_missing,
                                    expected_removals=options.expected_removals,
                                    removal_scope=options.removal_scope)
    try:
        summary = None
        for event in events:
            if event[0] == "batch":
                writer.write(event[1])
            elif event[0] == "progress":
                tick(0.95 * event[1], event[2])
            else:
                summary = event[1]
        writer.discard(set(summary["discard"]))
        if writer.written == 0 and summary["rejected"]:
            first = summary["rejected"][0]
            raise BadInput("%(file)s: every camera row was rejected (first: row %(row)s, %(why)s)",
                           file=summary["file"], row=first["row"], why=first["reason"])
        if writer.written == 0:
            raise BadInput("%(file)s has no camera rows below its header (row %(row)s)",
                           file=summary["file"], row=summary["header_row"])
        tick(0.96, N_("Writing the cameras"))
        crs = f"EPSG:{options.crs}" if options.crs else ""
        merged = writer.finish({
            "file_name": summary["file"], "sha256": sha256, "kind": summary["kind"],
            "sheet": summary["sheet"], "header_row": summary["header_row"],
            "mapping": summary["mapping"], "crs": crs, "headers": summary["headers"],
            "raw_fields": summary["raw_fields"],
            "rows_read": summary["rows_read"], "rejected_count": len(summary["rejected"]),
            "rejected": summary["rejected"], "warnings": summary["warnings"],
            "notes": summary["notes"],
        })
    except worker.ReaderKilled as exc:
        writer.abort()
        if quarantine_dir is None:
            raise
        record = quarantine.mark(quarantine_dir, sha256, name, exc)
        raise quarantine.refusal(record, name) from None
    except BaseException:
        writer.abort()
        raise
    finally:
        events.close()
    tick(1.0, N_("Done"))
    return {
        "file": summary["file"], "sha256": sha256, "sheet": summary["sheet"],
        "rows_read": summary["rows_read"], "cameras": merged["counts"],
        "rejected": summary["rejected"], "warnings": summary["warnings"],
        "mapping": summary["mapping"], "notes": summary["notes"],
        # Beyond the CLI's JSON shape: what the admin page and history need.
        "import_id": None if options.dry_run else merged["import_id"],
        "dry_run": options.dry_run, "kind": summary["kind"], "header_row": summary["header_row"],
        "changes": merged["changes"], "removed": merged["removed"],
        "missing": merged["missing"], "removals_applied": options.remove_missing,
        "removal_scope": options.removal_scope if options.remove_missing else None,
    }


def undo_import(db: Database, import_id: int, *, actor: str | None) -> dict:
    """Undo the latest import that is not undone yet (an older one would undo over a newer
    one's changes); all in one transaction, audited."""

    with transaction(db):
        found = import_db.get_import(db, import_id)
        if found is None:
            raise NotFound("Import %(id)s does not exist", id=import_id)
        if found.get("undone_at"):
            raise Conflict("Import %(id)s was already undone", id=import_id)
        latest = import_db.get_latest_import(db)
        if latest is None or latest["id"] != import_id:
            raise Conflict("Only the latest import can be undone: undo import %(latest)s first",
                           latest=latest["id"] if latest else "-")
        return import_db.undo_import(db, import_id, actor=actor)


def remove_stale(folder: Path, pattern: str, age_s: float) -> None:
    """Delete what a crashed run left behind (older than `age_s`)."""
    cutoff = time.time() - age_s
    for leftover in folder.glob(pattern):
        try:
            if leftover.stat().st_mtime < cutoff:
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
        except OSError:
            continue


def public_report(report: dict) -> dict:
    """The report in exactly the shape `survey-node import --json` promises."""
    return {
        "file": report["file"], "sha256": report["sha256"], "sheet": report["sheet"],
        "rows_read": report["rows_read"], "cameras": report["cameras"],
        "rejected": [{"row": r["row"], "reason": r["reason"]} for r in report["rejected"]],
        "warnings": [{"row": w["row"], "field": w["field"], "reason": w["reason"]}
                     for w in report["warnings"]],
        "mapping": report["mapping"],
        # Lines about the whole file (the province inferred, or why none was).
        "notes": [n["reason"] for n in report["notes"]],
        # Cameras the file lacks: kept unless --remove-missing (then they are "removed").
        "missing": {k: v for k, v in (report.get("missing") or {}).items() if k != "sample"},
    }

