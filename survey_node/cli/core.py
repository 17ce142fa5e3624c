"""init, config show, users, serve."""

from __future__ import annotations

import json
import sys

import click

from .. import accounts, config as config_mod
from .. import db as database
from ..db import users as user_db
from ..errors import BadInput
from .base import data_dir_option, json_option, main


def load_config(data_dir):
    return config_mod.load(data_dir)


def init_data_dir(data_dir, *, node_name: str | None = None):
    """Create the data dir, its config file, secrets and database; safe to repeat."""
    import uuid

    root = config_mod.resolve_data_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    path = root / config_mod.CONFIG_FILE
    created = not path.exists()
    cfg = config_mod.load(root)
    if created:
        cfg.node.id = cfg.node.id or f"node-{uuid.uuid4().hex[:8]}"
        if node_name:
            cfg.node.name = node_name
        path.write_text(config_mod.to_toml(cfg), encoding="utf-8")
        cfg = config_mod.load(root)
    secrets_made = config_mod.ensure_secrets(cfg)
    cfg.evidence_dir.mkdir(parents=True, exist_ok=True)
    database.connect(cfg.db_path).close()
    return cfg, created, secrets_made


@main.command()
@data_dir_option
@click.option("--name", "node_name", help="A name for this node, shown in the page header.")
@click.option("--province", help="The province this node surveys: its name in Thai or English,"
                                 " or its DOPA code (สมุทรปราการ, Samut Prakan or 11). Sets"
                                 " node.province_code, also in an existing data dir.")
def init(data_dir, node_name, province):
    """Create the config, secrets and database in the data dir (safe to run again)."""
    code = None
    if province is not None:
        from ..inventory.places import province_code

        code = province_code(province)  # before anything is made: a bad name changes nothing
    cfg, created, secrets_made = init_data_dir(data_dir, node_name=node_name)
    click.echo(f"{'created' if created else 'kept'} {cfg.data_dir / config_mod.CONFIG_FILE}")
    if code is not None:
        if config_mod.load(cfg.data_dir, env={}).node.province_code != code:
            config_mod.save_setting(cfg.data_dir, "node", "province_code", code)
        from ..inventory.places import find_province

        click.echo(f"province {code} {find_province(code).name_th}")
    for name in secrets_made:
        click.echo(f"created secret {cfg.secrets_dir / name} (mode 0600)")
    click.echo(f"database {cfg.db_path}")


@main.group("config")
def config_group():
    """Inspect the configuration."""


@config_group.command("show")
@data_dir_option
@json_option
def config_show(data_dir, as_json):
    """Print the effective config (file + SURVEY_NODE_<SECTION>__<KEY> overrides)."""
    cfg = load_config(data_dir)
    if as_json:
        click.echo(json.dumps(cfg.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(config_mod.to_toml(cfg), nl=False)


@main.group()
def users():
    """Manage the people who log in."""


@users.command("add")
@data_dir_option
@click.argument("name")
@click.option("--role", type=click.Choice(user_db.ROLES), required=True,
              help="What the user may do: surveyor, supervisor or admin.")
@click.option("--display-name", default="", help="The name shown on pages (default: NAME).")
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from standard input, not a prompt.")
def users_add(data_dir, name, role, display_name, pin_stdin):
    """Add a user who logs in with NAME and a PIN."""
    cfg = _require_init(data_dir)
    if pin_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = click.prompt("PIN", hide_input=True, confirmation_prompt=True)
    db = database.connect(cfg.db_path)
    try:
        accounts.add_user(db, cfg.security, name=name, role=role, pin=pin,
                          display_name=display_name, actor="cli")
    finally:
        db.close()
    click.echo(f"added {role} {name}")


@users.command("list")
@data_dir_option
@json_option
def users_list(data_dir, as_json):
    """List users and their roles."""
    cfg = _require_init(data_dir)
    db = database.connect(cfg.db_path)
    try:
        found = user_db.rows_users(db)
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    for u in found:
        state = "" if u["active"] else " (inactive)"
        click.echo(f"{u['name']:<20} {u['role']:<11} {u['display_name']}{state}")


@main.command()
@data_dir_option
@click.option("--host", help="Address to listen on (default from config: web.host).")
@click.option("--port", type=int, help="Port to listen on (default from config: web.port).")
def serve(data_dir, host, port):
    """Serve the node's web UI with waitress."""
    cfg = _require_init(data_dir)
    from ..serving import serve_app

    serve_app(cfg, host=host or cfg.web.host, port=port or cfg.web.port)


def _require_init(data_dir):
    cfg = load_config(data_dir)
    if not (cfg.data_dir / config_mod.CONFIG_FILE).exists():
        raise BadInput("%(dir)s is not a node data dir: run `survey-node init --data-dir %(dir)s`",
                       dir=str(cfg.data_dir))
    return cfg


@main.command()
@data_dir_option
@json_option
def doctor(data_dir, as_json):
    """Check the node: disk, database (and GPS, camera, clock, registry as they are added)."""
    from ..doctor import run_checks

    cfg = _require_init(data_dir)
    results = run_checks(cfg)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], ensure_ascii=False))
    else:
        marks = {"ok": "OK  ", "warn": "WARN", "fail": "FAIL"}
        for r in results:
            click.echo(f"{marks[r.status]} {r.name:<12} {r.detail}")
            if r.status != "ok":
                click.echo(f"     {r.hint_en} / {r.hint_th}")
    return 1 if any(r.status == "fail" for r in results) else 0
