"""Coordinates as registries write them: decimal, DMS (also in Thai words), UTM 47N/48N,
Indian 1975 UTM when the user says so, and swapped latitude/longitude.

Every parser returns WGS84 degrees or says why it could not. Whether a position is usable
is a separate question (:func:`in_thailand`): a camera with no usable position is still
imported, with a warning, because the survey will find the real one.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field

from .text import N_, thai_digits

# Thailand's box (DESIGN.md section 8), a little generous at the edges.
LAT_MIN, LAT_MAX = 5.6, 20.5
LON_MIN, LON_MAX = 97.3, 105.7

WGS84_UTM = {47: 32647, 48: 32648}
INDIAN1975_UTM = {47: 24047, 48: 24048}
UTM_EPSG = {32647: ("wgs84", 47), 32648: ("wgs84", 48), 24047: ("indian1975", 47),
            24048: ("indian1975", 48)}
SUPPORTED_CRS = (4326, *UTM_EPSG)

# Thai words and typographic marks for degrees, minutes and seconds. ฟิลิปดา contains
# ลิปดา, so it is replaced first.
_DMS_WORDS = (
    ("ฟิลิปดา", '"'), ("พิลิปดา", '"'), ("ลิปดา", "'"), ("องศา", "°"),
    ("\u2033", '"'), ("\u201d", '"'), ("\u201c", '"'), ("''", '"'), ("\u2032", "'"),
    ("\u2019", "'"), ("\u2018", "'"), ("`", "'"), ("´", "'"), ("º", "°"), ("˚", "°"),
    ("ลองจิจูด", ""), ("ละติจูด", ""),
)
_HEMI = {"N": 1, "S": -1, "E": 1, "W": -1, "น": 1, "อ": 1}
_NUM = r"(\d+(?:\.\d+)?)"
_DMS = re.compile(
    rf"^([NSEW])?\s*(-)?\s*{_NUM}\s*(?:°|d|deg)?\s*(?:{_NUM}\s*(?:'|m|min)\s*)?"
    rf"(?:{_NUM}\s*(?:\"|s|sec)?\s*)?([NSEW])?$",
    re.IGNORECASE,
)
_SPACED_DMS = re.compile(rf"^(-)?{_NUM}\s+{_NUM}(?:\s+{_NUM})?\s*([NSEW])?$", re.IGNORECASE)
_PAIR_SPLIT = re.compile(r"\s*[,;/|]\s*|\s+(?=[-+]?\d+(?:\.\d+)?\s*$)")


OUTSIDE = N_("position %(text)s is outside Thailand; kept without a position")


class CoordinateError(ValueError):
    """A coordinate text that cannot be read; the message says why (an English id)."""


@dataclass
class Position:
    lat: float | None = None
    lon: float | None = None
    system: str = ""          # EPSG:4326, EPSG:4326 DMS, EPSG:32647, ...
    text: str = ""            # the coordinate as written in the file
    warnings: list[tuple[str, str, dict]] = field(default_factory=list)  # (field, message id, params)


def _prepare(text: str) -> str:
    text = thai_digits(str(text)).strip()
    for word, mark in _DMS_WORDS:
        if word in text:
            text = text.replace(word, mark)
    return text.replace("\u2212", "-").replace("\u00a0", " ").strip()


def parse_number(text: str) -> float:
    """A plain number with Thai or Arabic digits, thousands commas allowed (for UTM)."""
    cleaned = thai_digits(str(text)).strip().replace(" ", "")
    if cleaned.count(",") and cleaned.count(".") <= 1 and re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
        cleaned = cleaned.replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise CoordinateError(N_("not a number")) from None
    if not math.isfinite(value):
        raise CoordinateError(N_("not a number"))
    return value


def parse_angle(text: str) -> tuple[float, bool]:
    """Degrees from decimal or DMS text; returns (degrees, was_dms)."""
    raw = str(text).strip()
    try:
        return float(raw), False
    except ValueError:
        pass
    prepared = _prepare(raw)
    if not prepared:
        raise CoordinateError(N_("empty"))
    try:
        return float(prepared), False
    except ValueError:
        pass
    m = _DMS.match(prepared)
    if m and (m.group(4) or m.group(5) or "°" in prepared or m.group(1) or m.group(6)):
        hemi1, minus, deg, minutes, seconds, hemi2 = m.groups()
        return _combine(minus, deg, minutes, seconds, hemi1 or hemi2), bool(minutes or seconds)
    m = _SPACED_DMS.match(prepared)
    if m:
        minus, deg, minutes, seconds, hemi = m.groups()
        return _combine(minus, deg, minutes, seconds, hemi), True
    raise CoordinateError(N_("not a coordinate"))


def _combine(minus, deg, minutes, seconds, hemi) -> float:
    d = float(deg)
    mins = float(minutes) if minutes else 0.0
    secs = float(seconds) if seconds else 0.0
    if mins >= 60 or secs >= 60:
        raise CoordinateError(N_("minutes or seconds of 60 or more"))
    if (minutes and not float(minutes).is_integer() and seconds):
        raise CoordinateError(N_("decimal minutes followed by seconds"))
    value = d + mins / 60 + secs / 3600
    sign = -1 if minus else 1
    if hemi:
        sign *= _HEMI[hemi.upper()]
    return sign * value


def split_pair(text: str) -> tuple[str, str]:
    """'13.7, 100.5' / '13.7 100.5' / DMS pairs -> the two halves."""
    prepared = _prepare(text)
    # DMS pairs: split after the first hemisphere letter or seconds mark.
    m = re.match(r"^(.*?[NS])\s*[,;/]?\s*(.+[EW].*)$", prepared, re.IGNORECASE)
    if m and ("°" in prepared or "'" in prepared):
        return m.group(1), m.group(2)
    parts = [p for p in _PAIR_SPLIT.split(prepared) if p]
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 4 and all(re.fullmatch(r"\d+", p) for p in parts[1::2]):
        # "13,7563, 100,5018" is not something we guess at; but "13.75 , 100.50" is handled above.
        raise CoordinateError(N_("ambiguous commas"))
    raise CoordinateError(N_("not a pair of coordinates"))


def in_thailand(lat: float, lon: float) -> bool:
    return LAT_MIN <= lat <= LAT_MAX and LON_MIN <= lon <= LON_MAX


@functools.lru_cache(maxsize=8)
def _transformer(epsg: int):
    from pyproj import Transformer

    return Transformer.from_crs(epsg, 4326, always_xy=True)


def utm_to_wgs84(easting: float, northing: float, epsg: int) -> tuple[float, float]:
    lon, lat = _transformer(epsg).transform(easting, northing)
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise CoordinateError(N_("outside the UTM zone"))
    return lat, lon


def parse_zone(text: str) -> int | None:
    """'47', '47N', '47P', 'โซน 48', '48Q' -> 47/48; None when empty."""
    cleaned = thai_digits(str(text)).strip().upper()
    if not cleaned:
        return None
    m = re.search(r"(\d{1,2})", cleaned)
    if not m:
        raise CoordinateError(N_("not a UTM zone"))
    zone = int(m.group(1))
    if zone not in (47, 48):
        raise CoordinateError(N_("UTM zone is not 47 or 48"))
    return zone


def parse_crs(text: str | int | None) -> int | None:
    """'EPSG:24047', '24047' -> 24047; refuses systems we do not handle."""
    if text in (None, ""):
        return None
    m = re.fullmatch(r"(?:epsg:)?\s*(\d{4,5})", str(text).strip(), re.IGNORECASE)
    if not m or int(m.group(1)) not in SUPPORTED_CRS:
        raise CoordinateError(N_("unsupported coordinate system"))
    return int(m.group(1))


def _looks_projected(a: float, b: float) -> bool:
    return abs(a) > 1000 and abs(b) > 1000


def plain_decimal(lat: str, lon: str) -> tuple[float, float, str] | None:
    """(lat, lon, text as written) when both are plain decimal degrees inside Thailand, as
    most rows of a registry are; None sends the row through :func:`resolve`. This is the
    importer's per-row fast path: no Position, no warnings list."""
    try:
        a, b = float(lat), float(lon)
    except ValueError:
        return None
    if LAT_MIN <= a <= LAT_MAX and LON_MIN <= b <= LON_MAX:
        # Kept to 7 decimals (about 1 cm). A text with 7 or fewer is that already, and
        # round() cost as much as the rest of this function.
        if len(lat) - lat.find(".") > 8:
            a = round(a, 7)
        if len(lon) - lon.find(".") > 8:
            b = round(b, 7)
        return a, b, f"{lat}, {lon}"
    return None


def resolve(*, lat: str = "", lon: str = "", latlon: str = "", east: str = "", north: str = "",
            zone: str = "", crs: int | None = None) -> Position:
    """Read one row's coordinate columns into a WGS84 position (or none, with warnings)."""
    if lat and lon:
        plain = plain_decimal(lat, lon)
        if plain is not None:
            return Position(plain[0], plain[1], "EPSG:4326", plain[2], [])
    pos = Position()
    try:
        if latlon and not (lat or lon):
            pos.text = latlon
            lat, lon = split_pair(latlon)
            return _geographic_or_grid(pos, lat, lon, zone, crs, "latlon")
        if lat or lon:
            pos.text = f"{lat}, {lon}"
            if not (lat and lon):
                pos.warnings.append(("lat" if not lat else "lon", N_("half of the position is missing"), {}))
                return pos
            return _geographic_or_grid(pos, lat, lon, zone, crs, "lat")
        if east or north:
            pos.text = f"E {east} N {north}" + (f" zone {zone}" if zone else "")
            if not (east and north):
                pos.warnings.append(("utm_e" if not east else "utm_n", N_("half of the position is missing"), {}))
                return pos
            return _grid(pos, parse_number(east), parse_number(north), zone, crs)
    except CoordinateError as exc:
        pos.warnings.append(("lat" if (lat or latlon) else "utm_e",
                             N_("unreadable coordinate %(text)s: %(why)s; kept without a position"),
                             {"text": pos.text, "why": str(exc)}))
        return pos
    pos.warnings.append(("position", N_("no position; the survey will find it"), {}))
    return pos


def _geographic_or_grid(pos: Position, lat_text: str, lon_text: str, zone, crs, fld) -> Position:
    a, a_dms = parse_angle(lat_text)
    b, b_dms = parse_angle(lon_text)
    if _looks_projected(a, b):
        # UTM numbers in the lat/lon columns: northing is the larger in Thailand.
        return _grid(pos, b, a, zone, crs)
    pos.system = "EPSG:4326 DMS" if (a_dms or b_dms) else "EPSG:4326"
    if in_thailand(a, b):
        pos.lat, pos.lon = round(a, 7), round(b, 7)
    elif in_thailand(b, a):
        pos.lat, pos.lon = round(b, 7), round(a, 7)
        pos.warnings.append((fld, N_("latitude and longitude were swapped; fixed"), {}))
    else:
        pos.warnings.append((fld, OUTSIDE, {"text": pos.text}))
    return pos


def _grid(pos: Position, east: float, north: float, zone_text, crs: int | None) -> Position:
    zone = parse_zone(zone_text) if zone_text else None
    datum = UTM_EPSG[crs][0] if crs in UTM_EPSG else "wgs84"
    table = INDIAN1975_UTM if datum == "indian1975" else WGS84_UTM
    if zone is None and crs in UTM_EPSG:
        zone = UTM_EPSG[crs][1]
    zones = [zone] if zone else [47, 48]
    found = []
    for z in zones:
        epsg = table[z]
        for e, n, swapped in ((east, north, False), (north, east, True)):
            try:
                lat, lon = utm_to_wgs84(e, n, epsg)
            except CoordinateError:
                continue
            if in_thailand(lat, lon):
                found.append((epsg, lat, lon, swapped))
                break
    if not found:
        pos.system = f"EPSG:{table[zones[0]]}" if zone else ""
        pos.warnings.append(("utm_e", OUTSIDE, {"text": pos.text}))
        return pos
    if len(found) > 1:
        pos.warnings.append(("utm_zone", N_("UTM zone not given and both 47N and 48N fall in"
                                           " Thailand; kept without a position (give a zone"
                                           " column or a coordinate system)"), {}))
        return pos
    epsg, lat, lon, swapped = found[0]
    pos.system = f"EPSG:{epsg}"
    pos.lat, pos.lon = round(lat, 7), round(lon, 7)
    if swapped:
        pos.warnings.append(("utm_e", N_("easting and northing were swapped; fixed"), {}))
    if not zone:
        pos.warnings.append(("utm_zone", N_("UTM zone not given; zone %(zone)sN is the only one"
                                           " that falls in Thailand"), {"zone": epsg % 100}))
    return pos
