"""The replay backend (demo walk, NMEA and gpsd-JSON logs), staleness and averaging rules."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from survey_node import positioning
from survey_node.devices import build_devices, gps
from survey_node.devices.gps_replay import ReplayReader, demo_log_path, read_epochs
from survey_node.devices.nmea import NmeaParser, write_log
from survey_node.errors import DeviceUnavailable
from tests.gpsfake import SAMUT_PRAKAN, epochs, wait_until


@pytest.fixture
def readers():
    made = []

    def make(*args, **kwargs):
        reader = ReplayReader(*args, **kwargs).start()
        made.append(reader)
        return reader

    yield make
    for reader in made:
        reader.stop()


def test_demo_log_is_a_walk_inside_samut_prakan():
    epochs_ = read_epochs(demo_log_path())
    fixes = [r for e in epochs_ for r in e if r["class"] == "TPV"]
    assert len(fixes) > 300 and all(f["mode"] == 3 for f in fixes)
    for f in fixes:
        assert 13.45 < f["lat"] < 13.72 and 100.45 < f["lon"] < 100.97
    # Every epoch carries its receiver-measured error (GST) within a few metres.
    gsts = [r for e in epochs_ for r in e if r["class"] == "GST"]
    assert len(gsts) == len(fixes) and all(g["lat"] < 5 and g["lon"] < 5 for g in gsts)
    lats = [f["lat"] for f in fixes]
    assert positioning.distance_m(min(lats), 100.5968, max(lats), 100.5968) > 150  # it walks


def test_demo_devices_replay_the_walk_with_fresh_times(config):
    devices = build_devices(config, demo=True)
    try:
        reader = devices["gps"]
        wait_until(lambda: reader.status().state == gps.FIX_3D)
        fix = reader.status().fix
        gps_time = dt.datetime.fromisoformat(fix.gps_time.replace("Z", "+00:00"))
        assert abs((dt.datetime.now(dt.timezone.utc) - gps_time).total_seconds()) < 5
        assert devices["camera"].probe().available
    finally:
        devices["gps"].stop()


def test_gpsd_json_log_replays_quality_fields(tmp_path, readers):
    log = tmp_path / "gpsd.json"
    sky = {"class": "SKY", "hdop": 0.7, "pdop": 1.4, "nSat": 14, "uSat": 10}
    tpv = {"class": "TPV", "mode": 3, "lat": 13.6, "lon": 100.6, "altMSL": 4.0, "eph": 3.2,
           "epv": 5.5, "time": "2026-01-01T00:00:00.000Z"}
    log.write_text("\n".join(json.dumps(r) for r in [sky, tpv] * 5), encoding="utf-8")
    reader = readers(log, interval=0.05)
    fix = wait_until(lambda: reader.status().fix)
    assert (fix.hdop, fix.pdop, fix.sats_seen, fix.sats_used) == (0.7, 1.4, 14, 10)
    assert (fix.alt, fix.eph, fix.epv) == (4.0, 3.2, 5.5)


def test_a_fix_older_than_the_limit_is_stale_and_refused(tmp_path, readers):
    log = tmp_path / "short.nmea"
    log.write_text(write_log(epochs(2, eph=3.0)), encoding="ascii")
    reader = readers(log, interval=0.05, loop=False, stale_seconds=0.3)
    wait_until(lambda: reader.status().state == gps.FIX_3D)
    status = wait_until(lambda: reader.status().state == gps.STALE and reader.status())
    assert status.fix.lat == pytest.approx(SAMUT_PRAKAN[0], abs=1e-6)
    with pytest.raises(DeviceUnavailable, match="stale"):
        positioning.average_position(reader, seconds=1, min_fixes=1)
    with pytest.raises(DeviceUnavailable, match="old"):
        positioning.current_position(reader)


def test_averaging_refuses_below_the_minimum_number_of_fixes(tmp_path, readers):
    log = tmp_path / "slow.nmea"
    log.write_text(write_log(epochs(20, eph=3.0)), encoding="ascii")
    reader = readers(log, interval=0.5)
    wait_until(lambda: reader.status().state == gps.FIX_3D)
    with pytest.raises(DeviceUnavailable, match="Only [0-9] of 10 good fixes"):
        positioning.average_position(reader, seconds=1, min_fixes=10, extra_wait_s=0)


def test_missing_replay_file_is_a_state_not_a_crash(tmp_path, readers):
    reader = readers(tmp_path / "nope.nmea")
    wait_until(lambda: reader.status().state == gps.NO_RECEIVER)


def test_gsa_with_the_wrong_number_of_satellite_fields_is_ignored():
    parser = NmeaParser()
    from survey_node.devices.nmea import sentence

    assert parser.feed(sentence("GPGSA", "A", 2, "01", "02", "", "1.0", "0.5", "0.8")) == []
    assert "mode" not in parser._epoch
    assert parser.feed("$GPGSA,A,3*00") == []  # bad checksum: ignored too


def test_distance_is_right_for_a_known_pair():
    # 0.001 degree of latitude: 110.6 m on the ellipsoid at 13.6 N; the sphere says 111.2 m,
    # well inside the few-metre errors this distance is used for.
    assert positioning.distance_m(13.6, 100.6, 13.601, 100.6) == pytest.approx(110.6, rel=0.01)


def test_averaging_reports_progress_and_uses_only_good_fixes(tmp_path, readers):
    log = tmp_path / "mixed.nmea"
    good = epochs(10, eph=3.0)
    log.write_text(write_log(good), encoding="ascii")
    reader = readers(log, interval=0.1)
    wait_until(lambda: reader.status().state == gps.FIX_3D)
    seen = []
    position = positioning.average_position(reader, seconds=1, min_fixes=3,
                                            progress=lambda p: seen.append((p.fraction, p.good)))
    assert seen and seen[-1][0] == pytest.approx(1.0, abs=0.3)
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    assert position.samples >= 3 and position.rejected == 0
    assert position.eph == pytest.approx(3.0, abs=0.1)  # from the GST sentence
    assert position.eph_source == gps.EPH_GST
