"""GPS quality against real gpsd (gpsfake) over logs shaped like several kinds of receiver.

What gpsd 3.22 does with them was measured first (see survey_node/devices/gps.py): without
GST its TPV eph is HDOP x 19 m (17.1 m at HDOP 0.9), GST arrives as a report of its own,
GGA fix quality 2/4/5 becomes TPV status 2/3/4, and GN receivers' GSV per constellation are
merged into one sky. Positions are in Thailand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import pytest

from survey_node import positioning
from survey_node.app import create_app
from survey_node.db import cameras as camera_db
from survey_node.db import transaction
from survey_node.devices import gps
from survey_node.devices.gps_gpsd import GpsdReader
from survey_node.errors import DeviceUnavailable
from tests.conftest import AuthActions, require_system
from tests.gpsfake import epochs, gpsfake, wait_until

pytestmark = pytest.mark.system

CHIANG_MAI = (18.78830, 98.98530)
BANGKOK = (13.75630, 100.50180)
GNSS = {"GP": (2, 5, 12, 13, 15, 18), "GL": (65, 66, 72, 81), "GA": (3, 7, 19),
        "GB": (6, 9, 16)}


@pytest.fixture
def reader_factory():
    made = []

    def make(port, **kwargs):
        reader = GpsdReader("127.0.0.1", port, timeout=2.0, retry_seconds=0.2, **kwargs).start()
        made.append(reader)
        return reader

    yield make
    for reader in made:
        reader.stop()


def fix_with(reader, predicate):
    def check():
        fix = reader.status().fix
        return fix if fix is not None and fix.sats_used is not None and predicate(fix) else None
    return check


# -- the common receiver: 1 Hz NMEA, HDOP 0.9, no GST ------------------------------------


def test_a_common_receiver_fixes_position_with_the_default_config(cli, data_dir, tmp_path):
    require_system("gpsfake", "gpsd")
    with gpsfake(tmp_path, epochs(80)) as port:
        result = cli("gps", "--data-dir", data_dir, "--average", 10,
                     env={"SURVEY_NODE_GPS__PORT": str(port)})
    assert result.exit_code == 0, result.output
    assert "3D fix" in result.output and "13.5993000" in result.output
    assert "estimated from HDOP" in result.output and "HDOP 0.9" in result.output


def test_average_3_at_1_hz_collects_until_it_has_min_fixes(cli, data_dir, tmp_path):
    require_system("gpsfake", "gpsd")
    with gpsfake(tmp_path, epochs(80)) as port:
        result = cli("gps", "--data-dir", data_dir, "--json", "--average", 3,
                     env={"SURVEY_NODE_GPS__PORT": str(port)})
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["samples"] >= 5  # gps.min_fixes: more than 3 s of a 1 Hz receiver
    assert body["eph_source"] == "estimated" and body["fix_status"] == "gps"


def test_a_poor_fix_is_refused_with_the_reason_and_the_waiting_is_shown(cli, data_dir, tmp_path):
    require_system("gpsfake", "gpsd")
    poor = epochs(60, hdop=4.0, mode=2, sats=(2, 5, 12, 13))
    with gpsfake(tmp_path, poor) as port:
        result = cli("gps", "--data-dir", data_dir, "--average", 2,
                     env={"SURVEY_NODE_GPS__PORT": str(port),
                          "SURVEY_NODE_GPS__EXTRA_WAIT_S": "2"})
    assert result.exit_code == 2
    assert "waiting: 0 of 5 good fixes; last fix 2D fix only" in result.output
    last = result.output.strip().splitlines()[-1]
    assert "Only 0 of 5 good fixes" in last and "2D fix only" in last
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fields, why", [
    ({"hdop": 4.0, "sats": (2, 5, 12, 13, 15, 18, 20, 24)}, "HDOP 4.0 above 2.0"),
    ({"hdop": 1.2, "sats": (2, 5, 12, 13)}, "4 satellites used, fewer than 5"),
])
def test_each_reason_a_3d_fix_without_gst_is_left_out(tmp_path, reader_factory, fields, why):
    require_system("gpsfake", "gpsd")
    with gpsfake(tmp_path, epochs(60, **fields)) as port:
        reader = reader_factory(port)
        wait_until(fix_with(reader, lambda f: f.mode == 3 and f.hdop is not None))
        with pytest.raises(DeviceUnavailable, match=f"last fix: {why}"):
            positioning.average_position(reader, seconds=2, min_fixes=2, extra_wait_s=1)


# -- receivers that measure their error (GST) ----------------------------------------------


@pytest.mark.parametrize("order", ["ublox", "mtk"])
def test_gst_is_the_measured_error_whatever_the_sentence_order(tmp_path, reader_factory, order):
    require_system("gpsfake", "gpsd")
    with gpsfake(tmp_path, epochs(60, lat=CHIANG_MAI[0], lon=CHIANG_MAI[1], eph=2.5),
                 order=order) as port:
        reader = reader_factory(port)
        fix = wait_until(fix_with(reader, lambda f: f.eph_source == gps.EPH_GST))
        assert fix.eph == pytest.approx(2.5, abs=0.1)  # not gpsd's 17.1 m estimate
        position = positioning.average_position(reader, seconds=3, min_fixes=2)
    assert position.eph_source == "gst" and position.eph == pytest.approx(2.5, abs=0.1)
    assert positioning.distance_m(position.lat, position.lon, *CHIANG_MAI) < 0.5


def test_a_measured_error_above_the_limit_is_refused_despite_a_good_hdop(tmp_path,
                                                                         reader_factory):
    require_system("gpsfake", "gpsd")
    with gpsfake(tmp_path, epochs(60, hdop=0.8, eph=14.0)) as port:
        reader = reader_factory(port)
        wait_until(fix_with(reader, lambda f: f.eph_source == gps.EPH_GST))
        with pytest.raises(DeviceUnavailable, match=r"measured error 14\.0 m above 10\.0 m"):
            positioning.average_position(reader, seconds=2, min_fixes=2, extra_wait_s=1)


@pytest.mark.parametrize("nmea410", [False, True])
def test_a_multi_constellation_receiver_with_gn_talkers(tmp_path, reader_factory, nmea410):
    require_system("gpsfake", "gpsd")
    log = epochs(40, lat=BANGKOK[0], lon=BANGKOK[1], systems=GNSS, eph=1.2)
    with gpsfake(tmp_path, log, nmea410=nmea410, cycle=0.08) as port:
        reader = reader_factory(port)
        fix = wait_until(fix_with(reader, lambda f: f.eph_source == gps.EPH_GST
                                  and f.sats_seen == 16))
        assert fix.sats_used >= 5 and fix.hdop == pytest.approx(0.9)
        position = positioning.average_position(reader, seconds=2, min_fixes=2)
    assert positioning.distance_m(position.lat, position.lon, *BANGKOK) < 0.5
    assert position.eph_source == "gst"


@pytest.mark.parametrize("quality, status", [(2, "dgps"), (4, "rtk_fixed"), (5, "rtk_float")])
def test_dgps_and_rtk_fix_qualities_are_kept(tmp_path, reader_factory, quality, status):
    require_system("gpsfake", "gpsd")
    eph = 0.02 if quality == 4 else None  # an RTK receiver's GST: centimetres
    with gpsfake(tmp_path, epochs(60, quality=quality, eph=eph)) as port:
        reader = reader_factory(port)
        fix = wait_until(fix_with(reader, lambda f: f.status == status))
        if quality == 2:
            assert fix.eph == pytest.approx(4.275)  # gpsd's DGPS estimate: HDOP x 4.75 m
        position = positioning.average_position(reader, seconds=2, min_fixes=2)
    assert position.fix_status == status
    if quality == 4:
        wait_until(lambda: position.eph_source == "gst" or None, timeout=1)
        assert position.eph < 0.1


def test_a_10_hz_receiver_gives_one_fix_per_epoch_with_its_own_gst(tmp_path, reader_factory):
    require_system("gpsfake", "gpsd")
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    log = [e for i, e in enumerate(epochs(150, eph=0.8, east_step_m=0.05, start=start))]
    for i, e in enumerate(log):  # 0.1 s apart
        e.time = start + dt.timedelta(milliseconds=100 * i)
    with gpsfake(tmp_path, log, cycle=0.01) as port:
        reader = reader_factory(port)
        wait_until(fix_with(reader, lambda f: f.eph_source == gps.EPH_GST))
        position = positioning.average_position(reader, seconds=2, min_fixes=5)
        fixes = [f for f in reader.fixes_since(0) if f.mode == 3 and f.gps_time]
    times = [f.gps_time for f in fixes]
    assert len(set(times)) >= 10 and any(not t.endswith(".000Z") for t in times)
    assert position.eph_source == "gst" and position.samples >= 5


def test_a_cold_start_goes_no_fix_2d_3d_and_averaging_waits_for_it(tmp_path, reader_factory):
    require_system("gpsfake", "gpsd")
    now = dt.datetime.now(dt.timezone.utc)
    # Ten seconds without a fix: long enough that a reader that connects late on a loaded
    # machine (gpsfake plays from its start, not from the first client) still sees them.
    log = (epochs(10, mode=1, start=now)
           + epochs(4, mode=2, hdop=3.5, sats=(2, 5, 12, 13), start=now + dt.timedelta(seconds=10))
           + epochs(60, start=now + dt.timedelta(seconds=14)))
    with gpsfake(tmp_path, log) as port:
        reader = reader_factory(port)
        wait_until(lambda: reader.status().state == gps.NO_FIX)
        seen = []
        position = positioning.average_position(
            reader, seconds=2, min_fixes=3, extra_wait_s=25,
            progress=lambda p: seen.append(p.as_dict()["waiting"]))
    states = [f.mode for f in reader.fixes_since(0)]
    assert states.index(2) < states.index(3) and 1 in states[:states.index(2)]
    assert position.mode == 3 and position.samples >= 3
    assert any("2D fix only" in line for line in seen if line)


@pytest.mark.parametrize("year", [2006, 2019])
def test_a_receiver_with_a_week_rollover_date_still_fixes(tmp_path, reader_factory, year):
    require_system("gpsfake", "gpsd")
    old = dt.datetime(year, 4, 19, 9, 0, tzinfo=dt.timezone.utc)
    with gpsfake(tmp_path, epochs(60, start=old)) as port:
        reader = reader_factory(port)
        fix = wait_until(fix_with(reader, lambda f: f.mode == 3 and f.gps_time))
        assert not fix.gps_time.startswith(str(dt.datetime.now().year))
        # Ages come from arrival, not from the receiver's date: the fix is fresh.
        assert reader.status().state == gps.FIX_3D
        position = positioning.average_position(reader, seconds=2, min_fixes=2)
    assert position.samples >= 2


# -- doctor and the tablet's API -------------------------------------------------------------


@pytest.mark.parametrize("eph, says", [(None, "error estimated from HDOP (no GST)"),
                                       (2.0, "error measured by the receiver (GST)")])
def test_doctor_says_where_the_error_comes_from(cli, data_dir, tmp_path, eph, says):
    require_system("gpsfake", "gpsd")
    with gpsfake(tmp_path, epochs(60, eph=eph)) as port:
        result = cli("doctor", "--data-dir", data_dir, "--json",
                     env={"SURVEY_NODE_GPS__PORT": str(port)})
    check = next(c for c in json.loads(result.output) if c["name"] == "gps")
    assert says in check["detail"], check


@contextlib.contextmanager
def tablet_over_gpsfake(tmp_path, config, db, camera: tuple[str, str], log):
    """A logged-in surveyor's client on an app whose GPS is gpsd fed by gpsfake with `log`,
    and one camera in Chiang Mai to survey."""
    camera_id, site = camera
    with transaction(db):
        camera_db.insert_cameras(db, [{"camera_id": camera_id, "site_name": site,
                                         "amphoe_code": "5001", "registered_lat": CHIANG_MAI[0],
                                         "registered_lon": CHIANG_MAI[1], "stream_url": ""}])
    with gpsfake(tmp_path, log) as port:
        reader = GpsdReader("127.0.0.1", port, timeout=2.0, retry_seconds=0.2).start()
        try:
            app = create_app(config, devices={"gps": reader}, testing=True)
            app.config["WTF_CSRF_ENABLED"] = False
            client = app.test_client()
            AuthActions(client).login("surveyor")
            yield client
        finally:
            reader.stop()


def test_the_tablet_fixes_position_from_a_receiver_without_gst(tmp_path, config, users, db):
    require_system("gpsfake", "gpsd")
    log = epochs(80, lat=CHIANG_MAI[0], lon=CHIANG_MAI[1])
    with tablet_over_gpsfake(tmp_path, config, db, ("CM01", "ประตูท่าแพ"), log) as client:
        # The first report of a session has no SKY yet (no HDOP): wait for a full one.
        live = wait_until(lambda: (lambda b: b["state"] == "fix_3d" and b["good"] and b)(
            client.get("/api/v1/gps").get_json()))
        assert live["fix"]["eph_source"] == "estimated" and live["why"] is None
        # What the answer says is what openapi.json documents (a client may rely on it).
        schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["GpsState"]
        assert set(schema["properties"]) <= set(live)
        assert set(schema["properties"]["fix"]["properties"]) <= set(live["fix"])
        assert live["state"] in schema["properties"]["state"]["enum"]
        sid = client.post("/api/v1/cameras/CM01/survey").get_json()["id"]
        response = client.post(f"/api/v1/surveys/{sid}/position/fix", json={})
        assert response.status_code == 200, response.get_json()
        AuthActions(client).login("supervisor")
        page = client.get(f"/review/{sid}")
    row = db.execute("SELECT eph_source, fix_status, samples, distance_m FROM surveys"
                     " WHERE id = ?", [sid]).fetchone()
    assert row[0] == "estimated" and row[1] == "gps" and row[2] >= 5 and row[3] < 1
    # The reviewer sees that the ±17 m is gpsd's estimate, not a measurement.
    assert page.status_code == 200
    assert "ประมาณจาก HDOP ไม่ได้วัดจริง" in page.get_data(as_text=True)


def test_the_tablet_is_told_why_a_poor_fix_is_refused(tmp_path, config, users, db):
    require_system("gpsfake", "gpsd")
    config.gps.extra_wait_s = 2.0
    poor = epochs(60, lat=CHIANG_MAI[0], lon=CHIANG_MAI[1], hdop=4.0, mode=2, sats=(2, 5, 12, 13))
    with tablet_over_gpsfake(tmp_path, config, db, ("CM02", "วัดเจดีย์หลวง"), poor) as client:
        live = wait_until(lambda: (lambda b: b["state"] == "fix_2d" and b["fix"]["hdop"]
                                   and b)(client.get("/api/v1/gps").get_json()))
        assert live["good"] is False and live["why"] == "ได้ตำแหน่งเพียง 2 มิติ"
        sid = client.post("/api/v1/cameras/CM02/survey").get_json()["id"]
        response = client.post(f"/api/v1/surveys/{sid}/position/fix", json={"seconds": 2})
    body = response.get_json()
    assert response.status_code == 503 and body["error"] == "device_unavailable", body
    # One line, in Thai, saying how many good fixes came and why the last one did not count.
    assert "\n" not in body["message"] and "0 จาก 5" in body["message"]
    assert "ได้ตำแหน่งเพียง 2 มิติ" in body["message"]


def test_doctor_blames_a_rollover_receivers_date_not_the_system_clock(cli, data_dir, tmp_path):
    require_system("gpsfake", "gpsd")
    # The right time of week in the wrong week: gpsd mends one 1024-week rollover, not the
    # extra weeks of a firmware that counts from its own epoch.
    rolled = dt.datetime.now(dt.timezone.utc) - dt.timedelta(weeks=1024 + 30)
    with gpsfake(tmp_path, epochs(60, start=rolled)) as port:
        result = cli("doctor", "--data-dir", data_dir, "--json",
                     env={"SURVEY_NODE_GPS__PORT": str(port)})
    checks = {c["name"]: c for c in json.loads(result.output)}
    clock = checks["clock"]
    assert clock["status"] == "warn", clock
    assert "week rollover" in clock["detail"] and "positions are right" in clock["detail"]
    assert "check chrony" not in json.dumps(clock)
    assert checks["gps"]["status"] == "ok"
