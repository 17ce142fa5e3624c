"""The appliance: `label` (the printed hotspot label) and `hotspot profile` (first boot)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .. import label as label_mod
from ..errors import BadInput
from .base import data_dir_option, main
from .core import _require_init


@main.command()
@data_dir_option
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              default="hotspot-label.html", show_default=True,
              help="Where to write the label (an HTML page to print from a browser).")
@click.option("--paper", type=click.Choice(sorted(label_mod.PAPER)), default="a6", show_default=True,
              help="Paper size: a6 for the sticker on the box, a4 for a wall sheet.")
@click.option("--ssid", help="WiFi name to print (default: this node's hotspot).")
@click.option("--passphrase-stdin", is_flag=True,
              help="Read the WiFi passphrase from standard input (default: this node's).")
@click.option("--url", help="Address for the second QR code (default: http://<hotspot.address>/).")
def label(data_dir, out, paper, ssid, passphrase_stdin, url):
    """Write the hotspot label: WiFi name, passphrase, a QR code to join, a QR code to open the UI."""
    cfg = _require_init(data_dir)
    passphrase = sys.stdin.readline().strip() if passphrase_stdin else None
    fields = label_mod.label_fields(cfg, ssid=ssid, passphrase=passphrase, url=url)
    page = label_mod.render_label(fields, paper)
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise BadInput("Cannot write %(path)s: %(why)s", path=str(out), why=exc.strerror) from None
    click.echo(f"wrote {out} ({paper.upper()}, WiFi {fields['ssid']}); open it in a browser and print")


@main.group()
def hotspot():
    """The node's WiFi hotspot (NetworkManager access point)."""


@hotspot.command("profile")
@data_dir_option
@click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The keyfile template (systemd/networkmanager/*.nmconnection.in).")
@click.option("--out", "out", default="-", show_default=True,
              help="Where to write the NetworkManager keyfile (mode 0600); - for standard output.")
def hotspot_profile(data_dir, template, out):
    """Make the WiFi passphrase if missing and write the hotspot's NetworkManager profile."""
    cfg = _require_init(data_dir)
    passphrase, made = label_mod.ensure_wifi_passphrase(cfg)
    text = label_mod.render_hotspot_profile(
        template.read_text(encoding="utf-8"), ssid=label_mod.hotspot_ssid(cfg),
        passphrase=passphrase, address=cfg.hotspot.address)
    if made:
        click.echo(f"created secret {cfg.secrets_dir / label_mod.PASSPHRASE_SECRET} (mode 0600)",
                   err=True)
    if out == "-":
        click.echo(text, nl=False)
        return
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(out, 0o600)
    except OSError as exc:
        raise BadInput("Cannot write %(path)s: %(why)s", path=out, why=exc.strerror) from None
    click.echo(f"wrote {out} (WiFi {label_mod.hotspot_ssid(cfg)})", err=True)
