"""`survey-node export` (the hand-in files) and `survey-node review` (decisions from a shell)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import db as database
from .. import exports as export_mod
from .. import review as review_svc
from ..selection.runs import user_for
from . import data_dir_option, json_option, main
from .core import _require_init


@main.command("export")
@data_dir_option
@click.option("--format", "fmt", type=click.Choice(export_mod.FORMATS), required=True,
              help="xlsx (Thai headers + quota sheet), csv (UTF-8 with BOM), geojson, kml,"
                   " evidence-zip (photos + SHA-256 manifest) or pdf (A4 evidence sheets).")
@click.option("--state", "scope", type=click.Choice(export_mod.SCOPES), default="selected",
              show_default=True, help="Which cameras: the survey set, the surveyed, the approved, or all.")
@click.option("--amphoe", default="", help="Only this district (DOPA code or name).")
@click.option("--agency", default="", help="Only this agency (its name as in the registry).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write (replaced only when the export succeeds).")
@json_option
def export_cmd(data_dir, fmt, scope, amphoe, agency, out, as_json):
    """Export cameras with their survey results for the ministry, QGIS or Google Earth."""
    cfg = _require_init(data_dir)
    db = database.connect(cfg.db_path)
    try:
        count = export_mod.export(db, cfg, fmt, out, scope=scope, amphoe=amphoe, agency=agency)
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps({"format": fmt, "state": scope, "cameras": count, "out": str(out)}))
    else:
        click.echo(f"exported {count} cameras to {out}")


@main.command("review")
@data_dir_option
@click.argument("survey_id")
@click.option("--decision", type=click.Choice(tuple(review_svc.DECISIONS)), required=True,
              help="approved, rejected or resurvey.")
@click.option("--reason", default="", help="Why (needed to reject or send back for re-survey).")
@click.option("--flag", "flags", multiple=True, type=click.Choice(tuple(review_svc.FLAGS)),
              help="What the reviewer found; repeat for several.")
@click.option("--as", "as_user", required=True, metavar="NAME",
              help="The supervisor making the decision (recorded in the audit log).")
@json_option
def review_cmd(data_dir, survey_id, decision, reason, flags, as_user, as_json):
    """Record a supervisor's decision on a completed survey."""
    cfg = _require_init(data_dir)
    db = database.connect(cfg.db_path)
    try:
        survey = review_svc.decide(db, survey_id, user=user_for(db, as_user), decision=decision,
                                   reason=reason, flags=list(flags))
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps({k: survey[k] for k in ("id", "state", "review_state", "revision")}))
    else:
        click.echo(f"{survey_id}: {decision} (now {survey['state']}, revision {survey['revision']})")
