"""The wired port: `stream discover` (cameras on the cable) and `wired cleanup` (the start-up
step that removes temporary addresses a crash left on the port)."""

from __future__ import annotations

import json

import click

from .. import db as database
from ..wired import tempaddr
from ..wired.wsdiscovery import discover as discover_cameras
from .base import data_dir_option, json_option, main
from .core import _require_init
from .streamfind import stream


@stream.command("discover")
@data_dir_option
@click.option("--interface", help="The wired port to search on (default: wired.interface,"
                                  " eth0). Never the hotspot.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.2, 30.0),
              help="Seconds to collect answers (default: wired.discover_timeout_s, 3).")
@json_option
def discover(data_dir, interface, timeout_s, as_json):
    """Find ONVIF cameras on the cable by WS-Discovery: one line per camera with its IP,
    maker, model and ONVIF address. Exits 0 when at least one answered, 1 when none did."""
    cfg = _require_init(data_dir)
    search = discover_cameras(interface or cfg.wired.interface,
                              timeout_s=timeout_s or cfg.wired.discover_timeout_s,
                              max_reply_bytes=cfg.wired.max_reply_bytes,
                              hotspot_address=cfg.hotspot.address)
    if as_json:
        click.echo(json.dumps(search.public(), ensure_ascii=False))
        return 0 if search.cameras else 1
    click.echo(f"{len(search.cameras)} camera(s) on {search.interface} (from {search.source}):")
    for camera in search.cameras:
        maker = " ".join(p for p in (camera.manufacturer, camera.model) if p) or "unknown maker"
        brand = f" [brand {camera.brand}]" if camera.brand else ""
        click.echo(f"  {camera.ip}  {maker}{brand}  {camera.xaddr or '(no usable XAddr)'}")
    for line in search.rejected:
        click.echo(f"  ignored: {line}", err=True)
    return 0 if search.cameras else 1


@main.group()
def wired() -> None:
    """The node's Ethernet port (the camera cabinet's switch)."""


@wired.command("cleanup")
@data_dir_option
def cleanup(data_dir):
    """Remove temporary addresses left on the wired port by a search that never ended
    (a crash or power cut); the web service runs this as it starts."""
    cfg = _require_init(data_dir)
    db = database.connect(cfg.db_path)
    try:
        removed = tempaddr.remove_leftovers(db, actor="cli")
        left = [f"{r['address']}/{r['prefix']} on {r['interface']}"
                for r in tempaddr.wired_db.rows_temp_addresses(db)]
    finally:
        db.close()
    for item in removed:
        click.echo(f"removed {item}")
    for item in left:
        click.echo(f"could not remove {item} (kept on the list; try again as root)", err=True)
    if not removed and not left:
        click.echo("no temporary addresses on the wired port")
    return 1 if left else 0
