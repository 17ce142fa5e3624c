"""The 20 % set: form it (admin), the quota (supervisor), replacements, assignments."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup

from ..context import get_config, get_db
from ..db import cameras as camera_db
from ..db import selection as sel_db
from ..db import users as user_db
from ..errors import BadInput, SurveyNodeError
from ..selection import REASONS, active_run
from ..selection import assign as assign_mod
from ..selection import committee, quota as quota_mod, replace as replace_mod, sample
from ..selection.chart import quota_svg
from .guard import needs, role_allows

bp = Blueprint("selection", __name__, url_prefix="/selection")


def unmatched_text(problem: dict) -> str:
    which = gettext("reserve list") if problem["list"] == "reserve" else gettext("list")
    row = problem["row"] if problem["row"] else "?"
    message_id = problem["reason"]  # a message id from selection.committee
    reason = gettext(message_id)
    try:
        reason = reason % problem["params"]
    except (KeyError, TypeError, ValueError):
        pass
    return gettext("%(which)s row %(row)s: %(reason)s", which=which, row=row, reason=reason)


# -- forming the set --------------------------------------------------------------------


@bp.get("/")
@needs("supervisor")
def index(error: str | None = None, form: dict | None = None, status: int = 200):
    db = get_db()
    run = active_run(db)
    return render_template(
        "selection/index.html", run=run, runs=sel_db.rows_runs(db),
        unmatched=[unmatched_text(u) for u in (run["unmatched"] if run else [])],
        fields=list(sample.STRATUM_FIELDS), error=error,
        form=form or {"fraction": "0.2", "by": ["amphoe"], "seed": ""},
    ), status


@bp.post("/sample")
@needs("admin")
def draw():
    form = {"fraction": request.form.get("fraction", "").strip()[:10],
            "by": request.form.getlist("by")[:5] or ["amphoe"],
            "seed": request.form.get("seed", "").strip()[:200],
            "only_with_stream": bool(request.form.get("only_with_stream"))}
    replace = bool(request.form.get("replace"))
    try:
        run = sample.draw_sample(get_db(), fraction=form["fraction"], by=form["by"],
                                 seed=form["seed"], only_with_stream=form["only_with_stream"],
                                 user=g.user, replace=replace)
    except SurveyNodeError as exc:
        return index(error=exc.line(gettext), form=form, status=exc.status)
    flash(gettext("Sample drawn: %(n)s cameras selected.", n=run["counts"]["selected"]))
    return redirect(url_for("selection.index"))


@bp.post("/list")
@needs("admin")
def upload_list():
    upload = request.files.get("list")
    reserve = request.files.get("reserve")
    if not upload or not upload.filename:
        return index(error=gettext("Choose the committee's list file."), status=400)
    with tempfile.TemporaryDirectory(dir=get_config().data_dir) as tmp:
        try:
            main_path = _save(upload, Path(tmp), "list")
            reserve_path = _save(reserve, Path(tmp), "reserve") if reserve and reserve.filename else None
            run = committee.import_list(
                get_db(), main_path, user=g.user, reserve=reserve_path,
                radius_m=get_config().selection.match_radius_m,
                source_name=Path(upload.filename).name[:200],
                reserve_name=Path(reserve.filename).name[:200] if reserve_path else None,
                replace=bool(request.form.get("replace")))
        except SurveyNodeError as exc:
            return index(error=exc.line(gettext), status=exc.status)
    flash(gettext("List recorded: %(n)s cameras selected, %(bad)s rows unmatched.",
                  n=run["counts"]["selected"], bad=len(run["unmatched"])))
    return redirect(url_for("selection.index"))


def _save(upload, folder: Path, stem: str) -> Path:
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in committee.SPREADSHEETS | committee.TEXTS:
        raise BadInput("%(file)s: use an .xlsx, .xls, .ods, .csv or .txt file",
                       file=Path(upload.filename).name)
    path = folder / f"{stem}{suffix}"
    upload.save(path)
    return path


# -- quota --------------------------------------------------------------------------------


@bp.get("/quota")
@needs("supervisor")
def quota():
    level = request.args.get("level", "amphoe")
    if level not in quota_mod.LEVELS:
        level = "amphoe"
    db = get_db()
    result = quota_mod.compute_quota(db, level=level,
                                     default_fraction=get_config().selection.target_fraction)
    labels = {"target": gettext("Target"), "selected": gettext("Selected"),
              "approved": gettext("Approved"), "shortfall": gettext("Shortfall")}
    chart = Markup(quota_svg(result["rows"], labels=labels,
                             title=gettext("Selected and approved cameras against the target")))
    return render_template("selection/quota.html", result=result, chart=chart, level=level,
                           levels=list(quota_mod.LEVELS), run=active_run(db))


# -- replacements -----------------------------------------------------------------------------


@bp.get("/replacements")
def replacements(error: str | None = None, status: int = 200):
    db = get_db()
    run = active_run(db)
    supervisor = role_allows(g.user["role"], "supervisor")
    found = []
    if run:
        found = sel_db.rows_replacements(db, run["id"],
                                         requested_by=None if supervisor else g.user["name"])
    mine = sel_db.rows_my_selected(db, run["id"], g.user["name"]) if run else []
    return render_template("selection/replacements.html", run=run, items=found, mine=mine,
                           reasons=REASONS, supervisor=supervisor, error=error,
                           camera=request.values.get("camera", "")[:80]), status


@bp.post("/replacements")
def request_replacement():
    try:
        replace_mod.request_replacement(
            get_db(), camera_id=request.form.get("camera_id", "")[:80],
            reason=request.form.get("reason", ""), note=request.form.get("note", ""),
            user=g.user)
    except SurveyNodeError as exc:
        return replacements(error=exc.line(gettext), status=exc.status)
    flash(gettext("Replacement requested. A supervisor will confirm it."))
    return redirect(url_for("selection.replacements"))


@bp.post("/replacements/<int:replacement_id>")
@needs("supervisor")
def decide(replacement_id: int):
    action = request.form.get("action")
    if action not in ("confirm", "reject"):
        abort(400)
    try:
        req = replace_mod.decide_replacement(get_db(), replacement_id, confirm=action == "confirm",
                                             user=g.user, note=request.form.get("note", ""))
    except SurveyNodeError as exc:
        return replacements(error=exc.line(gettext), status=exc.status)
    if action == "confirm":
        flash(gettext("%(old)s is replaced by %(new)s.", old=req["camera_id"],
                      new=req["replacement_camera_id"]))
    else:
        flash(gettext("Replacement request rejected."))
    return redirect(url_for("selection.replacements"))


# -- assignments ------------------------------------------------------------------------------


@bp.get("/assignments")
@needs("supervisor")
def assignments(error: str | None = None, status: int = 200):
    db = get_db()
    run = active_run(db)
    summary = sel_db.rows_assignment_summary(db, run["id"] if run else None)
    people = [u for u in user_db.rows_users(db) if u["active"]]
    counts: dict[str, int] = {}
    for a in sel_db.rows_assignments(db):
        counts[a["user_name"]] = counts.get(a["user_name"], 0) + 1
    return render_template("selection/assignments.html", run=run, summary=summary, people=people,
                           counts=counts, amphoes=camera_db.rows_amphoes(db), error=error), status


@bp.post("/assignments")
@needs("supervisor")
def assign():
    db = get_db()
    mode = request.form.get("mode")
    to = request.form.get("user", "")
    try:
        if mode == "amphoe":
            n = assign_mod.assign_amphoe(db, request.form.get("amphoe", ""), to, user=g.user)
        elif mode == "hand":
            n = assign_mod.assign_cameras(db, assign_mod.parse_ids(request.form.get("ids", "")),
                                          to, user=g.user)
        elif mode == "clear":
            n = assign_mod.unassign(db, assign_mod.parse_ids(request.form.get("ids", "")),
                                    user=g.user)
        else:
            abort(400)
    except SurveyNodeError as exc:
        return assignments(error=exc.line(gettext), status=exc.status)
    flash(gettext("%(n)s cameras updated.", n=n))
    return redirect(url_for("selection.assignments"))
