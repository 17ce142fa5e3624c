"""The appliance's systemd units and configs, checked by the tools that will read them."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tests.appliance_support import (
    APPLIANCE_DATA, APPLIANCE_VENV, FIRSTBOOT, IMAGES, REPO, SCRIPTS, SYSTEMD, UNIT_FILES,
    read_unit, unit_values,
)
from tests.conftest import require_system

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def unit_dir(tmp_path_factory):
    """The units as installed, with the appliance's venv path pointing at this checkout's
    venv (systemd-analyze insists that ExecStart= binaries exist), plus the gpsd drop-in."""
    root = tmp_path_factory.mktemp("units")
    venv = REPO / ".venv"
    for path in UNIT_FILES:
        text = path.read_text(encoding="utf-8").replace(APPLIANCE_VENV, str(venv))
        text = text.replace(FIRSTBOOT, str(IMAGES / "firstboot.sh"))
        (root / path.name).write_text(text, encoding="utf-8")
    dropin = root / "gpsd.service.d"
    dropin.mkdir()
    (dropin / "survey-node.conf").write_text(
        (SYSTEMD / "gpsd" / "gpsd.service.d" / "survey-node.conf").read_text(encoding="utf-8"))
    return root


def _analyze(unit_dir, *args):
    env = {"SYSTEMD_UNIT_PATH": f"{unit_dir}:", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
           "SYSTEMD_LOG_COLOR": "0"}
    return subprocess.run(["systemd-analyze", *args], cwd=unit_dir, env=env, capture_output=True,
                          text=True, timeout=60)


def test_there_are_units():
    names = {p.name for p in UNIT_FILES}
    assert {"survey-node.service", "survey-node-sync.service", "survey-node-sync.timer",
            "survey-node-firstboot.service", "survey-node-gps-setup.service"} <= names


@pytest.mark.parametrize("unit", [p.name for p in UNIT_FILES])
def test_systemd_analyze_verify_is_clean(unit_dir, unit):
    require_system("systemd-analyze")
    result = _analyze(unit_dir, "verify", "--man=no", unit)
    # verify exits 0 on unknown keys too; any line it prints is a finding.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), \
        result.stdout + result.stderr


def test_gpsd_drop_in_verifies_against_debians_gpsd(unit_dir):
    require_system("systemd-analyze", "/lib/systemd/system/gpsd.service")
    result = _analyze(unit_dir, "verify", "--man=no", "gpsd.service")
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), \
        result.stdout + result.stderr


def test_web_unit_is_hardened(unit_dir):
    """systemd's own exposure score stays in its "OK" band (<= 3.0 of 10)."""
    require_system("systemd-analyze")
    result = _analyze(unit_dir, "security", "--offline=yes", "--threshold=30", "--no-pager",
                      "survey-node.service")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    score = re.search(r"Overall exposure level for survey-node.service: ([0-9.]+)", result.stdout)
    assert score and float(score.group(1)) <= 3.0


def test_web_unit_settings_the_issue_asks_for():
    unit = SYSTEMD / "survey-node.service"
    service = {k: v for s, k, v in read_unit(unit) if s == "Service"}
    assert service["User"] == "survey-node"
    assert service["Restart"] == "on-failure"
    assert service["Type"] == "notify" and service["WatchdogSec"]
    assert "CAP_NET_BIND_SERVICE" in service["AmbientCapabilities"]
    # Port 80, and the wired port's temporary addresses (ip addr, arping): nothing else.
    assert set(service["CapabilityBoundingSet"].split()) == \
        {"CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW"}
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert service[key] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == APPLIANCE_DATA
    creds = unit_values(unit, "Service", "LoadCredential")
    assert {c.split(":")[0] for c in creds} == {"flask_secret_key", "registry_token"}
    env = dict(e.split("=", 1) for e in unit_values(unit, "Service", "Environment"))
    assert env["SURVEY_NODE_DATA"] == APPLIANCE_DATA and env["SURVEY_NODE_WEB__PORT"] == "80"


def test_sync_is_a_oneshot_that_skips_itself_without_the_command(tmp_path):
    """The later `sync` command may not exist yet: ExecCondition turns that into a skip
    (exit 1), not a failure (exit 255) -- run the condition against this version."""
    unit = SYSTEMD / "survey-node-sync.service"
    assert unit_values(unit, "Service", "Type") == ["oneshot"]
    first = unit_values(unit, "Service", "ExecCondition")[0]
    command = re.fullmatch(r"/bin/sh -c '(.*)'", first).group(1)
    command = command.replace(f"{APPLIANCE_VENV}/bin/survey-node", str(REPO / ".venv/bin/survey-node"))
    result = subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=60)
    from survey_node.cli import main

    expected = 0 if "sync" in main.commands else 1
    assert result.returncode == expected


def test_sync_route_condition_runs():
    require_system("ip")
    unit = SYSTEMD / "survey-node-sync.service"
    second = unit_values(unit, "Service", "ExecCondition")[1]
    command = re.fullmatch(r"/bin/sh -c '(.*)'", second).group(1)
    result = subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=10)
    has_route = subprocess.run(["ip", "route", "show", "default"], capture_output=True,
                               text=True, timeout=10).stdout.strip() != ""
    assert result.returncode in (0, 1) and (result.returncode == 0) == has_route


def test_timer_starts_the_sync_service():
    timer = SYSTEMD / "survey-node-sync.timer"
    assert unit_values(timer, "Timer", "OnCalendar") == ["*:0/15"]
    assert unit_values(timer, "Install", "WantedBy") == ["timers.target"]


def test_journald_drop_in_uses_keys_journald_knows():
    require_system("/lib/systemd/systemd-journald")
    known = set(re.findall(rb"Journal\.([A-Za-z]+)",
                           open("/lib/systemd/systemd-journald", "rb").read()))
    settings = read_unit(SYSTEMD / "journald" / "survey-node.conf")
    assert settings and all(s == "Journal" for s, _, _ in settings)
    unknown = [k for _, k, _ in settings if k.encode() not in known]
    assert not unknown
    values = {k: v for _, k, v in settings}
    assert values["SystemMaxUse"] == "64M"


def test_avahi_service_announces_http_on_port_80():
    tree = ET.parse(SYSTEMD / "avahi" / "survey-node.service")
    service = tree.getroot().find("service")
    assert service.findtext("type") == "_http._tcp" and service.findtext("port") == "80"


def test_gpsd_defaults_poll_without_clients():
    text = (SYSTEMD / "gpsd" / "gpsd.default").read_text()
    options = re.search(r'^GPSD_OPTIONS="([^"]*)"', text, re.M).group(1).split()
    assert "-n" in options
    assert re.search(r'^DEVICES="/dev/\S+"', text, re.M)


def test_every_script_is_found():
    names = {p.name for p in SCRIPTS}
    assert {"provision.sh", "firstboot.sh", "survey-node-wrapper.sh", "00-run.sh"} <= names


@pytest.mark.parametrize("script", [str(p.relative_to(IMAGES)) for p in SCRIPTS])
def test_shellcheck_is_clean(script):
    require_system("shellcheck")
    result = subprocess.run(["shellcheck", "--severity=style", str(IMAGES / script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_wired_profile_is_a_dhcp_client_with_link_local_never_shared():
    """The cabinet's switch is a camera network: the node is a client on it, never its DHCP
    server or NAT (that is the hotspot's "shared" method), and the port it names is the one
    the node probes and adds addresses on by default."""
    from survey_node.config import WiredSection

    profile = SYSTEMD / "networkmanager" / "survey-node-wired.nmconnection"
    values = {(s, k): v for s, k, v in read_unit(profile)}
    assert values[("connection", "type")] == "ethernet"
    assert values[("connection", "interface-name")] == WiredSection().interface
    assert values[("ipv4", "method")] == "auto" and values[("ipv4", "link-local")] == "enabled"
    assert "shared" not in {v for (s, _), v in values.items() if s in ("ipv4", "ipv6")}
    hotspot = {(s, k): v for s, k, v in read_unit(
        SYSTEMD / "networkmanager" / "survey-node-hotspot.nmconnection.in")}
    assert hotspot[("ipv4", "never-default")] == "true"
