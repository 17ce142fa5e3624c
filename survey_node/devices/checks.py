"""`survey-node doctor` checks for the devices: GPS, clock, camera, registry.

GPS and clock share one short look at the receiver (bounded by the gpsd timeout), so
doctor never waits on a missing gpsd for long.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import time

from ..config import Config
from ..doctor import Check, check
from . import build_camera, build_gps, gps

CLOCK_OK_S = 2.0      # NMEA time arrives up to ~1 s late; more than this is a wrong clock
CLOCK_WARN_S = 60.0
EARLIEST_PLAUSIBLE_YEAR = 2025  # a Pi without RTC that never synced boots in the past
# GPS sends the week number and the time within the week apart. A receiver whose firmware
# gets the week wrong (10-bit rollover, 1024 weeks; gpsd mends exactly that much but not a
# firmware's own epoch) dates its fixes a whole number of weeks off, to the second; a Pi's
# clock restored from its last shutdown is off by an arbitrary amount instead.
WEEK_S = 7 * 86400


@check
def gps_and_clock(config: Config) -> list[Check]:
    reader = build_gps(config).start()
    try:
        status = reader.wait_for_fix(config.gps.timeout_s + 1.0)
        measured = _wait_for_measured_error(reader, status)
    finally:
        reader.stop()
    return [_gps_check(config, status, measured), _clock_check(status)]


def _wait_for_measured_error(reader, status: gps.GpsStatus, seconds: float = 3.0):
    """The first fix carrying the receiver's measured error, if one comes within a few
    seconds: GST follows its TPV, and a 1 Hz receiver needs a second or two to send both."""
    if status.state not in (gps.FIX_2D, gps.FIX_3D):
        return None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = next((f for f in reader.fixes_since(0) if f.measured), None)
        if found is not None:
            return found
        reader.sleep(0.2)
    return None


def _gps_check(config: Config, status: gps.GpsStatus, measured: gps.Fix | None = None) -> Check:
    where = (f"replay {config.gps.replay_file or 'demo walk'}" if config.gps.backend == "replay"
             else f"gpsd {config.gps.host}:{config.gps.port}")
    fix = status.fix
    detail = f"{where}: {status.message}"
    if fix is not None and status.state in (gps.FIX_2D, gps.FIX_3D, gps.NO_FIX):
        detail += f"; satellites {fix.sats_used or 0} used / {fix.sats_seen or 0} seen"
        if measured is not None:
            how = "GST" if measured.eph_source == gps.EPH_GST else "binary protocol"
            detail += f"; error measured by the receiver ({how}): {measured.eph:.1f} m"
        elif fix.eph is not None and fix.has_position:
            detail += (f"; error estimated from HDOP (no GST): eph {fix.eph:.1f} m"
                       f" at HDOP {fix.hdop if fix.hdop is not None else '-'}"
                       " (a u-blox gives its own after `survey-node gps-setup`)")
        if fix.has_position and fix.status != "gps":
            detail += f"; fix status {fix.status}"
    if status.state == gps.FIX_3D:
        return Check("gps", "ok", detail)
    if status.state in (gps.FIX_2D, gps.NO_FIX, gps.STALE, gps.STARTING):
        return Check("gps", "warn", detail,
                     "No good fix yet: give the antenna open sky and wait a minute.",
                     "ยังไม่ได้ตำแหน่งที่ดี: วางเสาอากาศให้เห็นท้องฟ้าแล้วรอสักครู่")
    if status.state == gps.NO_RECEIVER:
        return Check("gps", "fail", detail,
                     "Plug in the GPS receiver (USB) and check gpsd's device setting.",
                     "เสียบตัวรับ GPS (USB) และตรวจการตั้งค่าอุปกรณ์ของ gpsd")
    return Check("gps", "fail", detail,
                 "Start gpsd: systemctl start gpsd (or check gps.host/gps.port).",
                 "เริ่ม gpsd: systemctl start gpsd (หรือตรวจ gps.host/gps.port)")


def _parse(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _receiver_date_is_wrong(gps_time: dt.datetime, system_time: dt.datetime,
                            offset: float) -> bool:
    """A plausible system clock a whole number of weeks (to within the NMEA delay) from the
    receiver's date: the receiver's week number is wrong, not the clock."""
    if system_time.year < EARLIEST_PLAUSIBLE_YEAR:
        return False  # then the system clock is the suspect
    weeks = round(offset / WEEK_S)
    return weeks != 0 and abs(offset - weeks * WEEK_S) <= CLOCK_OK_S


def _clock_check(status: gps.GpsStatus) -> Check:
    now = dt.datetime.now(dt.timezone.utc)
    fix = status.fix
    gps_time, system_time = (_parse(fix.gps_time), _parse(fix.system_time)) if fix else (None, None)
    if gps_time and system_time and fix.mode >= gps.MODE_2D:
        offset = (system_time - gps_time).total_seconds()
        detail = f"system clock {offset:+.1f} s from GPS time"
        if abs(offset) <= CLOCK_OK_S:
            return Check("clock", "ok", detail)
        if _receiver_date_is_wrong(gps_time, system_time, offset):
            return Check("clock", "warn",
                         f"the GPS receiver dates its fixes {gps_time:%Y-%m-%d}, {offset / WEEK_S:+.0f}"
                         " whole weeks from the system clock (its firmware gets the GPS week"
                         " wrong: week rollover);"
                         " positions are right, the receiver's date is not",
                         "Keep the clock on network time, or update the receiver's firmware;"
                         " do not set the clock from this receiver.",
                         "ใช้เวลาจากเครือข่าย หรืออัปเดตเฟิร์มแวร์ตัวรับ GPS: วันที่ของตัวรับผิด"
                         " (ตำแหน่งยังถูกต้อง)")
        status_word = "warn" if abs(offset) <= CLOCK_WARN_S else "fail"
        return Check("clock", status_word, detail,
                     "The clock is off: check chrony (chronyc sources) and its GPS refclock.",
                     "นาฬิกาเครื่องคลาดเคลื่อน: ตรวจ chrony (chronyc sources) และแหล่งเวลา GPS")
    detail = f"system clock {now:%Y-%m-%d %H:%M} UTC; no GPS time to compare"
    if now.year < EARLIEST_PLAUSIBLE_YEAR:
        return Check("clock", "fail", detail,
                     "The clock was never set (no RTC): get a GPS fix or network time first.",
                     "นาฬิกายังไม่ถูกตั้ง (ไม่มี RTC): รอตำแหน่ง GPS หรือเชื่อมต่อเครือข่ายก่อน")
    return Check("clock", "warn", detail,
                 "Cannot check the clock against GPS until there is a fix.",
                 "ยังตรวจนาฬิกากับเวลา GPS ไม่ได้จนกว่าจะได้ตำแหน่ง")


@check
def camera(config: Config) -> Check:
    found = [name for name, module in (("picamera2", "picamera2"), ("opencv", "cv2"))
             if importlib.util.find_spec(module) is not None]
    installed = f"libraries: {', '.join(found) or 'none'}"
    probe = build_camera(config).probe()
    detail = f"{config.camera.backend}: {probe.detail} ({installed})"
    if config.camera.backend == "none":
        return Check("camera", "ok", detail)
    if probe.available:
        return Check("camera", "ok", detail)
    return Check("camera", "fail", detail,
                 "Connect the camera, or set camera.backend = \"none\" to use the tablet's.",
                 "ต่อกล้อง หรือตั้ง camera.backend = \"none\" เพื่อใช้กล้องของแท็บเล็ต")
