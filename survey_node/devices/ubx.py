"""UBX, u-blox's binary protocol: just the frames the node sends to turn on a measured error.

A frame is ``B5 62 class id length(LE16) payload ck_a ck_b``; the checksum is the 8-bit
Fletcher sum over class, id, length and payload (u-blox receiver description, "UBX
checksum"). Only three messages matter here:

- MON-VER (0A 04): poll it, read the protocol version from its extension strings
  (``PROTVER=18.00`` on an M8, ``PROTVER=27.11`` on an F9P, ``PROTVER 15.00`` on old M8s).
- Before protocol 27 (M8 and older): CFG-MSG (06 01) sets the output rate of NMEA GST
  (class F0, id 07) per port, and CFG-CFG (06 09) saves the message config so it outlives a
  power cut.
- Protocol 27 on (F9, M10): CFG-VALSET (06 8A) writes configuration keys into RAM, battery
  backed RAM and flash at once.
"""

from __future__ import annotations

import re
import struct

SYNC = b"\xb5\x62"
ACK_CLASS = 0x05
ACK_ACK, ACK_NAK = 0x01, 0x00
MON_VER = (0x0A, 0x04)
CFG_MSG = (0x06, 0x01)
CFG_CFG = (0x06, 0x09)
CFG_VALSET = (0x06, 0x8A)
NMEA_GST = (0xF0, 0x07)
FIRST_VALSET_PROTVER = 27.0

# CFG-VALSET keys (u-blox F9/M10 interface description): the GST rate per port and the
# NMEA high-precision mode (7 decimals of a degree instead of 5: 1 cm instead of 1 m).
KEY_GST_UART1 = 0x209100D4
KEY_GST_UART2 = 0x209100D5
KEY_GST_USB = 0x209100D6
KEY_NMEA_HIGHPREC = 0x10930006
LAYERS_RAM_BBR_FLASH = 0x07

_PROTVER = re.compile(rb"PROTVER[= ]\s*(\d+(?:\.\d+)?)")


def checksum(body: bytes) -> bytes:
    a = b = 0
    for byte in body:
        a = (a + byte) & 0xFF
        b = (b + a) & 0xFF
    return bytes((a, b))


def frame(cls_id: tuple[int, int], payload: bytes = b"") -> bytes:
    body = bytes(cls_id) + struct.pack("<H", len(payload)) + payload
    return SYNC + body + checksum(body)


def poll_version() -> bytes:
    return frame(MON_VER)


def enable_gst_legacy() -> list[bytes]:
    """CFG-MSG: GST once per fix on UART1 and USB (ports I2C, UART1, UART2, USB, SPI, -),
    then CFG-CFG: save the message config (saveMask bit 1) to BBR, flash and EEPROM."""
    rates = bytes((0, 1, 0, 1, 0, 0))
    save = struct.pack("<III", 0, 0x02, 0) + bytes((0x07,))
    return [frame(CFG_MSG, bytes(NMEA_GST) + rates), frame(CFG_CFG, save)]


def enable_gst_valset() -> list[bytes]:
    """CFG-VALSET version 0 into RAM, BBR and flash: GST on UART1, UART2 and USB, and the
    NMEA high-precision mode. Each key here is one byte (U1 or L)."""
    head = bytes((0x00, LAYERS_RAM_BBR_FLASH, 0x00, 0x00))
    items = b"".join(struct.pack("<IB", key, 1) for key in
                     (KEY_GST_UART1, KEY_GST_UART2, KEY_GST_USB, KEY_NMEA_HIGHPREC))
    return [frame(CFG_VALSET, head + items)]


def protocol_version(mon_ver_payload: bytes) -> float | None:
    """The PROTVER of a MON-VER payload: 30 bytes software, 10 hardware, then 30-byte
    extension strings; None when the receiver does not say (very old firmware)."""
    match = _PROTVER.search(mon_ver_payload[40:])
    return float(match.group(1)) if match else None


def software_version(mon_ver_payload: bytes) -> str:
    return mon_ver_payload[:30].split(b"\0", 1)[0].decode("ascii", "replace").strip()


class FrameReader:
    """Splits a byte stream (NMEA text and UBX frames mixed) into UBX frames; the NMEA and
    any noise between frames is skipped. A frame with a bad checksum is dropped."""

    MAX_PAYLOAD = 4096  # MON-VER is the longest answer asked for (a few hundred bytes)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        self._buffer += data
        frames = []
        while True:
            start = self._buffer.find(SYNC)
            if start < 0:
                del self._buffer[:-1]  # keep a trailing B5 that may start a frame
                return frames
            del self._buffer[:start]
            if len(self._buffer) < 6:
                return frames
            cls, msg_id, size = self._buffer[2], self._buffer[3], struct.unpack_from("<H", self._buffer, 4)[0]
            if size > self.MAX_PAYLOAD:
                del self._buffer[:2]
                continue
            end = 6 + size + 2
            if len(self._buffer) < end:
                return frames
            body = bytes(self._buffer[2:6 + size])
            if checksum(body) == bytes(self._buffer[6 + size:end]):
                frames.append((cls, msg_id, body[4:]))
                del self._buffer[:end]
            else:
                del self._buffer[:2]
