"""NMEA 0183 sentences: parse the few a GNSS receiver sends, and write them.

Parsing turns GGA/RMC/GSA/GSV/GST into gpsd-style TPV and SKY reports, so the replay
backend feeds the same reader code as gpsd itself. Writing is used to make the demo log
and the logs that tests feed to gpsfake (a GSA sentence must carry exactly 12 satellite
fields or gpsd ignores it without a word).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


def checksum(body: str) -> str:
    value = 0
    for char in body:
        value ^= ord(char)
    return f"{value:02X}"


def sentence(*fields) -> str:
    body = ",".join("" if f is None else str(f) for f in fields)
    return f"${body}*{checksum(body)}"


def _lat(value: float) -> tuple[str, str]:
    deg = int(abs(value))
    return f"{deg:02d}{(abs(value) - deg) * 60:07.4f}", "N" if value >= 0 else "S"


def _lon(value: float) -> tuple[str, str]:
    deg = int(abs(value))
    return f"{deg:03d}{(abs(value) - deg) * 60:07.4f}", "E" if value >= 0 else "W"


@dataclass
class Epoch:
    """One receiver epoch, as a test or the demo log wants it described."""

    time: dt.datetime
    lat: float
    lon: float
    alt: float = 2.0
    mode: int = 3  # 1 no fix, 2 2D, 3 3D
    sats: tuple[int, ...] = (2, 5, 12, 13, 15, 18, 20, 24, 25)
    hdop: float = 0.9
    pdop: float = 1.6
    vdop: float = 1.3
    speed_knots: float = 0.0
    course: float = 0.0
    eph: float | None = None  # sigma of lat/lon in metres, written as a GST sentence


def epoch_sentences(e: Epoch, talker: str = "GP") -> list[str]:
    """RMC, GGA, GSA, GSV (and GST when `eph` is set) for one epoch."""
    hms = e.time.strftime("%H%M%S.") + f"{e.time.microsecond // 10000:02d}"
    dmy = e.time.strftime("%d%m%y")
    lat, ns = _lat(e.lat)
    lon, ew = _lon(e.lon)
    fix = e.mode >= 2
    used = list(e.sats[:12]) if fix else []
    prns = [f"{p:02d}" for p in used] + [""] * (12 - len(used))
    # u-blox order: RMC opens the epoch. gpsd 3.22 ends its cycle on the sentence that
    # opens it; with RMC last it reports 3D even when GSA says 2D.
    out = [
        sentence(f"{talker}RMC", hms, "A" if fix else "V", lat if fix else "",
                 ns if fix else "", lon if fix else "", ew if fix else "",
                 f"{e.speed_knots:.1f}", f"{e.course:.1f}", dmy, "", "", "A" if fix else "N"),
        sentence(f"{talker}GGA", hms, lat if fix else "", ns if fix else "", lon if fix else "",
                 ew if fix else "", 1 if fix else 0, f"{len(used):02d}",
                 f"{e.hdop:.1f}" if fix else "", f"{e.alt:.1f}" if e.mode == 3 else "", "M",
                 "-28.0", "M", "", ""),
        sentence(f"{talker}GSA", "A", e.mode, *prns, f"{e.pdop:.1f}", f"{e.hdop:.1f}",
                 f"{e.vdop:.1f}"),
    ]
    seen = list(e.sats)
    pages = max(1, math.ceil(len(seen) / 4))
    for page in range(pages):
        chunk = seen[page * 4:(page + 1) * 4]
        fields = []
        for i, prn in enumerate(chunk):
            elev = 15 + (prn * 7) % 70
            azim = (prn * 37 + i * 11) % 360
            fields += [f"{prn:02d}", f"{elev:02d}", f"{azim:03d}", "42" if fix else ""]
        out.append(sentence(f"{talker}GSV", pages, page + 1, f"{len(seen):02d}", *fields))
    if e.eph is not None and fix:
        sigma = e.eph / math.sqrt(2)
        out.append(sentence(f"{talker}GST", hms, f"{e.eph:.1f}", f"{sigma:.1f}", f"{sigma:.1f}",
                            "0.0", f"{sigma:.1f}", f"{sigma:.1f}", f"{e.eph * 1.5:.1f}"))
    return out


def write_log(epochs: list[Epoch]) -> str:
    return "".join(s + "\r\n" for e in epochs for s in epoch_sentences(e))


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point `north_m`/`east_m` metres away (a flat-earth step, fine for a walk)."""
    dlat = north_m / 111_320.0
    dlon = east_m / (111_320.0 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


# -- parsing -----------------------------------------------------------------------


def valid(line: str) -> bool:
    line = line.strip()
    if not line.startswith("$") or "*" not in line:
        return False
    body, _, given = line[1:].partition("*")
    return checksum(body) == given[:2].upper()


def _coord(value: str, hemi: str) -> float | None:
    if not value or "." not in value:
        return None
    head, _ = value.split(".", 1)
    deg_len = len(head) - 2
    try:
        deg = float(value[:deg_len])
        minutes = float(value[deg_len:])
    except ValueError:
        return None
    result = deg + minutes / 60
    return -result if hemi in ("S", "W") else result


def _float(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class NmeaParser:
    """Turns a stream of NMEA lines into gpsd-style TPV and SKY report dicts.

    Sentences carrying the same UTC time (RMC, GGA, GST) and the GSA/GSV between them
    form one epoch; its TPV is emitted when the next epoch starts (or at :meth:`finish`),
    whichever order the receiver sends them in.
    """

    def __init__(self) -> None:
        self._epoch: dict = {}
        self._sky: dict[int, dict] = {}
        self._sky_total = 0
        self._used: list[int] = []
        self._dops: dict = {}

    def feed(self, line: str) -> list[dict]:
        if not valid(line):
            return []
        fields = line.strip()[1:].split("*")[0].split(",")
        kind = fields[0][2:]
        handler = getattr(self, f"_on_{kind.lower()}", None)
        return handler(fields) if handler else []

    def finish(self) -> list[dict]:
        return self._flush()

    def _start(self, hms: str) -> list[dict]:
        """A timed sentence: a new time closes the epoch before it."""
        if self._epoch and self._epoch.get("hms") != hms:
            done = self._flush()
        else:
            done = []
        self._epoch["hms"] = hms
        return done

    def _on_rmc(self, f: list[str]) -> list[dict]:
        if len(f) < 10:
            return []
        done = self._start(f[1])
        self._epoch.update(active=f[2] == "A", date=f[9], rmc_lat=_coord(f[3], f[4]),
                           rmc_lon=_coord(f[5], f[6]), speed=_float(f[7]))
        return done

    def _on_gga(self, f: list[str]) -> list[dict]:
        if len(f) < 10:
            return []
        done = self._start(f[1])
        self._epoch.update(lat=_coord(f[2], f[3]), lon=_coord(f[4], f[5]),
                           quality=int(f[6] or 0), alt=_float(f[9]))
        return done

    def _on_gst(self, f: list[str]) -> list[dict]:
        if len(f) < 9:
            return []
        done = self._start(f[1])
        sig_lat, sig_lon = _float(f[6]), _float(f[7])
        if sig_lat is not None and sig_lon is not None:
            self._epoch.update(epy=sig_lat, epx=sig_lon, eph=math.hypot(sig_lat, sig_lon),
                               epv=_float(f[8]))
        return done

    def _on_gsa(self, f: list[str]) -> list[dict]:
        if len(f) != 18:  # gpsd's rule: exactly 12 satellite fields
            return []
        self._epoch["mode"] = int(f[2] or 1)
        self._used = [int(p) for p in f[3:15] if p]
        self._dops = {"pdop": _float(f[15]), "hdop": _float(f[16]), "vdop": _float(f[17])}
        return []

    def _on_gsv(self, f: list[str]) -> list[dict]:
        if len(f) < 4:
            return []
        total, page = int(f[1] or 1), int(f[2] or 1)
        if page == 1:
            self._sky = {}
        self._sky_total = int(f[3] or 0)
        quads = f[4:]
        for i in range(0, len(quads) - 3, 4):
            if quads[i]:
                prn = int(quads[i])
                self._sky[prn] = {"PRN": prn, "el": _float(quads[i + 1]),
                                  "az": _float(quads[i + 2]), "ss": _float(quads[i + 3])}
        if page != total:
            return []
        sats = [dict(s, used=s["PRN"] in self._used) for s in self._sky.values()]
        sky = {"class": "SKY", "satellites": sats, "nSat": self._sky_total,
               "uSat": len(self._used), **{k: v for k, v in self._dops.items() if v is not None}}
        return [sky]

    def _flush(self) -> list[dict]:
        e, self._epoch = self._epoch, {}
        if not e:
            return []
        lat = e.get("lat", e.get("rmc_lat"))
        lon = e.get("lon", e.get("rmc_lon"))
        has_pos = lat is not None and lon is not None and (e.get("active") or e.get("quality"))
        mode = e.get("mode") or (3 if has_pos and e.get("alt") is not None else 2 if has_pos
                                 else 1)
        if not has_pos:
            mode = 1
        tpv: dict = {"class": "TPV", "mode": mode}
        hms, date = e.get("hms", ""), e.get("date", "")
        if hms and len(date) == 6:
            try:
                stamp = dt.datetime.strptime(date + hms.split(".")[0], "%d%m%y%H%M%S")
                tpv["time"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            except ValueError:
                pass
        if mode >= 2:
            tpv.update(lat=lat, lon=lon)
            if e.get("speed") is not None:
                tpv["speed"] = e["speed"] * 0.514444
            for key in ("eph", "epx", "epy"):
                if e.get(key) is not None:
                    tpv[key] = e[key]
        if mode == 3:
            if e.get("alt") is not None:
                tpv["alt"] = e["alt"]
            if e.get("epv") is not None:
                tpv["epv"] = e["epv"]
        return [tpv]
