"""Ask a camera over ONVIF who it is and where its streams are (onvif-zeep-async).

GetDeviceInformation gives maker, model, firmware, serial and hardware id
(GetNetworkInterfaces the MAC), which the
registry's brand/model columns are checked against; GetProfiles + GetStreamUri give the
stream address without guessing paths, GetSnapshotUri the picture URL;
GetSystemDateAndTime the camera's clock, compared with this node's (GNSS-disciplined)
clock, because footage stamped minutes off is weak evidence.

Every call runs under its own asyncio deadline and the whole exchange under another, so
a camera that accepts and never answers costs at most `timeout_s`. Every reply is read
up to MAX_REPLY_BYTES and no further: the client library reads a whole body into memory
before parsing it, so a camera (or anything on its address) answering with an endless or
huge SOAP body would otherwise fill the node's memory within the deadline. The password goes
into the WS-UsernameToken digest only; the stream URI a camera returns carries no
credentials, and the ones added for the stream check are masked wherever it is shown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

log = logging.getLogger(__name__)
IDENTITY_KEYS = ("manufacturer", "model", "firmware", "serial", "hardware_id", "mac")
MAX_FIELD = 200  # a camera's strings are shown and synced: no megabyte "model"
# The largest real answer is GetProfiles of a camera with many profiles (tens of kB);
# a WSDL-sized reply is already suspicious.
MAX_REPLY_BYTES = 1024 * 1024
_ONE_AT_A_TIME = threading.Lock()
_capped = None  # the ReplyTooLarge class, once the reply cap is installed


def _install_reply_cap():
    """Make the library's transport read each reply with a cap; returns ReplyTooLarge.

    onvif-zeep-async builds its transport inside each service it creates (update_xaddrs
    and the clock handshake create their own), so the cap goes on the transport class it
    instantiates rather than on one instance. Only the reading of the body changes.
    """
    global _capped
    if _capped is not None:
        return _capped
    from onvif import client as onvif_client
    from onvif.exceptions import ONVIFError

    class ReplyTooLarge(ONVIFError):  # an ONVIFError: the library re-raises it unchanged
        def __init__(self, detail: str) -> None:
            super().__init__(detail)
            self.detail = detail  # ONVIFError's own text starts "Unknown error: "

    base = onvif_client.AsyncTransportProtocolErrorHandler

    class CappedTransport(base):
        async def _post_internal(self, address, message, headers):
            headers = dict(headers or {})
            headers.setdefault("Content-Type", 'text/xml; charset="utf-8"')
            data = message.encode("utf-8") if isinstance(message, str) else message
            response = await self.session.post(address, data=data, headers=headers,
                                               proxy=self.proxy, timeout=self._client_timeout)
            declared = response.content_length
            if declared is not None and declared > MAX_REPLY_BYTES:
                response.close()
                raise ReplyTooLarge(f"the camera's ONVIF reply declares {declared} bytes")
            body = bytearray()
            async for chunk in response.content.iter_chunked(65536):
                body += chunk
                if len(body) > MAX_REPLY_BYTES:
                    response.close()  # drop the connection: nothing more is read
                    raise ReplyTooLarge("the camera's ONVIF reply went on past"
                                        f" {MAX_REPLY_BYTES} bytes")
            return response, bytes(body)

    onvif_client.AsyncTransportProtocolErrorHandler = CappedTransport
    _capped = ReplyTooLarge
    return ReplyTooLarge


def _too_large(exc: BaseException, kind) -> BaseException | None:
    """The ReplyTooLarge behind `exc` (the library may wrap it), or None."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kind):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


@dataclass
class OnvifAnswer:
    verdict: str  # ok, auth_failed, refused, timeout, unsupported
    error: str | None = None
    identity: dict = field(default_factory=dict)
    clock_drift_s: float | None = None  # camera minus node, seconds
    stream_uri: str | None = None       # as the camera gave it (no credentials)
    snapshot_uri: str | None = None
    profile: str | None = None

    def public(self) -> dict:
        return asdict(self)


def with_credentials(uri: str, user: str, password: str) -> str:
    """The camera's RTSP URI with the user and password in it, as FFmpeg needs them."""
    parts = urlsplit(uri)
    if not user or "@" in parts.netloc:
        return uri
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    return urlunsplit((parts.scheme, f"{auth}@{parts.netloc}", parts.path, parts.query,
                       parts.fragment))


def ask_camera(host: str, port: int, user: str, password: str, *, timeout_s: float,
               call_timeout_s: float) -> OnvifAnswer:
    """Identity, clock drift and the main profile's stream URI; never raises for the
    camera's faults: they are verdicts."""
    started = time.monotonic()
    # The client library keeps module-wide caches guarded by asyncio locks; two event
    # loops (two web jobs) using them at once is not something it promises to survive.
    if not _ONE_AT_A_TIME.acquire(timeout=timeout_s):
        return OnvifAnswer("timeout", "another ONVIF exchange kept the client busy")
    try:
        left = max(0.5, timeout_s - (time.monotonic() - started))
        return asyncio.run(asyncio.wait_for(
            _ask(host, port, user, password, min(call_timeout_s, left)), timeout=left))
    except (asyncio.TimeoutError, TimeoutError):
        return OnvifAnswer("timeout", "no ONVIF answer before the deadline")
    finally:
        _ONE_AT_A_TIME.release()


async def _ask(host, port, user, password, call_s) -> OnvifAnswer:
    from onvif import ONVIFCamera
    from onvif.exceptions import ONVIFAuthError, ONVIFError, ONVIFTimeoutError
    from zeep.exceptions import Fault, XMLParseError, XMLSyntaxError

    too_large = _install_reply_cap()
    camera = ONVIFCamera(host, port, user, password)
    answer = OnvifAnswer("ok")
    try:
        device = await asyncio.wait_for(camera.create_devicemgmt_service(), call_s)
        answer.clock_drift_s = await _drift(device, call_s)
        await asyncio.wait_for(camera.update_xaddrs(), call_s)
        info = await asyncio.wait_for(device.GetDeviceInformation(), call_s)
        answer.identity = {
            "manufacturer": _text(info.Manufacturer), "model": _text(info.Model),
            "firmware": _text(info.FirmwareVersion), "serial": _text(info.SerialNumber),
            "hardware_id": _text(info.HardwareId), "mac": await _mac(device, call_s)}
        media = await asyncio.wait_for(camera.create_media_service(), call_s)
        profiles = await asyncio.wait_for(media.GetProfiles(), call_s)
        if not profiles:
            return OnvifAnswer("not_found", "the camera has no media profile",
                               answer.identity, answer.clock_drift_s)
        main = _main_profile(profiles)
        answer.profile = _text(getattr(main, "Name", None)) or main.token
        uri = await asyncio.wait_for(media.GetStreamUri({
            "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
            "ProfileToken": main.token}), call_s)
        answer.stream_uri = _text(uri.Uri, 2048)
        try:
            snapshot = await asyncio.wait_for(media.GetSnapshotUri(
                {"ProfileToken": main.token}), call_s)
            answer.snapshot_uri = _text(snapshot.Uri, 2048)
        except (Fault, ONVIFError):
            pass  # many cameras have no snapshot URI; the stream is what matters
        return answer
    except (asyncio.TimeoutError, TimeoutError, ONVIFTimeoutError):
        # (TimeoutError is an OSError: it must be caught before "refused" below.)
        return OnvifAnswer("timeout", "no ONVIF answer before the deadline", answer.identity,
                           answer.clock_drift_s)
    except too_large as exc:
        return _flooded(exc, answer)
    except ONVIFAuthError as exc:
        return OnvifAnswer("auth_failed", _line(exc), answer.identity, answer.clock_drift_s)
    except Fault as exc:
        verdict = "auth_failed" if "NotAuthorized" in str(exc.subcodes or "") \
            or "not authorized" in str(exc.message or "").lower() else "unsupported"
        return OnvifAnswer(verdict, _line(exc), answer.identity, answer.clock_drift_s)
    except ONVIFError as exc:
        if _too_large(exc, too_large) is not None:
            return _flooded(_too_large(exc, too_large), answer)
        text = _line(exc)
        lowered = text.lower()
        if "not authorized" in lowered or "401" in text:
            verdict = "auth_failed"
        elif "connect call failed" in lowered or "refused" in lowered:
            verdict = "refused"
        elif "timed out" in lowered or "timeout" in lowered:
            verdict = "timeout"
        else:
            verdict = "unsupported"
        return OnvifAnswer(verdict, text, answer.identity, answer.clock_drift_s)
    except OSError as exc:
        return OnvifAnswer("refused", exc.strerror or str(exc))
    except (AttributeError, ValueError, XMLParseError, XMLSyntaxError):
        # A web server that is no ONVIF device (an HTML page, plain text where the WSDL
        # should be): zeep fails deep inside its loader, not with an ONVIF error.
        return OnvifAnswer("unsupported", "the device's answer is not ONVIF SOAP",
                           answer.identity, answer.clock_drift_s)
    finally:
        try:
            await asyncio.wait_for(camera.close(), call_s)
        except Exception:  # noqa: BLE001 - closing a half-open client must not hide the answer
            log.debug("closing the ONVIF client failed", exc_info=True)


def _flooded(exc, answer: OnvifAnswer) -> OnvifAnswer:
    detail = getattr(exc, "detail", None) or _line(exc)
    return OnvifAnswer("unsupported", f"{detail}: cut at {MAX_REPLY_BYTES // 1024} kB"
                       " and not parsed", answer.identity, answer.clock_drift_s)


async def _drift(device, call_s) -> float | None:
    """Camera clock minus this node's, in seconds (GetSystemDateAndTime is pre-auth)."""
    try:
        answer = await asyncio.wait_for(device.GetSystemDateAndTime(), call_s)
        when = answer.UTCDateTime
        camera = dt.datetime(when.Date.Year, when.Date.Month, when.Date.Day, when.Time.Hour,
                             when.Time.Minute, when.Time.Second, tzinfo=dt.timezone.utc)
    except (AttributeError, TypeError, ValueError):
        return None
    except Exception as exc:  # noqa: BLE001 - a camera without a clock answer still has a stream
        if _too_large(exc, _capped) is not None:
            raise  # a flood is said, not taken for a missing clock
        log.debug("GetSystemDateAndTime failed", exc_info=True)
        return None
    return round((camera - dt.datetime.now(dt.timezone.utc)).total_seconds(), 1)


async def _mac(device, call_s) -> str | None:
    """The first enabled interface's hardware address (the label on the camera shows it)."""
    try:
        interfaces = await asyncio.wait_for(device.GetNetworkInterfaces(), call_s)
    except (asyncio.TimeoutError, TimeoutError):
        raise
    except Exception as exc:  # noqa: BLE001 - a camera that hides its MAC still has an identity
        if _too_large(exc, _capped) is not None:
            raise
        log.debug("GetNetworkInterfaces failed", exc_info=True)
        return None
    for interface in interfaces or []:
        info = getattr(interface, "Info", None)
        if getattr(interface, "Enabled", True) and info is not None and info.HwAddress:
            return _text(info.HwAddress, 40).lower()
    return None


def _main_profile(profiles):
    """The profile with the largest video encoder resolution (the main stream), else the
    first one the camera lists."""
    def pixels(profile) -> int:
        encoder = getattr(profile, "VideoEncoderConfiguration", None)
        size = getattr(encoder, "Resolution", None) if encoder is not None else None
        return (size.Width or 0) * (size.Height or 0) if size is not None else 0
    return max(profiles, key=pixels) if any(pixels(p) for p in profiles) else profiles[0]


def _text(value, limit: int = MAX_FIELD) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:limit] or None


def _line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
