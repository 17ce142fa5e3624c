"""A camera's WS-Discovery side for tests: answers a multicast Probe on 239.255.255.250:3702
with a unicast ProbeMatches, shaped as the WS-Discovery 2005/04 spec and the ONVIF core
spec (section "Device discovery") define it, and with the scopes real cameras fill in
(Hikvision "name/HIKVISION%20<model>" + MAC, Dahua "name/Dahua", Axis "name/AXIS%20<model>").

Each camera answers from its own address (its socket is bound to it), so a test with
several cameras on one link sees several sources. A camera can also be made to misbehave:
`reply="huge"` (a 60 kB datagram), `reply="malformed"` (broken XML), `reply="bomb"` (an
entity expansion), `reply="twice"` (the same match sent twice, as cameras that answer a
repeated probe do).
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

GROUP, PORT = "239.255.255.250", 3702


def hikvision_scopes(model="DS-2CD2143G2-IU", mac="44:19:b6:3a:7c:e1"):
    return ["onvif://www.onvif.org/type/video_encoder", "onvif://www.onvif.org/Profile/Streaming",
            "onvif://www.onvif.org/Profile/G", "onvif://www.onvif.org/Profile/T",
            f"onvif://www.onvif.org/MAC/{mac}", f"onvif://www.onvif.org/hardware/{model}",
            f"onvif://www.onvif.org/name/HIKVISION%20{model}",
            "onvif://www.onvif.org/location/city/hangzhou"]


def dahua_scopes(model="IPC-HFW2431S-S-S2"):
    return ["onvif://www.onvif.org/location/country/china", "onvif://www.onvif.org/name/Dahua",
            f"onvif://www.onvif.org/hardware/{model}", "onvif://www.onvif.org/Profile/Streaming",
            "onvif://www.onvif.org/type/Network_Video_Transmitter",
            "onvif://www.onvif.org/extension/unique_identifier/1"]


def axis_scopes(model="P1448-LE"):
    return ["onvif://www.onvif.org/type/video_encoder", "onvif://www.onvif.org/type/ptz",
            "onvif://www.onvif.org/Profile/Streaming", f"onvif://www.onvif.org/hardware/{model}",
            f"onvif://www.onvif.org/name/AXIS%20{model}", "onvif://www.onvif.org/location/"]


@dataclass
class FakeCamera:
    address: str               # the camera's IPv4 address on the link (answers from it)
    scopes: list[str]
    xaddrs: list[str] = field(default_factory=list)  # default: http://<address>/onvif/device_service
    endpoint: str = "urn:uuid:4d454930-0023-1002-8000-a0369f123456"
    reply: str = "ok"          # ok, huge, malformed, bomb, twice, silent

    def probe_matches(self, relates_to: str) -> bytes:
        xaddrs = self.xaddrs or [f"http://{self.address}/onvif/device_service"]
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"'
            ' xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
            ' xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"'
            ' xmlns:dn="http://www.onvif.org/ver10/network/wsdl"'
            ' xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
            "<SOAP-ENV:Header>"
            f"<wsa:MessageID>uuid:{self.endpoint[-12:]}-reply</wsa:MessageID>"
            f"<wsa:RelatesTo>{escape(relates_to)}</wsa:RelatesTo>"
            "<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>"
            "<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>"
            '<d:AppSequence InstanceId="1712" MessageNumber="4"/>'
            "</SOAP-ENV:Header><SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch>"
            f"<wsa:EndpointReference><wsa:Address>{self.endpoint}</wsa:Address></wsa:EndpointReference>"
            "<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
            f"<d:Scopes>{escape(' '.join(self.scopes))}</d:Scopes>"
            f"<d:XAddrs>{escape(' '.join(xaddrs))}</d:XAddrs>"
            "<d:MetadataVersion>10</d:MetadataVersion>"
            "</d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>")
        if self.reply == "huge":  # a real envelope padded with 60 kB of scopes
            pad = " ".join(f"onvif://www.onvif.org/extension/x{i:05d}" for i in range(1500))
            text = text.replace("</d:Scopes>", f" {pad}</d:Scopes>")
        elif self.reply == "malformed":
            text = text[: len(text) // 2]
        elif self.reply == "bomb":
            entities = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">' + "".join(
                f'<!ENTITY {chr(98 + i)} "&{chr(97 + i)};&{chr(97 + i)};&{chr(97 + i)};">'
                for i in range(8)) + "]>"
            text = text.replace('<?xml version="1.0" encoding="UTF-8"?>',
                                f'<?xml version="1.0"?>{entities}').replace(
                "<d:MetadataVersion>10", "<d:MetadataVersion>&i;")
        return text.encode()


class Responder:
    """Answers probes for `cameras` until stopped; start it inside the cabinet namespace
    (the sockets belong to the namespace of the thread that makes them)."""

    def __init__(self, cameras: list[FakeCamera], interface_address: str) -> None:
        self.cameras = cameras
        self.interface_address = interface_address
        self.probes: list[bytes] = []
        self._stop = threading.Event()
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind(("", PORT))
        self._listen.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack(
            "4s4s", socket.inet_aton(GROUP), socket.inet_aton(interface_address)))
        self._listen.settimeout(0.1)
        self._senders = {}
        for camera in cameras:
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sender.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sender.bind((camera.address, PORT))
            self._senders[camera.address] = sender
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> "Responder":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in (self._listen, *self._senders.values()):
            sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, (host, port) = self._listen.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            self.probes.append(data)
            found = re.search(rb"<[\w:]*MessageID>([^<]+)<", data)
            if b"/discovery/Probe<" not in data or not found:
                continue
            relates_to = found.group(1).decode()
            for camera in self.cameras:
                if camera.reply == "silent":
                    continue
                message = camera.probe_matches(relates_to)
                for _ in range(2 if camera.reply == "twice" else 1):
                    try:
                        self._senders[camera.address].sendto(message, (host, port))
                    except OSError:
                        pass  # a 60 kB datagram can be refused locally; that is the test's point
