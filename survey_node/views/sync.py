"""The node's sync page: registry status, a "sync now" button with progress, the history."""

from __future__ import annotations

from flask import Blueprint, flash, g, jsonify, redirect, render_template, url_for
from flask_babel import gettext

from ..context import get_config, get_db
from ..errors import NotFound, SurveyNodeError
from ..i18n import N_
from ..sync import jobs as sync_jobs
from .guard import require_role

bp = Blueprint("sync", __name__)
bp.before_request(require_role("supervisor"))


@bp.get("/sync")
def index():
    return render_template("sync/index.html", **sync_jobs.overview(get_db(), get_config()))


# Errors a run records as plain words (a crashed run, an unexpected failure).
_PLAIN_ERRORS = (N_("interrupted"), N_("internal error"))


@bp.app_template_filter("sync_error")
def sync_error(entry) -> str:
    """One line of a sync run's errors in the reader's language (older runs kept English)."""
    if not isinstance(entry, dict):
        return gettext(str(entry))  # e.g. one of _PLAIN_ERRORS
    message_id = entry["message"]
    line = SurveyNodeError(message_id, **entry.get("params", {})).line(gettext)
    if entry.get("batch"):
        return gettext("batch %(batch)s: %(problem)s", batch=entry["batch"], problem=line)
    return line


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
