""""Fix position": average the GPS into one surveyed position.

Plain service code over a :class:`~survey_node.devices.gps.GpsReader`. A fix counts when it
passes the :class:`Gate`: the receiver's *measured* error (GST, or a binary protocol's own
accuracy) within the limit where there is one; otherwise - gpsd's eph is then only HDOP x
19 m, so a good 1 Hz receiver at HDOP 0.9 shows 17 m - on fix mode, HDOP and satellites
used. Averaging runs for the asked seconds and then keeps collecting, up to a deadline,
until it has `min_fixes` good fixes; meanwhile it says what it waits for. Too few by the
deadline, or a stale fix at the start, refuses with one line that says why. The result
keeps what a reviewer needs to judge it: spread, samples, DOPs, satellites, where the
error figure came from, the fix status (DGPS, RTK), GPS and system time.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

from .devices import gps
from .errors import DeviceUnavailable
from .geo import distance_m
from .i18n import N_

# The keys of `survey-node gps --json`, in order (the contract; later keys appended).
JSON_KEYS = ("lat", "lon", "alt", "mode", "eph", "epv", "hdop", "pdop", "sats_used",
             "sats_seen", "time", "samples", "spread_m", "eph_source", "fix_status")


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
    rejected: int = 0         # fixes left out (failed the gate)
    eph_source: str = gps.EPH_ESTIMATED  # gst / receiver (measured) or estimated (from HDOP)
    fix_status: str = "gps"   # the weakest fix status used: gps, dgps, rtk_float, rtk_fixed

    def as_json(self) -> dict:
        """The CLI's contract: exactly JSON_KEYS."""
        data = asdict(self)
        return {k: data[k] for k in JSON_KEYS}

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Gate:
    """What a fix must show to count in an average (defaults: a typical receiver in the open
    passes; HDOP 4 with 4 satellites, or a 2D fix, does not)."""

    max_error_m: float = 10.0   # limit on a *measured* horizontal error
    max_hdop: float = 2.0       # without a measured error: HDOP at most this
    min_sats: int = 5           # ... and at least this many satellites used
    need_3d: bool = True

    @classmethod
    def from_config(cls, section) -> "Gate":
        return cls(max_error_m=section.max_error_m, max_hdop=section.max_hdop,
                   min_sats=section.min_sats, need_3d=section.need_3d)

    def refusal(self, fix: gps.Fix) -> dict | None:
        """Why this fix does not count, as a translatable message; None when it counts."""
        if not fix.has_position:
            return _msg(N_("no fix"))
        if self.need_3d and fix.mode < gps.MODE_3D:
            return _msg(N_("2D fix only"))
        if fix.measured:
            if fix.eph > self.max_error_m:
                return _msg(N_("measured error %(eph)s m above %(max)s m"),
                            eph=_num(fix.eph), max=_num(self.max_error_m))
            return None
        if fix.hdop is None:
            return _msg(N_("no HDOP reported yet"))
        if fix.hdop > self.max_hdop:
            return _msg(N_("HDOP %(hdop)s above %(max)s"), hdop=f"{fix.hdop:.1f}",
                        max=f"{self.max_hdop:.1f}")
        if fix.sats_used is None or fix.sats_used < self.min_sats:
            return _msg(N_("%(used)s satellites used, fewer than %(min)s"),
                        used=fix.sats_used or 0, min=self.min_sats)
        return None

    def passes(self, fix: gps.Fix) -> bool:
        return self.refusal(fix) is None


def _msg(message: str, **params) -> dict:
    return {"message": message, "params": params}


def _num(value: float) -> str:
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def current_position(reader: gps.GpsReader) -> Position:
    """The latest fix as a one-sample position; refuses when there is no fresh fix."""
    status = reader.status()
    if status.state not in (gps.FIX_2D, gps.FIX_3D):
        raise DeviceUnavailable("No GPS position: %(state)s", state=status.message)
    fix = status.fix
    return _position([fix], fix, seconds=0.0, rejected=0)


@dataclass
class Progress:
    """Where an averaging stands; `waiting` says what it waits for (a message dict)."""

    fraction: float      # of the asked time
    good: int
    need: int
    seen: int
    elapsed_s: float
    waiting: dict | None = None

    def as_dict(self, translate=None) -> dict:
        data = asdict(self)
        data["waiting"] = (DeviceUnavailable(self.waiting["message"], **self.waiting["params"])
                           .line(translate) if self.waiting else None)
        return data


def average_position(reader: gps.GpsReader, *, seconds: float = 10.0, min_fixes: int = 5,
                     gate: Gate | None = None, extra_wait_s: float = 20.0,
                     sleep=time.sleep, progress=None) -> Position:
    """Average the good fixes that arrive in the next `seconds`; if fewer than `min_fixes`
    have come by then, keep collecting for up to `extra_wait_s` more.

    `progress(Progress)` is called about four times a second (for the CLI's waiting line);
    the latest one is also kept on ``reader.progress`` as a dict for the status API.
    """
    gate = gate or Gate()
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
    soft_end, hard_end = start + seconds, start + seconds + max(0.0, extra_wait_s)
    try:
        while True:
            now = time.monotonic()
            fixes = reader.fixes_since(start)
            good = good_fixes(fixes, gate)
            if now >= hard_end or (now >= soft_end and len(good) >= min_fixes):
                break
            if reader.status().state not in (gps.FIX_2D, gps.FIX_3D, gps.NO_FIX):
                break  # gone quiet, unplugged, gpsd gone: waiting longer will not help
            step = Progress(fraction=round(min(1.0, (now - start) / seconds), 3),
                            good=len(good), need=min_fixes, seen=len(fixes),
                            elapsed_s=round(now - start, 1),
                            waiting=_waiting(fixes, good, min_fixes, gate))
            reader.progress = dict(step.as_dict(), waiting_id=step.waiting)
            if progress is not None:
                progress(step)
            sleep(min(0.25, max(0.01, (soft_end if now < soft_end else hard_end) - now)))
    finally:
        reader.progress = None
    elapsed = round(time.monotonic() - start, 1)
    last = reader.status()
    if not fixes or (last.state == gps.STALE and len(good) < min_fixes):
        raise DeviceUnavailable("The GPS went quiet while averaging: no fix in the last %(s)s s",
                                s=round(last.fix.age() if last.fix else elapsed))
    if len(good) < min_fixes:
        why = _last_refusal(fixes, gate) or _msg(N_("too few fixes arrived"))
        raise DeviceUnavailable(
            "Only %(got)s of %(need)s good fixes in %(s)s s (%(total)s fixes seen);"
            " last fix: %(why)s", got=len(good), need=min_fixes, s=elapsed, total=len(fixes),
            why=why)
    return _position(good, good[-1], seconds=elapsed, rejected=len(fixes) - len(good))


def good_fixes(fixes: list[gps.Fix], gate: Gate) -> list[gps.Fix]:
    """The fixes that count. Once the receiver has measured any of them (it sends GST),
    only measured ones do: the others are epochs whose GST has not come (it follows the
    TPV) or was lost, and gpsd's HDOP estimate should not stand in for a measurement."""
    measured = [f for f in fixes if f.measured]
    return [f for f in (measured or fixes) if gate.passes(f)]


def _last_refusal(fixes: list[gps.Fix], gate: Gate) -> dict | None:
    """Why the latest fix that could count does not (the latest measured one, once the
    receiver measures: see good_fixes)."""
    pool = [f for f in fixes if f.measured] or fixes
    return gate.refusal(pool[-1])


def _waiting(fixes, good, need, gate) -> dict:
    """"waiting: 3 of 5 good fixes; last fix HDOP 4.0 above 2.0" (or just the count)."""
    if not fixes:
        return _msg(N_("waiting: %(good)s of %(need)s good fixes; no fix yet"), good=0,
                    need=need)
    why = _last_refusal(fixes, gate)
    if why is None:
        return _msg(N_("waiting: %(good)s of %(need)s good fixes"), good=len(good), need=need)
    return _msg(N_("waiting: %(good)s of %(need)s good fixes; last fix %(why)s"),
                good=len(good), need=need, why=why)


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
        # Measured only when every sample was; the weakest status stands for the whole.
        eph_source=(fixes[0].eph_source if len({f.eph_source for f in fixes}) == 1
                    else gps.EPH_ESTIMATED),
        fix_status=min((f.status for f in fixes), key=lambda s: _STATUS_RANK.get(s, 2), default="gps"),
    )


# Weakest first: an average is only as good as its worst sample.
_STATUS_RANK = {"none": 0, "simulated": 0, "time_only": 0, "dead_reckoning": 1, "gnss_dr": 1,
                "gps": 2, "pps": 2, "dgps": 3, "rtk_float": 4, "rtk_fixed": 5}
