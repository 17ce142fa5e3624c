"""An ONVIF device on 127.0.0.1 for tests: the device and media services' SOAP messages as
the ONVIF WSDLs (devicemgmt.wsdl, media.wsdl, onvif.xsd) shape them, behind
WS-UsernameToken (PasswordDigest) auth, with a stream URI that points at the test RTSP
server. Written from the message definitions, not from any camera's firmware.

Answered operations: GetSystemDateAndTime and GetServices / GetCapabilities (pre-auth,
as the ONVIF access classes allow), GetDeviceInformation, GetNetworkInterfaces, GetProfiles, GetStreamUri,
GetSnapshotUri. Anything else is a SOAP fault (or, with `oversized`, a reply of
megabytes or one that never ends); a wrong or missing token is the
ter:NotAuthorized fault with HTTP 400, as the ONVIF core spec says.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TT = "http://www.onvif.org/ver10/schema"
PRE_AUTH = {"GetSystemDateAndTime", "GetServices", "GetCapabilities"}
MAX_BODY = 256 * 1024
FLOOD_LIMIT = 512 * 1024 * 1024  # an "endless" reply ends here, should a client read on


@dataclass
class Identity:
    manufacturer: str = "HIKVISION"
    model: str = "DS-2CD2143G2-IU"
    firmware: str = "V5.7.3 build 220112"
    serial: str = "DS-2CD2143G2-IU20220315AAWRJ12345678"
    hardware_id: str = "88"
    mac: str = "44:19:b6:3a:7c:e1"
    clock_offset_s: float = 0.0  # the camera's clock minus the true time


def _envelope(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<s:Envelope xmlns:s="{SOAP}" xmlns:tds="{TDS}" xmlns:trt="{TRT}" xmlns:tt="{TT}"'
            f' xmlns:ter="http://www.onvif.org/ver10/error"><s:Body>{body}</s:Body>'
            f'</s:Envelope>').encode()


def _fault(code: str, subcode: str, reason: str) -> bytes:
    return _envelope(f"<s:Fault><s:Code><s:Value>s:{code}</s:Value><s:Subcode><s:Value>"
                     f"{subcode}</s:Value></s:Subcode></s:Code><s:Reason><s:Text"
                     f' xml:lang="en">{escape(reason)}</s:Text></s:Reason></s:Fault>')


class SoapFault(Exception):
    def __init__(self, code: str, subcode: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.subcode, self.reason = code, subcode, reason


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    timeout = 10

    def log_message(self, fmt, *args):  # quiet in tests
        pass

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._send(413, _fault("Sender", "ter:InvalidArgVal", "too large"))
        try:
            envelope = ET.fromstring(self.rfile.read(length))
        except ET.ParseError:
            return self._send(400, _fault("Sender", "ter:WellFormed", "not XML"))
        body = envelope.find(f"{{{SOAP}}}Body")
        request = body[0] if body is not None and len(body) else None
        if request is None:
            return self._send(400, _fault("Sender", "ter:InvalidArgVal", "empty body"))
        operation = request.tag.rsplit("}", 1)[-1]
        self.server.calls.append(operation)
        if operation not in PRE_AUTH and not self._authorised(envelope):
            return self._send(400, _fault("Sender", "ter:NotAuthorized",
                                          "Sender not Authorized"))
        answer = getattr(self, f"op_{operation}", None)
        flood = self.server.oversized.get(operation)
        if flood:
            return self._flood(operation, flood)
        if answer is None:
            return self._send(400, _fault("Receiver", "ter:ActionNotSupported", operation))
        try:
            return self._send(200, _envelope(answer(request)))
        except SoapFault as fault:  # SOAP 1.2 over HTTP: sender faults 400, receiver 500
            return self._send(400 if fault.code == "Sender" else 500,
                              _fault(fault.code, fault.subcode, fault.reason))

    def _authorised(self, envelope) -> bool:
        token = envelope.find(f"{{{SOAP}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
        if token is None:
            return False
        user = token.findtext(f"{{{WSSE}}}Username") or ""
        digest = token.findtext(f"{{{WSSE}}}Password") or ""
        nonce = token.findtext(f"{{{WSSE}}}Nonce") or ""
        created = token.findtext(f"{{{WSU}}}Created") or ""
        try:
            raw_nonce = base64.b64decode(nonce)
        except ValueError:
            return False
        # PasswordDigest = Base64(SHA-1(nonce + created + password)), WS-Security 1.0.
        expected = base64.b64encode(hashlib.sha1(
            raw_nonce + created.encode() + self.server.password.encode()).digest()).decode()
        return user == self.server.user and digest == expected

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _flood(self, operation: str, how: str) -> None:
        """A reply far past any sane size: "padded" declares its (huge) length, "endless"
        declares none and streams until the client hangs up (at most FLOOD_LIMIT)."""
        head = (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP}"'
                f' xmlns:tds="{TDS}"><s:Body><tds:{operation}Response><tds:Model>').encode()
        chunk = b"A" * 65536
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
        if how == "padded":
            self.send_header("Content-Length", str(len(head) + len(chunk) * 48))
        self.end_headers()
        try:
            self.wfile.write(head)
            for _ in range(48 if how == "padded" else FLOOD_LIMIT // len(chunk)):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what it should do
        self.close_connection = True

    def _base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/onvif"

    # -- device service ---------------------------------------------------------------
    def op_GetSystemDateAndTime(self, request) -> str:  # noqa: N802
        now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(
            seconds=self.server.identity.clock_offset_s)
        return ("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
                "<tt:DateTimeType>Manual</tt:DateTimeType>"
                "<tt:DaylightSavings>false</tt:DaylightSavings>"
                "<tt:TimeZone><tt:TZ>ICT-7</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
                f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute>"
                f"<tt:Second>{now.second}</tt:Second></tt:Time><tt:Date><tt:Year>{now.year}"
                f"</tt:Year><tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day>"
                "</tt:Date></tt:UTCDateTime></tds:SystemDateAndTime>"
                "</tds:GetSystemDateAndTimeResponse>")

    def op_GetServices(self, request) -> str:  # noqa: N802
        if not self.server.has_get_services:  # older firmwares: GetCapabilities only
            raise SoapFault("Receiver", "ter:ActionNotSupported", "GetServices")
        services = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{self._base()}/{path}"
            "</tds:XAddr><tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor>"
            "</tds:Version></tds:Service>"
            for ns, path in ((TDS, "device_service"), (TRT, "media_service")))
        return f"<tds:GetServicesResponse>{services}</tds:GetServicesResponse>"

    def op_GetCapabilities(self, request) -> str:  # noqa: N802
        return ("<tds:GetCapabilitiesResponse><tds:Capabilities>"
                f"<tt:Device><tt:XAddr>{self._base()}/device_service</tt:XAddr></tt:Device>"
                f"<tt:Media><tt:XAddr>{self._base()}/media_service</tt:XAddr></tt:Media>"
                "</tds:Capabilities></tds:GetCapabilitiesResponse>")

    def op_GetDeviceInformation(self, request) -> str:  # noqa: N802
        ident = self.server.identity
        return ("<tds:GetDeviceInformationResponse>"
                f"<tds:Manufacturer>{escape(ident.manufacturer)}</tds:Manufacturer>"
                f"<tds:Model>{escape(ident.model)}</tds:Model>"
                f"<tds:FirmwareVersion>{escape(ident.firmware)}</tds:FirmwareVersion>"
                f"<tds:SerialNumber>{escape(ident.serial)}</tds:SerialNumber>"
                f"<tds:HardwareId>{escape(ident.hardware_id)}</tds:HardwareId>"
                "</tds:GetDeviceInformationResponse>")

    def op_GetNetworkInterfaces(self, request) -> str:  # noqa: N802
        return ("<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token=\"eth0\">"
                "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
                f"<tt:HwAddress>{self.server.identity.mac}</tt:HwAddress><tt:MTU>1500</tt:MTU>"
                "</tt:Info></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>")

    # -- media service ------------------------------------------------------------------
    def op_GetProfiles(self, request) -> str:  # noqa: N802
        profiles = "".join(
            f'<trt:Profiles token="{token}" fixed="true"><tt:Name>{name}</tt:Name>'
            f'<tt:VideoEncoderConfiguration token="VE{token}"><tt:Name>{name}</tt:Name>'
            "<tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding><tt:Resolution>"
            f"<tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution>"
            "<tt:Quality>3</tt:Quality></tt:VideoEncoderConfiguration></trt:Profiles>"
            for token, name, w, h in (("Profile_1", "mainStream", 2560, 1440),
                                      ("Profile_2", "subStream", 640, 360)))
        return f"<trt:GetProfilesResponse>{profiles}</trt:GetProfilesResponse>"

    def _token(self, request) -> str:
        return request.findtext(f"{{{TRT}}}ProfileToken") or ""

    def op_GetStreamUri(self, request) -> str:  # noqa: N802
        uri = self.server.stream_uris.get(self._token(request))
        if uri is None:
            raise SoapFault("Sender", "ter:NoProfile", "no such profile")
        return ("<trt:GetStreamUriResponse><trt:MediaUri>"
                f"<tt:Uri>{escape(uri)}</tt:Uri><tt:InvalidAfterConnect>false"
                "</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
                "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>")

    def op_GetSnapshotUri(self, request) -> str:  # noqa: N802
        channel = "101" if self._token(request) == "Profile_1" else "102"
        return ("<trt:GetSnapshotUriResponse><trt:MediaUri>"
                f"<tt:Uri>http://127.0.0.1:{self.server.server_address[1]}/ISAPI/Streaming/"
                f"channels/{channel}/picture</tt:Uri><tt:InvalidAfterConnect>false"
                "</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
                "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class OnvifDevice:
    """`with OnvifDevice(user, password, stream_uris={...}) as device:` -> device.port."""

    def __init__(self, user: str, password: str, *, stream_uris: dict[str, str],
                 identity: Identity | None = None, has_get_services: bool = True,
                 oversized: dict[str, str] | None = None) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.user, self.server.password = user, password
        self.server.identity = identity or Identity()
        self.server.stream_uris = dict(stream_uris)
        self.server.calls = []
        self.server.has_get_services = has_get_services
        # operation -> "padded" | "endless": that reply is a flood (see _Handler._flood)
        self.server.oversized = dict(oversized or {})
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.2}, name="onvif-device")

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def calls(self) -> list[str]:
        return self.server.calls

    def __enter__(self) -> "OnvifDevice":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
