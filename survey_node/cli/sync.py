"""sync, batch export, and the central registry's commands (serve, tokens, import, decide)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click

from .. import config as config_mod
from ..errors import BadInput
from .base import data_dir_option, json_option, main
from .core import _require_init


@main.command()
@data_dir_option
@click.option("--registry", "registry_url", help="Registry base URL (default: sync.registry_url).")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding this node's registry token (default: the registry_token secret).")
@click.option("--trigger", type=click.Choice(["cli", "timer", "ui"]), default="cli",
              help="Who started the run (kept in the history); `timer` skips the run when the"
                   " last good sync is younger than sync.interval_minutes.")
@click.option("--job-id", hidden=True, help="Report progress to this job row (the UI's button).")
@json_option
def sync(data_dir, registry_url, token_file, trigger, job_id, as_json):
    """Push completed surveys to the central registry; pull review decisions and cameras."""
    from ..sync.client import SUMMARY_KEYS, SyncClient

    cfg = _require_init(data_dir)
    token = None
    if token_file:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BadInput("Cannot read token file %(file)s: %(why)s", file=str(token_file),
                           why=exc.strerror)
    if trigger == "timer" and _recently_synced(cfg):
        summary = {k: ([] if k == "errors" else 0) for k in SUMMARY_KEYS}
        click.echo(json.dumps(summary) if as_json else
                   f"skipped: the last sync is younger than {cfg.sync.interval_minutes} minutes")
        return 0
    progress = _printed(_job_progress(cfg, job_id) if job_id else None)
    try:
        summary = SyncClient(cfg, registry_url=registry_url, token=token, trigger=trigger,
                             progress=progress).run()
    except Exception as exc:
        if job_id:
            _finish_job(cfg, job_id, error=str(exc))
        raise
    if job_id:
        _finish_job(cfg, job_id, result=summary)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(f"{summary['batches']} batch(es), {summary['surveys_acknowledged']}/"
                   f"{summary['surveys_sent']} survey(s) acknowledged, "
                   f"{summary['evidence_sent']} evidence sent, {summary['evidence_skipped']}"
                   f" already there, {summary['bytes_sent']:,} bytes, "
                   f"{summary['decisions_received']} decision(s) received")
        for error in summary["errors"]:
            click.echo(f"error: {error}", err=True)
    return 1 if summary["errors"] else 0


def _recently_synced(cfg) -> bool:
    import datetime as dt

    from .. import db as database
    from ..db import sync as sync_db

    db = database.connect(cfg.db_path)
    try:
        last = next((r for r in sync_db.rows_sync_runs(db, limit=10) if r["state"] == "done"),
                    None)
    finally:
        db.close()
    if last is None:
        return False
    age = dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(last["started_at"])
    return age < dt.timedelta(minutes=cfg.sync.interval_minutes)


def _printed(inner):
    """Progress on stderr as it changes (a waiting sync says why, never stays silent)."""
    state = {"last": None}

    def report(fraction: float, message: str) -> None:
        if message != state["last"]:
            state["last"] = message
            click.echo(f"sync: {fraction:4.0%} {message}", err=True)
        if inner is not None:
            inner(fraction, message)

    return report


def _job_progress(cfg, job_id):
    from .. import db as database
    from ..db import jobs as job_db

    state = {"last": -1.0}

    def report(fraction: float, message: str) -> None:
        if fraction - state["last"] < 0.01 and fraction < 1.0:
            return  # a row write per percent is plenty for a progress bar
        state["last"] = fraction
        db = database.connect(cfg.db_path)
        try:
            job_db.update_job(db, job_id, state="running", progress=round(fraction, 3),
                              message=message)
        finally:
            db.close()

    return report


def _finish_job(cfg, job_id, *, result=None, error=None):
    from .. import db as database
    from ..db import jobs as job_db

    db = database.connect(cfg.db_path)
    try:
        failed = bool(error or (result or {}).get("errors"))
        job_db.update_job(db, job_id, state="failed" if failed else "done", progress=1.0,
                          result=result, error=error or "; ".join((result or {}).get("errors", [])))
    finally:
        db.close()


@main.group()
def batch():
    """Sync batches as files, for a USB stick where there is no network."""


@batch.command("export")
@data_dir_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The batch file to write (a zip: manifest + evidence).")
@json_option
def batch_export(data_dir, out, as_json):
    """Write every completed, unsynced survey with its evidence to one batch file."""
    from ..sync.batchfile import export_batch

    cfg = _require_init(data_dir)
    result = export_batch(cfg, out)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(f"wrote batch {result['batch_id']}: {result['surveys']} survey(s),"
                   f" {result['evidence']} evidence file(s) to {result['file']}")


@batch.command("import-receipt")
@data_dir_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def batch_import_receipt(data_dir, file):
    """Mark surveys synced from the receipt the registry wrote for an exported batch."""
    from ..sync.batchfile import import_receipt

    result = import_receipt(_require_init(data_dir), file)
    click.echo(f"batch {result['batch_id']}: {result['surveys_acknowledged']} survey(s)"
               " acknowledged")


# -- the central registry -----------------------------------------------------------


@main.group()
def registry():
    """The central registry: serve the sync API, node tokens, imports, review decisions."""


def _registry_config(data_dir):
    root = config_mod.resolve_data_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    return config_mod.load(root)


def _registry(data_dir):
    from ..sync.registry import Registry

    return Registry(_registry_config(data_dir))


@registry.command("serve")
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (put a TLS-terminating proxy in front).")
@click.option("--port", type=int, default=8443, show_default=True, help="Port to listen on.")
def registry_serve(data_dir, host, port):
    """Serve the registry's sync API with waitress."""
    from waitress import serve

    from ..sync.server import create_registry_app

    cfg = _registry_config(data_dir)
    app = create_registry_app(cfg)
    click.echo(f"registry on http://{host}:{port}/ (data dir {cfg.data_dir})")
    serve(app, host=host, port=port, threads=cfg.registry.threads, ident="survey-registry",
          channel_timeout=60,
          # above the app's own limits, so an oversize upload gets its JSON 413
          max_request_body_size=max(2 * cfg.registry.max_evidence_mb, 64) << 20)


@registry.command("export")
@data_dir_option
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx",
              show_default=True, help="xlsx (Thai headers, for the ministry) or csv (UTF-8 with BOM).")
@click.option("--status", default="all", show_default=True,
              type=click.Choice(["all", "pending", "approved", "rejected", "resurvey"]),
              help="Only the surveys whose review stands so.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (replaced only once complete).")
def registry_export(data_dir, fmt, status, out):
    """The province's hand-in file: every survey the nodes sent, with its decision."""
    from ..sync import handin

    count = handin.export_file(_registry(data_dir), fmt, out, status=status)
    click.echo(f"{count} surveys written to {out}")


@registry.group("token")
def registry_token():
    """Bearer tokens of the nodes that may sync."""


@registry_token.command("add")
@data_dir_option
@click.argument("node_id")
@click.option("--province", default="", help="The province the node surveys (Thai or English"
              " name, or DOPA code): its token reads only that province's cameras.")
def registry_token_add(data_dir, node_id, province):
    """Make a token for NODE_ID; it is shown once, as the last word."""
    token = _registry(data_dir).add_token(node_id, province=province)
    if not province:
        click.echo(f"note: no --province: {node_id} can send surveys but not pull cameras",
                   err=True)
    click.echo(f"token for {node_id} (store it in the node's secrets/registry_token): {token}")


@registry.command("import-batch")
@data_dir_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--receipt-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the receipt here, for `survey-node batch import-receipt` on"
                   " the node.")
@json_option
def registry_import_batch(data_dir, file, receipt_out, as_json):
    """Import a batch file from `batch export` (a tampered file is refused whole)."""
    from ..sync.batchfile import import_batch

    receipt = import_batch(_registry_config(data_dir), file)
    if receipt_out:
        receipt_out.write_text(json.dumps(receipt, ensure_ascii=False, indent=1),
                               encoding="utf-8")
    if as_json:
        click.echo(json.dumps(receipt, ensure_ascii=False))
    else:
        click.echo(f"imported batch {receipt['batch_id']} from {receipt['node_id']}:"
                   f" {len(receipt['surveys'])} survey(s)")


@registry.command("import-cameras")
@data_dir_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def registry_import_cameras(data_dir, file):
    """Load a province's cameras (JSON list or UTF-8 CSV with a camera_id column)."""
    text = file.read_text(encoding="utf-8-sig")
    if file.suffix.lower() == ".json":
        try:
            cameras = json.loads(text)
        except ValueError:
            raise BadInput("%(file)s is not valid JSON", file=str(file)) from None
        if not isinstance(cameras, list):
            raise BadInput("%(file)s must hold a JSON list of cameras", file=str(file))
    else:
        cameras = list(csv.DictReader(text.splitlines()))
    changed = _registry(data_dir).import_cameras(cameras)
    click.echo(f"{len(cameras)} camera(s) read, {changed} new or changed")


@registry.command("decide")
@data_dir_option
@click.argument("survey_id")
@click.option("--state", type=click.Choice(["approved", "rejected", "resurvey"]), required=True,
              help="The review decision.")
@click.option("--reason", default="", help="Why (required unless approved); the surveyor sees it.")
@click.option("--by", "decided_by", default="cli", show_default=True, help="Who decided.")
def registry_decide(data_dir, survey_id, state, reason, decided_by):
    """Record a review decision on a survey; its node pulls it on the next sync."""
    decision = _registry(data_dir).record_decision(survey_id, state=state, reason=reason,
                                                   decided_by=decided_by)
    click.echo(f"{state} survey {survey_id} revision {decision['revision']}"
               f" (node {decision['node_id']})")


@registry.command("history")
@data_dir_option
@click.option("--node", "node_id", help="Only this node's events.")
@json_option
def registry_history(data_dir, node_id, as_json):
    """The registry's sync history: batches, commits, imports and refusals."""
    events = _registry(data_dir).history(node_id)
    if as_json:
        click.echo(json.dumps(events, ensure_ascii=False))
        return
    for e in events:
        click.echo(f"{e['at']} {e['action']:<8} {e['node_id'] or '-':<16} {e['batch_id'] or '-'}"
                   f" surveys={e['surveys']} evidence={e['evidence']}"
                   f"{' error=' + e['error'] if e['error'] else ''}")
