"""`survey-node demo`: a ready demo node, served."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from .. import accounts
from .. import db as database
from .. import demo as demo_mod
from ..db import users as user_db
from .base import main
from .core import init_data_dir

log = logging.getLogger(__name__)


@main.command()
@click.option("--data-dir", envvar="SURVEY_NODE_DATA", default=".demo-data", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where the demo node keeps its data (made on first run, reused after).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True, help="Port to listen on.")
@click.option("--no-serve", is_flag=True, help="Prepare the demo data dir and exit.")
def demo(data_dir, host, port, no_serve):
    """Make (or reuse) a demo node with a synthetic Samut Prakan province, and serve it."""
    cfg = prepare_demo(data_dir)
    click.echo(f"Demo data dir: {cfg.data_dir} (synthetic data: every camera id starts with DEMO-)")
    click.echo("Log in with:")
    for user in demo_mod.demo_users(cfg.data_dir):
        click.echo(f"  {user['role']:<11} user {user['name']:<11} PIN {user['pin']}")
    if no_serve:
        return
    from ..serving import serve_app
    from ..streamcheck.demo_streams import start_demo_streams

    for url in _urls(host, port):
        click.echo(f"Open {url} on a tablet (Ctrl+C stops the demo)")
    # The demo's cameras point at local test streams (survey_node/demo.py), and it syncs
    # to a registry of its own in a thread of this process, unless its [sync] registry_url
    # was pointed at another registry: then that one is used and none is started here.
    start_demo_streams(cfg.demo.streams_port)
    if uses_own_registry(cfg):
        click.echo(f"The demo's central registry: {own_registry_url(cfg)}/"
                   f" (data in {demo_registry_dir(cfg)}); its review pages at /review/ take"
                   " the supervisor's and admin's PINs")
        _start_demo_registry(cfg)
    elif cfg.sync.registry_url:
        click.echo(f"Syncs to the registry at {cfg.sync.registry_url} ([sync] registry_url);"
                   " the demo's own registry is not started")
    serve_app(cfg, host=host, port=port, demo=True)


def _urls(host: str, port: int) -> list[str]:
    """Addresses a tablet can open: the machine's own IPv4 addresses when serving on every
    interface (0.0.0.0 is not an address a browser can go to), else the host given."""
    if host not in ("0.0.0.0", "::", ""):
        return [f"http://{host}:{port}/"]
    import subprocess

    found = []
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "up"], capture_output=True,
                             text=True, timeout=2).stdout
        for line in out.splitlines():
            parts = line.split()
            if "inet" in parts:
                address = parts[parts.index("inet") + 1].split("/")[0]
                if not address.startswith("127."):
                    found.append(address)
    except (OSError, subprocess.TimeoutExpired):
        pass
    return [f"http://{a}:{port}/" for a in found] + [f"http://127.0.0.1:{port}/"]


def prepare_demo(data_dir):
    cfg, created, _ = init_data_dir(data_dir, node_name="โหนดสาธิต สมุทรปราการ (ข้อมูลสมมุติ)")
    if created:
        text = (cfg.data_dir / "config.toml").read_text(encoding="utf-8")
        text = text.replace('province_code = ""', f'province_code = "{demo_mod.PROVINCE_CODE}"')
        text = text.replace('registry_url = ""', f'registry_url = "{own_registry_url(cfg)}"')
        (cfg.data_dir / "config.toml").write_text(text, encoding="utf-8")
        from .core import load_config

        cfg = load_config(cfg.data_dir)
    db = database.connect(cfg.db_path)
    try:
        demo_mod.seed_demo(db, count=cfg.demo.cameras, streams_port=cfg.demo.streams_port)
        for user in demo_mod.demo_users(cfg.data_dir):
            if not user_db.get_user_by_name(db, user["name"]):
                accounts.add_user(db, cfg.security, name=user["name"], role=user["role"],
                                  pin=user["pin"], display_name=user["display_name"], actor="demo")
        demo_mod.prepare_selection(db)
    finally:
        db.close()
    if uses_own_registry(cfg):  # never a demo token over the one for a real registry
        prepare_demo_registry(cfg)
    return cfg


def demo_registry_dir(cfg) -> Path:
    return cfg.data_dir / "registry"


def own_registry_url(cfg) -> str:
    return f"http://127.0.0.1:{cfg.demo.registry_port}"


def uses_own_registry(cfg) -> bool:
    """Whether the node syncs to the demo's registry (the address a new demo is given)."""
    url = cfg.sync.registry_url.rstrip("/")
    return url in (own_registry_url(cfg), f"http://localhost:{cfg.demo.registry_port}")


def prepare_demo_registry(cfg) -> None:
    """A central registry beside the demo node, with a token for it, so sync works at once."""
    from .. import config as config_mod
    from ..registry.service import Registry

    root = demo_registry_dir(cfg)
    marker = root / ".demo-token-issued"
    if marker.exists():
        return
    root.mkdir(parents=True, exist_ok=True)
    registry = Registry(config_mod.load(root))
    _demo_registry_review(cfg, registry)
    token = registry.add_token(cfg.node.id, province=demo_mod.PROVINCE_CODE, actor="demo")
    (cfg.secrets_dir / "registry_token").write_text(token + "\n", encoding="utf-8")
    marker.write_text("the demo node's token is in its secrets/registry_token\n", encoding="utf-8")


def _demo_registry_review(cfg, registry) -> None:
    """The demo's supervisors can review on the registry too (same PINs), and the registry
    holds the demo province's cameras, so its review page compares against them."""
    from ..db import cameras as camera_db

    db = database.connect(cfg.db_path)
    try:
        cameras = camera_db.rows_cameras(db, limit=100_000)
    finally:
        db.close()
    registry.import_cameras(cameras, actor="demo")
    with registry.db() as rdb:
        for user in demo_mod.demo_users(cfg.data_dir):
            if user["role"] in ("supervisor", "admin") and not user_db.get_user_by_name(rdb, user["name"]):
                accounts.add_user(rdb, registry.config.security, name=user["name"],
                                  role=user["role"], pin=user["pin"],
                                  display_name=user["display_name"], actor="demo")


def _start_demo_registry(config) -> None:
    """The demo's own central registry, on 127.0.0.1 in a thread of this process."""
    import threading

    from waitress import create_server

    from .. import config as config_mod
    from ..registry.app import create_registry_app

    registry_config = config_mod.load(config.data_dir / "registry")
    try:
        server = create_server(create_registry_app(registry_config), host="127.0.0.1",
                               port=config.demo.registry_port, threads=2,
                               ident="survey-registry-demo")
    except OSError as exc:  # the port is taken: the demo still runs, sync says why it fails
        log.warning("demo registry not started on port %s: %s", config.demo.registry_port, exc)
        return
    threading.Thread(target=server.run, name="demo-registry", daemon=True).start()
