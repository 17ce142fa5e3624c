"""Doctor checks for the appliance: its services, its hotspot and its GPS-disciplined clock.

On a machine that is not a survey node (a laptop, CI, a container without systemd) each
check says so as a warning instead of failing: these are facts about the box, not bugs.
Every command runs with a deadline; a tool that does not answer is itself a finding.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from .config import Config
from .doctor import Check, check

# The units a field day needs, and what each is for (shown when one is down).
UNITS = {
    "survey-node.service": "the web UI",
    "survey-node-sync.timer": "automatic sync",
    "gpsd.service": "the GPS receiver",
    "chrony.service": "the clock",
    "NetworkManager.service": "the WiFi hotspot",
    "avahi-daemon.service": "the name survey-node.local",
}
COMMAND_TIMEOUT = 5.0
# chrony refids that mean "the time comes from the GPS": gpsd's SHM segments as chrony names
# them by default (SHM0..), the names people give them (GPS, NMEA, PPS) and gpsd's socket.
GPS_REFID = re.compile(r"^(GPS\w*|NMEA|PPS\w*|SHM\d*|SOCK|GPSD)$", re.IGNORECASE)
NOT_APPLIANCE_TH = "ไม่ใช่เครื่องสำรวจ (ไม่ได้ติดตั้งบริการนี้)"


def _not_appliance(name: str, why: str) -> Check:
    return Check(name, "warn", f"not an appliance: {why}",
                 "Only on a survey node built from images/provision.sh.", NOT_APPLIANCE_TH)


def _run(args: list[str], timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, "LC_ALL": "C"})


def systemd_running() -> bool:
    """sd_booted(): was this system booted with systemd as init?"""
    return os.path.isdir("/run/systemd/system")


@check
def appliance_services(config: Config) -> list[Check]:
    if shutil.which("systemctl") is None or not systemd_running():
        return [_not_appliance("services", "systemd is not running here")]
    units = list(UNITS)
    try:
        result = _run(["systemctl", "is-active", *units])
    except subprocess.TimeoutExpired:
        return [Check("services", "fail", f"systemctl gave no answer in {COMMAND_TIMEOUT:.0f} s",
                      "systemd is overloaded or stuck: restart the node.",
                      "systemd ไม่ตอบสนอง: เริ่มเครื่องใหม่")]
    states = result.stdout.split()
    results = []
    for unit, state in zip(units, states + ["unknown"] * (len(units) - len(states))):
        if state == "active":
            results.append(Check(unit, "ok", "active"))
        else:
            results.append(Check(
                unit, "fail", f"{state}: {UNITS[unit]} is not running",
                f"See `journalctl -u {unit} -b`, then `systemctl restart {unit}`.",
                f"ดูสาเหตุด้วย `journalctl -u {unit} -b` แล้วสั่ง `systemctl restart {unit}`"))
    return results


def active_connections(nmcli_output: str) -> dict[str, str]:
    """`nmcli -t -f NAME,DEVICE connection show --active` -> {name: device}."""
    found = {}
    for line in nmcli_output.splitlines():
        fields = [f.replace("\\:", ":") for f in re.split(r"(?<!\\):", line)]
        if len(fields) >= 2 and fields[0]:
            found[fields[0]] = fields[1]
    return found


@check
def hotspot(config: Config) -> Check:
    if shutil.which("nmcli") is None:
        return _not_appliance("hotspot", "NetworkManager (nmcli) is not installed")
    name = config.hotspot.connection
    try:
        result = _run(["nmcli", "-t", "-f", "NAME,DEVICE", "connection", "show", "--active"])
    except subprocess.TimeoutExpired:
        return Check("hotspot", "fail", f"nmcli gave no answer in {COMMAND_TIMEOUT:.0f} s",
                     "Restart NetworkManager.", "เริ่ม NetworkManager ใหม่")
    if result.returncode != 0:
        return Check("hotspot", "fail", f"nmcli: {' '.join(result.stderr.split())[:200]}",
                     "Is NetworkManager running? `systemctl status NetworkManager`.",
                     "ตรวจว่า NetworkManager ทำงานอยู่")
    active = active_connections(result.stdout)
    if name in active:
        return Check("hotspot", "ok", f"{name} up on {active[name]} ({config.hotspot.address})")
    return Check("hotspot", "fail", f"{name} is not active",
                 f"`nmcli connection up {name}`; check the WiFi country is set.",
                 f"สั่ง `nmcli connection up {name}` และตรวจว่าตั้งประเทศของ WiFi แล้ว")


@dataclass
class Tracking:
    refid: str
    name: str
    leap: str
    offset: str

    @property
    def synchronised(self) -> bool:
        return self.leap != "Not synchronised" and self.refid.strip("0") != ""

    @property
    def from_gps(self) -> bool:
        return bool(GPS_REFID.match(self.name))


def parse_tracking(text: str) -> Tracking:
    """The parts of `chronyc -n tracking` that say where the time comes from."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    ref = re.match(r"([0-9A-Fa-f]+)\s*(?:\((.*)\))?", fields.get("Reference ID", ""))
    return Tracking(
        refid=ref.group(1) if ref else "",
        name=(ref.group(2) or "") if ref else "",
        leap=fields.get("Leap status", ""),
        offset=fields.get("System time", ""),
    )


@check
def clock(config: Config) -> Check:
    if shutil.which("chronyc") is None:
        return _not_appliance("chrony", "chrony is not installed")
    try:
        result = _run(["chronyc", "-n", "tracking"], timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        return Check("chrony", "fail", f"chronyc gave no answer in {COMMAND_TIMEOUT:.0f} s",
                     "Restart chrony: `systemctl restart chrony`.", "เริ่ม chrony ใหม่")
    if result.returncode != 0:
        return Check("chrony", "fail", f"chronyc: {' '.join((result.stdout + result.stderr).split())[:200]}",
                     "Is chrony running? `systemctl status chrony`.", "ตรวจว่า chrony ทำงานอยู่")
    tracking = parse_tracking(result.stdout)
    if not tracking.synchronised:
        return Check("chrony", "fail", "not synchronised: times on surveys may be wrong",
                     "Put the GPS antenna under open sky and wait for a fix.",
                     "นำเสาอากาศ GPS ไปที่โล่งแจ้งและรอจนจับสัญญาณได้")
    if not tracking.from_gps:
        return Check("chrony", "warn",
                     f"synchronised to {tracking.name or tracking.refid}, not GPS ({tracking.offset})",
                     "Fine on a network; in the field the GPS keeps the time: check gpsd.",
                     "ใช้ได้เมื่อมีเครือข่าย แต่ในพื้นที่ต้องใช้เวลาจาก GPS: ตรวจ gpsd")
    return Check("chrony", "ok", f"synchronised to GPS ({tracking.name}; {tracking.offset})")
