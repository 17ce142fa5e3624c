"""Find ONVIF cameras on one wired link: a WS-Discovery Probe and its ProbeMatches.

Written here rather than taken from the WSDiscovery package because that one sends on
every interface it finds (the node must never probe the hotspot's tablets), waits with a
fixed sleep in a thread of its own and parses whatever arrives with minidom, with no cap
on a reply. This is one UDP socket tied to the wired interface (SO_BINDTODEVICE and the
multicast interface by index), one deadline for the whole search, a size cap checked on
each datagram before any parsing, and defusedxml (no DTD, no entity expansion) for the
XML.

Message shapes follow WS-Discovery 2005/04 as ONVIF uses it (the Probe for
dn:NetworkVideoTransmitter, ProbeMatch with EndpointReference, Types, Scopes, XAddrs);
replies in the 2009/01 (WS-DD 1.1) namespace are read too, since elements are matched by
local name. Maker and model come from the ONVIF scopes onvif://www.onvif.org/name/...,
/hardware/... and /MAC/..., as cameras fill them in (Hikvision: "name/HIKVISION%20<model>",
Dahua: "name/Dahua", Axis: "name/AXIS%20<model>").
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import time
import uuid
from dataclasses import asdict, dataclass, field
from urllib.parse import unquote, urlsplit

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from ..errors import BadInput
from ..streamcheck.brands import match_brand

GROUP = "239.255.255.250"
PORT = 3702
RESEND_AFTER_S = 0.5  # SOAP-over-UDP repeats a multicast; a camera busy at t=0 gets a second
MAX_FIELD = 200
MAX_XADDRS = 8
MAX_SCOPES = 64
MAX_DATAGRAMS = 512  # a flood from one broken device must not keep the loop busy
MAX_CAMERAS = 256
PROBE_MATCHES = ("http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches",
                 "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/ProbeMatches")

_PROBE = """<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
 xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"
 xmlns:dn="http://www.onvif.org/ver10/network/wsdl">
<s:Header>
<a:MessageID>{message_id}</a:MessageID>
<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>
<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>
</s:Header>
<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>
</s:Envelope>"""


@dataclass
class Camera:
    endpoint: str            # the EndpointReference address (urn:uuid:...), the dedup key
    ip: str                  # where the reply came from
    xaddr: str | None        # the device service address ONVIF should use
    xaddrs: list[str] = field(default_factory=list)
    manufacturer: str | None = None
    model: str | None = None
    mac: str | None = None
    brand: str | None = None  # our brand key, when the scopes name a maker we know
    onvif_port: int = 80

    def public(self) -> dict:
        return asdict(self)


@dataclass
class Search:
    interface: str
    source: str               # the node's address the probe went out from
    cameras: list[Camera] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # one line per reply not used

    def public(self) -> dict:
        return {"interface": self.interface, "source": self.source,
                "cameras": [c.public() for c in self.cameras], "rejected": self.rejected}


def probe_message(message_id: str) -> bytes:
    return _PROBE.format(message_id=message_id).encode()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(value: str | None, limit: int = MAX_FIELD) -> str | None:
    text = " ".join((value or "").split())
    return text[:limit] or None


def parse_probe_matches(data: bytes, *, relates_to: str | None = None,
                        max_bytes: int = 32768) -> list[dict]:
    """The ProbeMatch entries of one reply as dicts (endpoint, types, scopes, xaddrs).
    Raises ValueError with a short reason for a reply that is not one we can use."""
    if len(data) > max_bytes:
        raise ValueError(f"reply of {len(data)} bytes is over the {max_bytes}-byte cap")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise ValueError("reply declares a DTD or entities (refused)") from None
    except SafeET.ParseError as exc:
        raise ValueError(f"reply is not well-formed XML ({exc})") from None
    header = {}
    body = None
    for part in root:
        name = _local(part.tag)
        if name == "Header":
            header = {_local(h.tag): (h.text or "").strip() for h in part}
        elif name == "Body":
            body = part
    if header.get("Action") not in PROBE_MATCHES:
        raise ValueError(f"not a ProbeMatches reply (action {_text(header.get('Action'), 80)})")
    if relates_to is not None and header.get("RelatesTo") != relates_to:
        raise ValueError("reply to another probe")
    matches = []
    for element in body.iter() if body is not None else ():
        if _local(element.tag) != "ProbeMatch":
            continue
        found = {"endpoint": None, "types": "", "scopes": [], "xaddrs": []}
        for child in element.iter():
            name = _local(child.tag)
            if name == "Address" and found["endpoint"] is None:
                found["endpoint"] = _text(child.text)
            elif name == "Types":
                found["types"] = _text(child.text, 400) or ""
            elif name == "Scopes":
                found["scopes"] = (child.text or "").split()[:MAX_SCOPES]
            elif name == "XAddrs":
                found["xaddrs"] = [x[:300] for x in (child.text or "").split()[:MAX_XADDRS]]
        matches.append(found)
    if not matches:
        raise ValueError("ProbeMatches reply without a ProbeMatch")
    return matches


def identity_from_scopes(scopes: list[str]) -> dict:
    """Maker, model and MAC as the ONVIF scopes give them."""
    values: dict[str, str] = {}
    for scope in scopes:
        lowered = scope.lower()
        for key in ("name", "hardware", "mac"):
            prefix = f"onvif://www.onvif.org/{key}/"
            if lowered.startswith(prefix) and key not in values:
                values[key] = _text(unquote(scope[len(prefix):]).replace("_", " ")) or ""
    name, hardware = values.get("name") or None, values.get("hardware") or None
    manufacturer = name
    if name and hardware and name.lower().endswith(hardware.lower()) and \
            len(name) > len(hardware):
        manufacturer = name[: -len(hardware)].strip() or name  # "HIKVISION DS-2CD..."
    mac = values.get("mac") or None
    return {"manufacturer": manufacturer, "model": hardware,
            "mac": mac.lower().replace("-", ":") if mac else None,
            "brand": match_brand(manufacturer) or match_brand(hardware)}


def _pick_xaddr(xaddrs: list[str], source_ip: str) -> tuple[str | None, int]:
    """The device service address to use: the one on the address the reply came from,
    else the first routable IPv4 one; IPv6 link-local ones need a zone we do not keep."""
    def host_of(url: str):
        try:
            parts = urlsplit(url)
            return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None, 80
    usable = []
    for url in xaddrs:
        host, port = host_of(url)
        if not host or not url.lower().startswith(("http://", "https://")):
            continue
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            continue
        if address.version == 6 and address.is_link_local:
            continue
        usable.append((url, host, port, address.version))
    for url, host, port, _ in usable:
        if host == source_ip:
            return url, port
    for url, _, port, version in usable:
        if version == 4:
            return url, port
    return (usable[0][0], usable[0][2]) if usable else (None, 80)


def camera_from_match(match: dict, source_ip: str) -> Camera:
    # The IP shown is where the reply came from, not what the reply claims: a device
    # cannot point the surveyor at some other machine by writing its address in XAddrs.
    xaddr, port = _pick_xaddr(match["xaddrs"], source_ip)
    return Camera(endpoint=match["endpoint"] or f"ip:{source_ip}", ip=source_ip, xaddr=xaddr,
                  xaddrs=match["xaddrs"], onvif_port=port,
                  **identity_from_scopes(match["scopes"]))


def interface_ipv4(interface: str) -> str:
    """The first IPv4 address of `interface` (the probe's source; a camera answers it)."""
    import fcntl

    name = interface.encode()[:15]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            packed = fcntl.ioctl(probe.fileno(), 0x8915,  # SIOCGIFADDR
                                 struct.pack("256s", name))
        except OSError as exc:
            if exc.errno == 19:  # ENODEV
                raise BadInput("There is no network interface %(interface)s on this node",
                               interface=interface[:30]).at("interface") from None
            raise BadInput("The wired port %(interface)s has no IPv4 address yet"
                           " (is the cable in?)", interface=interface[:30]
                           ).at("interface") from None
    return socket.inet_ntoa(packed[20:24])


def check_interface(interface: str) -> str:
    text = (interface or "").strip()
    if not text or len(text) > 15 or not all(c.isalnum() or c in "-_.@" for c in text):
        raise BadInput("%(interface)s is not a network interface name",
                       interface=text[:30] or "''").at("interface")
    return text


def discover(interface: str, *, timeout_s: float = 3.0, max_reply_bytes: int = 32768,
             hotspot_address: str | None = None, clock=time.monotonic) -> Search:
    """Probe the link on `interface` and collect ProbeMatches until `timeout_s` has passed.
    Cameras are de-duplicated by their endpoint reference, in the order they answered.
    An interface holding `hotspot_address` is the tablets' WiFi: refused, never probed."""
    interface = check_interface(interface)
    source = interface_ipv4(interface)
    if hotspot_address and source == hotspot_address:
        raise BadInput("%(interface)s is the hotspot, not the wired port",
                       interface=interface).at("interface")
    index = socket.if_nametoindex(interface)
    message_id = f"uuid:{uuid.uuid4()}"
    search = Search(interface=interface, source=source)
    seen: dict[str, Camera] = {}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            # Replies from another interface (the hotspot) are not ours to read.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
        except PermissionError:
            pass  # older kernels want CAP_NET_RAW; the source address below still ties it
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                        struct.pack("=4s4si", b"\0" * 4, socket.inet_aton(source), index))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # this link only
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        sock.bind((source, 0))
        message = probe_message(message_id)
        deadline = clock() + timeout_s
        resend_at = clock() + RESEND_AFTER_S
        sock.sendto(message, (GROUP, PORT))
        buffer = bytearray(max_reply_bytes + 1)
        for _ in range(MAX_DATAGRAMS):
            now = clock()
            if now >= deadline:
                break
            if resend_at and now >= resend_at:
                sock.sendto(message, (GROUP, PORT))
                resend_at = 0.0
            wait = deadline - now
            if resend_at:
                wait = min(wait, max(0.01, resend_at - now))
            sock.settimeout(wait)
            try:
                size, (sender, _) = sock.recvfrom_into(buffer)
            except (socket.timeout, BlockingIOError):
                continue
            if size > max_reply_bytes:
                search.rejected.append(f"{sender}: reply over {max_reply_bytes} bytes (ignored)")
                continue
            try:
                matches = parse_probe_matches(bytes(buffer[:size]), relates_to=message_id,
                                              max_bytes=max_reply_bytes)
            except ValueError as exc:
                search.rejected.append(f"{sender}: {exc}")
                continue
            for match in matches:
                camera = camera_from_match(match, sender)
                if camera.endpoint in seen:
                    known = seen[camera.endpoint]
                    known.xaddrs += [x for x in camera.xaddrs if x not in known.xaddrs]
                    known.xaddrs = known.xaddrs[:MAX_XADDRS]
                elif len(seen) < MAX_CAMERAS:
                    seen[camera.endpoint] = camera
                    search.cameras.append(camera)
    finally:
        sock.close()
    return search
