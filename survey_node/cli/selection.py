"""select, quota, assign, replace: the 20 % set from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import db as database
from ..db import selection as sel_db
from ..errors import BadInput
from ..selection import describe_run
from ..selection import assign as assign_mod
from ..selection import committee, quota as quota_mod, replace as replace_mod, sample
from ..selection.runs import active_run, user_for
from .base import data_dir_option, json_option, main
from .core import _require_init

# Someone with a shell on the node is its operator: the CLI acts as admin unless told
# `--as NAME`, which records that user and applies their role.
CLI_USER = {"name": "cli", "role": "admin"}


def as_option(func):
    return click.option("--as", "as_user", metavar="NAME",
                        help="Act as this user (recorded in the audit log; their role applies)."
                             " Default: the node operator, as admin.")(func)


def _open(data_dir):
    cfg = _require_init(data_dir)
    return cfg, database.connect(cfg.db_path)


def _user(db, as_user):
    return user_for(db, as_user) if as_user else CLI_USER


def _run_json(run: dict | None) -> dict | None:
    if run is None:
        return None
    out = {k: v for k, v in run.items() if k != "items"}
    out["method_text"] = describe_run(run) if run.get("id") else None
    return out


@main.command("select")
@data_dir_option
@click.option("--from-list", "from_list", type=click.Path(dir_okay=False, path_type=Path),
              help="The committee's list (xlsx/xls/ods/csv/txt): camera ids, or rows with id or"
                   " site name + latitude + longitude.")
@click.option("--reserve", type=click.Path(dir_okay=False, path_type=Path),
              help="With --from-list: the committee's reserve list, drawn from in order for replacements.")
@click.option("--sheet", help="With --from-list: the sheet to read (default: the first).")
@click.option("--fraction", help="Draw a sample: the share to take per stratum, e.g. 0.2.")
@click.option("--by", "by", default="amphoe", show_default=True,
              help="Stratum fields, comma separated: province, amphoe, tambon, agency, place_type.")
@click.option("--seed", help="The sample's seed (any text); record it, anyone re-derives the set from it.")
@click.option("--only-with-stream", is_flag=True, help="Sample only cameras that have a stream URL.")
@click.option("--dry-run", is_flag=True, help="Show what would be selected; record nothing.")
@click.option("--replace", "replace_set", is_flag=True,
              help="Let the new set replace the set in force (drops assignments outside it).")
@click.option("--show", is_flag=True, help="Show the set in force and how it was formed.")
@click.option("--verify", is_flag=True, help="Re-derive the sample in force from its seed and compare.")
@as_option
@json_option
def select(data_dir, from_list, reserve, sheet, fraction, by, seed, only_with_stream, dry_run,
           replace_set, show, verify, as_user, as_json):
    """Form the 20 % set: a committee list (--from-list) or an auditable sample (--fraction)."""
    modes = [bool(from_list), fraction is not None, show, verify]
    if sum(modes) != 1:
        raise BadInput("Give exactly one of --from-list FILE, --fraction F, --show, --verify")
    cfg, db = _open(data_dir)
    try:
        if show or verify:
            run = active_run(db)
            if run is None:
                raise BadInput("There is no survey set yet")
            if verify:
                problems = sample.verify_run(db, run)
                _echo(as_json, {"run": _run_json(run), "matches": not problems, "problems": problems},
                      [describe_run(run),
                       "re-derived from the seed: identical" if not problems else
                       f"re-derived from the seed: {len(problems)} difference(s)", *problems])
                return 0 if not problems else 1
            _echo(as_json, {"run": _run_json(run)}, [describe_run(run)])
            return 0
        user = _user(db, as_user)
        if from_list:
            if seed or only_with_stream:
                raise BadInput("--seed and --only-with-stream belong to a sample, not a list")
            run = committee.import_list(db, from_list, user=user, reserve=reserve, sheet=sheet,
                                        radius_m=cfg.selection.match_radius_m, dry_run=dry_run,
                                        replace=replace_set)
        else:
            if reserve or sheet:
                raise BadInput("--reserve and --sheet belong to a committee list (--from-list)")
            run = sample.draw_sample(db, fraction=fraction, by=by, seed=seed,
                                     only_with_stream=only_with_stream, user=user, dry_run=dry_run,
                                     replace=replace_set)
    finally:
        db.close()
    lines = [("dry run, nothing recorded: " if dry_run else "recorded ") +
             (describe_run(run) if run.get("id") else _dry_line(run))]
    lines += [committee.unmatched_line(u) for u in run["unmatched"]]
    _echo(as_json, {"run": _run_json(run), "dry_run": dry_run}, lines)
    return 0


def _dry_line(run: dict) -> str:
    c = run["counts"]
    if run["method"] == "sample":
        return (f"sample of {run['fraction']:g} by {','.join(run['strata'])}, seed {run['seed']!r}:"
                f" {c['selected']} of {c['eligible']} cameras in {c['strata']} strata")
    return f"list {run['source_file']}: {c['selected']} cameras, {c['reserve']} in reserve"


@main.command()
@data_dir_option
@click.option("--level", type=click.Choice(tuple(quota_mod.LEVELS)), default="amphoe",
              show_default=True, help="Group the quota by province, amphoe or agency.")
@json_option
def quota(data_dir, level, as_json):
    """Registered, target, selected, surveyed and approved cameras per group; shortfalls marked."""
    cfg, db = _open(data_dir)
    try:
        result = quota_mod.compute_quota(db, level=level,
                                         default_fraction=cfg.selection.target_fraction)
        run = active_run(db)
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps({**result, "method": describe_run(run)}, ensure_ascii=False))
        return 0
    click.echo(describe_run(run))
    click.echo(f"{'code':<12} {'name':<28} {'registered':>10} {'target':>7} {'selected':>8}"
               f" {'surveyed':>8} {'approved':>8}  shortfall")
    for r in [*result["rows"], {**result["totals"], "code": "total", "name": ""}]:
        mark = f"  SHORT {r['shortfall']}" if r["shortfall"] else ""
        click.echo(f"{str(r['code'])[:12]:<12} {str(r['name'])[:28]:<28} {r['registered']:>10}"
                   f" {r['target']:>7} {r['selected']:>8} {r['surveyed']:>8} {r['approved']:>8}{mark}")
    return 0


@main.group()
def assign():
    """Hand cameras of the 20 % set to surveyors."""


@assign.command("amphoe")
@data_dir_option
@click.argument("amphoe_code")
@click.option("--to", "to", required=True, help="The user who surveys them.")
@as_option
def assign_amphoe(data_dir, amphoe_code, to, as_user):
    """Assign every selected camera of AMPHOE_CODE (DOPA code, e.g. 1101) to one user."""
    _, db = _open(data_dir)
    try:
        n = assign_mod.assign_amphoe(db, amphoe_code, to, user=_user(db, as_user))
    finally:
        db.close()
    click.echo(f"assigned {n} cameras of amphoe {amphoe_code} to {to}")


@assign.command("cameras")
@data_dir_option
@click.argument("camera_ids", nargs=-1, required=True)
@click.option("--to", "to", required=True, help="The user who surveys them.")
@as_option
def assign_cameras(data_dir, camera_ids, to, as_user):
    """Assign the given CAMERA_IDS to one user (picked by hand)."""
    _, db = _open(data_dir)
    try:
        n = assign_mod.assign_cameras(db, list(camera_ids), to, user=_user(db, as_user))
    finally:
        db.close()
    click.echo(f"assigned {n} cameras to {to}")


@assign.command("clear")
@data_dir_option
@click.argument("camera_ids", nargs=-1, required=True)
@as_option
def assign_clear(data_dir, camera_ids, as_user):
    """Remove the assignment of the given CAMERA_IDS."""
    _, db = _open(data_dir)
    try:
        n = assign_mod.unassign(db, list(camera_ids), user=_user(db, as_user))
    finally:
        db.close()
    click.echo(f"cleared {n} assignments")


@assign.command("list")
@data_dir_option
@click.option("--user", "user_name", help="Only this user's cameras.")
@json_option
def assign_list(data_dir, user_name, as_json):
    """List assignments (camera, user, how, amphoe)."""
    _, db = _open(data_dir)
    try:
        found = sel_db.rows_assignments(db, user_name=user_name)
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    for a in found:
        click.echo(f"{a['camera_id']:<20} {a['user_name']:<14} {a['how']:<11} {a['amphoe_name'] or ''}")


@main.group()
def replace():
    """Replace a selected camera that cannot be surveyed (request, then confirm)."""


@replace.command("request")
@data_dir_option
@click.argument("camera_id")
@click.option("--reason", type=click.Choice(tuple(replace_mod.REASONS)), required=True,
              help="Why it cannot be surveyed.")
@click.option("--note", default="", help="What the surveyor saw (needed for reason 'other').")
@as_option
@json_option
def replace_request(data_dir, camera_id, reason, note, as_user, as_json):
    """Ask for CAMERA_ID to be replaced (a supervisor confirms)."""
    _, db = _open(data_dir)
    try:
        rid = replace_mod.request_replacement(db, camera_id=camera_id, reason=reason, note=note,
                                              user=_user(db, as_user))
    finally:
        db.close()
    _echo(as_json, {"request": rid}, [f"replacement request {rid} for {camera_id} waits for a supervisor"])


@replace.command("decide")
@data_dir_option
@click.argument("request_id", type=int)
@click.option("--confirm/--reject", required=True, help="Confirm (swap in the next camera) or reject.")
@click.option("--note", default="", help="The supervisor's note.")
@as_option
@json_option
def replace_decide(data_dir, request_id, confirm, note, as_user, as_json):
    """Confirm or reject replacement request REQUEST_ID."""
    _, db = _open(data_dir)
    try:
        req = replace_mod.decide_replacement(db, request_id, confirm=confirm, note=note,
                                             user=_user(db, as_user))
    finally:
        db.close()
    line = (f"{req['camera_id']} replaced by {req['replacement_camera_id']}" if confirm
            else f"request {request_id} rejected")
    _echo(as_json, {"request": req}, [line])


@replace.command("list")
@data_dir_option
@json_option
def replace_list(data_dir, as_json):
    """List replacement requests of the set in force."""
    _, db = _open(data_dir)
    try:
        run = active_run(db)
        found = sel_db.rows_replacements(db, run["id"]) if run else []
    finally:
        db.close()
    lines = [f"{r['id']:>4} {r['state']:<10} {r['camera_id']:<20} {r['reason']:<10}"
             f" -> {r['replacement_camera_id'] or '-'} ({r['requested_by']})" for r in found]
    _echo(as_json, found, lines)


def _echo(as_json: bool, data, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        for line in lines:
            click.echo(line)
