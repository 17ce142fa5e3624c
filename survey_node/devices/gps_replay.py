"""The `replay` GPS backend: plays a recorded NMEA or gpsd-JSON log, in a loop.

Used by the demo and by anything that needs motion without a receiver. Fix times are
re-stamped to now (the log's own dates would make every fix look old), keeping the
log's pace: one epoch per `interval` seconds. A GST is stamped like the TPV it follows,
so the reader attaches it to that fix as it does with gpsd.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path

from . import gps
from .nmea import NmeaParser

DEMO_LOG = "samut_prakan_walk.nmea"


def demo_log_path() -> Path:
    return Path(str(resources.files("survey_node.devices").joinpath("data", DEMO_LOG)))


def read_epochs(path: str | Path) -> list[list[dict]]:
    """The log as a list of epochs: gpsd-style reports up to a TPV (and that TPV's GST)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    epochs: list[list[dict]] = []
    current: list[dict] = []
    parser = NmeaParser()
    for line in [*text.splitlines(), None]:
        if line is None:  # end of the log: the last NMEA epoch is complete
            reports = parser.finish()
        elif line.strip().startswith("{"):
            try:
                reports = [json.loads(line)]
            except ValueError:
                continue
        elif line.strip().startswith("$"):
            reports = parser.feed(line.strip())
        else:
            continue
        for report in reports:
            kind = report.get("class")
            if kind == "GST" and not current and epochs:
                epochs[-1].append(report)  # gpsd's order: a GST follows its epoch's TPV
                continue
            if kind not in ("TPV", "SKY", "GST", "DEVICE"):
                continue
            current.append(report)
            if report["class"] == "TPV":
                epochs.append(current)
                current = []
    return epochs


class ReplayReader(gps.GpsReader):
    name = "replay"

    def __init__(self, path: str | Path | None = None, *, interval: float = 1.0,
                 loop: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = Path(path) if path else demo_log_path()
        self.interval = interval
        self.loop = loop

    def _run(self) -> None:
        try:
            epochs = read_epochs(self.path)
        except OSError as exc:
            self.set_state(gps.NO_RECEIVER, why=str(exc))
            return
        if not epochs:
            self.set_state(gps.NO_RECEIVER, why="empty log")
            return
        while not self.stopping:
            for epoch in epochs:
                stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
                for report in epoch:
                    if report["class"] in ("TPV", "GST"):
                        report = dict(report, time=stamp + "Z")
                    self.accept_report(report)
                if self.sleep(self.interval):
                    return
            if not self.loop:
                return
