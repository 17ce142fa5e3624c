"""The node's sync commands: sync, batch export, and the registry's receipt applied back."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import BadInput
from ..jobs import JobRun
from .base import data_dir_option, json_option, main
from .core import _require_init
from .. import db as database
from ..db import sync as sync_db


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
    state = {"last": -1.0}

    def report(fraction: float, message: str) -> None:
        if fraction - state["last"] < 0.01 and fraction < 1.0:
            return  # a row write per percent is plenty for a progress bar
        state["last"] = fraction
        run = JobRun.attach(cfg, job_id)
        try:
            run.report(state="running", progress=fraction, message=message)
        finally:
            run.close()

    return report


def _finish_job(cfg, job_id, *, result=None, error=None):
    run = JobRun.attach(cfg, job_id)
    try:
        errors = error or "; ".join((result or {}).get("errors", []))
        if errors:
            run.fail(errors, result=result)
        else:
            run.finish(result)
    finally:
        run.close()


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
    # The sync modules (requests, the client) load only for the commands that use them:
    # every `survey-node` command imports this module.
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
