"""GPS behind a small interface: a reader keeps the latest fix and a rolling window.

Backends (``gps_gpsd``, ``gps_replay``) run a thread that turns gpsd-style TPV/SKY
reports into :class:`Fix` objects and hands them to :meth:`GpsReader.accept_report`. Everything
a caller sees is a snapshot: :meth:`GpsReader.status` never blocks and never raises, so
"no gpsd", "no receiver", "no fix" and "stale" are states shown to the user.

Ages use the monotonic clock at receipt, not GPS time minus system time: the Pi has no
RTC, so its wall clock may be wrong until GPS has set it (and a receiver past a GPS week
rollover reports a date years off).

Error: gpsd 3.22 over NMEA always puts its own *estimate* in TPV eph (HDOP x 19 m, x 4.75 m
for DGPS; measured with gpsfake), even when the receiver sends GST. The receiver's measured
error arrives as a separate GST report after the TPV of the same epoch; it is attached to
that fix here. A u-blox in binary mode (DEVICE driver "u-blox", native 1) fills eph from its
own accuracy estimate (hAcc). `Fix.eph_source` says which one a fix carries.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time
from dataclasses import asdict, dataclass, field

from ..i18n import N_

# gpsd's fix modes.
MODE_UNKNOWN, MODE_NO_FIX, MODE_2D, MODE_3D = 0, 1, 2, 3

# States, in the order a user meets them.
STARTING = "starting"        # the reader has not heard anything yet
NO_GPSD = "no_gpsd"          # nothing listens at host:port, or it does not speak gpsd
NOT_ANSWERING = "not_answering"  # connected, but no answer within the deadline
NO_RECEIVER = "no_receiver"  # gpsd runs but has no GNSS device
NO_FIX = "no_fix"            # the receiver reports, without a position
FIX_2D = "fix_2d"
FIX_3D = "fix_3d"
STALE = "stale"              # the last fix is older than `stale_seconds`

STATE_MESSAGES = {
    STARTING: N_("Waiting for the GPS"),
    NO_GPSD: N_("gpsd is not running (nothing answers at %(where)s)"),
    NOT_ANSWERING: N_("gpsd at %(where)s does not answer"),
    NO_RECEIVER: N_("gpsd runs but no GPS receiver is connected"),
    NO_FIX: N_("The GPS receiver has no fix yet (satellites used: %(used)s)"),
    FIX_2D: N_("2D fix only: move to open sky for a 3D fix"),
    FIX_3D: N_("3D fix"),
    STALE: N_("The last fix is %(age)s s old: the receiver has gone quiet"),
}

# What a surveyor reads on the tablet when there is no usable fix: plain words and what to do,
# never gpsd's name or an address (those stay in `message`, for doctor and the logs).
STATE_ADVICE = {
    STARTING: N_("Looking for the GPS… If this lasts, type the position by hand."),
    NO_GPSD: N_("The node's GPS is not working. Restart the node, or type the position by hand."),
    NOT_ANSWERING: N_("The node's GPS is not working. Restart the node, or type the position by hand."),
    NO_RECEIVER: N_("The GPS receiver is not plugged in: plug it into the node, or type the position by hand."),
    NO_FIX: N_("Looking for satellites: stand under open sky for a minute, or type the position by hand."),
    STALE: N_("The GPS has gone quiet: check its cable, or type the position by hand."),
}

# Where a fix's horizontal error comes from.
EPH_GST = "gst"              # the receiver's GST sentence (1-sigma lat/lon, combined)
EPH_RECEIVER = "receiver"    # the receiver's own accuracy in a binary protocol (u-blox hAcc)
EPH_ESTIMATED = "estimated"  # gpsd's guess from HDOP: no measurement behind it
MEASURED_SOURCES = (EPH_GST, EPH_RECEIVER)

# gpsd's TPV "status" (absent for a plain GNSS fix), as names stored with a position.
FIX_STATUS = {0: "none", 1: "gps", 2: "dgps", 3: "rtk_fixed", 4: "rtk_float",
              5: "dead_reckoning", 6: "gnss_dr", 7: "time_only", 8: "simulated", 9: "pps"}


@dataclass
class Fix:
    """One position report with its quality, as gpsd gives it (None where it gives none)."""

    mode: int
    lat: float | None = None
    lon: float | None = None
    alt: float | None = None
    eph: float | None = None   # horizontal error estimate, metres (gpsd: 95 % confidence)
    epv: float | None = None   # vertical error estimate, metres
    epx: float | None = None
    epy: float | None = None
    hdop: float | None = None
    pdop: float | None = None
    sats_used: int | None = None
    sats_seen: int | None = None
    gps_time: str | None = None     # the receiver's UTC time, ISO 8601
    eph_source: str = EPH_ESTIMATED  # gst / receiver / estimated (see the module docstring)
    status: str = "gps"             # gps / dgps / rtk_fixed / rtk_float ... (FIX_STATUS)
    system_time: str = ""           # this node's clock when the fix arrived
    received: float = field(default=0.0, repr=False)  # time.monotonic() at receipt

    @property
    def measured(self) -> bool:
        """True when eph is the receiver's measurement, not gpsd's guess from HDOP."""
        return self.eph_source in MEASURED_SOURCES and self.eph is not None

    @property
    def has_position(self) -> bool:
        return self.mode >= MODE_2D and self.lat is not None and self.lon is not None

    def age(self, now: float | None = None) -> float:
        return max(0.0, (time.monotonic() if now is None else now) - self.received)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("received")
        data["age_s"] = round(self.age(), 1)
        return data


@dataclass
class GpsStatus:
    state: str
    fix: Fix | None
    detail: dict = field(default_factory=dict)
    backend: str = ""

    @property
    def message(self) -> str:
        try:
            return STATE_MESSAGES[self.state] % self.detail
        except (KeyError, TypeError, ValueError):
            return STATE_MESSAGES.get(self.state, self.state)

    def as_dict(self, translate=None) -> dict:
        text = STATE_MESSAGES.get(self.state, self.state)
        if translate:
            text = translate(text)
        try:
            text = text % self.detail
        except (KeyError, TypeError, ValueError):
            pass
        advice = STATE_ADVICE.get(self.state)
        if advice and translate:
            advice = translate(advice)
        return {"state": self.state, "message": text, "advice": advice, "backend": self.backend,
                "fix": self.fix.as_dict() if self.fix else None}


def _positive(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 and number == number else None


def _time_text(value) -> str | None:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value if isinstance(value, str) and value else None


def _same_time(a: str, b: str) -> bool:
    """Two receiver timestamps of the same epoch (to the millisecond: 10 Hz receivers)."""
    try:
        ta = dt.datetime.fromisoformat(a.replace("Z", "+00:00"))
        tb = dt.datetime.fromisoformat(b.replace("Z", "+00:00"))
    except ValueError:
        return a == b
    return abs((ta - tb).total_seconds()) < 0.005


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


class GpsReader:
    """Base of every backend: the latest fix, a rolling window, the connection state.

    A backend calls :meth:`set_state` when its link changes and :meth:`accept_report`
    with each gpsd-style report dict; the reader thread is the backend's own business.
    """

    name = "gps"

    def __init__(self, *, stale_seconds: float = 3.0, window_seconds: float = 120.0) -> None:
        self.stale_seconds = stale_seconds
        self.window_seconds = window_seconds
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._window: collections.deque[Fix] = collections.deque()
        self._latest: Fix | None = None
        self._link_state = STARTING
        self._detail: dict = {}
        self._sky: dict = {}
        self._receiver_accuracy = False  # gpsd's eph is the receiver's own (u-blox binary)
        self._driver = ""
        self.progress: dict | None = None  # the averaging under way, for the status API
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "GpsReader":
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"gps-{self.name}",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:  # pragma: no cover - every backend overrides it
        raise NotImplementedError

    def _interrupt(self) -> None:
        """Wake the reader thread from a blocking read (backends override)."""

    # -- what backends call -------------------------------------------------------------
    def set_state(self, state: str, **detail) -> None:
        with self._changed:
            self._link_state = state
            self._detail = detail
            self._changed.notify_all()

    def accept_report(self, report: dict) -> Fix | None:
        kind = report.get("class")
        if kind == "SKY":
            with self._lock:
                self._sky = report
            return None
        if kind == "GST":
            self._accept_gst(report)
            return None
        if kind in ("DEVICES", "DEVICE"):
            present = (bool(report.get("devices")) if kind == "DEVICES"
                       else report.get("activated") != 0)
            self._note_driver(report)
            with self._lock:
                link = self._link_state
            if not present:
                self.set_state(NO_RECEIVER)
            elif link == NO_RECEIVER:  # a receiver appeared (gpsd hotplug): wait for it
                self.set_state(STARTING)
            return None
        if kind != "TPV":
            return None
        fix = self._fix_from_tpv(report)
        with self._changed:
            self._latest = fix
            self._link_state = "reporting"
            self._window.append(fix)
            horizon = fix.received - self.window_seconds
            while self._window and self._window[0].received < horizon:
                self._window.popleft()
            self._changed.notify_all()
        return fix

    def _note_driver(self, report: dict) -> None:
        devices = report.get("devices") if report.get("class") == "DEVICES" else [report]
        for device in devices or []:
            if device.get("driver"):
                with self._lock:
                    self._driver = str(device["driver"])
                    # gpsd's u-blox driver in binary mode takes eph from NAV-PVT hAcc.
                    self._receiver_accuracy = ("u-blox" in self._driver
                                               and device.get("native") == 1)

    @property
    def driver(self) -> str:
        """gpsd's driver for the receiver ("NMEA0183", "u-blox", ...), once gpsd has said."""
        with self._lock:
            return self._driver

    def _accept_gst(self, gst: dict) -> None:
        """The receiver's measured error for an epoch: attach it to that epoch's fix.

        gpsd sends GST after the TPV of the same second; a GST whose time matches no recent
        fix is dropped rather than lent to another epoch. Zeros (sent by some receivers
        before they have a solution) are not a measurement.
        """
        sig_lat, sig_lon = _positive(gst.get("lat")), _positive(gst.get("lon"))
        if sig_lat is None or sig_lon is None:
            return
        when = _time_text(gst.get("time"))
        with self._changed:
            for fix in reversed(self._window):
                if fix.gps_time and when and _same_time(fix.gps_time, when):
                    if fix.has_position:
                        fix.eph = round((sig_lat ** 2 + sig_lon ** 2) ** 0.5, 3)
                        fix.epy, fix.epx = sig_lat, sig_lon
                        fix.epv = _positive(gst.get("alt")) or fix.epv
                        fix.eph_source = EPH_GST
                        self._changed.notify_all()
                    return
                if time.monotonic() - fix.received > 2.0:
                    return

    def _fix_from_tpv(self, tpv: dict) -> Fix:
        sky = self._sky
        sats = sky.get("satellites") or []
        used = sky.get("uSat")
        if used is None and sats:
            used = sum(1 for s in sats if s.get("used"))
        seen = sky.get("nSat")
        if seen is None and sats:
            seen = len(sats)
        mode = int(tpv.get("mode") or 0)
        has_pos = mode >= MODE_2D
        gps_time = _time_text(tpv.get("time"))
        status = FIX_STATUS.get(tpv.get("status"), "gps") if has_pos else "none"
        return Fix(
            mode=mode,
            lat=tpv.get("lat") if has_pos else None,
            lon=tpv.get("lon") if has_pos else None,
            alt=(tpv.get("altMSL", tpv.get("alt")) if mode == MODE_3D else None),
            eph=tpv.get("eph") if has_pos else None,
            epv=tpv.get("epv") if mode == MODE_3D else None,
            epx=tpv.get("epx") if has_pos else None,
            epy=tpv.get("epy") if has_pos else None,
            hdop=sky.get("hdop"),
            pdop=sky.get("pdop"),
            sats_used=used,
            sats_seen=seen,
            gps_time=gps_time,
            eph_source=(EPH_RECEIVER if self._receiver_accuracy and tpv.get("eph") is not None
                        else EPH_ESTIMATED),
            status=status,
            system_time=now_iso(),
            received=time.monotonic(),
        )

    # -- what callers use -------------------------------------------------------------
    def status(self) -> GpsStatus:
        """The state right now; never blocks on the device, never raises."""
        with self._lock:
            latest, link, detail = self._latest, self._link_state, dict(self._detail)
        if link == "reporting" and latest is not None:
            age = latest.age()
            if age > self.stale_seconds:
                return GpsStatus(STALE, latest, {"age": round(age)}, self.name)
            if latest.mode == MODE_3D:
                return GpsStatus(FIX_3D, latest, {}, self.name)
            if latest.mode == MODE_2D:
                return GpsStatus(FIX_2D, latest, {}, self.name)
            return GpsStatus(NO_FIX, latest, {"used": latest.sats_used or 0}, self.name)
        # The link is down or silent: show that, with the last fix kept for reference.
        detail.setdefault("used", 0)
        detail.setdefault("age", round(latest.age()) if latest else 0)
        return GpsStatus(link, latest, detail, self.name)

    def fixes_since(self, since: float) -> list[Fix]:
        """Fixes received after `since` (a time.monotonic() value), oldest first."""
        with self._lock:
            return [f for f in self._window if f.received > since]

    def wait_for_fix(self, timeout: float) -> GpsStatus:
        """Wait up to `timeout` s for a fresh fix with a position; the status either way.

        A fix counts once the satellite report has come too (the first report of a session
        lacks it). Returns early when gpsd is missing or silent: those do not resolve in
        seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status.state in (FIX_2D, FIX_3D) and status.fix.sats_used is not None:
                return status
            if status.state in (NO_GPSD, NOT_ANSWERING):
                return status
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return status
            with self._changed:
                self._changed.wait(min(remaining, 0.25))

    def sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; True when the reader should stop."""
        return self._stop.wait(seconds)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()
