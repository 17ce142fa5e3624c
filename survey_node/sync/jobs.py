"""Sync as a job: what the node UI's sync page shows and how its button starts a run.

The button does not sync inside the web server: it starts ``survey-node sync`` as its own
process (DESIGN.md section 3) that writes progress to a job row the page polls. The
process outlives a closed browser tab; the per-node sync lock keeps it to one at a time.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from sqlite_utils import Database

from ..config import Config
from ..db import jobs as job_db
from ..db import sync as sync_db
from ..diskspace import space_of
from ..errors import Conflict
from ..i18n import N_
from ..jobs import JobRun
from .client import sync_is_running

# Words the history table shows for a run's trigger and state (translated in the page).
LABELS = (N_("cli"), N_("ui"), N_("timer"), N_("running"), N_("done"), N_("failed"))


STARTUP_GRACE_S = 30


def _active_job(db: Database, config: Config) -> dict | None:
    """The sync job in progress; one whose process died (killed, power cut) is failed here."""
    for job in job_db.rows_jobs(db, kind="sync", limit=5):
        if job["state"] not in ("queued", "running"):
            continue
        age = (dt.datetime.now(dt.timezone.utc)
               - dt.datetime.fromisoformat(job["created_at"])).total_seconds()
        if sync_is_running(config) or (job["state"] == "queued" and age < STARTUP_GRACE_S):
            return job
        JobRun(db, job["id"]).fail("interrupted")  # its process is gone
    return None


def overview(db: Database, config: Config) -> dict:
    job = _active_job(db, config)
    return {
        "registry_url": config.sync.registry_url,
        "insecure_http": config.sync.allow_insecure_http,
        "waiting": sync_db.count_surveys_to_send(db),
        "runs": sync_db.rows_sync_runs(db, limit=30),
        "batches": sync_db.rows_sync_batches(db, limit=20),
        "job": job,
        "disk": space_of(config.data_dir, warn_free_mb=config.disk.warn_free_mb,
                         fail_free_mb=config.disk.fail_free_mb),
        "disk_warn_mb": config.disk.warn_free_mb,
    }


def start_sync_job(db: Database, config: Config, *, user: dict) -> str:
    """Queue a sync job and start its process; the job id for the progress bar."""
    if _active_job(db, config) is not None:
        raise Conflict("A sync is already running on this node")
    job_id = job_db.insert_job(db, "sync", created_by=user["name"])
    log = open(config.data_dir / "sync-ui.log", "ab")
    try:
        subprocess.Popen(
            [sys.executable, "-m", "survey_node", "sync", "--data-dir", str(config.data_dir),
             "--trigger", "ui", "--job-id", job_id],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    finally:
        log.close()
    return job_id


def job_status(db: Database, job_id: str) -> dict | None:
    job = job_db.get_job(db, job_id)
    if job is None or job["kind"] != "sync":
        return None
    return {k: job[k] for k in ("id", "state", "progress", "message", "error", "result")}
