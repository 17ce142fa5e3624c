"""A GPS receiver on a pty: NMEA once a second, and (as a u-blox) answers to UBX.

No real receiver can be plugged into the test machine, so this plays one from the
message shapes of u-blox's interface description: MON-VER with a PROTVER extension,
ACK-ACK/ACK-NAK (class 05) for CFG messages, CFG-MSG per-port rates, CFG-CFG save and
CFG-VALSET keys. Once GST is on for its port, its NMEA carries a GST sentence, so a gpsd
reading the pty sees the receiver's measured error exactly as from a real one.

Kinds: "m8" (protocol 18, CFG-MSG), "f9p" (protocol 27.12, CFG-VALSET), "mtk" (NMEA only,
binary input ignored), "nak" (a u-blox that refuses configuration), "silent".
"""

from __future__ import annotations

import datetime as dt
import os
import pty
import select
import struct
import termios
import threading
import time
import tty

from survey_node.devices import ubx
from survey_node.devices.nmea import Epoch, epoch_sentences

PROTVER = {"m8": b"PROTVER=18.00", "f9p": b"PROTVER=27.12", "nak": b"PROTVER=18.00"}
SOFTWARE = {"m8": b"ROM CORE 3.01 (107888)", "f9p": b"EXT CORE 1.00 (61ce84)",
            "nak": b"ROM CORE 3.01 (107888)"}
USB_PORT = 3  # CFG-MSG rate index: I2C, UART1, UART2, USB, SPI


class FakeReceiver:
    def __init__(self, kind: str = "m8", *, lat: float = 18.7883, lon: float = 98.9853,
                 eph_m: float = 1.4) -> None:
        self.kind = kind
        self.lat, self.lon, self.eph_m = lat, lon, eph_m
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.device = os.ttyname(slave)
        self._slave = slave  # kept open so the pty lives while nobody else has it open
        self.gst_rates: dict[int, int] = {}   # CFG-MSG port index -> rate
        self.valset: dict[int, int] = {}      # CFG-VALSET key -> value
        self.valset_layers = 0
        self.saved = False
        self.received: list[tuple[int, int]] = []
        self._frames = ubx.FrameReader()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def sends_gst(self) -> bool:
        return self.gst_rates.get(USB_PORT, 0) > 0 or self.valset.get(ubx.KEY_GST_USB, 0) > 0

    def __enter__(self) -> "FakeReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def _run(self) -> None:
        next_epoch = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_epoch and self.kind != "silent":
                self._send_epoch()
                next_epoch = now + 1.0
            readable, _, _ = select.select([self.master], [], [], 0.05)
            if readable:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                for cls, msg_id, payload in self._frames.feed(data):
                    self.received.append((cls, msg_id))
                    if self.kind in ("m8", "f9p", "nak"):
                        self._answer(cls, msg_id, payload)

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.master, data)
        except OSError:
            pass

    def _send_epoch(self) -> None:
        epoch = Epoch(time=dt.datetime.now(dt.timezone.utc), lat=self.lat, lon=self.lon,
                      hdop=0.9, eph=self.eph_m if self.sends_gst else None)
        order = "mtk" if self.kind == "mtk" else "ublox"
        self._write("".join(s + "\r\n" for s in epoch_sentences(epoch, order=order)).encode())

    def _ack(self, cls: int, msg_id: int, ok: bool) -> None:
        self._write(ubx.frame((ubx.ACK_CLASS, ubx.ACK_ACK if ok else ubx.ACK_NAK),
                              bytes((cls, msg_id))))

    def _answer(self, cls: int, msg_id: int, payload: bytes) -> None:
        if (cls, msg_id) == ubx.MON_VER and not payload:
            body = SOFTWARE[self.kind].ljust(30, b"\0") + b"00080000".ljust(10, b"\0")
            for ext in (b"FWVER=SPG 3.01", PROTVER[self.kind], b"GPS;GLO;GAL;BDS"):
                body += ext.ljust(30, b"\0")
            self._write(ubx.frame(ubx.MON_VER, body))
        elif self.kind == "nak" and cls == 0x06:
            self._ack(cls, msg_id, False)
        elif (cls, msg_id) == ubx.CFG_MSG and len(payload) == 8:
            if tuple(payload[:2]) == ubx.NMEA_GST:
                self.gst_rates = dict(enumerate(payload[2:8]))
            self._ack(cls, msg_id, True)
        elif (cls, msg_id) == ubx.CFG_CFG and len(payload) in (12, 13):
            self.saved = bool(struct.unpack_from("<I", payload, 4)[0] & 0x02)
            self._ack(cls, msg_id, True)
        elif (cls, msg_id) == ubx.CFG_VALSET and self.kind == "f9p" and len(payload) >= 4:
            self.valset_layers = payload[1]
            items = payload[4:]
            while len(items) >= 5:  # every key this fake knows is one byte wide
                key, value = struct.unpack_from("<IB", items)
                self.valset[key] = value
                items = items[5:]
            self._ack(cls, msg_id, True)
        elif cls == 0x06:
            self._ack(cls, msg_id, False)
