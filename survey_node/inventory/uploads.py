"""Registry files uploaded through the admin page, and the import jobs run on them.

An upload is kept under ``<data dir>/uploads/<token>`` with a small JSON sidecar holding
the admin's choices (sheet, header row, column mapping, coordinate system), its SHA-256
and the last analysis. The web process never opens the spreadsheet: the analysis and the
reading run in a reader child (``worker``), and a file that killed one is quarantined. Preview and
import run as a *job* in a background thread of the server process; the ``jobs`` table
holds its state and result, and the page polls it. The import is all-or-nothing as from
the CLI: it holds the database's write lock while it writes, so its progress lives in this
process's memory (`live_progress`) rather than in a row nobody else could update meanwhile.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import secrets
from pathlib import Path

from .. import db as database
from .. import jobs
from ..config import Config
from ..db import jobs as job_db
from ..diskspace import NODE_DISK_FULL, is_disk_full
from ..errors import BadInput, Conflict, DiskFull, NotFound
from . import quarantine
from .quarantine import Quarantined  # noqa: F401 - what the pages catch
from .importer import ImportOptions, file_sha256, remove_stale, run_import
from .limits import SheetLimits
from .worker import ReaderKilled, ReaderLimits, analyse_in_child

log = logging.getLogger(__name__)
JOB_KINDS = ("registry_preview", "registry_import")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
UPLOAD_KEEP_S = 7 * 24 * 3600
_LIVE: dict[str, tuple[float, str]] = {}  # job id -> (fraction, message id) while it runs


def live_progress(job_id: str) -> tuple[float, str] | None:
    """(fraction, message id) of a job running in this process, else None."""
    return _LIVE.get(job_id)


def uploads_dir(config: Config) -> Path:
    path = config.data_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_upload(config: Config, stream, original_name: str) -> str:
    """Store the uploaded bytes; returns the token naming the upload."""
    token = secrets.token_hex(16)
    folder = uploads_dir(config)
    remove_stale(folder, "*", UPLOAD_KEEP_S)  # uploads checked but never imported
    path = folder / token
    digest = hashlib.sha256()
    try:
        with open(path, "wb") as fh:
            while chunk := stream.read(1 << 20):
                fh.write(chunk)
                digest.update(chunk)
        if path.stat().st_size == 0:
            path.unlink()
            raise BadInput("%(file)s is empty", file=original_name or "?")
        _write_meta(config, token, {"name": _safe_name(original_name), "sheet": None,
                                    "header_row": None, "columns": {}, "crs": None,
                                    "sha256": digest.hexdigest()})
    except OSError as exc:
        discard_upload(config, token)  # a half-written upload is never kept
        path.with_suffix(".tmp").unlink(missing_ok=True)
        if is_disk_full(exc):
            raise DiskFull(NODE_DISK_FULL) from exc
        raise
    return token


def reader_limits(config: Config) -> ReaderLimits:
    section = config.imports
    return ReaderLimits(memory_mb=section.reader_memory_mb, analyse_s=section.analysis_timeout_s,
                        read_s=section.read_timeout_minutes * 60)


def sheet_limits(config: Config) -> dict:
    section = config.imports
    # max_area is not a setting: imports read in the child, whose memory limit bounds it.
    return {name: getattr(section, name) for name in SheetLimits.__dataclass_fields__
            if hasattr(section, name)}


def quarantined(config: Config, meta: dict) -> dict | None:
    """The quarantine record of the upload's file, if it killed a reader before."""
    return quarantine.find(quarantine.folder(config.data_dir), meta.get("sha256", ""))


def analyse_upload(config: Config, token: str):
    """The upload's layout (sheet, header row, mapping, samples), found by a reader child
    under the memory limit and deadline; kept in the sidecar for the same choices, so
    reopening the page does not read the file again. A quarantined file is refused, and
    one that kills its reader now is quarantined."""
    path, meta = load_upload(config, token)
    record = quarantined(config, meta)
    if record is not None:
        raise quarantine.refusal(record, meta["name"])
    options = options_for(config, meta, dry_run=True, actor=None)
    key = json.dumps([options.sheet, options.header_row, options.columns, options.limits],
                     sort_keys=True, ensure_ascii=False)
    from .reading import Layout

    cached = meta.get("layout")
    if cached and cached.get("key") == key:
        return Layout(**cached["layout"])
    try:
        layout = analyse_in_child(path, options, reader_limits(config))
    except ReaderKilled as exc:
        sha256 = meta.get("sha256") or file_sha256(path)
        record = quarantine.mark(quarantine.folder(config.data_dir), sha256, meta["name"], exc)
        raise quarantine.refusal(record, meta["name"]) from None
    update_upload(config, token, layout={"key": key, "layout": dataclasses.asdict(layout)})
    return layout


def load_upload(config: Config, token: str) -> tuple[Path, dict]:
    if not _TOKEN.match(token or ""):
        raise NotFound("This upload does not exist")
    path = uploads_dir(config) / token
    meta_path = path.with_suffix(".json")
    if not path.exists() or not meta_path.exists():
        raise NotFound("This upload does not exist")
    return path, json.loads(meta_path.read_text(encoding="utf-8"))


def discard_upload(config: Config, token: str) -> None:
    if _TOKEN.match(token or ""):
        for suffix in ("", ".json"):
            (uploads_dir(config) / f"{token}{suffix}").unlink(missing_ok=True)


def update_upload(config: Config, token: str, **changes) -> dict:
    _, meta = load_upload(config, token)
    meta.update(changes)
    _write_meta(config, token, meta)
    return meta


def options_for(config: Config, meta: dict, *, dry_run: bool, actor: str | None,
                remove_missing: bool = False, expected_removals: int | None = None,
                removal_scope: str = "all") -> ImportOptions:
    return ImportOptions(sheet=meta.get("sheet"), columns=meta.get("columns") or {},
                         header_row=meta.get("header_row"), crs=meta.get("crs"),
                         dry_run=dry_run, default_province=config.node.province_code,
                         actor=actor, display_name=meta["name"], limits=sheet_limits(config),
                         remove_missing=remove_missing, expected_removals=expected_removals,
                         removal_scope=removal_scope)


def start_job(config: Config, token: str, *, dry_run: bool, actor: str | None,
              remove_missing: bool = False, expected_removals: int | None = None,
              removal_scope: str = "all") -> str:
    """Queue a preview or an import of the upload and run it in a background thread."""
    path, meta = load_upload(config, token)
    record = quarantined(config, meta)
    if record is not None:
        raise quarantine.refusal(record, meta["name"])
    db = database.connect(config.db_path)
    try:
        # One at a time: both end in a write transaction over the whole camera table.
        busy = [j for j in job_db.rows_jobs(db, limit=20)
                if j["kind"] in JOB_KINDS and j["state"] in ("queued", "running")]
        if busy:
            raise Conflict("Another registry import is running; wait for it to finish")
        kind = JOB_KINDS[0] if dry_run else JOB_KINDS[1]
        options = options_for(config, meta, dry_run=dry_run, actor=actor,
                              remove_missing=remove_missing,
                              expected_removals=expected_removals,
                              removal_scope=removal_scope)
        return jobs.start_job(config, db, kind,
                              lambda run: _import(config, run, path, options),
                              params={"token": token, "file": meta["name"]}, actor=actor,
                              errors_as="message")
    finally:
        db.close()


def _import(config: Config, run: jobs.JobRun, path: Path, options: ImportOptions) -> None:
    def progress(fraction: float, message: str) -> None:
        _LIVE[run.id] = (round(fraction, 3), message)

    try:
        run.start()
        work_dir = config.data_dir / "tmp"
        work_dir.mkdir(exist_ok=True)
        # Always in a reader child: a file that makes its reader allocate without bound
        # or run forever must not take the web server with it.
        report = run_import(run.db, path, options, progress=progress, work_dir=work_dir,
                            child=True, reader=reader_limits(config),
                            quarantine_dir=quarantine.folder(config.data_dir))
        summary = {k: report[k] for k in ("file", "sheet", "rows_read", "cameras", "import_id",
                                         "dry_run", "header_row", "notes", "missing",
                                         "removal_scope", "removals_applied")}
        summary["rejected"] = report["rejected"][:500]
        summary["warnings"] = report["warnings"][:500]
        summary["more_rejected"] = max(0, len(report["rejected"]) - 500)
        summary["more_warnings"] = max(0, len(report["warnings"]) - 500)
        run.finish(summary)
        if not options.dry_run:
            path.unlink(missing_ok=True)  # imported: the history keeps its hash and report
            path.with_suffix(".json").unlink(missing_ok=True)
    finally:
        _LIVE.pop(run.id, None)


def _write_meta(config: Config, token: str, meta: dict) -> None:
    path = uploads_dir(config) / f"{token}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _safe_name(name: str) -> str:
    name = Path(name or "upload").name
    return name[:200] or "upload"
