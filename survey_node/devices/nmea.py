"""NMEA 0183 sentences: parse the few a GNSS receiver sends, and write them.

Parsing turns GGA/RMC/GSA/GSV/GST into gpsd-style TPV, SKY and GST reports, so the replay
backend feeds the same reader code as gpsd itself. It copies what gpsd 3.22 was measured to
do: TPV eph is an estimate from HDOP (x 19 m, x 4.75 m for DGPS), GGA fix quality becomes TPV
"status", and GST comes as its own report after the TPV. Writing is used to make the demo log
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


# GSV talkers per constellation, and the NMEA 4.10 GSA system id of each (u-blox M8 and
# later send BeiDou as GB; Quectel/MediaTek as BD; both mean the same system).
SYSTEM_IDS = {"GP": 1, "GL": 2, "GA": 3, "GB": 4, "BD": 4}


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
    quality: int | None = None  # GGA fix quality (2 DGPS, 4 RTK fixed, 5 RTK float); None: 1/0
    # Multi-constellation: satellites per GSV talker ({"GP": (...), "GL": (...)}); the
    # position sentences then use the GN talker and one GSA per constellation.
    systems: dict[str, tuple[int, ...]] | None = None


def _num3(value: float) -> str:
    """A metre value as receivers write it: 0.1 m steps, millimetres below a metre (RTK)."""
    return f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def _gsv(talker: str, seen: list[int], fix: bool) -> list[str]:
    out = []
    pages = max(1, math.ceil(len(seen) / 4))
    for page in range(pages):
        chunk = seen[page * 4:(page + 1) * 4]
        fields = []
        for i, prn in enumerate(chunk):
            elev = 15 + (prn * 7) % 70
            azim = (prn * 37 + i * 11) % 360
            fields += [f"{prn:02d}", f"{elev:02d}", f"{azim:03d}", "42" if fix else ""]
        out.append(sentence(f"{talker}GSV", pages, page + 1, f"{len(seen):02d}", *fields))
    return out


def epoch_sentences(e: Epoch, talker: str = "GP", *, order: str = "ublox",
                    nmea410: bool = False) -> list[str]:
    """RMC, GGA, GSA, GSV (and GST when `eph` is set) for one epoch.

    `order` is "ublox" (RMC opens the epoch, GST closes it) or "mtk" (MediaTek/SiRF: GGA
    first, RMC last). `nmea410` adds the system id to each GSA, as NMEA 4.10 receivers do.
    """
    if e.systems:
        talker = "GN"
    hms = e.time.strftime("%H%M%S.") + f"{e.time.microsecond // 10000:02d}"
    dmy = e.time.strftime("%d%m%y")
    lat, ns = _lat(e.lat)
    lon, ew = _lon(e.lon)
    fix = e.mode >= 2
    quality = (e.quality if e.quality is not None else 1) if fix else 0
    systems = e.systems or {"GP": e.sats}
    n_used = sum(min(12, len(p)) for p in systems.values()) if fix else 0
    rmc_mode = {2: "D", 4: "R", 5: "F"}.get(quality, "A") if fix else "N"
    rmc = sentence(f"{talker}RMC", hms, "A" if fix else "V", lat if fix else "",
                   ns if fix else "", lon if fix else "", ew if fix else "",
                   f"{e.speed_knots:.1f}", f"{e.course:.1f}", dmy, "", "", rmc_mode)
    gga = sentence(f"{talker}GGA", hms, lat if fix else "", ns if fix else "",
                   lon if fix else "", ew if fix else "", quality, f"{n_used:02d}",
                   f"{e.hdop:.1f}" if fix else "", f"{e.alt:.1f}" if e.mode == 3 else "", "M",
                   "-28.0", "M", "1.0" if quality in (2, 4, 5) else "",
                   "0001" if quality in (2, 4, 5) else "")
    gsa = []
    for gsv_talker, prns_of in systems.items():
        used = list(prns_of[:12]) if fix else []
        prns = [f"{p:02d}" for p in used] + [""] * (12 - len(used))
        extra = [SYSTEM_IDS.get(gsv_talker, 1)] if nmea410 else []
        gsa.append(sentence(f"{talker}GSA", "A", e.mode, *prns, f"{e.pdop:.1f}",
                            f"{e.hdop:.1f}", f"{e.vdop:.1f}", *extra))
    gsv = [s for t, prns_of in systems.items() for s in _gsv(t, list(prns_of), fix)]
    gst = []
    if e.eph is not None and fix:
        sigma = e.eph / math.sqrt(2)
        gst.append(sentence(f"{talker}GST", hms, _num3(e.eph), _num3(sigma),
                            f"{sigma:.1f}", "0.0", _num3(sigma), _num3(sigma),
                            _num3(e.eph * 1.5)))
    # u-blox order: RMC opens the epoch. gpsd 3.22 ends its cycle on the sentence that
    # opens it; with RMC last it reports 3D even when GSA says 2D.
    if order == "mtk":
        return [gga, *gsa, *gsv, rmc, *gst]
    return [rmc, gga, *gsa, *gsv, *gst]


def write_log(epochs: list[Epoch], **options) -> str:
    """The epochs as NMEA text (CRLF lines); `options` go to :func:`epoch_sentences`."""
    return "".join(s + "\r\n" for e in epochs for s in epoch_sentences(e, **options))


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


# gpsd 3.22's error model over NMEA (measured with gpsfake: HDOP 0.9 gives eph 17.1 m for a
# plain fix and 4.275 m for DGPS).
UERE_M = 19.0
UERE_DGPS_M = 4.75
GGA_STATUS = {2: 2, 3: 1, 4: 3, 5: 4, 6: 5, 8: 8}  # GGA quality -> gpsd TPV status


class NmeaParser:
    """Turns a stream of NMEA lines into gpsd-style TPV and SKY report dicts.

    Sentences carrying the same UTC time (RMC, GGA, GST) and the GSA/GSV between them
    form one epoch; its TPV is emitted when the next epoch starts (or at :meth:`finish`),
    whichever order the receiver sends them in.
    """

    def __init__(self) -> None:
        self._epoch: dict = {}
        self._sky: dict[str, dict[int, dict]] = {}
        self._sky_total: dict[str, int] = {}
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
        try:
            quality = int(f[6] or 0)
        except ValueError:
            quality = 0
        self._epoch.update(lat=_coord(f[2], f[3]), lon=_coord(f[4], f[5]),
                           quality=quality, alt=_float(f[9]), gga_hdop=_float(f[8]))
        return done

    def _on_gst(self, f: list[str]) -> list[dict]:
        if len(f) < 9:
            return []
        done = self._start(f[1])
        self._epoch["gst"] = {"class": "GST", "rms": _float(f[2]), "lat": _float(f[6]),
                              "lon": _float(f[7]), "alt": _float(f[8])}
        return done

    def _on_gsa(self, f: list[str]) -> list[dict]:
        # gpsd's rule: exactly 12 satellite fields (NMEA 4.10 adds a system id after them).
        if len(f) not in (18, 19):
            return []
        if not self._epoch.get("gsa_seen"):  # GN receivers send one GSA per constellation
            self._used = []
        self._epoch["gsa_seen"] = True
        self._epoch["mode"] = int(f[2] or 1)
        self._used += [int(p) for p in f[3:15] if p.isdigit()]
        self._dops = {"pdop": _float(f[15]), "hdop": _float(f[16]), "vdop": _float(f[17])}
        return []



    def _on_gsv(self, f: list[str]) -> list[dict]:
        if len(f) < 4:
            return []
        talker = f[0][:2]
        try:
            total, page, count = int(f[1] or 1), int(f[2] or 1), int(f[3] or 0)
        except ValueError:
            return []
        if page == 1:  # each constellation (GP, GL, GA, GB/BD) has its own GSV pages
            self._sky[talker] = {}
            self._sky_total[talker] = count
        quads = f[4:]
        for i in range(0, len(quads) - 3, 4):
            if quads[i].isdigit():
                prn = int(quads[i])
                self._sky.setdefault(talker, {})[prn] = {
                    "PRN": prn, "el": _float(quads[i + 1]), "az": _float(quads[i + 2]),
                    "ss": _float(quads[i + 3])}
        if page != total:
            return []
        sats = [dict(s, used=s["PRN"] in self._used)
                for group in self._sky.values() for s in group.values()]
        sky = {"class": "SKY", "satellites": sats, "nSat": sum(self._sky_total.values()),
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
                whole, _, fraction = hms.partition(".")
                stamp = dt.datetime.strptime(date + whole, "%d%m%y%H%M%S")
                millis = int((fraction + "000")[:3]) if fraction.isdigit() else 0
                tpv["time"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis:03d}Z"
            except ValueError:
                pass
        status = GGA_STATUS.get(e.get("quality") or 1)
        if mode >= 2:
            tpv.update(lat=lat, lon=lon)
            if status is not None:
                tpv["status"] = status
            if e.get("speed") is not None:
                tpv["speed"] = e["speed"] * 0.514444
            hdop = e.get("gga_hdop") or self._dops.get("hdop")
            if hdop is not None:
                tpv["eph"] = round(hdop * (UERE_DGPS_M if status == 2 else UERE_M), 3)
        if mode == 3 and e.get("alt") is not None:
            tpv["alt"] = e["alt"]
        out = [tpv]
        if mode >= 2 and e.get("gst") and "time" in tpv:
            out.append(dict(e["gst"], time=tpv["time"]))
        return out
