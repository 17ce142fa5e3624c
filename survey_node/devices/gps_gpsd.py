"""The `gpsd` GPS backend: a thread reading gpsd's JSON reports through gpsdclient.

gpsdclient (1.3) is used because it takes a socket timeout and yields gpsd's raw TPV, SKY
and GST reports (eph, epx, epy, epv, hdop, pdop, uSat, nSat; GST's measured error);
gpsd-py3 was measured to hang on a socket that accepts and never answers. Every read has a
deadline; on any failure the thread records the state, waits a little (longer after
repeated failures) and reconnects.
"""

from __future__ import annotations

import json
import logging
import socket

from gpsdclient import GPSDClient

from . import gps

log = logging.getLogger(__name__)


class GpsdReader(gps.GpsReader):
    name = "gpsd"

    def __init__(self, host: str = "127.0.0.1", port: int = 2947, *, timeout: float = 3.0,
                 retry_seconds: float = 2.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.host = host
        self.port = int(port)
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self._client: GPSDClient | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _run(self) -> None:
        failures = 0
        while not self.stopping:
            if self._read_once():
                failures = 0
            else:
                failures += 1
            # Back off to at most 5x the base delay, so a missing gpsd costs little.
            if self.sleep(self.retry_seconds * min(failures, 5) if failures else 0.05):
                break

    def _read_once(self) -> bool:
        """One connection until it fails; True when it delivered at least one report."""
        client = GPSDClient(host=self.host, port=self.port, timeout=self.timeout)
        self._client = client
        answered = devices_seen = got_report = False
        try:
            for line in client.json_stream():
                if self.stopping:
                    break
                try:
                    report = json.loads(line)
                except ValueError:
                    continue
                kind = report.get("class")
                if kind == "VERSION":
                    answered = True
                elif kind == "DEVICES":
                    devices_seen = bool(report.get("devices"))
                elif kind == "DEVICE" and report.get("activated") == 0:
                    devices_seen = False
                elif kind == "DEVICE":
                    devices_seen = True
                if kind in ("TPV", "SKY", "GST", "DEVICES", "DEVICE"):
                    got_report = got_report or kind == "TPV"
                    self.accept_report(report)
        except (ConnectionRefusedError, socket.gaierror) as exc:
            self.set_state(gps.NO_GPSD, where=self.where, why=str(exc))
        except (socket.timeout, TimeoutError):
            if not answered:
                self.set_state(gps.NOT_ANSWERING, where=self.where)
            elif not devices_seen:
                self.set_state(gps.NO_RECEIVER, where=self.where)
            elif not got_report and self.status().fix is None:
                self.set_state(gps.NO_FIX, used=0)
            # else: keep "reporting"; the last fix ages into STALE on its own.
        except EnvironmentError as exc:  # gpsdclient: not a gpsd on that port; or reset
            state = gps.NO_GPSD if not answered else gps.NOT_ANSWERING
            self.set_state(state, where=self.where, why=str(exc).splitlines()[0])
        except Exception:  # noqa: BLE001 - the reader must outlive any bad report
            log.exception("gpsd reader failed; reconnecting")
            self.set_state(gps.NOT_ANSWERING, where=self.where)
        finally:
            client.close()
            self._client = None
        if not self.stopping and answered and got_report:
            return True
        if not self.stopping and answered and not devices_seen:
            self.set_state(gps.NO_RECEIVER, where=self.where)
        return got_report

    def _interrupt(self) -> None:
        client = self._client
        sock = getattr(client, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
