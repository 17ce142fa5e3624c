""""Fix position": average the GPS over N seconds into one surveyed position.

Plain service code over a :class:`~survey_node.devices.gps.GpsReader`. Only 3D fixes whose
horizontal error estimate (gpsd's eph) is within the limit count; too few of them, or a
stale fix at the start, refuses with one line that says why. The result keeps what a
reviewer needs to judge it: spread, samples, DOPs, satellites, GPS and system time.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

from .devices import gps
from .geo import distance_m
from .errors import DeviceUnavailable

# The keys of `survey-node gps --json`, in order (the contract).
JSON_KEYS = ("lat", "lon", "alt", "mode", "eph", "epv", "hdop", "pdop", "sats_used",
             "sats_seen", "time", "samples", "spread_m")


@dataclass
class Position:
    lat: float
    lon: float
    alt: float | None
    mode: int
    eph: float | None
    epv: float | None
    hdop: float | None
    pdop: float | None
    sats_used: int | None
    sats_seen: int | None
    time: str | None          # GPS time of the last sample used
    samples: int
    spread_m: float           # largest distance of a sample from the mean, metres
    system_time: str = ""     # this node's clock at the last sample (the Pi has no RTC)
    seconds: float = 0.0      # how long the averaging ran
    rejected: int = 0         # fixes left out (2D, no fix, or error above the limit)

    def as_json(self) -> dict:
        """The CLI's contract: exactly JSON_KEYS."""
        data = asdict(self)
        return {k: data[k] for k in JSON_KEYS}

    def as_dict(self) -> dict:
        return asdict(self)


def current_position(reader: gps.GpsReader) -> Position:
    """The latest fix as a one-sample position; refuses when there is no fresh fix."""
    status = reader.status()
    if status.state not in (gps.FIX_2D, gps.FIX_3D):
        raise DeviceUnavailable("No GPS position: %(state)s", state=status.message)
    fix = status.fix
    return _position([fix], fix, seconds=0.0, rejected=0)


def average_position(reader: gps.GpsReader, *, seconds: float = 10.0, min_fixes: int = 5,
                     max_eph_m: float = 10.0, sleep=time.sleep, progress=None) -> Position:
    """Average the 3D fixes that arrive in the next `seconds`.

    `progress(fraction, fixes_so_far)` is called about four times a second, so a job row
    or a progress bar can follow the averaging.
    """
    if seconds <= 0 or seconds > 600:
        raise DeviceUnavailable("Averaging time must be between 1 and 600 s, not %(s)s",
                                s=seconds)
    status = reader.status()
    if status.state == gps.STALE:
        raise DeviceUnavailable("The GPS fix is stale (%(age)s s old): not averaging",
                                age=status.detail.get("age"))
    if status.state not in (gps.FIX_2D, gps.FIX_3D, gps.NO_FIX):
        raise DeviceUnavailable("No GPS position: %(state)s", state=status.message)
    start = time.monotonic()
    deadline = start + seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sleep(min(0.25, remaining))
        if progress is not None:
            progress(min(1.0, (time.monotonic() - start) / seconds),
                     len(reader.fixes_since(start)))
    fixes = reader.fixes_since(start)
    last = reader.status()
    if last.state == gps.STALE or not fixes:
        raise DeviceUnavailable("The GPS went quiet while averaging: no fix in the last %(s)s s",
                                s=round(last.fix.age() if last.fix else seconds))
    good = [f for f in fixes if f.mode == gps.MODE_3D and f.has_position
            and f.eph is not None and f.eph <= max_eph_m]
    if len(good) < min_fixes:
        raise DeviceUnavailable(
            "Only %(got)s of %(need)s needed 3D fixes with error at most %(max)s m"
            " in %(s)s s (%(total)s fixes seen)",
            got=len(good), need=min_fixes, max=max_eph_m, s=seconds, total=len(fixes))
    return _position(good, good[-1], seconds=seconds, rejected=len(fixes) - len(good))


def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def _rounded(value, digits):
    return None if value is None else round(value, digits)


def _position(fixes: list[gps.Fix], last: gps.Fix, *, seconds: float, rejected: int) -> Position:
    lat = statistics.fmean(f.lat for f in fixes)
    lon = statistics.fmean(f.lon for f in fixes)
    spread = max(distance_m(lat, lon, f.lat, f.lon) for f in fixes)
    return Position(
        lat=round(lat, 7), lon=round(lon, 7), alt=_rounded(_mean(f.alt for f in fixes), 2),
        mode=min(f.mode for f in fixes),
        eph=_rounded(_mean(f.eph for f in fixes), 2), epv=_rounded(_mean(f.epv for f in fixes), 2),
        hdop=_rounded(_mean(f.hdop for f in fixes), 2),
        pdop=_rounded(_mean(f.pdop for f in fixes), 2),
        sats_used=min((f.sats_used for f in fixes if f.sats_used is not None), default=None),
        sats_seen=max((f.sats_seen for f in fixes if f.sats_seen is not None), default=None),
        time=last.gps_time, samples=len(fixes), spread_m=round(spread, 2),
        system_time=last.system_time, seconds=seconds, rejected=rejected,
    )
