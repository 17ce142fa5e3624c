"""Doctor's appliance checks: services, hotspot, GPS clock.

NetworkManager and chrony cannot do their job in a test container (no WiFi radio, no right
to set the clock, no GPS), so the command-path tests put small stand-ins for `nmcli` and
`chronyc` first on PATH that print what the real tools print (chrony's documented
`tracking` output) -- or hang, to prove the deadline.
"""

from __future__ import annotations

import json
import stat

import pytest

from survey_node import appliance, doctor

GPS_TRACKING = """Reference ID    : 47505300 (GPS)
Stratum         : 1
Ref time (UTC)  : Thu Nov 26 03:14:15 2026
System time     : 0.000012345 seconds fast of NTP time
Last offset     : +0.000003210 seconds
RMS offset      : 0.000020000 seconds
Frequency       : 1.234 ppm slow
Residual freq   : +0.001 ppm
Skew            : 0.050 ppm
Root delay      : 0.000000001 seconds
Root dispersion : 0.000010000 seconds
Update interval : 16.0 seconds
Leap status     : Normal
"""
NTP_TRACKING = GPS_TRACKING.replace("47505300 (GPS)", "C0A80101 (192.168.1.1)").replace("Stratum         : 1", "Stratum         : 3")
UNSYNCED_TRACKING = """Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : Thu Jan 01 00:00:00 1970
System time     : 0.000000000 seconds fast of NTP time
Leap status     : Not synchronised
"""


def _tool(bin_dir, name, script):
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def bin_dir(tmp_path, monkeypatch):
    """A PATH with only our stand-ins (and /bin for the shell they run under)."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    return path


def _by_name(results):
    return {r.name: r for r in results}


def test_off_the_appliance_every_check_warns_and_none_crashes(config, bin_dir, monkeypatch):
    monkeypatch.setattr(appliance, "systemd_running", lambda: False)
    results = _by_name(doctor.run_checks(config))
    for name in ("services", "hotspot", "chrony"):
        assert results[name].status == "warn"
        assert results[name].detail.startswith("not an appliance")


def test_doctor_command_on_this_machine_never_fails_for_the_appliance(cli, data_dir):
    result = cli("doctor", "--data-dir", data_dir, "--json")
    found = json.loads(result.output)
    names = {r["name"] for r in found}
    assert names & {"services", "hotspot", "chrony"} or names & set(appliance.UNITS)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("text,status,words", [
    (GPS_TRACKING, "ok", "GPS"),
    (NTP_TRACKING, "warn", "192.168.1.1, not GPS"),
    (UNSYNCED_TRACKING, "fail", "not synchronised"),
])
def test_clock_from_chronyc_tracking(config, bin_dir, text, status, words):
    _tool(bin_dir, "chronyc", f"/bin/cat <<'EOF'\n{text}EOF\n")
    result = appliance.clock(config)
    assert result.status == status and words in result.detail


def test_clock_check_has_a_deadline(config, bin_dir, monkeypatch):
    _tool(bin_dir, "chronyc", "exec /bin/sleep 30\n")
    monkeypatch.setattr(appliance, "COMMAND_TIMEOUT", 0.5)
    result = appliance.clock(config)
    assert result.status == "fail" and "no answer" in result.detail


def test_clock_when_chronyd_is_down(config, bin_dir):
    _tool(bin_dir, "chronyc", "echo '506 Cannot talk to daemon'; exit 1\n")
    result = appliance.clock(config)
    assert result.status == "fail" and "506 Cannot talk to daemon" in result.detail


def test_hotspot_up_and_down(config, bin_dir):
    _tool(bin_dir, "nmcli", "echo 'Wired\\: office:eth0'; echo 'survey-node-hotspot:wlan0'\n")
    up = appliance.hotspot(config)
    assert up.status == "ok" and "wlan0" in up.detail
    _tool(bin_dir, "nmcli", "echo 'Wired\\: office:eth0'\n")
    down = appliance.hotspot(config)
    assert down.status == "fail" and "not active" in down.detail


def test_nmcli_terse_output_unescapes_colons():
    assert appliance.active_connections("a\\:b:wlan0\nc:\n") == {"a:b": "wlan0", "c": ""}


def test_tracking_parser_reads_gps_refids():
    assert appliance.parse_tracking(GPS_TRACKING).from_gps
    assert appliance.parse_tracking(GPS_TRACKING.replace("(GPS)", "(SHM0)")).from_gps
    assert not appliance.parse_tracking(NTP_TRACKING).from_gps
    assert not appliance.parse_tracking(UNSYNCED_TRACKING).synchronised
