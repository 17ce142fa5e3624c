"""Coordinate and digit parsing: examples from real registries, and properties."""

import pytest
from hypothesis import given, strategies as st

from survey_node.inventory import coords
from survey_node.inventory.text import cell_text, header_key, thai_digits

THAI = "๐๑๒๓๔๕๖๗๘๙"


def to_thai(text: str) -> str:
    return "".join(THAI[int(c)] if c.isdigit() else c for c in text)


@pytest.mark.parametrize("text, expected", [
    ("13.7563", 13.7563),
    ("๑๓.๗๕๖๓", 13.7563),
    ("13°45'22.7\"N", 13 + 45 / 60 + 22.7 / 3600),
    ("13° 45′ 22.7″", 13 + 45 / 60 + 22.7 / 3600),
    ("13°45’22.7”", 13 + 45 / 60 + 22.7 / 3600),
    ("13 องศา 45 ลิปดา 22.7 ฟิลิปดา", 13 + 45 / 60 + 22.7 / 3600),
    ("๑๓ องศา ๔๕ ลิปดา ๒๒.๗ ฟิลิปดา เหนือ".replace(" เหนือ", ""), 13 + 45 / 60 + 22.7 / 3600),
    ("100°30'06\"E", 100 + 30 / 60 + 6 / 3600),
    ("N13°45.5'", 13 + 45.5 / 60),
    ("13 45 22.7", 13 + 45 / 60 + 22.7 / 3600),
])
def test_angles_as_registries_write_them(text, expected):
    value, _ = coords.parse_angle(text)
    assert value == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("text", ["", "abc", "13°75'", "13°45'61\"", "สามสิบ"])
def test_unreadable_angles_are_refused(text):
    with pytest.raises(coords.CoordinateError):
        coords.parse_angle(text)


def test_swapped_lat_lon_is_fixed_with_a_warning():
    pos = coords.resolve(lat="102.0979", lon="14.9736")
    assert (pos.lat, pos.lon) == (14.9736, 102.0979)
    assert "swapped" in pos.warnings[0][1]


def test_outside_thailand_keeps_no_position():
    pos = coords.resolve(lat="48.85", lon="2.35")
    assert pos.lat is None and pos.text == "48.85, 2.35"
    assert "outside Thailand" in pos.warnings[0][1]


def test_utm_zones_and_indian_1975():
    z47 = coords.resolve(east="670000", north="1521000", zone="47N")
    assert z47.system == "EPSG:32647"
    assert (z47.lat, z47.lon) == pytest.approx((13.7533, 100.5724), abs=1e-3)
    z48 = coords.resolve(east="196000", north="1657000", zone="48")
    assert z48.system == "EPSG:32648" and 14.9 < z48.lat < 15.0 and 102.0 < z48.lon < 102.2
    indian = coords.resolve(east="670000", north="1521000", zone="47", crs=24047)
    assert indian.system == "EPSG:24047"
    # Indian 1975 sits a few hundred metres from WGS84 here: a real, measurable shift.
    assert 100 < abs(indian.lon - z47.lon) * 108_000 + abs(indian.lat - z47.lat) * 110_000 < 1000


def test_utm_in_the_lat_lon_columns_and_swapped():
    pos = coords.resolve(lat="670000", lon="1521000", zone="47")
    assert pos.system == "EPSG:32647" and pos.lat == pytest.approx(13.7533, abs=1e-3)


def test_combined_column():
    pos = coords.resolve(latlon="14°58'25\"N, 102°05'52\"E")
    assert pos.lat == pytest.approx(14.9736, abs=1e-3) and pos.system == "EPSG:4326 DMS"


def test_missing_position_is_a_warning_not_an_error():
    pos = coords.resolve()
    assert pos.lat is None and pos.warnings[0][0] == "position"


# -- properties ----------------------------------------------------------------------------

lats = st.floats(min_value=5.7, max_value=20.4, allow_nan=False)
lons = st.floats(min_value=97.4, max_value=105.6, allow_nan=False)


@given(lats, lons)
def test_decimal_round_trip_in_any_digit_script(lat, lon):
    text_lat, text_lon = f"{lat:.6f}", f"{lon:.6f}"
    for a, b in ((text_lat, text_lon), (to_thai(text_lat), to_thai(text_lon))):
        pos = coords.resolve(lat=a, lon=b)
        assert pos.lat == pytest.approx(lat, abs=1e-6) and pos.lon == pytest.approx(lon, abs=1e-6)
        swapped = coords.resolve(lat=b, lon=a)
        assert (swapped.lat, swapped.lon) == (pos.lat, pos.lon)


@given(st.integers(5, 20), st.integers(0, 59), st.floats(0, 59.99, allow_nan=False),
       st.sampled_from(["{d}°{m}'{s}\"", "{d}° {m}′ {s}″", "{d}°{m}’{s}”",
                        "{d} องศา {m} ลิปดา {s} ฟิลิปดา", "{d}°{m}'{s}\"N"]),
       st.booleans())
def test_dms_in_every_notation(d, m, s, pattern, thai):
    text = pattern.format(d=d, m=m, s=f"{s:.2f}")
    if thai:
        text = to_thai(text)
    value, was_dms = coords.parse_angle(text)
    assert was_dms
    assert value == pytest.approx(d + m / 60 + round(s, 2) / 3600, abs=1e-9)


@given(st.floats(150_000, 830_000), st.floats(650_000, 2_250_000), st.sampled_from([47, 48]))
def test_utm_results_are_always_in_thailand_or_absent(east, north, zone):
    pos = coords.resolve(east=f"{east:.1f}", north=f"{north:.1f}", zone=str(zone))
    if pos.lat is None:
        assert pos.warnings
    else:
        assert coords.in_thailand(pos.lat, pos.lon)


@given(st.text(alphabet=THAI + "0123456789 .,-abc", max_size=30))
def test_thai_digits_become_arabic_and_nothing_else_changes(text):
    out = thai_digits(text)
    assert not any(c in THAI for c in out)
    assert len(out) == len(text)
    assert [c for c in out if not c.isdigit()] == [c for c in text if not (c.isdigit() or c in THAI)]


@given(st.text(max_size=40))
def test_cell_text_is_idempotent_and_never_raises(text):
    once = cell_text(text)
    assert cell_text(once) == once
    assert once == once.strip()


@given(st.text(max_size=40))
def test_angle_parser_never_raises_anything_but_coordinate_error(text):
    try:
        coords.parse_angle(text)
    except coords.CoordinateError:
        pass


def test_header_keys_forgive_spaces_case_and_digits():
    assert header_key("  ละติจูด ") == header_key("ละติจูด")
    assert header_key("Camera ID") == header_key("camera_id") == "cameraid"


@given(st.floats(6, 20), st.floats(98, 105), st.integers(0, 12), st.integers(0, 12))
def test_plain_decimals_are_kept_to_seven_places(lat, lon, lat_places, lon_places):
    lat_text, lon_text = f"{lat:.{lat_places}f}", f"{lon:.{lon_places}f}"
    assert coords.plain_decimal(lat_text, lon_text) == (
        round(float(lat_text), 7), round(float(lon_text), 7), f"{lat_text}, {lon_text}")


# -- coordinates as people type them (issue 15) ----------------------------------------------
# One true position, Samut Prakan city hall (13.599130 N, 100.596820 E) = 13° 35' 56.868" N,
# 100° 35' 48.552" E = 13° 35.9478' N, 100° 35.8092' E; every form below must land within 5 m.
TRUE = (13.599130, 100.596820)


def metres(lat1, lon1, lat2, lon2):
    """Great-circle distance (haversine), written out here so the check does not lean on the
    code under test."""
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


@pytest.mark.parametrize("lat, lon", [
    ("13° 35’ 56.87’’ N", "100° 35’ 48.55’’ E"),           # Word's curly quotes, two of them
    ("13°35′56.87″N", "100°35′48.55″E"),                   # primes
    ("13°35'56.87”", "100°35'48.55”"),                     # a closing double quote
    ("13° 35´ 56.87´´", "100° 35´ 48.55´´"),               # acute accents
    ("13°35`56.87``", "100°35`48.55``"),                   # back-ticks
    ("13º35'56.87\"N", "100º35'48.55\"E"),                 # the ordinal sign for degrees
    ("13˚35'56.87\"", "100˚35'48.55\""),                   # the ring above
    ("13d35'56.87\"N", "100d35'48.55\"E"),                 # a plain d
    ("13 ° 35 ' 56.87 '' N", "100 ° 35 ' 48.55 '' E"),      # spaces everywhere
    ("N 13°35'56.87\"", "E 100°35'48.55\""),               # the hemisphere first
    ("๑๓ องศา ๓๕ ลิปดา ๕๖.๘๗ ฟิลิปดา", "๑๐๐ องศา ๓๕ ลิปดา ๔๘.๕๕ ฟิลิปดา"),
    ("13 องศา 35 ลิปดา 56.87 ฟิลิปดา เหนือ", "100 องศา 35 ลิปดา 48.55 ฟิลิปดา ตะวันออก"),
    ("Lat 13° 35’ 56.87’’ N", "Long 100° 35’ 48.55’’ E"),
    ("13-35-56.87", "100-35-48.55"),
    ("13:35:56.87", "100:35:48.55"),
    ("13°35.9478'N", "100°35.8092'E"),                     # degrees and decimal minutes
    ("13 35.9478", "100 35.8092"),
    ("13,599130", "100,596820"),                           # decimal comma
    ("13°35'56,87\"", "100°35'48,55\""),                   # decimal comma in the seconds
    ("100.596820", "13.599130"),                           # swapped columns
    ("100°35'48.55\"E", "13°35'56.87\"N"),                 # swapped, in DMS
])
def test_two_column_forms_land_within_5_m(lat, lon):
    pos = coords.resolve(lat=lat, lon=lon)
    assert pos.lat is not None, pos.warnings
    assert metres(pos.lat, pos.lon, *TRUE) < 5


@pytest.mark.parametrize("cell", [
    "13.599130, 100.596820",                 # copied from Google Maps
    "13.599130 100.596820",
    "(13.599130, 100.596820)",
    "13.599130,100.596820",
    "100.596820, 13.599130",                 # lon, lat (GeoJSON order)
    "13,599130; 100,596820",                 # decimal commas, semicolon
    "13,599130, 100,596820",                 # decimal commas, comma
    "13°35'56.87\"N 100°35'48.55\"E",
    "13° 35’ 56.87’’ N, 100° 35’ 48.55’’ E",
    "https://maps.google.com/?q=13.599130,100.596820",
    "https://www.google.com/maps?q=loc:13.599130,100.596820&z=17",
    "https://www.google.com/maps/search/?api=1&query=13.599130%2C100.596820",
    "https://www.google.com/maps/@13.599130,100.596820,17z",
    # The place pin (!3d!4d) is the camera; the @ viewport is only where the map was centred.
    "https://www.google.com/maps/place/%E0%B8%A8%E0%B8%B2%E0%B8%A5%E0%B8%B2%E0%B8%81%E0%B8%A5"
    "%E0%B8%B2%E0%B8%87/@13.6012,100.5921,15z/data=!4m6!3m5!1s0x30e2a1:0x4f2!8m2!3d13.59913"
    "!4d100.59682!16s%2Fg%2F11c",
    "https://www.google.com/maps/place/13%C2%B035'56.9%22N+100%C2%B035'48.6%22E/@13.6,100.6,17z",
    "geo:13.599130,100.596820",
    "ดูตำแหน่ง https://maps.google.com/?q=13.599130,100.596820 ครับ",
])
def test_one_cell_forms_land_within_5_m(cell):
    pos = coords.resolve(latlon=cell)
    assert pos.lat is not None, pos.warnings
    assert metres(pos.lat, pos.lon, *TRUE) < 5


def test_a_whole_position_pasted_into_the_latitude_column():
    pos = coords.resolve(lat="13.599130, 100.596820", lon="")
    assert metres(pos.lat, pos.lon, *TRUE) < 5 and pos.warnings == []


def test_short_map_link_is_named_in_one_line():
    pos = coords.resolve(latlon="https://maps.app.goo.gl/x7PhJk2Lw9")
    assert pos.lat is None
    ((fld, message, params),) = pos.warnings
    assert "cannot be opened offline" in message % params
    assert "maps.app.goo.gl/x7PhJk2Lw9" in message % params


@pytest.mark.parametrize("cell", ["https://www.google.com/maps/place/Siam+Paragon/",
                                  "13.5 100.5 14.5", "13.5 ; 100.5 ; 7"])
def test_one_cell_without_a_position_is_refused(cell):
    pos = coords.resolve(latlon=cell)
    assert pos.lat is None and "unreadable coordinate" in pos.warnings[0][1]


def test_utm_with_thousands_commas_is_not_read_as_decimal_commas():
    pos = coords.resolve(lat="1,521,000", lon="670,000", zone="47")
    assert pos.system == "EPSG:32647" and pos.lat == pytest.approx(13.7533, abs=1e-3)
    # Three decimals after a decimal comma stay degrees.
    near = coords.resolve(lat="13,599", lon="100,597")
    assert metres(near.lat, near.lon, *TRUE) < 150
