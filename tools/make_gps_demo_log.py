"""Write the demo GPS log: a surveyor's walk in Samut Prakan (Pak Nam), as NMEA.

Run from the repository root: `python tools/make_gps_demo_log.py`. The output is committed
as survey_node/devices/data/samut_prakan_walk.nmea; the replay backend re-stamps its times.
Pattern: stand 40 s at a camera pole, walk ~250 m along the road, stand 40 s at the next
pole, walk back. Small deterministic jitter makes the averaged spread realistic.
"""

import datetime as dt
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from survey_node.devices.nmea import Epoch, offset, write_log  # noqa: E402

START = (13.59930, 100.59680)   # near the Pak Nam waterfront, Mueang Samut Prakan
OUT = Path(__file__).resolve().parents[1] / "survey_node/devices/data/samut_prakan_walk.nmea"


def main() -> None:
    rng = random.Random(11)
    t0 = dt.datetime(2026, 1, 15, 2, 0, 0, tzinfo=dt.timezone.utc)
    epochs = []
    heading = math.radians(35)  # walking north-east along the road
    pole_a = START
    pole_b = offset(*START, 250 * math.cos(heading), 250 * math.sin(heading))
    plan = [("stand", pole_a, pole_a, 40), ("walk", pole_a, pole_b, 180),
            ("stand", pole_b, pole_b, 40), ("walk", pole_b, pole_a, 180)]
    second = 0
    for kind, (lat0, lon0), (lat1, lon1), seconds in plan:
        for i in range(seconds):
            share = i / seconds
            lat = lat0 + (lat1 - lat0) * share
            lon = lon0 + (lon1 - lon0) * share
            lat, lon = offset(lat, lon, rng.gauss(0, 0.8), rng.gauss(0, 0.8))
            epochs.append(Epoch(time=t0 + dt.timedelta(seconds=second), lat=lat, lon=lon,
                                alt=round(2.5 + rng.gauss(0, 0.6), 1), hdop=0.8, pdop=1.5,
                                vdop=1.2, eph=round(3.5 + rng.random(), 1),
                                speed_knots=2.7 if kind == "walk" else 0.0,
                                course=35.0 if lat1 > lat0 else 215.0))
            second += 1
    OUT.write_text(write_log(epochs), encoding="ascii")
    print(f"wrote {len(epochs)} epochs to {OUT}")


if __name__ == "__main__":
    main()
