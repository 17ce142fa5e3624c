"""Photo decodes bounded by a memory budget: eight 64 MP PNGs at once against the real
server process (its peak RSS), busy and too-large answers, and the cost estimate checked
against what a decode really takes (peak RSS of a fresh process)."""

from __future__ import annotations

import concurrent.futures
import io
import json
import re
import subprocess
import sys
import textwrap

import pytest
import requests
from PIL import Image

from survey_node import photos
from survey_node.db import evidence as evidence_db
from survey_node.errors import BadInput
from tests import hostile_images as hi
from tests import phone_photos
from tests.conftest import PINS
from tests.live import running_node

MB = 1024 * 1024
BUDGET_MB = 480     # the default (camera.decode_budget_mb)
# Besides the budget: eight uploads in flight, waitress's buffers and the threads' stacks
# and malloc arenas. A bound, not a measurement: the point is that it does not grow with
# the number of photos posted at once.
SLACK_MB = 120


def status_kb(pid: int, key: str) -> int:
    text = open(f"/proc/{pid}/status").read()
    return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1))


def server_pid(base: str) -> int:
    port = base.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True,
                         timeout=10).stdout
    return int(re.search(r"pid=(\d+)", out).group(1))


def logged_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    session.post(f"{base}/login", data={"name": "surveyor", "pin": PINS["surveyor"],
                                        "csrf_token": token}, timeout=10)
    page = session.get(f"{base}/", timeout=10).text  # the logged-in session's token
    session.headers["X-CSRFToken"] = re.search(r'name="csrf-token" content="([^"]+)"',
                                               page).group(1)
    return session


def post_photo(session, base, data, name):
    return session.post(f"{base}/api/v1/photos", files={"photo": (name, data, "image/png")},
                        timeout=120)


def test_eight_64_megapixel_pngs_at_once_stay_within_the_budget(data_dir, users, db):
    # As in the red-team report: 186 KB files of 8000x8000 pixels; each colour its own, so
    # each stored photo is its own evidence item.
    bombs = [hi.png(8000, 8000, value=20 * i) for i in range(8)]
    assert all(len(b) < 250_000 for b in bombs)
    env = {"SURVEY_NODE_GPS__BACKEND": "replay"}
    with running_node(data_dir, env=env) as base:
        pid = server_pid(base)
        session = logged_in(base)
        warm = post_photo(session, base, hi.jpeg(), "warm-up.jpg")
        assert warm.status_code == 201, warm.text
        before_kb = status_kb(pid, "VmHWM")
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: post_photo(logged_in(base), base, bombs[i],
                                                         f"IMG_{i}.png"), range(8)))
        peak_kb = status_kb(pid, "VmHWM")
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
    bound_kb = before_kb + (BUDGET_MB + SLACK_MB) * 1024
    assert peak_kb <= bound_kb, (
        f"peak RSS {peak_kb // 1024} MB > {bound_kb // 1024} MB (before the burst"
        f" {before_kb // 1024} MB + budget {BUDGET_MB} + {SLACK_MB})")
    stored = [a for a in answers if a.status_code == 201]
    busy = [a for a in answers if a.status_code != 201]
    assert stored, [a.text for a in answers]
    for answer in busy:
        assert answer.status_code == 503 and answer.json()["error"] == "busy", answer.text
        assert int(answer.headers["Retry-After"]) > 0
        assert "ลองส่ง" in answer.json()["message"] and "\n" not in answer.json()["message"]
    for answer in stored:
        assert answer.json()["width"] == 2048 and answer.json()["original_mime"] == "image/png"
    # Exactly the stored ones are on the node (and the warm-up photo).
    assert len(evidence_db.rows_evidence(db, [a.json()["sha256"] for a in stored])) == len(stored)
    assert db.execute("select count(*) from evidence").fetchone()[0] == len(stored) + 1


def test_a_photo_waits_for_room_then_is_answered_busy_in_thai(config, users, db):
    from survey_node.app import create_app

    config.camera.decode_wait_s = 0.2
    app = create_app(config, testing=True)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/login", data={"name": "surveyor", "pin": PINS["surveyor"]})
    budget = app.extensions["photo_budget"]
    photo = {"photo": (io.BytesIO(hi.jpeg()), "IMG_0042.jpg")}
    with budget.reserve(budget.total, name="another upload"):  # another decode holds it all
        response = client.post("/api/v1/photos", data=photo)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    body = response.get_json()
    assert body["error"] == "busy"
    assert body["message"].startswith("เครื่องกำลังประมวลผลภาพอื่น") and "IMG_0042.jpg" in body["message"]
    assert db.execute("select count(*) from evidence").fetchone()[0] == 0
    assert budget.in_use == 0
    # Room again: the same photo is stored.
    again = client.post("/api/v1/photos", data={"photo": (io.BytesIO(hi.jpeg()), "IMG_0042.jpg")})
    assert again.status_code == 201, again.get_json()
    assert budget.in_use == 0


def test_a_photo_bigger_than_the_whole_budget_is_refused_at_once(client, auth, db, config):
    auth.login("surveyor")
    # 8000x8000 with alpha: about 950 MB to decode and flatten, over the 480 MB budget.
    rgba = hi.png(8000, 8000, alpha=True)
    assert Image.open(io.BytesIO(rgba)).mode == "RGBA"
    response = client.post("/api/v1/photos", data={"photo": (io.BytesIO(rgba), "big.png")})
    assert response.status_code == 413, response.get_json()
    message = response.get_json()["message"]
    assert "big.png" in message and "480 MB" in message and "\n" not in message
    assert db.execute("select count(*) from evidence").fetchone()[0] == 0


def test_the_budget_admits_in_arrival_order_and_frees_on_every_exit():
    import threading

    from survey_node.photo_memory import DecodeBudget

    budget = DecodeBudget(400 * MB, wait_s=60)
    admitted = []

    def decode(label, cost, hold=None):
        with budget.reserve(cost, name=label):
            admitted.append(label)
            if hold is not None:
                hold.wait(60)

    first_release = threading.Event()
    first = threading.Thread(target=decode, args=("64 MP PNG", 300 * MB, first_release))
    first.start()
    while budget.in_use == 0:
        threading.Event().wait(0.01)
    # A second big one queues; a small one behind it would fit now but keeps its place.
    big = threading.Thread(target=decode, args=("second PNG", 200 * MB))
    big.start()
    while len(budget._queue) < 1:
        threading.Event().wait(0.01)
    small = threading.Thread(target=decode, args=("phone JPEG", 50 * MB))
    small.start()
    while len(budget._queue) < 2:
        threading.Event().wait(0.01)
    assert admitted == ["64 MP PNG"]
    first_release.set()
    for thread in (first, big, small):
        thread.join(60)
    assert admitted == ["64 MP PNG", "second PNG", "phone JPEG"] and budget.in_use == 0
    # A decode that fails (a JPEG cut short fails in libjpeg, inside its reservation) gives
    # its share back too.
    with pytest.raises(BadInput, match="damaged"):
        photos.process(hi.jpeg()[:-2000], name="x.jpg", budget=budget)
    assert budget.in_use == 0


# -- the estimate against a real decode ------------------------------------------------

MEASURE = textwrap.dedent("""
    import json, re, sys
    from survey_node import photo_memory, photos

    def kb(key):
        return int(re.search(key + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1))

    data = open(sys.argv[1], "rb").read()
    estimates = []
    real_cost = photo_memory.decode_cost
    photos.decode_cost = lambda **kw: estimates.append(real_cost(**kw)) or estimates[-1]
    budget = photo_memory.DecodeBudget(10 ** 12, 1.0)
    open("/proc/self/clear_refs", "w").write("5")  # peak RSS := now
    start = kb("VmRSS")
    photos.process(data, position=None, node_id="n", budget=budget)
    print(json.dumps({"peak": (kb("VmHWM") - start) * 1024, "estimate": estimates[0]}))
""")


def _texture(size, mode="RGB"):
    return Image.effect_noise(size, 40).convert(mode)


def _saved(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


KINDS = {
    "jpeg 12 MP (drafted)": lambda: _saved(_texture((4000, 3000)), "JPEG", quality=90),
    "jpeg 2400 px": lambda: _saved(_texture((2400, 1800)), "JPEG", quality=90),
    "jpeg CMYK": lambda: _saved(_texture((2400, 1800), "CMYK"), "JPEG", quality=90),
    "png RGB": lambda: _saved(_texture((3000, 3000)), "PNG", compress_level=1),
    "png RGBA": lambda: _saved(_texture((3000, 3000), "RGBA"), "PNG", compress_level=1),
    "png grey": lambda: _saved(_texture((3000, 3000), "L"), "PNG", compress_level=1),
    "png 16-bit grey": lambda: _saved(_texture((3000, 3000), "I").convert("I;16"), "PNG",
                                      compress_level=1),
    "png palette": lambda: _saved(_texture((3000, 3000), "P"), "PNG", compress_level=1,
                                  transparency=0),
    "webp": lambda: _saved(_texture((3000, 3000)), "WEBP", quality=80),
    "webp alpha": lambda: _saved(_texture((3000, 3000), "RGBA"), "WEBP", quality=80),
    "heic iPhone grid": lambda: phone_photos.iphone_heic(content=_texture((4032, 3024)),
                                                         orientation=1, quality=60,
                                                         preset="ultrafast"),
    "avif": lambda: _saved(_texture((3000, 3000)), "AVIF", quality=60),
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_decode_cost_estimate_is_not_below_the_real_peak(kind, tmp_path):
    path = tmp_path / "photo"
    path.write_bytes(KINDS[kind]())
    out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    peak, estimate = result["peak"], result["estimate"]
    assert peak <= estimate, f"{kind}: took {peak / MB:.0f} MB, estimated {estimate / MB:.0f} MB"
    # ... and not so far above it that the budget turns away photos it has room for.
    assert estimate <= 1.6 * peak + 16 * MB, f"{kind}: took {peak / MB:.0f} MB," \
                                             f" estimated {estimate / MB:.0f} MB"
