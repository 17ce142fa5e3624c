"""The survey workflow as a JSON API under /api/v1 (the pages use it; so can other apps).

Described by the OpenAPI document at /api/v1/openapi.json (survey_node/openapi.py); a test
fails when a route here is missing from it.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext

from .. import survey as survey_svc
from .. import worklist
from ..context import get_config, get_db
from ..db import cameras as camera_db
from ..errors import BadInput, NotFound
from ..openapi import openapi_document
from ..db import surveys as survey_db
from ..selection import replace as replace_mod
from ..db import streamchecks as check_db
from .body import json_object
from .streamcheck import present_check

bp = Blueprint("survey_api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/worklist")
def list_worklist():
    args = request.args
    lat, lon = _optional_float(args, "lat", -90, 90), _optional_float(args, "lon", -180, 180)
    if (lat is None) != (lon is None):
        raise BadInput("Give both lat and lon, or neither")
    state = args.get("state", "")
    if state and state not in worklist.SURVEY_STATES:
        raise BadInput("state %(state)r is not one of %(known)s", state=state,
                       known=", ".join(worklist.SURVEY_STATES))
    show = args.get("show", "")
    if show and show not in worklist.SHOWS:
        raise BadInput("show %(show)r is not one of %(known)s", show=show,
                       known=", ".join(worklist.SHOWS))
    show = show or ("mine" if g.user["role"] == "surveyor" else "selected")
    scope_sql, scope_params = worklist.scope_for(get_db(), show, g.user["name"])
    result = worklist.list_worklist(
        get_db(), lat=lat, lon=lon, scope_sql=scope_sql, scope_params=scope_params,
        limit=_int(args, "limit", 50, 1, 200), offset=_int(args, "offset", 0, 0, 10**7),
        amphoe=args.get("amphoe", "")[:10], search=args.get("q", "")[:100], state=state,
    )
    result["show"] = show
    return jsonify(result)


@bp.get("/cameras/<camera_id>")
def get_camera(camera_id):
    camera = camera_db.get_camera(get_db(), camera_id)
    if camera is None:
        raise NotFound("Camera %(camera_id)s is not in the registry", camera_id=camera_id)

    latest = survey_db.get_open_survey_for_camera(get_db(), camera_id)
    camera["survey_id"] = latest["id"] if latest else None
    return jsonify(camera)


@bp.post("/cameras/<camera_id>/survey")
def start_survey(camera_id):
    survey = survey_svc.start_or_resume(get_db(), get_config(), camera_id=camera_id, user=g.user)
    return jsonify(survey_json(survey))


@bp.get("/surveys/<survey_id>")
def get_survey(survey_id):
    return jsonify(survey_json(survey_id))


@bp.put("/surveys/<survey_id>/position")
def set_position(survey_id):
    body = json_object()
    fix = body.get("fix")
    if not isinstance(fix, dict):
        raise BadInput("fix must be an object with lat and lon")
    # Only the node's own GPS reader records a gpsd (or replay) fix: whatever a client says
    # it measured is the tablet's claim, stored as such.
    source = "manual" if body.get("source") == "manual" else "tablet"
    survey = survey_svc.set_position(get_db(), get_config(), survey_id, user=g.user, fix=fix,
                                     source=source, reason=str(body.get("reason", "")))
    return jsonify(survey_json(survey))


@bp.post("/surveys/<survey_id>/photos")
def add_photo(survey_id):
    body = json_object()
    survey = survey_svc.add_photo(get_db(), get_config(), survey_id, user=g.user,
                                  sha256=str(body.get("sha256", "")),
                                  role=str(body.get("role", "")))
    return jsonify(survey_json(survey))


@bp.delete("/surveys/<survey_id>/photos/<sha256>")
def remove_photo(survey_id, sha256):
    survey = survey_svc.remove_photo(get_db(), get_config(), survey_id, user=g.user,
                                     sha256=sha256)
    return jsonify(survey_json(survey))


@bp.put("/surveys/<survey_id>/answers")
def save_answers(survey_id):
    body = json_object()
    notes, reason = body.get("notes"), body.get("position_reason")
    for name, value in (("notes", notes), ("position_reason", reason)):
        if value is not None and not isinstance(value, str):
            raise BadInput("%(name)s must be text", name=name)
    survey = survey_svc.save_answers(get_db(), get_config(), survey_id, user=g.user,
                                     checklist=body.get("checklist"), notes=notes,
                                     position_reason=reason)
    return jsonify(survey_json(survey))


@bp.post("/surveys/<survey_id>/complete")
def complete(survey_id):
    survey = survey_svc.complete(get_db(), get_config(), survey_id, user=g.user)
    return jsonify(survey_json(survey))


@bp.post("/surveys/<survey_id>/release")
def release(survey_id):
    survey_svc.release(get_db(), survey_id, user=g.user)
    return jsonify(survey_json(survey_id))


@bp.post("/cameras/<camera_id>/cannot-survey")
def cannot_survey(camera_id):
    """Ask for a replacement: this selected camera cannot be surveyed (a supervisor confirms)."""

    body = json_object()
    request_id = replace_mod.request_replacement(
        get_db(), camera_id=camera_id, reason=str(body.get("reason", "")),
        note=str(body.get("note", ""))[:1000], user=g.user)
    return jsonify(replacement_id=request_id, camera_id=camera_id, state="requested"), 201


@bp.post("/new-cameras")
def report_new_camera():
    body = json_object()
    survey = survey_svc.report_new_camera(
        get_db(), get_config(), user=g.user, site_name=str(body.get("site_name", "")),
        description=str(body.get("description", "")), agency=str(body.get("agency", "")),
    )
    return jsonify(survey_json(survey["id"])), 201


# -- helpers -------------------------------------------------------------------------


def survey_json(survey: dict | str) -> dict:
    """The survey as the page's script reads it: a write's returned survey (so a change reads
    the survey once), or an id to read."""
    db, config = get_db(), get_config()
    if isinstance(survey, str):
        survey = survey_svc.get(db, survey)
    survey["missing"] = [gettext(m) for m in survey_svc.missing_for_completion(db, config, survey)]
    survey["distance_warning_m"] = config.survey.distance_warning_m
    if survey.get("stream_check_id"):

        found = check_db.get_stream_check(db, survey["stream_check_id"])
        if found:
            survey["stream_check"] = present_check(found)
    for item in survey["evidence"]:
        item["url"] = f"/evidence/{item['sha256']}"
        item["thumb_url"] = f"/evidence/{item['sha256']}/thumb"
    return survey


def _optional_float(args, name: str, low: float, high: float) -> float | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadInput("%(name)s %(value)r is not a number", name=name, value=raw) from None
    if not low <= value <= high:
        raise BadInput("%(name)s %(value)s is out of range", name=name, value=value)
    return value


def _int(args, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput("%(name)s %(value)r is not a whole number", name=name, value=raw) from None
    return max(low, min(high, value))
