"""The survey's live steps that use the node's devices: fix the position, run the stream check.

Kept apart from survey_api.py (plain data in and out): these wait on hardware or start jobs.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from .. import positioning
from .. import survey as survey_svc
from ..context import get_config, get_db
from ..errors import BadInput, Conflict
from ..db import streamchecks as check_db
from .. import stream_find as findjob_mod
from .. import stream_check as streamcheck
from ..streamcheck.urls import InvalidStreamUrl, validate_url
from .body import json_object
from .devices import MAX_AVERAGE_S, gps_reader
from .survey_api import survey_json

bp = Blueprint("survey_devices", __name__, url_prefix="/api/v1")
TYPED = "typed"  # found_stream_via of an address the surveyor typed


@bp.post("/surveys/<survey_id>/position/fix")
def fix_position(survey_id):
    """Average the node's GPS for some seconds and keep the result as the survey's position."""
    config, db = get_config(), get_db()
    body = json_object(optional=True)
    raw = body.get("seconds", config.gps.average_s)
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        raise BadInput("seconds: %(value)r is not a number", value=raw) from None
    if not 1 <= seconds <= MAX_AVERAGE_S:
        raise BadInput("seconds must be between 1 and %(max)s", max=MAX_AVERAGE_S)
    survey_svc.check_editable(db, config, survey_id, user=g.user)
    reader = gps_reader()
    position = positioning.average_position(reader, seconds=seconds,
                                            min_fixes=config.gps.min_fixes,
                                            gate=positioning.Gate.from_config(config.gps),
                                            extra_wait_s=config.gps.extra_wait_s)
    fix = position.as_dict()
    fix.update(fix_mode=fix["mode"], fix_time=fix["time"], fix_system_time=fix["system_time"])
    survey = survey_svc.set_position(db, config, survey_id, user=g.user, fix=fix,
                                     source=reader.name)
    return jsonify(survey_json(survey))


@bp.post("/surveys/<survey_id>/stream-check")
def stream_check(survey_id):
    """Check the camera's stream; the result is attached to the survey when the job ends."""
    config, db = get_config(), get_db()
    survey = survey_svc.check_editable(db, config, survey_id, user=g.user)
    if not survey["camera_id"]:
        raise BadInput("A camera not in the registry has no stream address to check")
    user = {"name": g.user["name"], "role": g.user["role"]}

    def attach(job_db, result, check_id):
        try:
            survey_svc.record_stream_check(job_db, config, survey_id, user=user,
                                           check_id=check_id, verdict=result.verdict,
                                           snapshot_sha256=result.snapshot_sha256,
                                           reference_sha256=result.view_reference_sha256)
        except Conflict:
            pass  # someone else took the survey over meanwhile; the check itself is kept

    # A stream found on site replaces the registry's (absent or wrong) address.
    found = check_db.get_stream_check_url(db, survey["found_stream_check_id"]) \
        if survey.get("found_stream_check_id") else None
    job_id = streamcheck.start_camera_check(config, db, survey["camera_id"], actor=user["name"],
                                            on_done=attach, url=found)
    return jsonify(job_id=job_id, state="queued"), 202


@bp.post("/surveys/<survey_id>/stream-find")
def stream_find(survey_id):
    """Find the camera's stream by its maker's paths; a stream with a picture is kept with
    the survey when the job ends. Body: host, port, user, password, brand; or url (an
    address typed by hand, kept the same way with found_stream_via "typed")."""
    config, db = get_config(), get_db()
    body = json_object()
    survey = survey_svc.check_editable(db, config, survey_id, user=g.user)
    if not survey["camera_id"]:
        raise BadInput("A camera not in the registry has no stream address to check")
    fields = {k: body.get(k) for k in ("host", "port", "user", "password", "brand", "url")}
    for name in ("host", "user", "password", "brand", "url"):
        if fields[name] is not None and not isinstance(fields[name], str):
            raise BadInput("%(name)s must be text", name=name).at(name)
    if fields["url"] is not None:
        # An address typed by hand (read off the camera's web page or its installer's
        # sheet): the same rules as any check, then tried and kept like a found one.
        try:
            urls = [validate_url(fields["url"])]
        except InvalidStreamUrl as exc:
            raise exc.at("url") from None
        brand = TYPED
    else:
        brand = fields["brand"] or findjob_mod.DEFAULT_BRAND
        urls = findjob_mod.plan(brand=brand, host=fields["host"] or "", port=fields["port"],
                                user=fields["user"] or "", password=fields["password"] or "")
    user = {"name": g.user["name"], "role": g.user["role"]}

    def keep(job_db, outcome):
        try:
            findjob_mod.keep_with_survey(job_db, config, survey_id, outcome, user=user, via=brand)
        except Conflict:
            pass  # someone else took the survey over meanwhile; the check itself is kept

    job_id = findjob_mod.start_find_job(config, db, survey["camera_id"], urls, brand=brand,
                                        actor=user["name"], on_found=keep)
    return jsonify(job_id=job_id, state="queued"), 202


@bp.post("/wired/discover")
def wired_discover():
    """Cameras on the node's wired port (WS-Discovery, a few seconds): IP, maker, model and
    ONVIF address of each, for the surveyor to pick one instead of typing its IP."""
    from ..wired.wsdiscovery import discover

    config = get_config()
    wired = config.wired
    search = discover(wired.interface, timeout_s=wired.discover_timeout_s,
                      max_reply_bytes=wired.max_reply_bytes,
                      hotspot_address=config.hotspot.address)
    data = search.public()
    # The reasons replies were ignored are for the log and the CLI, not the tablet.
    data["ignored"] = len(data.pop("rejected"))
    return jsonify(data)
