"""Where each camera maker serves its RTSP streams, and which maker a registry means.

Registry brand cells are typed by people: "HIKVISION", "Hik", "ไฮค์วิชั่น", "Dahua/Imou",
"HIKVISION DS-2CD2143G0-I". :func:`match_brand` reads them loosely. The paths come from
the makers' published RTSP URL formats (channel 1, main stream first, then the
sub-stream, then older firmwares' forms); the port is 554 unless the surveyor gives one.
OEM names that ship the same firmware (HiLook and HiWatch are Hikvision's, Imou, Amcrest
and Lorex run Dahua's) share their maker's paths.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from ..errors import BadInput
from ..i18n import N_

MAX_HOST_LENGTH = 253
MAX_CREDENTIAL_LENGTH = 128
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                          r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


@dataclass(frozen=True)
class Brand:
    key: str
    label: str  # message id
    paths: tuple[str, ...]  # main stream first
    ports: tuple[int, ...] = (554,)
    aliases: tuple[str, ...] = ()


BRANDS = {
    b.key: b for b in (
        Brand("hikvision", N_("Hikvision (also HiLook, HiWatch)"),
              ("/Streaming/Channels/101", "/Streaming/Channels/102",
               "/h264/ch1/main/av_stream", "/h264/ch1/sub/av_stream"),
              aliases=("hikvision", "hikvison", "hikvission", "hik", "hilook", "hiwatch",
                       "ไฮค์วิชั่น", "ไฮค์วิชัน", "ไฮวิชั่น", "ไฮคฺวิชั่น", "ฮิควิชั่น", "ไฮค์")),
        Brand("dahua", N_("Dahua (also Imou, Amcrest, Lorex)"),
              ("/cam/realmonitor?channel=1&subtype=0", "/cam/realmonitor?channel=1&subtype=1"),
              aliases=("dahua", "dahau", "imou", "amcrest", "lorex", "ดาฮัว", "ดาหัว",
                       "ต้าหัว", "ดาฮั้ว")),
        Brand("uniview", N_("Uniview (UNV)"),
              ("/unicast/c1/s0/live", "/unicast/c1/s1/live", "/media/video1",
               "/media/video2"),
              aliases=("uniview", "unv", "ยูนิวิว", "ยูนิวิว", "ยูนิวิวส์")),
        Brand("hanwha", N_("Hanwha / Wisenet (Samsung)"),
              ("/profile2/media.smp", "/profile1/media.smp", "/profile3/media.smp"),
              aliases=("hanwha", "wisenet", "samsung", "techwin", "ฮันวา", "ซัมซุง")),
        Brand("axis", N_("Axis"),
              ("/axis-media/media.amp", "/axis-media/media.amp?videocodec=h264"),
              aliases=("axis", "แอกซิส", "แอ็กซิส", "แอคซิส")),
        Brand("tplink", N_("TP-Link VIGI / Tapo"), ("/stream1", "/stream2"),
              aliases=("tplink", "tp-link", "vigi", "tapo", "ทีพีลิงค์", "ทีพีลิ้งค์", "วีจี้")),
        # Not a maker: ask the camera itself (ONVIF GetStreamUri) on its web port.
        Brand("onvif", N_("Ask the camera over ONVIF (any maker)"), (), ports=(80,)),
        # Paths many OEM and ONVIF-profile cameras answer on; tried when the maker is unknown.
        Brand("generic", N_("Other or unknown maker"),
              ("/live/ch00_0", "/11", "/12", "/h264", "/live.sdp", "/onvif1",
               "/media/video1", "/live", "/stream1"),
              ports=(554, 8554)),
    )
}
DEFAULT_BRAND = "generic"
ONVIF = "onvif"


def _fold(text: str) -> str:
    """Lower case, no accents or marks, letters and digits only (Thai kept)."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in text if ch.isalnum() or unicodedata.category(ch) == "Mn")


def match_brand(text: str | None) -> str | None:
    """The brand key a registry cell names, or None when it names none we know."""
    raw = (text or "").strip()
    if not raw:
        return None
    whole = _fold(raw)
    tokens = {_fold(t) for t in re.split(r"[\s/,;()|+]+", raw) if t}
    for brand in BRANDS.values():
        for alias in brand.aliases:
            folded = _fold(alias)
            # Short aliases ("hik", "unv") must be a whole word, so "unvisited" or a
            # model number does not pick a maker.
            if folded in tokens or (len(folded) >= 5 and folded in whole):
                return brand.key
    return None


def check_host(host: str) -> str:
    """A camera address typed on site: an IPv4/IPv6 address or a host name, nothing else."""
    text = (host or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text:
        raise BadInput("Type the camera's IP address").at("host")
    if len(text) > MAX_HOST_LENGTH:
        raise BadInput("The camera's address is too long").at("host")
    if _IPV4_RE.match(text):
        if any(int(part) > 255 for part in text.split(".")):
            raise BadInput("%(host)s is not a valid IP address", host=text[:60]).at("host")
        return text
    if ":" in text and re.fullmatch(r"[0-9A-Fa-f:.]+", text):
        return text
    if not _HOSTNAME_RE.match(text):
        raise BadInput("%(host)s is not an IP address or host name", host=text[:60]).at("host")
    return text


def check_port(port) -> int | None:
    if port in (None, ""):
        return None
    try:
        value = int(str(port).strip())
    except ValueError:
        raise BadInput("Port %(port)r is not a number", port=str(port)[:20]).at("port") from None
    if not 0 < value < 65536:
        raise BadInput("Port %(port)s is not between 1 and 65535", port=value).at("port")
    return value


def check_credentials(user: str, password: str) -> tuple[str, str]:
    user, password = user or "", password or ""
    if len(user) > MAX_CREDENTIAL_LENGTH or len(password) > MAX_CREDENTIAL_LENGTH:
        raise BadInput("The user name or password is longer than %(max)s characters",
                       max=MAX_CREDENTIAL_LENGTH).at("password")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in user + password):
        raise BadInput("The user name or password contains control characters").at("password")
    return user, password


def candidate_urls(brand: str, host: str, *, port: int | None = None, user: str = "",
                   password: str = "") -> list[str]:
    """The RTSP URLs to try for a brand, in order: each port, main stream first."""
    if brand not in BRANDS:
        raise BadInput("Brand %(brand)r is not one of %(known)s", brand=str(brand)[:40],
                       known=", ".join(BRANDS)).at("brand")
    spec = BRANDS[brand]
    host = check_host(host)
    netloc_host = f"[{host}]" if ":" in host else host
    auth = ""
    if user:
        # Percent-encoded so a password with @ : / # in it stays one URL (FFmpeg decodes it).
        auth = quote(user, safe="")
        auth += f":{quote(password, safe='')}@" if password else "@"
    ports = (port,) if port else spec.ports
    if brand == ONVIF:  # one exchange with the camera's web service, not a list of paths
        return [f"onvif://{auth}{netloc_host}:{ports[0]}"]
    return [f"rtsp://{auth}{netloc_host}:{p}{path}" for p in ports for path in spec.paths]
