"""The node's sync page: registry status, a "sync now" button with progress, the history."""

from __future__ import annotations

from flask import Blueprint, flash, g, jsonify, redirect, render_template, url_for
from flask_babel import gettext

from ..app import get_config, get_db
from ..errors import NotFound
from ..sync import jobs as sync_jobs
from . import require_role

bp = Blueprint("sync", __name__)
bp.before_request(require_role("supervisor"))


@bp.get("/sync")
def index():
    return render_template("sync/index.html", **sync_jobs.overview(get_db(), get_config()))


@bp.post("/sync/run")
def run():
    sync_jobs.start_sync_job(get_db(), get_config(), user=g.user)
    flash(gettext("Sync started."))
    return redirect(url_for("sync.index"))


@bp.get("/api/v1/sync/jobs/<job_id>")
def job(job_id):
    status = sync_jobs.job_status(get_db(), job_id)
    if status is None:
        raise NotFound("Job %(job)s does not exist", job=job_id)
    return jsonify(status)
