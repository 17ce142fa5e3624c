"""`survey-node registry …`: the central registry's commands (serve, tokens, imports,
decisions, history, hand-in export). The node's CLI adds this group (cli/__init__.py).

The registry's services are imported inside the commands: every `survey-node` command
(a node's sync timer too) loads this module, and none of them needs the registry."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from .. import accounts, json_input
from .. import config as config_mod
from ..db import users as user_db
from ..cli_options import data_dir_option, json_option
from ..errors import BadInput


LEFTOVER_UPLOAD_AGE_S = 6 * 3600


@click.group()
def registry():
    """The central registry: serve the sync API, node tokens, imports, review decisions."""


def _registry_config(data_dir):
    root = config_mod.resolve_data_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    return config_mod.load(root)


def _registry(data_dir):
    from .service import Registry

    return Registry(_registry_config(data_dir))


@registry.command("serve")
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (put a TLS-terminating proxy in front).")
@click.option("--port", type=int, default=8443, show_default=True, help="Port to listen on.")
@click.option("--workers", type=int, default=None,
              help="Processes sharing the port (default [registry] workers); more than one"
                   " needs a PostgreSQL database_url.")
def registry_serve(data_dir, host, port, workers):
    """Serve the registry's sync API and review pages with waitress."""
    from .app import create_registry_app
    from .service import Registry
    from .store import open_store
    from . import workers as worker_mod

    cfg = _registry_config(data_dir)
    workers = cfg.registry.workers if workers is None else workers
    worker_mod.check_workers(cfg, workers)
    where = open_store(cfg)
    # Here, before listening: a wrong URL or password stops the command in one line, and
    # the workers started after find no schema step left to apply.
    where.migrate()
    _remove_leftover_uploads(where)
    click.echo(f"registry on http://{host}:{port}/ ({where.kind} {where.location},"
               f" {workers} worker{'s' if workers > 1 else ''})")
    sock = worker_mod.bind(host, port)

    def serve_one(listening, registry=None):
        from waitress import serve

        app = create_registry_app(cfg, registry=registry)
        serve(app, sockets=[listening], threads=cfg.registry.threads,
              ident="survey-registry", channel_timeout=60,
              # above the app's own limits, so an oversize upload gets its JSON 413
              max_request_body_size=max(2 * cfg.registry.max_evidence_mb, 64) << 20)

    if workers == 1:  # no fork: this process serves with the store it just migrated
        serve_one(sock, Registry(cfg, store=where))
        return
    sys.exit(worker_mod.supervise(sock, workers, serve_one,
                                  log=lambda line: click.echo(line, err=True)))


def _remove_leftover_uploads(where) -> None:
    """Startup repair: uploads a killed registry left half-written. Only old ones: another
    registry host may be writing into the same bucket right now."""
    from ..errors import SurveyNodeError

    try:
        removed = where.objects.remove_temporaries(older_than_s=LEFTOVER_UPLOAD_AGE_S)
    except SurveyNodeError as exc:  # readiness reports the store; serving still starts
        click.echo(f"warning: {exc.line()}", err=True)
        return
    if removed:
        click.echo(f"removed {removed} half-written upload(s) left by an earlier run")


@registry.command("export")
@data_dir_option
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx",
              show_default=True, help="xlsx (Thai headers, for the ministry) or csv (UTF-8 with BOM).")
@click.option("--status", default="all", show_default=True,
              type=click.Choice(["all", "pending", "approved", "rejected", "resurvey"]),
              help="Only the surveys whose review stands so.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (replaced only once complete).")
def registry_export(data_dir, fmt, status, out):
    """The province's hand-in file: every survey the nodes sent, with its decision."""
    from . import handin

    count = handin.export_file(_registry(data_dir), fmt, out, status=status)
    click.echo(f"{count} surveys written to {out}")


@registry.group("token")
def registry_token():
    """Bearer tokens of the nodes that may sync."""


@registry_token.command("add")
@data_dir_option
@click.argument("node_id")
@click.option("--province", default="", help="The province the node surveys (Thai or English"
              " name, or DOPA code): its token reads only that province's cameras.")
def registry_token_add(data_dir, node_id, province):
    """Make a token for NODE_ID; it is shown once, as the last word."""
    token = _registry(data_dir).add_token(node_id, province=province)
    if not province:
        click.echo(f"note: no --province: {node_id} can send surveys but not pull cameras",
                   err=True)
    click.echo(f"token for {node_id} (store it in the node's secrets/registry_token): {token}")


@registry.command("import-batch")
@data_dir_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--receipt-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the receipt here, for `survey-node batch import-receipt` on"
                   " the node.")
@json_option
def registry_import_batch(data_dir, file, receipt_out, as_json):
    """Import a batch file from `batch export` (a tampered file is refused whole)."""
    from .batch_import import import_batch

    receipt = import_batch(_registry_config(data_dir), file)
    if receipt_out:
        receipt_out.write_text(json.dumps(receipt, ensure_ascii=False, indent=1),
                               encoding="utf-8")
    if as_json:
        click.echo(json.dumps(receipt, ensure_ascii=False))
    else:
        click.echo(f"imported batch {receipt['batch_id']} from {receipt['node_id']}:"
                   f" {len(receipt['surveys'])} survey(s)")


@registry.command("import-cameras")
@data_dir_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def registry_import_cameras(data_dir, file):
    """Load a province's cameras (JSON list or UTF-8 CSV with a camera_id column)."""
    text = file.read_text(encoding="utf-8-sig")
    if file.suffix.lower() == ".json":
        try:
            cameras = json_input.loads(text)
        except ValueError:
            raise BadInput("%(file)s is not valid JSON", file=str(file)) from None
        if not isinstance(cameras, list):
            raise BadInput("%(file)s must hold a JSON list of cameras", file=str(file))
    else:
        cameras = list(csv.DictReader(text.splitlines()))
    changed = _registry(data_dir).import_cameras(cameras)
    click.echo(f"{len(cameras)} camera(s) read, {changed} new or changed")


@registry.command("decide")
@data_dir_option
@click.argument("survey_id")
@click.option("--state", type=click.Choice(["approved", "rejected", "resurvey"]), required=True,
              help="The review decision.")
@click.option("--reason", default="", help="Why (required unless approved); the surveyor sees it.")
@click.option("--by", "decided_by", default="cli", show_default=True, help="Who decided.")
def registry_decide(data_dir, survey_id, state, reason, decided_by):
    """Record a review decision on a survey; its node pulls it on the next sync."""
    decision = _registry(data_dir).record_decision(survey_id, state=state, reason=reason,
                                                   decided_by=decided_by)
    click.echo(f"{state} survey {survey_id} revision {decision['revision']}"
               f" (node {decision['node_id']})")


@registry.command("history")
@data_dir_option
@click.option("--node", "node_id", help="Only this node's events.")
@json_option
def registry_history(data_dir, node_id, as_json):
    """The registry's sync history: batches, commits, imports and refusals."""
    events = _registry(data_dir).history(node_id)
    if as_json:
        click.echo(json.dumps(events, ensure_ascii=False))
        return
    for e in events:
        click.echo(f"{e['at']} {e['action']:<8} {e['node_id'] or '-':<16} {e['batch_id'] or '-'}"
                   f" surveys={e['surveys']} evidence={e['evidence']}"
                   f"{' error=' + e['error'] if e['error'] else ''}")


@registry.command("recount")
@data_dir_option
def registry_recount(data_dir):
    """Count the dashboard's figures again from the stored surveys (after a restore or a
    hand edit of the database; nodes may go on syncing meanwhile)."""
    from .dashboard import recount

    total = recount(_registry(data_dir))
    click.echo(f"Dashboard counts rebuilt from {total} survey{'' if total == 1 else 's'}")


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


@registry.command("migrate")
@data_dir_option
@click.option("--to", "to", required=True, metavar="postgresql://…",
              help="The PostgreSQL database to move the registry's rows into (its schema is"
                   " brought up to date first).")
@click.option("--evidence", default="", metavar="s3://bucket/prefix",
              help="Also copy the evidence into this bucket; without it the evidence stays in"
                   " the data dir's folder.")
@click.option("--page-size", type=int, default=1000, show_default=True, hidden=True,
              help="Rows per transaction.")
@json_option
def registry_migrate(data_dir, to, evidence, page_size, as_json):
    """Copy an embedded registry (registry.db and its evidence) into PostgreSQL (and a
    bucket), verified; run it again after an interruption to finish."""
    from .move import move_registry, report_lines

    # Not _registry_config: a mistyped data dir is refused, not created.
    cfg = config_mod.load(config_mod.resolve_data_dir(data_dir))
    report = move_registry(cfg, to=to, evidence=evidence, page=page_size,
                           on_page=_move_progress() if sys.stderr.isatty() else None)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        for line in report_lines(report):
            click.echo(line)
    for error in report["errors"]:
        click.echo(f"error: {error}", err=True)
    return 0 if report["ok"] else 1


def _move_progress():
    """A line on the terminal per table and every few seconds: a national move of hundreds
    of GB takes hours and must not look hung."""
    import time

    state = {"what": None, "at": 0.0}

    def report(what: str, done: int) -> None:
        now = time.monotonic()
        if what != state["what"] or now - state["at"] >= 5:
            state.update(what=what, at=now)
            click.echo(f"migrate: {what} {done:,}", err=True)

    return report
