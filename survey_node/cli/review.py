"""`survey-node review` (a decision from a shell) and `survey-node registry user add`."""

from __future__ import annotations

import json
import sys

import click

from .. import accounts
from .. import db as database
from .. import review as review_svc
from ..db import users as user_db
from ..selection.runs import user_for
from .base import data_dir_option, json_option, main
from .core import _require_init
from .sync import _registry, registry


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


@registry.group("user")
def registry_user():
    """Supervisors who review surveys on the registry's pages (/review/)."""


@registry_user.command("add")
@data_dir_option
@click.argument("name")
@click.option("--role", type=click.Choice(["supervisor", "admin"]), default="supervisor",
              show_default=True, help="Role on the registry (both may review).")
@click.option("--display-name", default="", help="Name shown in the page header.")
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from standard input (no prompt).")
def registry_user_add(data_dir, name, role, display_name, pin_stdin):
    """Add a registry user who logs in with NAME and a PIN."""
    reg = _registry(data_dir)
    pin = sys.stdin.readline().strip() if pin_stdin else click.prompt(
        "PIN", hide_input=True, confirmation_prompt=True)
    with reg.db() as db:
        accounts.add_user(db, reg.config.security, name=name, role=role, pin=pin,
                          display_name=display_name, actor="cli")
        found = user_db.get_user_by_name(db, name)
    click.echo(f"registry user {found['name']} ({found['role']}) added")
