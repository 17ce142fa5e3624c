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
LAT_MIN, LAT_MAX = 5.5, 20.5
LON_MIN, LON_MAX = 97.3, 105.7

WGS84_UTM = {47: 32647, 48: 32648}
INDIAN1975_UTM = {47: 24047, 48: 24048}
UTM_EPSG = {32647: ("wgs84", 47), 32648: ("wgs84", 48), 24047: ("indian1975", 47),
            24048: ("indian1975", 48)}
SUPPORTED_CRS = (4326, *UTM_EPSG)

# What people type for degrees, minutes and seconds, folded to ° ' and " before parsing.
# Word processors and phones turn ' into ’ ‘ ′ ´ or `, and " into ” “ ″ or two of the
# single marks; º (the ordinal sign), ˚ and ⁰ pass for a degree sign, and "?" is what a
# Thai (cp874) export or web page makes of one ("13? 45’ 53.7’’ N").
_MARKS = str.maketrans({
    "º": "°", "˚": "°", "⁰": "°", "?": "°",
    "\u2032": "'", "\u2019": "'", "\u2018": "'", "\u201b": "'", "`": "'", "´": "'",
    "\u02b9": "'", "\u02bc": "'", "\u02ca": "'", "\uff07": "'",
    "\u2033": '"', "\u201d": '"', "\u201c": '"', "\u201f": '"', "\u02ba": '"', "\u02dd": '"',
    "\uff02": '"', "\u3003": '"',
    "\u2212": "-", "\u2013": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " ",
})
# Thai words; ฟิลิปดา contains ลิปดา, so it is replaced first. The compass words are how a
# Thai text names the hemisphere ("๑๓ องศาเหนือ").
_DMS_WORDS = (
    ("ฟิลิปดา", '"'), ("พิลิปดา", '"'), ("ลิปดา", "'"), ("องศา", "°"),
    ("ตะวันออก", "E"), ("ตะวันตก", "W"), ("เหนือ", "N"), ("ใต้", "S"),
)
# Labels written in the cell itself: "Lat 13° 45’ 53.7’’ N", "ละติจูด: 13.75".
_LABELS = re.compile(r"(?i)(?:\b(?:latitude|longitude|lat|long|lng|lon)\b|ละติจูด|ลองจิจูด)"
                     r"\.?\s*[:=]?")
_HEMI = {"N": 1, "S": -1, "E": 1, "W": -1}
_NUM = r"(\d+(?:\.\d+)?)"
_DMS = re.compile(
    rf"^([NSEW])?\s*(-)?\s*{_NUM}\s*(?:°|d|deg)?\s*(?:{_NUM}\s*(?:'|m|min)\s*)?"
    rf"(?:{_NUM}\s*(?:\"|s|sec)?\s*)?([NSEW])?$",
    re.IGNORECASE,
)
_SPACED_DMS = re.compile(rf"^(-)?{_NUM}\s+{_NUM}(?:\s+{_NUM})?\s*([NSEW])?$", re.IGNORECASE)
# 13-36-53.79, 13:36:53.79 and 13.36.53.79 (the last cannot be a decimal: three dots).
_SEPARATED_DMS = re.compile(
    r"^([NSEW])?\s*(-)?(\d{1,3})(?:[-:](\d{1,2})[-:]|\.(\d{1,2})\.)(\d{1,2}(?:\.\d+)?)\s*([NSEW])?$",
    re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"(\d),(\d)")
_PAIR_SEPARATOR = re.compile(r"\s*[,;/|]\s*|\s+")
_BRACKETS = "()[]{}<>"
MAX_PAIR_TEXT = 2000  # a map link with its data part is long; anything longer is not a position
MAX_SPLITS = 24       # separator positions tried when splitting a pair


OUTSIDE = N_("position %(text)s is outside Thailand; kept without a position")
SHORT_LINK = N_("short map link %(text)s cannot be opened offline: open it and paste its"
                " coordinates; kept without a position")


class CoordinateError(ValueError):
    """A coordinate text that cannot be read; the message says why (an English id)."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.params = params


@dataclass
class Position:
    lat: float | None = None
    lon: float | None = None
    system: str = ""          # EPSG:4326, EPSG:4326 DMS, EPSG:32647, ...
    text: str = ""            # the coordinate as written in the file
    warnings: list[tuple[str, str, dict]] = field(default_factory=list)  # (field, message id, params)


def _prepare(text: str, one_angle: bool = True) -> str:
    text = thai_digits(str(text)).translate(_MARKS).strip()
    for word, mark in _DMS_WORDS:
        if word in text:
            text = text.replace(word, mark)
    text = text.replace("''", '"')
    if one_angle and 1 < text.count("°") <= 3:
        # Every mark became "?" in a cp874 export ("100?34?25.68?E"): degrees, minutes,
        # seconds in that order.
        parts = text.split("°")
        text = "".join(p + m for p, m in zip(parts, ("°", "'", '"', ""))) + "".join(parts[4:])
    if "l" in text.lower() or "ละ" in text or "ลอง" in text:
        text = _LABELS.sub(" ", text)
    return " ".join(text.split())


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
        value = float(raw)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise CoordinateError(N_("not a number"))
        return value, False
    prepared = _prepare(raw)
    if not prepared:
        raise CoordinateError(N_("empty"))
    if prepared.count(",") == 1:
        # One cell holds one angle, so a comma between digits is a decimal comma (13,7563
        # from a Thai or European Excel, also 21,18" in DMS).
        prepared = _DECIMAL_COMMA.sub(r"\1.\2", prepared)
    try:
        value = float(prepared)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise CoordinateError(N_("not a number"))
        return value, False
    # Bare numbers with spaces first: _DMS would take "13 35.9478" for degrees and seconds.
    m = _SPACED_DMS.match(prepared)
    if m:
        minus, deg, minutes, seconds, hemi = m.groups()
        return _combine(minus, deg, minutes, seconds, hemi), True
    m = _DMS.match(prepared)
    if m and (m.group(4) or m.group(5) or "°" in prepared or m.group(1) or m.group(6)):
        hemi1, minus, deg, minutes, seconds, hemi2 = m.groups()
        if hemi1 and hemi2:
            raise CoordinateError(N_("not a coordinate"))
        return _combine(minus, deg, minutes, seconds, hemi1 or hemi2), bool(minutes or seconds)
    m = _SEPARATED_DMS.match(prepared)
    if m:
        hemi1, minus, deg, dash_min, dot_min, seconds, hemi2 = m.groups()
        if hemi1 and hemi2:
            raise CoordinateError(N_("not a coordinate"))
        return _combine(minus, deg, dash_min or dot_min, seconds, hemi1 or hemi2), True
    raise CoordinateError(N_("not a coordinate"))


def _combine(minus, deg, minutes, seconds, hemi) -> float:
    d = float(deg)
    mins = float(minutes) if minutes else 0.0
    secs = float(seconds) if seconds else 0.0
    if mins >= 60 or secs >= 60:
        raise CoordinateError(N_("minutes or seconds of 60 or more"))
    if (minutes and not float(minutes).is_integer() and seconds):
        raise CoordinateError(N_("decimal minutes followed by seconds"))
    if (minutes or seconds) and not float(deg).is_integer():
        raise CoordinateError(N_("decimal degrees followed by minutes"))
    value = d + mins / 60 + secs / 3600
    sign = -1 if minus else 1
    if hemi:
        sign *= _HEMI[hemi.upper()]
    return sign * value


def looks_like_pair(text: str) -> bool:
    """Whether one cell seems to hold a whole position (a map link or two numbers)."""
    if "://" in text or "goo.gl" in text or text.lstrip().lower().startswith("geo:"):
        return True
    try:
        split_pair(text)
    except CoordinateError:
        return False
    return True


def split_pair(text: str) -> tuple[str, str]:
    """'13.7, 100.5' / '13.7 100.5' / '(13,7563; 100,5018)' / DMS pairs -> the two halves.

    Every separator (a comma, semicolon, slash, bar or space) is tried as the middle; the
    split whose halves are both angles wins, preferring one that lies in Thailand (either
    order). A comma inside a half is then a decimal comma, which is how "13,7563, 100,5018"
    is told from "13.7563,100.5018"."""
    if len(text) > MAX_PAIR_TEXT:
        raise CoordinateError(N_("not a pair of coordinates"))
    prepared = _prepare(text, one_angle=False).strip(_BRACKETS + " ")
    found: list[tuple[str, str, float, float]] = []
    for count, sep in enumerate(_PAIR_SEPARATOR.finditer(prepared)):
        if count >= MAX_SPLITS:
            break
        left, right = prepared[:sep.start()].strip(), prepared[sep.end():].strip()
        if not left or not right:
            continue
        try:
            a, _ = parse_angle(left)
            b, _ = parse_angle(right)
        except CoordinateError:
            continue
        found.append((left, right, a, b))
    if not found:
        raise CoordinateError(N_("not a pair of coordinates"))
    inside = [f for f in found if in_thailand(f[2], f[3]) or in_thailand(f[3], f[2])]
    if len(inside) > 1:
        raise CoordinateError(N_("ambiguous commas"))
    left, right, _, _ = (inside or found)[0]
    return left, right


# Map links. Google writes the dropped pin as !3d<lat>!4d<lon> in the data part and the
# view's centre after /@; other services use query parameters.
_PIN = re.compile(r"!3d(-?\d+(?:\.\d+)?)!4d(-?\d+(?:\.\d+)?)")
_VIEWPORT = re.compile(r"/@(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)")
_OSM_HASH = re.compile(r"map=\d+(?:\.\d+)?/(-?\d+(?:\.\d+)?)/(-?\d+(?:\.\d+)?)")
_SHORT_HOSTS = ("maps.app.goo.gl", "goo.gl", "g.co", "bit.ly", "tinyurl.com")
_QUERY_KEYS = ("q", "query", "ll", "center", "destination", "daddr", "sll", "cbll")
_URL = re.compile(r"(?i)(?:https?://|geo:)\S+|\b(?:maps\.app\.goo\.gl|goo\.gl)/\S+")


def parse_map_link(text: str) -> tuple[float, float] | None:
    """(first, second) numbers of the position a map link points at, in the link's order
    (latitude first for every form read here); None when the text holds no link.
    A short link (maps.app.goo.gl/...) only says where after a visit to Google, which a
    node does not make: CoordinateError says so."""
    m = _URL.search(text)
    if not m:
        return None
    from urllib.parse import parse_qs, unquote, urlsplit

    link = m.group(0)
    if link.lower().startswith("geo:"):
        return _numbers_of(unquote(link[4:].split(";")[0].split("?")[0]))
    if "://" not in link:
        link = "https://" + link
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    if host in _SHORT_HOSTS:
        raise CoordinateError(SHORT_LINK, host=host)
    pin = _PIN.search(link)
    if pin:
        return float(pin.group(1)), float(pin.group(2))
    path = unquote(parts.path)
    for marker in ("/place/", "/search/", "/dir/"):
        if marker in path:
            segment = path.split(marker, 1)[1].split("/@")[0].split("/")[0].replace("+", " ")
            found = _numbers_of(segment)
            if found:
                return found
    query = parse_qs(parts.query)
    if "mlat" in query and "mlon" in query:
        return _numbers_of(f"{query['mlat'][0]}, {query['mlon'][0]}")
    for key in _QUERY_KEYS:
        for value in query.get(key, ()):
            found = _numbers_of(value.removeprefix("loc:"))
            if found:
                return found
    for pattern in (_VIEWPORT, _OSM_HASH):
        m = pattern.search(link)
        if m:
            return float(m.group(1)), float(m.group(2))
    raise CoordinateError(N_("a map link without a position in it"))


def _numbers_of(text: str) -> tuple[float, float] | None:
    try:
        left, right = split_pair(text)
        return parse_angle(left)[0], parse_angle(right)[0]
    except CoordinateError:
        return None


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
            zone: str = "", crs: int | None = None, link: str = "") -> Position:
    """Read one row's coordinate columns into a WGS84 position (or none, with warnings).

    A whole position (two numbers, a DMS pair or a map link) pasted into the latitude or
    the longitude column alone is read as if it were in a one-column position; so is the
    one-column position when the latitude and longitude cells cannot be read. The map link
    column (`link`) is read when the others give no position."""
    pos = _resolve(lat, lon, latlon, east, north, zone, crs)
    if link and pos.lat is None:
        by_link = Position(text=link)
        try:
            _from_one_cell(by_link, link, "", None, "map_link")
        except CoordinateError as exc:
            _unreadable(by_link, "map_link", exc)
        if by_link.lat is not None or not (lat or lon or latlon or east or north):
            return by_link
        pos.warnings.extend(by_link.warnings)
    return pos


def _resolve(lat, lon, latlon, east, north, zone, crs) -> Position:
    if lat and lon:
        plain = plain_decimal(lat, lon)
        if plain is not None:
            return Position(plain[0], plain[1], "EPSG:4326", plain[2], [])
    pos = Position()
    fld = "latlon"
    try:
        if lat and lon:
            pos.text = f"{lat}, {lon}"
            try:
                return _geographic_or_grid(pos, lat, lon, zone, crs, "lat")
            except CoordinateError:
                if not latlon:
                    fld = "lat"
                    raise
            pos = Position()
        elif lat or lon:
            one = lat or lon
            if looks_like_pair(one):
                latlon, fld = one, "lat" if lat else "lon"
            elif not latlon:
                pos.text = f"{lat}, {lon}"
                pos.warnings.append(("lat" if not lat else "lon", N_("half of the position is missing"), {}))
                return pos
        if latlon:
            pos.text = latlon
            return _from_one_cell(pos, latlon, zone, crs, fld)
        if east or north:
            fld = "utm_e"
            pos.text = f"E {east} N {north}" + (f" zone {zone}" if zone else "")
            if not (east and north):
                pos.warnings.append(("utm_e" if not east else "utm_n", N_("half of the position is missing"), {}))
                return pos
            return _grid(pos, parse_number(east), parse_number(north), zone, crs)
    except CoordinateError as exc:
        return _unreadable(pos, fld, exc)
    pos.warnings.append(("position", N_("no position; the survey will find it"), {}))
    return pos


def _unreadable(pos: Position, fld: str, exc: CoordinateError) -> Position:
    if exc.args[0] == SHORT_LINK:
        pos.warnings.append((fld, SHORT_LINK, {"text": pos.text, **exc.params}))
    else:
        pos.warnings.append((fld, N_("unreadable coordinate %(text)s: %(why)s; kept without a position"),
                             {"text": pos.text, "why": str(exc)}))
    return pos


def _from_one_cell(pos: Position, text: str, zone, crs, fld: str) -> Position:
    link = parse_map_link(text)
    if link is not None:
        pos.system = "EPSG:4326"
        return _geographic(pos, link[0], link[1], fld)
    left, right = split_pair(text)
    return _geographic_or_grid(pos, left, right, zone, crs, fld)


_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
UTM_MIN = 100_000  # no easting or northing in Thailand is smaller


def _geographic_or_grid(pos: Position, lat_text: str, lon_text: str, zone, crs, fld) -> Position:
    lat_text, lon_text = lat_text.strip(), lon_text.strip()
    if _THOUSANDS.fullmatch(lat_text) and _THOUSANDS.fullmatch(lon_text):
        # "670,000" / "1,521,000": UTM with thousands commas, not decimal commas.
        a, b = parse_number(lat_text), parse_number(lon_text)
        if abs(a) >= UTM_MIN and abs(b) >= UTM_MIN:
            return _grid(pos, b, a, zone, crs)
    a, a_dms = parse_angle(lat_text)
    b, b_dms = parse_angle(lon_text)
    if _looks_projected(a, b):
        # UTM numbers in the lat/lon columns: northing is the larger in Thailand.
        return _grid(pos, b, a, zone, crs)
    pos.system = "EPSG:4326 DMS" if (a_dms or b_dms) else "EPSG:4326"
    return _geographic(pos, a, b, fld)


def _geographic(pos: Position, a: float, b: float, fld: str) -> Position:
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
