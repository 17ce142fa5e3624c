"""`survey-node gps`: one fix, or an averaged position, from the configured GPS."""

from __future__ import annotations

import json
import os

import click

from .. import positioning
from ..devices import build_gps
from .base import data_dir_option, json_option, main
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


@main.command("gps-setup")
@click.option("--device", "devices", multiple=True, metavar="PATH",
              help="Receiver port (repeatable). Default: DEVICES of /etc/default/gpsd, else"
                   " /dev/ttyACM0, /dev/ttyUSB0 and /dev/serial0.")
@click.option("--speed", type=click.Choice(["4800", "9600", "38400", "115200"]), default="9600",
              show_default=True, help="Serial speed of a UART receiver (USB ports ignore it).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(1, 60), default=6.0,
              show_default=True, help="Seconds allowed per device, the whole exchange.")
def gps_setup_command(devices, speed, timeout_s):
    """Turn on the receiver's measured error (NMEA GST on a u-blox), before gpsd starts.

    Run at boot by survey-node-gps-setup.service; by hand, stop gpsd first (it holds the
    port). Receivers that are not u-blox are reported and left alone."""
    from ..devices import receiver_setup

    names = list(devices) or receiver_setup.devices_from_gpsd_defaults()
    results = []
    for name in names:
        if not devices and not os.path.exists(name):
            continue  # a default port with nothing plugged in is not worth a line
        result = receiver_setup.set_up_receiver(name, speed=int(speed), timeout_s=timeout_s)
        results.append(result)
        what = ""
        if result.software:
            what = f"u-blox {result.software}" + (
                f" (protocol {result.protver:g})" if result.protver is not None else "")
        click.echo(f"{name}: {what + ': ' if what else ''}{result.detail}")
    if not results:
        click.echo("no receiver found on " + ", ".join(names))
    if not any(r.ok for r in results):
        raise SystemExit(1)
