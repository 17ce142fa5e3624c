"""The hotspot: its per-node SSID and passphrase, its NetworkManager profile, and the label.

The label is what a survey team reads on the box: the WiFi name and passphrase, a QR code
that joins the WiFi and one that opens the UI. It is a self-contained HTML page (inline SVG,
no network, no fonts fetched) sized for A6 or A4 paper, printed from any browser.
QR codes are made with segno (pure Python, no dependencies, SVG output).
"""

from __future__ import annotations

import base64
import html
import ipaddress
import os
import re
import secrets
import string
import uuid as uuid_mod
from pathlib import Path

import segno

from .config import Config, read_secret
from .errors import BadInput, ConfigError

PASSPHRASE_SECRET = "wifi_passphrase"
# Lower-case letters and digits a person cannot misread on a printed label (no 0/o, 1/l/i).
PASSPHRASE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PAPER = {"a6": (105, 148, 1.0), "a4": (210, 297, 2.0)}  # width mm, height mm, scale


# -- SSID and passphrase -----------------------------------------------------------------


def hotspot_ssid(config: Config) -> str:
    """The configured SSID, or ``SurveyNode-`` and the last 4 characters of the node id."""
    if config.hotspot.ssid:
        return validate_ssid(config.hotspot.ssid)
    tail = re.sub(r"[^0-9A-Za-z]", "", config.node.id)[-4:].upper()
    if not tail:
        raise ConfigError("The node has no id: run `survey-node init` first")
    return f"SurveyNode-{tail}"


def new_passphrase(groups: int = 3, size: int = 4) -> str:
    """``k7xm-4pqa-zt9c``: ~59 bits, easy to type on a tablet, never mistaken for hex."""
    return "-".join(
        "".join(secrets.choice(PASSPHRASE_ALPHABET) for _ in range(size)) for _ in range(groups)
    )


def wifi_passphrase(config: Config) -> str:
    """The hotspot passphrase (from $CREDENTIALS_DIRECTORY or the data dir's secrets)."""
    try:
        return validate_passphrase(read_secret(config, PASSPHRASE_SECRET))
    except ConfigError:
        raise ConfigError(
            "No WiFi passphrase yet: run `survey-node hotspot profile` (first boot does)"
        ) from None


def ensure_wifi_passphrase(config: Config) -> tuple[str, bool]:
    """The passphrase, made (mode 0600) when missing; and whether it was made now."""
    path = config.secrets_dir / PASSPHRASE_SECRET
    if path.exists():
        return wifi_passphrase(config), False
    config.secrets_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(config.secrets_dir, 0o700)
    passphrase = new_passphrase()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(passphrase + "\n")
    return passphrase, True


def validate_ssid(ssid: str, keyfile: bool = True) -> str:
    """1-32 bytes (802.11), no control characters. For the NetworkManager keyfile also
    printable ASCII without \\ or ; (it reads ';' as a byte list and '\\' as an escape), so
    every tablet shows the name as printed."""
    if not 1 <= len(ssid.encode("utf-8")) <= 32:
        raise BadInput("WiFi name %(ssid)r must be 1 to 32 bytes long", ssid=ssid)
    if any(ord(c) < 32 or ord(c) == 127 for c in ssid):
        raise BadInput("WiFi name %(ssid)r holds a control character", ssid=ssid)
    if keyfile and (any(c not in string.printable or c in "\\;" for c in ssid) or ssid != ssid.strip()):
        raise BadInput("WiFi name %(ssid)r may only hold printable ASCII, without \\ ; or"
                       " spaces at the ends", ssid=ssid)
    return ssid


def validate_passphrase(passphrase: str) -> str:
    # WPA2-PSK: 8 to 63 printable ASCII characters (64 would be a raw hex key).
    if not 8 <= len(passphrase) <= 63 or any(not " " <= c <= "~" for c in passphrase):
        raise BadInput("WiFi passphrase must be 8 to 63 printable ASCII characters")
    return passphrase


# -- QR codes ------------------------------------------------------------------------------


_WIFI_SPECIAL = re.compile(r'([\\;,":])')


def _wifi_field(value: str) -> str:
    """Escape one field of a WIFI: payload (ZXing's "Barcode Contents" spec).

    ``\\ ; , " :`` get a backslash. A value that reads as hex is quoted, as the spec asks, so
    a reader does not take the SSID "CAFE" for the bytes CA FE.
    """
    escaped = _WIFI_SPECIAL.sub(r"\\\1", value)
    if re.fullmatch(r"[0-9A-Fa-f]+", value) and len(value) % 2 == 0:
        return f'"{escaped}"'
    return escaped


def wifi_qr_payload(ssid: str, passphrase: str, hidden: bool = False) -> str:
    """``WIFI:T:WPA;S:<ssid>;P:<passphrase>;;``: the text a phone camera joins a WiFi from."""
    payload = f"WIFI:T:WPA;S:{_wifi_field(ssid)};P:{_wifi_field(passphrase)};"
    if hidden:
        payload += "H:true;"
    return payload + ";"


def qr_svg(data: str) -> str:
    """An inline, size-less SVG QR code (error correction M or better, 4-module quiet zone)."""
    qr = segno.make(data, error="m", micro=False)
    return qr.svg_inline(scale=1, border=4, omitsize=True, dark="#000", light="#fff")


# -- the label -----------------------------------------------------------------------------


def node_url(config: Config) -> str:
    return f"http://{config.hotspot.address}/"


def label_fields(config: Config, *, ssid: str | None = None, passphrase: str | None = None,
                 url: str | None = None) -> dict:
    """What goes on the label; the node's own values unless given."""
    return {
        "node_name": config.node.name,
        "node_id": config.node.id,
        "ssid": validate_ssid(ssid, keyfile=False) if ssid else hotspot_ssid(config),
        "passphrase": validate_passphrase(passphrase) if passphrase else wifi_passphrase(config),
        "url": url or node_url(config),
        "hostname_url": f"http://{config.hotspot.hostname}/",
    }


def _thai_font_css() -> str:
    """The UI's own Thai font (Sarabun, from the npm assets) inlined, so the label reads the
    same on any computer that prints it, with or without Thai fonts; none when not built."""
    here = Path(__file__).resolve().parent
    rules = []
    for weight in (400, 700):
        name = f"static/vendor/sarabun/files/sarabun-thai-{weight}-normal.woff2"
        for web in (here / "web", here.parent / "web"):  # in the wheel, or in a checkout
            if (web / name).is_file():
                data = base64.b64encode((web / name).read_bytes()).decode("ascii")
                rules.append(
                    "@font-face { font-family: 'Sarabun'; font-weight: %d;"
                    " src: url(data:font/woff2;base64,%s) format('woff2');"
                    " unicode-range: U+0E01-0E5B, U+200C-200D, U+25CC; }" % (weight, data))
                break
    return "\n".join(rules)


def render_label(fields: dict, paper: str = "a6") -> str:
    """The printable label as a standalone HTML page with two inline SVG QR codes."""
    if paper not in PAPER:
        raise BadInput("Paper %(paper)s is not one of %(known)s", paper=paper, known=", ".join(PAPER))
    width, height, scale = PAPER[paper]
    e = html.escape
    wifi_qr = qr_svg(wifi_qr_payload(fields["ssid"], fields["passphrase"]))
    url_qr = qr_svg(fields["url"])
    return _LABEL_HTML.format(
        width=width, height=height, scale=scale, paper=paper.upper(),
        node_name=e(fields["node_name"]), node_id=e(fields["node_id"]),
        ssid=e(fields["ssid"]), passphrase=e(fields["passphrase"]),
        url=e(fields["url"]), hostname_url=e(fields["hostname_url"]),
        wifi_qr=wifi_qr, url_qr=url_qr, fonts=_thai_font_css(),
    )


_LABEL_HTML = """<!DOCTYPE html>
<html lang="th">
<head>
<meta charset="utf-8">
<title>WiFi {ssid} ({paper})</title>
<style>
  {fonts}
  @page {{ size: {width}mm {height}mm; margin: 0; }}
  :root {{ --s: {scale}; }}
  * {{ box-sizing: border-box; }}
  html, body {{ margin: 0; background: #fff; color: #000; }}
  body {{ font-family: "Sarabun", "Noto Sans Thai", "Noto Sans", sans-serif; }}
  .label {{ width: {width}mm; height: {height}mm; padding: calc(6mm * var(--s));
           display: flex; flex-direction: column; gap: calc(3mm * var(--s)); }}
  h1 {{ font-size: calc(5mm * var(--s)); margin: 0; }}
  .node {{ font-size: calc(3mm * var(--s)); }}
  .field {{ font-size: calc(3.2mm * var(--s)); }}
  .value {{ display: block; font-family: "DejaVu Sans Mono", monospace; font-weight: bold;
           font-size: calc(6mm * var(--s)); word-break: break-all; }}
  .codes {{ display: flex; justify-content: space-between; gap: calc(3mm * var(--s)); }}
  figure {{ margin: 0; width: calc(44mm * var(--s)); text-align: center;
           font-size: calc(2.8mm * var(--s)); }}
  figure svg {{ width: calc(44mm * var(--s)); height: calc(44mm * var(--s)); display: block; }}
  .url {{ font-family: "DejaVu Sans Mono", monospace; word-break: break-all; }}
</style>
</head>
<body>
<main class="label">
  <h1>WiFi เครื่องสำรวจกล้อง CCTV<br>CCTV survey node WiFi</h1>
  <div class="node">{node_name} &middot; {node_id}</div>
  <div class="field">ชื่อ WiFi / WiFi name <span class="value" id="ssid">{ssid}</span></div>
  <div class="field">รหัสผ่าน / Password <span class="value" id="passphrase">{passphrase}</span></div>
  <div class="codes">
    <figure id="wifi-qr">{wifi_qr}<figcaption>1. สแกนเพื่อเชื่อมต่อ WiFi<br>Scan to join the WiFi</figcaption></figure>
    <figure id="url-qr">{url_qr}<figcaption>2. สแกนเพื่อเปิดระบบสำรวจ<br>Scan to open the survey app</figcaption></figure>
  </div>
  <div class="field">หรือเปิดเบราว์เซอร์ที่ / Or open in a browser:<br>
    <span class="url">{url}</span><br><span class="url">{hostname_url}</span></div>
</main>
</body>
</html>
"""


# -- NetworkManager profile ----------------------------------------------------------------


def render_hotspot_profile(template: str, *, ssid: str, passphrase: str, address: str,
                           connection_uuid: str | None = None) -> str:
    """Fill the keyfile template's @SSID@, @PSK@, @ADDRESS@ and @UUID@ fields."""
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise BadInput("Hotspot address %(address)r is not an IPv4 address", address=address) from None
    values = {
        "@SSID@": validate_ssid(ssid),
        "@PSK@": validate_passphrase(passphrase),
        "@ADDRESS@": address,
        "@UUID@": connection_uuid or str(uuid_mod.uuid4()),
    }
    missing = [k for k in values if k not in template]
    if missing:
        raise BadInput("Hotspot template lacks %(fields)s", fields=", ".join(missing))
    for key, value in values.items():
        template = template.replace(key, value)
    return template
