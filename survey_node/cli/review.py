"""`survey-node review`: a decision from a shell."""

from __future__ import annotations

import json

import click

from .. import db as database
from .. import review as review_svc
from ..selection.runs import user_for
from .base import data_dir_option, json_option, main
from .core import _require_init


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
