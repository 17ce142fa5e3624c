"""`survey-node stream find`: find a camera's stream by its maker's RTSP paths."""

from __future__ import annotations

import json
import sys

import click

from .. import db as database
from ..db import cameras as camera_db
from ..errors import BadInput, NotFound
from ..streamcheck import EXPLANATIONS
from ..streamcheck.brands import BRANDS, DEFAULT_BRAND, match_brand
from .. import survey as survey_svc
from ..selection.runs import user_for
from ..stream_find import keep_with_survey, outcome_public, plan, search
from ..streamcheck.slots import ChecksBusy
from .base import data_dir_option, json_option, main
from .core import _require_init

MAX_PASSWORD_READ = 4096  # one line from stdin; a longer "password" is a mistake


@main.group("stream")
def stream() -> None:
    """Camera streams: find a camera's stream address on site."""


@stream.command("find")
@data_dir_option
@click.option("--camera", "camera_id", help="The camera's registry id (may be left out with"
                                             " --survey: the survey's camera).")
@click.option("--survey", "survey_id", help="Save a found stream with this survey of the"
                                           " camera, as the survey page does (it must be"
                                           " open: a draft, or completed and not approved).")
@click.option("--as", "as_user", metavar="NAME", help="With --survey: the surveyor (or"
                                                    " supervisor) saving it, in the audit log.")
@click.option("--host", required=True, help="The camera's IP address or host name.")
@click.option("--port", help="RTSP port (default: the maker's usual ports, 554 first); with"
                            " --brand onvif the camera's web port (default 80).")
@click.option("--user", default="", help="The camera's user name (often admin).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin (never give it as an"
                   " argument: `ps` would show it).")
@click.option("--brand", type=click.Choice(sorted(BRANDS)),
              help="The camera's maker (default: read from the registry's brand column,"
                   " else generic paths).")
@json_option
def find(data_dir, camera_id, survey_id, as_user, host, port, user, password_stdin, brand,
         as_json):
    """Try the maker's known RTSP paths at HOST, main stream first, and run the stream check
    on the first that opens; with --brand onvif, ask the camera for its stream and identity
    instead. Prints one line per try. Exits 0 when a stream with a picture was found, 1 when
    none was. With --survey (and --as), a stream found is saved with that survey."""
    cfg = _require_init(data_dir)
    password = ""
    if password_stdin:
        password = sys.stdin.readline(MAX_PASSWORD_READ).rstrip("\r\n")
    db = database.connect(cfg.db_path)
    saved = None
    try:
        owner = None
        if survey_id:
            camera_id, owner = _survey_to_keep(cfg, db, survey_id, camera_id, as_user)
        elif as_user:
            raise BadInput("--as is for saving with a survey: give --survey too")
        if not camera_id:
            raise BadInput("Give the camera (--camera) or its survey (--survey)")
        camera = camera_db.get_camera(db, camera_id)
        if camera is None:
            raise NotFound("Camera %(camera_id)s is not in the registry", camera_id=camera_id)
        brand = brand or match_brand(camera.get("brand")) or DEFAULT_BRAND
        urls = plan(brand=brand, host=host, port=port, user=user, password=password)

        def tried(attempt) -> None:
            if not as_json:
                click.echo(f"  {attempt.verdict}: {attempt.url}"
                           + (f" ({attempt.error})" if attempt.error else ""))

        if not as_json:
            click.echo(f"trying {len(urls)} address(es) for {brand}:")
        try:
            outcome = search(cfg, db, urls, camera_id=camera_id, actor="cli", on_try=tried,
                             on_queued=lambda: click.echo("queued: other stream checks are"
                                                          " running", err=True))
        except ChecksBusy as exc:
            raise BadInput(str(exc)) from None
        if outcome.url and owner is not None:
            saved = keep_with_survey(db, cfg, survey_id, outcome, user=owner, via=brand)
    finally:
        db.close()
    data = outcome_public(outcome)
    if saved is not None:
        data["survey_id"], data["survey_revision"] = saved["id"], saved["revision"]
    if as_json:
        click.echo(json.dumps({**data, "camera_id": camera_id, "brand": brand},
                              ensure_ascii=False))
    elif outcome.url:
        click.echo(f"found: {outcome.masked} ({outcome.verdict}:"
                   f" {EXPLANATIONS[outcome.verdict]})")
    else:
        click.echo(f"not found: {outcome.verdict}: {EXPLANATIONS.get(outcome.verdict, '')}")
    if outcome.onvif and not as_json:
        _echo_identity(outcome.onvif)
    if saved is not None and not as_json:
        click.echo(f"saved with survey {saved['id']} (revision {saved['revision']})")
    return 0 if outcome.url else 1


def _survey_to_keep(cfg, db, survey_id: str, camera_id: str | None, as_user: str | None):
    """(camera id, user) for saving with a survey; refused before any camera is asked,
    as the page refuses: not this camera's survey, approved, or open on another tablet."""
    if not as_user:
        raise BadInput("--survey needs --as NAME: who saves the stream with the survey")
    user = user_for(db, as_user)
    survey = survey_svc.check_editable(db, cfg, survey_id, user=user)
    if not survey["camera_id"]:
        raise BadInput("A camera not in the registry has no stream address to check")
    if camera_id and camera_id != survey["camera_id"]:
        raise BadInput("Survey %(survey_id)s is of camera %(other)s, not %(camera_id)s",
                       survey_id=survey_id, other=survey["camera_id"], camera_id=camera_id)
    return survey["camera_id"], {"name": user["name"], "role": user["role"]}


def _echo_identity(onvif: dict) -> None:
    identity = onvif.get("identity") or {}
    for key in ("manufacturer", "model", "firmware", "serial", "hardware_id", "mac"):
        if identity.get(key):
            click.echo(f"  camera {key.replace('_', ' ')}: {identity[key]}")
    if onvif.get("clock_drift_s") is not None:
        click.echo(f"  camera clock: {onvif['clock_drift_s']:+.0f} s from this node's")
    if onvif.get("snapshot_uri"):
        click.echo(f"  snapshot: {onvif['snapshot_uri']}")
