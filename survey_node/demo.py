"""A plainly synthetic demo province (Samut Prakan) so the node can be tried with no files.

Everything here is made up: camera ids start with DEMO-, the node is named as a demo, and
the streams point at local test streams on 127.0.0.1. The generator is seeded, so two
demo data dirs hold the same cameras.
"""

from __future__ import annotations

import json
import os
import random
import secrets
from pathlib import Path

import geothai
from sqlite_utils import Database

from .db import audit, transaction
from .db import cameras as camera_db
from .selection import active_run
from .selection import assign, sample

PROVINCE_CODE = "11"
# Rough centre (lat, lon) and spread (deg) of each amphoe of Samut Prakan, so that the
# synthetic cameras fall inside the province (about 13.45-13.72 N, 100.45-100.97 E).
AMPHOE_CENTRES = {
    "1101": (13.600, 100.600, 0.030),
    "1102": (13.585, 100.840, 0.040),
    "1103": (13.610, 100.710, 0.035),
    "1104": (13.660, 100.535, 0.020),
    "1105": (13.560, 100.520, 0.025),
    "1106": (13.615, 100.790, 0.030),
}
PLACE_TYPES = ("ทางแยก", "ชุมชน", "โรงเรียน", "ตลาด", "ถนนสายหลัก", "สะพาน", "วัด",
               "สถานีตำรวจ", "ท่าเรือ", "โรงพยาบาล")
SITE_PATTERNS = ("แยก{t}", "หน้าโรงเรียนวัด{t}", "ตลาดสด{t}", "ซอย{t} {n}", "สะพานข้ามคลอง{t}",
                 "หน้าวัด{t}", "ชุมชน{t} หมู่ {n}", "ป้อมจราจร{t}", "ท่าเรือ{t}", "หน้าที่ว่าการ{t}")
ROADS = ("ถนนสุขุมวิท", "ถนนเทพารักษ์", "ถนนศรีนครินทร์", "ถนนบางนา-ตราด", "ถนนปู่เจ้าสมิงพราย",
         "ถนนสุขสวัสดิ์", "ถนนกิ่งแก้ว", "ถนนศรีนครินทร์-ร่มเกล้า", "ถนนสายลวด", "ถนนเทศบาลบางปู")
BRANDS = (("Hikvision", "DS-2CD2143G2-I", "4MP"), ("Dahua", "IPC-HFW2431S", "4MP"),
          ("Hikvision", "DS-2CD1023G0E-I", "2MP"), ("Uniview", "IPC2122LB", "2MP"),
          ("Axis", "M2025-LE", "1080p"))
STATUSES = ("ใช้งานได้",) * 8 + ("ชำรุด", "ไม่ทราบสถานะ")
STREAM_KINDS = ("good",) * 6 + ("black", "frozen", "dead", "")
DEMO_USERS = (("admin", "admin", "ผู้ดูแลระบบ (สาธิต)"),
              ("supervisor", "supervisor", "หัวหน้าตรวจสอบ (สาธิต)"),
              ("surveyor", "surveyor", "เจ้าหน้าที่สำรวจ 1 (สาธิต)"),
              ("surveyor2", "surveyor", "เจ้าหน้าที่สำรวจ 2 (สาธิต)"))
USERS_FILE = "demo-users.json"


def synthetic_cameras(count: int, *, streams_port: int, seed: int = 2569) -> list[dict]:
    rng = random.Random(seed)
    province = geothai.province(PROVINCE_CODE)
    amphoes = [d for d in geothai.districts(PROVINCE_CODE) if d.code in AMPHOE_CENTRES]
    cameras = []
    for i in range(count):
        amphoe = amphoes[i % len(amphoes)]
        tambon = rng.choice(geothai.subdistricts(amphoe.code))
        lat0, lon0, spread = AMPHOE_CENTRES[amphoe.code]
        lat = round(lat0 + rng.uniform(-spread, spread), 6)
        lon = round(lon0 + rng.uniform(-spread, spread), 6)
        brand, model, resolution = rng.choice(BRANDS)
        agency = rng.choice((f"สภ.{tambon.name_th}", f"เทศบาลตำบล{tambon.name_th}",
                             f"อบต.{tambon.name_th}", f"สภ.{amphoe.name_th}",
                             "แขวงทางหลวงสมุทรปราการ"))
        site = rng.choice(SITE_PATTERNS).format(t=tambon.name_th, n=rng.randint(1, 12))
        kind = rng.choice(STREAM_KINDS)
        stream = f"http://127.0.0.1:{streams_port}/{kind}.mjpg" if kind else ""
        no_position = rng.random() < 0.02  # a few registry rows lack coordinates, as real ones do
        cameras.append({
            "camera_id": f"DEMO-{PROVINCE_CODE}-{i + 1:05d}",
            "site_name": site,
            "place_name": rng.choice(ROADS),
            "place_type": rng.choice(PLACE_TYPES),
            "agency": agency,
            "province_code": province.code,
            "province_name": province.name_th,
            "amphoe_code": amphoe.code,
            "amphoe_name": amphoe.name_th,
            "tambon_code": tambon.code,
            "tambon_name": tambon.name_th,
            "registered_lat": None if no_position else lat,
            "registered_lon": None if no_position else lon,
            "coord_text": "" if no_position else f"{lat}, {lon}",
            "coord_system": "" if no_position else "EPSG:4326",
            "brand": brand,
            "model": model,
            "resolution": resolution,
            "stream_url": stream,
            "registry_status": rng.choice(STATUSES),
            "raw": {"synthetic": True},
        })
    return cameras


def seed_demo(db: Database, *, count: int, streams_port: int) -> int:
    """Fill an empty node database with the demo province; returns cameras added."""
    if camera_db.count_cameras(db, include_removed=True):
        return 0
    cameras = synthetic_cameras(count, streams_port=streams_port)
    with transaction(db):
        camera_db.insert_cameras(db, cameras)
        audit(db, actor="demo", action="cameras.demo_seed", entity="cameras",
              detail={"count": len(cameras), "province_code": PROVINCE_CODE, "synthetic": True})
    return len(cameras)


def demo_users(data_dir: Path) -> list[dict]:
    """The demo users with their PINs, made once and kept in the demo data dir (0600)."""
    path = data_dir / USERS_FILE
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    users = [{"name": n, "role": r, "display_name": d,
              "pin": f"{secrets.randbelow(10**6):06d}"} for n, r, d in DEMO_USERS]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(users, fh, ensure_ascii=False, indent=2)
    return users


DEMO_SEED = "DEMO-2569"


def prepare_selection(db: Database) -> dict | None:
    """Draw the demo's 20 % sample (fixed seed) and hand the amphoes to the demo surveyors.

    Done once: a demo node that already has a set keeps it (and its replacements).
    """

    if active_run(db) is not None or not camera_db.count_cameras(db, include_removed=True):
        return None
    operator = {"name": "demo", "role": "admin"}
    run = sample.draw_sample(db, fraction="0.2", by="amphoe", seed=DEMO_SEED, user=operator)
    surveyors = [name for name, role, _ in DEMO_USERS if role == "surveyor"]
    for i, code in enumerate(sorted(AMPHOE_CENTRES)):
        assign.assign_amphoe(db, code, surveyors[i % len(surveyors)], user=operator)
    return run
