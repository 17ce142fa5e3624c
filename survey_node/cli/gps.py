"""`survey-node gps`: one fix, or an averaged position, from the configured GPS."""

from __future__ import annotations

import json

import click

from .. import positioning
from ..devices import build_gps
from . import data_dir_option, json_option, main
from .core import load_config

MODES = {1: "no fix", 2: "2D fix", 3: "3D fix"}


@main.command("gps")
@data_dir_option
@click.option("--average", "average_s", type=click.FloatRange(1, 600),
              help="Average this many seconds of 3D fixes (\"fix position\") instead of one fix.")
@click.option("--wait", "wait_s", type=click.FloatRange(0.5, 120), default=5.0, show_default=True,
              help="How long to wait for a first fix, seconds.")
@json_option
def gps_command(data_dir, average_s, wait_s, as_json):
    """Print the GPS position with its quality (from gpsd, or the replay log)."""
    cfg = load_config(data_dir)
    reader = build_gps(cfg).start()
    try:
        reader.wait_for_fix(wait_s)
        if average_s:
            position = positioning.average_position(
                reader, seconds=average_s, min_fixes=cfg.gps.min_fixes,
                max_eph_m=cfg.gps.max_error_m)
        else:
            position = positioning.current_position(reader)
    finally:
        reader.stop()
    if as_json:
        click.echo(json.dumps(position.as_json()))
        return
    p = position
    click.echo(f"{MODES.get(p.mode, p.mode)}  {p.lat:.7f} {p.lon:.7f}"
               + (f"  alt {p.alt:.1f} m" if p.alt is not None else ""))
    click.echo(f"error ±{_num(p.eph)} m horizontal, ±{_num(p.epv)} m vertical;"
               f" HDOP {_num(p.hdop)} PDOP {_num(p.pdop)};"
               f" satellites {_num(p.sats_used)} used / {_num(p.sats_seen)} seen")
    click.echo(f"GPS time {p.time or '-'} (system {p.system_time or '-'});"
               f" samples {p.samples}, spread {p.spread_m} m")


def _num(value) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
