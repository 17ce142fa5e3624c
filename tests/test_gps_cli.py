"""`survey-node gps` and the device checks of `survey-node doctor`, against real gpsd."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from survey_node import positioning
from tests.conftest import require_system
from tests.gpsfake import epochs, free_port, gpsfake

pytestmark = pytest.mark.system


def test_gps_json_has_exactly_the_documented_keys(cli, data_dir, tmp_path):
    require_system("gpsfake", "gpsd")
    with gpsfake(tmp_path, epochs(60)) as port:
        result = cli("gps", "--data-dir", data_dir, "--json", "--average", 4,
                     env={"SURVEY_NODE_GPS__PORT": str(port), "SURVEY_NODE_GPS__MIN_FIXES": "3"})
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert list(body) == list(positioning.JSON_KEYS)
    assert body["mode"] == 3 and body["samples"] >= 3 and body["sats_used"] == 8
    assert body["lat"] == pytest.approx(13.5993, abs=1e-6) and body["spread_m"] < 0.5


def test_gps_text_output_for_one_fix(cli, data_dir, tmp_path):
    require_system("gpsfake", "gpsd")
    with gpsfake(tmp_path, epochs(60)) as port:
        result = cli("gps", "--data-dir", data_dir, env={"SURVEY_NODE_GPS__PORT": str(port)})
    assert result.exit_code == 0, result.output
    assert "13.59930" in result.output and "100.59680" in result.output


def test_gps_without_gpsd_is_one_line_and_exit_2(cli, data_dir):
    result = cli("gps", "--data-dir", data_dir, "--json",
                 env={"SURVEY_NODE_GPS__PORT": str(free_port())})
    assert result.exit_code == 2
    assert "gpsd is not running" in result.output and "Traceback" not in result.output


def test_doctor_reports_gps_clock_camera_and_registry(cli, data_dir, tmp_path):
    require_system("gpsfake", "gpsd")
    with gpsfake(tmp_path, epochs(60)) as port:
        result = cli("doctor", "--data-dir", data_dir, "--json",
                     env={"SURVEY_NODE_GPS__PORT": str(port)})
    checks = {c["name"]: c for c in json.loads(result.output)}
    assert checks["gps"]["status"] == "ok", checks["gps"]
    assert "8 used" in checks["gps"]["detail"]
    # The clock is compared with GPS time. How far apart they look depends on how late
    # gpsfake started playing the log on a busy machine, so only the comparison is asserted
    # here; the ok / warn / fail thresholds are tested with fixed offsets.
    assert "from GPS time" in checks["clock"]["detail"], checks["clock"]
    assert checks["clock"]["status"] in ("ok", "warn"), checks["clock"]
    assert checks["camera"]["status"] == "ok"  # backend none: the tablet takes photos
    assert checks["registry"]["status"] == "warn"


def test_doctor_without_gpsd_fails_gps_with_hints_in_both_languages(cli, data_dir):
    result = cli("doctor", "--data-dir", data_dir, "--json",
                 env={"SURVEY_NODE_GPS__PORT": str(free_port())})
    assert result.exit_code == 1
    gps = next(c for c in json.loads(result.output) if c["name"] == "gps")
    assert gps["status"] == "fail" and "gpsd" in gps["hint_en"] and "gpsd" in gps["hint_th"]


def test_doctor_catches_a_wrong_clock(cli, data_dir, tmp_path):
    require_system("gpsfake", "gpsd")
    import datetime as dt

    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)
    with gpsfake(tmp_path, epochs(60, start=old)) as port:
        result = cli("doctor", "--data-dir", data_dir, "--json",
                     env={"SURVEY_NODE_GPS__PORT": str(port)})
    clock = next(c for c in json.loads(result.output) if c["name"] == "clock")
    offset = float(clock["detail"].split()[2])  # "system clock +10800.4 s from GPS time"
    assert clock["status"] == "fail" and offset == pytest.approx(10800, abs=5)


def test_doctor_fails_a_configured_camera_that_is_missing(cli, data_dir):
    result = cli("doctor", "--data-dir", data_dir, "--json",
                 env={"SURVEY_NODE_CAMERA__BACKEND": "opencv", "SURVEY_NODE_CAMERA__DEVICE": "57",
                      "SURVEY_NODE_GPS__PORT": str(free_port())})
    camera = next(c for c in json.loads(result.output) if c["name"] == "camera")
    assert camera["status"] == "fail" and "/dev/video57" in camera["detail"]


@pytest.mark.parametrize("offset_s, expected", [(0.8, "ok"), (-1.9, "ok"), (5, "warn"),
                                                (-45, "warn"), (3600, "fail")])
def test_clock_check_thresholds(offset_s, expected):
    from survey_node.devices import gps
    from survey_node.devices.checks import _clock_check

    gps_time = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.timezone.utc)
    system_time = gps_time + dt.timedelta(seconds=offset_s)
    fix = gps.Fix(mode=3, lat=13.6, lon=100.6, gps_time=gps_time.isoformat(),
                  system_time=system_time.isoformat())
    check = _clock_check(gps.GpsStatus(gps.FIX_3D, fix))
    assert check.status == expected, check
