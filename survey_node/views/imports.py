"""Admin pages for importing the camera registry: upload, check the mapping, preview,
import with a progress bar, read the report, and the history of imports."""

from __future__ import annotations

import json

from flask import (Blueprint, abort, flash, g, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext

from ..context import get_config, get_db
from ..db import imports as import_db
from ..db import jobs as job_db
from ..errors import SurveyNodeError
from ..inventory import columns, coords, uploads
from ..inventory.text import N_
from .guard import require_role
from ..inventory.importer import undo_import

bp = Blueprint("imports", __name__, url_prefix="/admin/import")
bp.before_request(require_role("admin"))

CRS_CHOICES = (("", N_("UTM in WGS84 (EPSG:32647/32648), the usual")),
               ("24047", N_("Indian 1975, zone 47N (EPSG:24047)")),
               ("24048", N_("Indian 1975, zone 48N (EPSG:24048)")),
               ("32647", N_("WGS84 zone 47N only (EPSG:32647)")),
               ("32648", N_("WGS84 zone 48N only (EPSG:32648)")))
CHANGE_LABELS = {
    "site_name": N_("Installation point"), "place_name": N_("Place name"),
    "place_type": N_("Place type"), "agency": N_("Agency"), "province_code": N_("Province"),
    "province_name": N_("Province"), "amphoe_code": N_("Amphoe"), "amphoe_name": N_("Amphoe"),
    "tambon_code": N_("Tambon"), "tambon_name": N_("Tambon"),
    "registered_lat": N_("Position"), "registered_lon": N_("Position"),
    "coord_text": N_("Coordinates as written"), "coord_system": N_("Coordinate system"),
    "brand": N_("Brand"), "model": N_("Model"), "resolution": N_("Resolution"),
    "stream_url": N_("IP / stream URL"), "registry_status": N_("Registry status"),
    "other_columns": N_("Other columns"), "back_in_registry": N_("Back in the registry"),
    "position": N_("Position"),  # a warning's field: the row has no usable position
}


def translate(message: str, params: dict | None) -> str:
    """An English message id with params, in the page's language."""
    text = gettext(message)
    reason = (params or {}).get("why")
    if isinstance(reason, str):
        params = {**params, "why": gettext(reason)}  # coordinate reasons are message ids too
    elif isinstance(reason, dict) and isinstance(reason.get("message"), str):
        # A whole message of its own (why a file is quarantined), translated the same way.
        params = {**params, "why": translate(reason["message"], reason.get("params"))}
    try:
        return text % params if params else text
    except (KeyError, ValueError, TypeError):
        return message % params if params else message


def field_label(name: str) -> str:
    if not name:
        return ""
    label = columns.FIELD_LABELS.get(name) or CHANGE_LABELS.get(name)
    return gettext(label) if label else name


def change_labels(fields: list[str]) -> str:
    seen = []
    for f in fields:
        label = field_label(f)
        if label not in seen:
            seen.append(label)
    return ", ".join(seen)


@bp.app_template_filter("import_field")
def _field_filter(name: str) -> str:
    return field_label(name)


@bp.app_template_filter("import_reason")
def _reason_filter(item: dict) -> str:
    return translate(item.get("message") or item.get("reason", ""), item.get("params"))


@bp.get("/")
def index():
    db = get_db()
    return render_template("imports/index.html", history=import_db.rows_imports(db),
                           jobs=_recent_jobs(db))


@bp.post("/")
def upload():
    file = request.files.get("file")
    if file is None or not file.filename:
        return _index_error(gettext("Choose a file to upload."))
    token = None
    try:
        token = uploads.save_upload(get_config(), file.stream, file.filename)
        uploads.analyse_upload(get_config(), token)
    except uploads.Quarantined:
        # Kept, with its page saying why it is not read (the reader is not run again).
        return redirect(url_for("imports.mapping", token=token))
    except SurveyNodeError as exc:
        if token:
            uploads.discard_upload(get_config(), token)  # a refused file is not kept
        return _index_error(exc.line(gettext), exc.status)
    return redirect(url_for("imports.mapping", token=token))


def _index_error(message: str, status: int = 400):
    db = get_db()
    return render_template("imports/index.html", history=import_db.rows_imports(db),
                           jobs=_recent_jobs(db), error=message), status


def _recent_jobs(db) -> list[dict]:
    found = [j for j in job_db.rows_jobs(db, limit=50) if j["kind"] in uploads.JOB_KINDS][:10]
    for j in found:
        j["params"] = json.loads(j["params"] or "{}")
    return found


@bp.get("/upload/<token>")
def mapping(token: str):
    _, meta = uploads.load_upload(get_config(), token)
    error = None
    try:
        layout = uploads.analyse_upload(get_config(), token)
        missing = None
        try:
            columns.check_mapping(layout.mapping, meta["name"])
        except SurveyNodeError as exc:
            missing = exc.line(gettext)
    except SurveyNodeError as exc:
        layout, missing, error = None, None, exc.line(gettext)
    return render_template(
        "imports/mapping.html", token=token, meta=meta, layout=layout,
        view=layout.as_dict() if layout else None, missing=missing, error=error,
        fields=[(f, gettext(columns.FIELD_LABELS[f])) for f in columns.FIELDS],
        crs_choices=[(v, gettext(label)) for v, label in CRS_CHOICES])


@bp.post("/upload/<token>")
def save_mapping(token: str):
    _, meta = uploads.load_upload(get_config(), token)
    form = request.form
    chosen: dict[str, int] = {}
    for key, value in form.items():
        if key.startswith("col-") and key[4:].isdigit() and value in columns.FIELDS:
            chosen.setdefault(value, int(key[4:]) + 1)  # 1-based column numbers
    # Every field the admin did not pick is explicitly unmapped, so guesses do not creep back.
    spec = {f: chosen.get(f) for f in columns.FIELDS}
    header_row = form.get("header_row", type=int)
    crs = form.get("crs", "")
    try:
        crs_code = coords.parse_crs(crs) if crs else None
    except coords.CoordinateError:
        abort(400)
    sheet = form.get("sheet") or None
    if (sheet != form.get("shown_sheet") and form.get("shown_sheet") is not None) or (
            header_row != form.get("shown_header_row", type=int)):
        spec = {}  # another sheet or header row means other columns: guess them again
    uploads.update_upload(get_config(), token, columns=spec, header_row=header_row or None,
                          crs=crs_code, sheet=sheet)
    action = form.get("action", "save")
    if action in ("preview", "import"):
        return _start(token, action)
    return redirect(url_for("imports.mapping", token=token))


@bp.post("/upload/<token>/run")
def run(token: str):
    """Start a preview or the import with the settings already saved for the upload."""
    return _start(token, request.form.get("action", "preview"))


def _start(token: str, action: str):
    # Removals only when the preview asked for them, for the count it showed: a checkbox for
    # a whole-province file, a choice of "update only" (the default), "only inside the file's
    # area" or "everywhere" for a partial one.
    form = request.form
    choice = form.get("removal") or ("all" if form.get("remove_missing") == "1" else "none")
    remove = action == "import" and choice in ("all", "covered")
    expected = form.get("expected_covered" if choice == "covered" else "expected_removals",
                        type=int)
    try:
        job_id = uploads.start_job(get_config(), token, dry_run=action != "import",
                                   actor=g.user["name"], remove_missing=remove,
                                   expected_removals=expected if remove else None,
                                   removal_scope=choice if remove else "all")
    except SurveyNodeError as exc:
        if exc.status != 400:
            raise
        return redirect(url_for("imports.mapping", token=token))  # it says why (quarantine)
    return redirect(url_for("imports.job", job_id=job_id))


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    found = _job_or_404(job_id)
    result = found.get("result") or {}
    if found["state"] == "done" and result.get("import_id"):
        return redirect(url_for("imports.report", import_id=result["import_id"]))
    return render_template("imports/job.html", job=found, error=_job_error(found))


@bp.get("/jobs/<job_id>.json")
def job_status(job_id: str):
    found = _job_or_404(job_id)
    result = found.get("result") or {}
    done_url = None
    if found["state"] == "done" and result.get("import_id"):
        done_url = url_for("imports.report", import_id=result["import_id"])
    elif found["state"] in ("done", "failed"):
        done_url = url_for("imports.job", job_id=job_id)
    progress, message_id = found["progress"], found["message"]
    if found["state"] == "running":
        progress, message_id = uploads.live_progress(job_id) or (progress, message_id)
    return jsonify(state=found["state"], progress=progress,
                   message=gettext(message_id) if message_id else "",
                   error=_job_error(found), done_url=done_url)


def _job_or_404(job_id: str) -> dict:
    found = job_db.get_job(get_db(), job_id)
    if found is None or found["kind"] not in uploads.JOB_KINDS:
        abort(404)
    return found


def _job_error(found: dict) -> str | None:
    if not found.get("error"):
        return None
    raw = found["error"]
    try:
        err = json.loads(raw)
        return translate(err["message"], err.get("params"))
    except (ValueError, KeyError, TypeError):
        return gettext(raw)


@bp.get("/<int:import_id>")
def report(import_id: int):
    found = import_db.get_import(get_db(), import_id)
    if found is None:
        abort(404)
    latest = import_db.get_latest_import(get_db())
    return render_template("imports/report.html", imp=found, change_labels=change_labels,
                           field_label=field_label,
                           can_undo=latest is not None and latest["id"] == found["id"])


@bp.post("/<int:import_id>/undo")
def undo(import_id: int):
    """Put the cameras back as they were before this import (the latest one only)."""

    try:
        counts = undo_import(get_db(), import_id, actor=g.user["name"])
    except SurveyNodeError as exc:
        flash(exc.line(gettext), "error")
        return redirect(url_for("imports.report", import_id=import_id))
    flash(gettext("Import %(id)s undone: %(restored)s cameras restored, %(deleted)s added ones"
                  " deleted, %(back)s back in the registry.", id=import_id, **counts))
    return redirect(url_for("imports.report", import_id=import_id))
