"""`survey-node label` and the hotspot profile: QR codes a phone can actually read."""

from __future__ import annotations

import io
import re

import pytest

from survey_node import label
from survey_node.errors import BadInput
from tests.appliance_support import SYSTEMD
from tests.conftest import require_system

zxingcpp = pytest.importorskip("zxingcpp")


def parse_wifi(payload: str) -> dict:
    """A reader's view of a WIFI: payload (ZXing spec): fields split on unescaped ';'."""
    assert payload.startswith("WIFI:") and payload.endswith(";;")
    fields = {}
    for part in re.split(r"(?<!\\);", payload[5:-2]):
        key, _, value = part.partition(":")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        fields[key] = re.sub(r"\\(.)", r"\1", value)
    return fields


def decode_png(png: bytes) -> list[str]:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return sorted(r.text for r in zxingcpp.read_barcodes(image))


@pytest.mark.parametrize("ssid,passphrase", [
    ("SurveyNode-3C4D", "k7xm-4pqa-zt9c"),
    ('Cafe;Wifi,"x":y\\z', 'p;a,s"s:w\\rd'),
    ("CAFE", "DEADBEEF"),          # reads as hex: quoted, as the spec asks
    ("Node 7", "space in it ok"),
])
def test_wifi_payload_round_trips_through_a_real_qr_decoder(ssid, passphrase):
    payload = label.wifi_qr_payload(ssid, passphrase)
    fields = parse_wifi(payload)
    assert fields == {"T": "WPA", "S": ssid, "P": passphrase}
    import segno

    buf = io.BytesIO()
    segno.make(payload, error="m").save(buf, kind="png", scale=4)
    assert decode_png(buf.getvalue()) == [payload]


def test_payload_escapes_exactly_the_spec_characters():
    assert label.wifi_qr_payload("a;b", "c:d,e") == r"WIFI:T:WPA;S:a\;b;P:c\:d\,e;;"
    assert label.wifi_qr_payload("ABCD", "12345678") == 'WIFI:T:WPA;S:"ABCD";P:"12345678";;'


def test_generated_passphrases_are_wpa2_valid_and_unambiguous():
    seen = {label.new_passphrase() for _ in range(200)}
    assert len(seen) == 200
    for p in seen:
        assert label.validate_passphrase(p) == p
        assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", p)
        assert not set(p) & set("01ilo")


def test_bad_ssid_and_passphrase_are_one_line_errors():
    with pytest.raises(BadInput, match="1 to 32 bytes"):
        label.validate_ssid("x" * 33)
    with pytest.raises(BadInput, match="printable ASCII"):
        label.validate_ssid("semi;colon")
    with pytest.raises(BadInput, match="8 to 63"):
        label.validate_passphrase("short")


def test_label_command_writes_a_page_with_both_codes(cli, data_dir, tmp_path):
    out = tmp_path / "label.html"
    made = cli("hotspot", "profile", "--data-dir", data_dir, "--template",
               SYSTEMD / "networkmanager" / "survey-node-hotspot.nmconnection.in")
    assert made.exit_code == 0, made.output
    result = cli("label", "--data-dir", data_dir, "--out", out)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    from survey_node import config as config_mod

    cfg = config_mod.load(data_dir)
    ssid, passphrase = label.hotspot_ssid(cfg), label.wifi_passphrase(cfg)
    assert f"ssid={ssid}" in made.output and f"psk={passphrase}" in made.output
    assert f'id="ssid">{ssid}<' in page and f'id="passphrase">{passphrase}<' in page
    assert page.count("<svg") == 2 and "http://10.42.0.1/" in page
    assert "size: 105mm 148mm" in page
    # Thai prints on a computer without Thai fonts: the UI's Sarabun is inlined when built.
    vendor = SYSTEMD.parent / "web/static/vendor/sarabun/files/sarabun-thai-400-normal.woff2"
    assert ("data:font/woff2;base64," in page) == vendor.exists()


def test_label_without_passphrase_says_what_to_do(cli, data_dir, tmp_path):
    result = cli("label", "--data-dir", data_dir, "--out", tmp_path / "x.html")
    assert result.exit_code == 2
    assert "hotspot profile" in result.output and "Traceback" not in result.output


def test_label_escapes_html(cli, data_dir, tmp_path):
    out = tmp_path / "l.html"
    result = cli("label", "--data-dir", data_dir, "--out", out, "--ssid", "<b>x</b>",
                 "--passphrase-stdin", input="a&b<c>d9\n")
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page and "a&amp;b&lt;c&gt;d9" in page


@pytest.mark.browser
@pytest.mark.parametrize("paper", ["a6", "a4"])
def test_printed_label_scans_in_a_browser(cli, data_dir, tmp_path, paper):
    """Open the label in Chromium, as an admin would before printing; the screenshot's QR
    codes decode to the WiFi join string and the UI's address, and the label fits its paper."""
    require_system("/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    out = tmp_path / f"label-{paper}.html"
    ssid, passphrase = 'Field "7";A', "k7xm-4pqa-zt9c"
    result = cli("label", "--data-dir", data_dir, "--out", out, "--paper", paper,
                 "--ssid", ssid, "--passphrase-stdin", input=passphrase + "\n")
    assert result.exit_code == 0, result.output
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 768, "height": 1024})
            page.goto(out.as_uri())
            fits = page.evaluate("""() => { const l = document.querySelector('.label');
                return l.scrollHeight <= l.clientHeight + 1 && l.scrollWidth <= l.clientWidth + 1; }""")
            png = page.locator(".label").screenshot()
        finally:
            browser.close()
    assert fits
    assert decode_png(png) == sorted([label.wifi_qr_payload(ssid, passphrase), "http://10.42.0.1/"])


def test_hotspot_profile_template_fills_every_field():
    template = (SYSTEMD / "networkmanager" / "survey-node-hotspot.nmconnection.in").read_text()
    text = label.render_hotspot_profile(template, ssid="SurveyNode-AB12", passphrase="k7xm-4pqa-zt9c",
                                        address="10.42.0.1", connection_uuid="u-1")
    body = text.split("[connection]", 1)[1]
    assert "@" not in body
    for line in ("ssid=SurveyNode-AB12", "psk=k7xm-4pqa-zt9c", "address1=10.42.0.1/24",
                 "mode=ap", "method=shared", "key-mgmt=wpa-psk", "uuid=u-1"):
        assert f"\n{line}\n" in body
    with pytest.raises(BadInput, match="IPv4"):
        label.render_hotspot_profile(template, ssid="a", passphrase="12345678a", address="nope")
