"""Turn on a measured position error in the GPS receiver, before gpsd opens it.

gpsd runs read-only on the node (``-b``: it never reconfigures a receiver, because a wrong
baud rate can brick a cheap one), so without this a u-blox keeps sending only its default
NMEA and the node must gate on gpsd's estimate from HDOP. Here the node asks the receiver
once, at boot and before gpsd, what it is (UBX MON-VER) and, when it is a u-blox, turns on
NMEA GST (the receiver's own error estimate) and saves that in the receiver.

This talks UBX itself (``ubx.py``) rather than through gpsd's ``ubxtool``: ubxtool talks
through a running gpsd (which refuses writes in read-only mode) or needs pyserial, and has
no overall deadline; a boot step must finish in seconds whatever is on the port.
Other receivers (MediaTek, SiRF, Quectel) do not speak UBX; they are reported and left
alone, and the node uses their GST if they send it.
"""

from __future__ import annotations

import os
import select
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import ubx

DEFAULT_DEVICES = ("/dev/ttyACM0", "/dev/ttyUSB0", "/dev/serial0")
GPSD_DEFAULTS = Path("/etc/default/gpsd")
SPEEDS = {4800: termios.B4800, 9600: termios.B9600, 38400: termios.B38400,
          115200: termios.B115200}


@dataclass
class SetupResult:
    device: str
    outcome: str            # "enabled", "already", "not_ublox", "silent", "refused", "missing"
    detail: str
    software: str = ""
    protver: float | None = None
    nmea_seen: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome in ("enabled", "already", "not_ublox")


def devices_from_gpsd_defaults(path: Path = GPSD_DEFAULTS) -> list[str]:
    """The DEVICES="..." of /etc/default/gpsd, else the usual receiver ports."""
    try:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line.startswith("DEVICES="):
                names = line.split("=", 1)[1].strip().strip("\"'").split()
                if names:
                    return names
    except OSError:
        pass
    return list(DEFAULT_DEVICES)


class _Port:
    """A serial port (or pty) in raw mode, read and written with deadlines."""

    def __init__(self, device: str, speed: int) -> None:
        self.fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            attrs = termios.tcgetattr(self.fd)
            attrs[0] = 0                                   # iflag: no translation, no flow control
            attrs[1] = 0                                   # oflag: raw output
            attrs[2] = termios.CS8 | termios.CREAD | termios.CLOCAL
            attrs[3] = 0                                   # lflag: no echo, not canonical
            attrs[4] = attrs[5] = SPEEDS.get(speed, termios.B9600)
            termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        except termios.error:
            pass  # not a tty (a test's FIFO, a socket device): raw already
        self.frames = ubx.FrameReader()
        self.text = bytearray()

    def write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            _, writable, _ = select.select([], [self.fd], [], left)
            if writable:
                view = view[os.write(self.fd, view):]

    def read_frames(self, deadline: float) -> list[tuple[int, int, bytes]]:
        left = deadline - time.monotonic()
        if left <= 0:
            return []
        readable, _, _ = select.select([self.fd], [], [], min(left, 0.2))
        if not readable:
            return []
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return []
        if len(self.text) < 8192:
            self.text += data
        return self.frames.feed(data)

    def wait_for(self, cls_id: tuple[int, int], deadline: float) -> bytes | None:
        while time.monotonic() < deadline:
            for cls, msg_id, payload in self.read_frames(deadline):
                if (cls, msg_id) == cls_id:
                    return payload
        return None

    def wait_for_ack(self, cls_id: tuple[int, int], deadline: float) -> bool | None:
        """True for ACK-ACK of that message, False for ACK-NAK, None for no answer."""
        while time.monotonic() < deadline:
            for cls, msg_id, payload in self.read_frames(deadline):
                if cls == ubx.ACK_CLASS and payload[:2] == bytes(cls_id):
                    return msg_id == ubx.ACK_ACK
        return None

    def nmea_types(self) -> list[str]:
        seen = []
        for line in bytes(self.text).split(b"\n"):
            line = line.strip()
            if line.startswith(b"$") and len(line) > 6 and line[6:7] == b",":
                kind = line[3:6].decode("ascii", "replace")
                if kind not in seen:
                    seen.append(kind)
        return seen

    def close(self) -> None:
        os.close(self.fd)


def set_up_receiver(device: str, *, speed: int = 9600, timeout_s: float = 6.0) -> SetupResult:
    """Ask the receiver on ``device`` what it is and turn on GST if it is a u-blox; the whole
    exchange ends within ``timeout_s`` whatever the receiver does."""
    deadline = time.monotonic() + timeout_s
    try:
        port = _Port(device, speed)
    except FileNotFoundError:
        return SetupResult(device, "missing", "no such device")
    except OSError as exc:
        return SetupResult(device, "missing", f"cannot open it: {exc.strerror or exc}")
    try:
        return _set_up(port, device, deadline)
    except TimeoutError:
        return SetupResult(device, "silent", "the port took no data in time (nothing connected?)")
    finally:
        port.close()


def _set_up(port: _Port, device: str, deadline: float) -> SetupResult:
    version = None
    # Poll a few times: a receiver that just powered up, or one busy sending a long
    # GSV burst at 9600 baud, can miss the first poll.
    for attempt in range(3):
        port.write(ubx.poll_version(), deadline)
        version = port.wait_for(ubx.MON_VER, min(deadline, time.monotonic() + 1.5))
        if version is not None or time.monotonic() >= deadline:
            break
    seen = port.nmea_types()
    if version is None:
        if not seen:
            return SetupResult(device, "silent", "the receiver sent nothing (wrong port or speed?)")
        if "GST" in seen:
            return SetupResult(device, "already", "not a u-blox, but it sends GST", nmea_seen=seen)
        return SetupResult(device, "not_ublox",
                           "not a u-blox (no answer to UBX): it sends no GST, so the node"
                           " gates on HDOP and satellites", nmea_seen=seen)
    software, protver = ubx.software_version(version), ubx.protocol_version(version)
    legacy = protver is None or protver < ubx.FIRST_VALSET_PROTVER
    messages = ubx.enable_gst_legacy() if legacy else ubx.enable_gst_valset()
    for message in messages:
        port.write(message, deadline)
        acked = port.wait_for_ack((message[2], message[3]), deadline)
        if acked is not True:
            why = "refused" if acked is False else "did not acknowledge"
            return SetupResult(device, "refused", f"the receiver {why} the GST setting",
                               software=software, protver=protver, nmea_seen=seen)
    what = "GST on, saved" if legacy else "GST and high-precision NMEA on, saved"
    return SetupResult(device, "enabled", what, software=software, protver=protver,
                       nmea_seen=seen)
