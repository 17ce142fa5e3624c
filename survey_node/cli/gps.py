"""`survey-node gps`: one fix, or an averaged position, from the configured GPS."""

from __future__ import annotations

import json

import click

from .. import positioning
from ..devices import build_gps
from . import data_dir_option, json_option, main
from .core import load_config

MODES = {1: "no fix", 2: "2D fix", 3: "3D fix"}
SOURCES = {"gst": "measured (GST)", "receiver": "measured by the receiver",
           "estimated": "estimated from HDOP"}


@main.command("gps")
@data_dir_option
@click.option("--average", "average_s", type=click.FloatRange(1, 600),
              help="Average this many seconds of good fixes (\"fix position\") instead of one"
                   " fix; goes on up to gps.extra_wait_s longer until gps.min_fixes have come.")
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
                gate=positioning.Gate.from_config(cfg.gps), extra_wait_s=cfg.gps.extra_wait_s,
                progress=None if as_json else _Waiting())
        else:
            position = positioning.current_position(reader)
    finally:
        reader.stop()
    if as_json:
        click.echo(json.dumps(position.as_json()))
        return
    p = position
    click.echo(f"{MODES.get(p.mode, p.mode)} ({p.fix_status})  {p.lat:.7f} {p.lon:.7f}"
               + (f"  alt {p.alt:.1f} m" if p.alt is not None else ""))
    click.echo(f"error ±{_num(p.eph)} m horizontal, ±{_num(p.epv)} m vertical,"
               f" {SOURCES.get(p.eph_source, p.eph_source)};"
               f" HDOP {_num(p.hdop)} PDOP {_num(p.pdop)};"
               f" satellites {_num(p.sats_used)} used / {_num(p.sats_seen)} seen")
    click.echo(f"GPS time {p.time or '-'} (system {p.system_time or '-'});"
               f" samples {p.samples}, spread {p.spread_m} m")


class _Waiting:
    """Prints what the averaging waits for on stderr (stdout stays the result), once a second
    and whenever it changes."""

    def __init__(self) -> None:
        self.last_line, self.last_second = "", -1

    def __call__(self, step: positioning.Progress) -> None:
        line = step.as_dict()["waiting"] or ""
        second = int(step.elapsed_s)
        if line and (line != self.last_line or second != self.last_second):
            click.echo(f"{step.elapsed_s:4.0f} s  {line}", err=True)
            self.last_line, self.last_second = line, second


def _num(value) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
