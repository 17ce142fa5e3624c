"""Cameras for the selection tests: the demo's synthetic province, or hand-made strata."""

from __future__ import annotations

from survey_node import db as database
from survey_node import demo as demo_mod
from survey_node.db import cameras as camera_db

ADMIN = {"name": "admin", "role": "admin"}
SUPERVISOR = {"name": "supervisor", "role": "supervisor"}
SURVEYOR = {"name": "surveyor", "role": "surveyor"}


def seed_demo_cameras(db, count: int = 600) -> list[dict]:
    cams = demo_mod.synthetic_cameras(count, streams_port=8091)
    with database.transaction(db):
        camera_db.insert_cameras(db, cams)
    return cams


def seed_strata(db, sizes: dict[str, int]) -> list[dict]:
    """`sizes`: amphoe code -> number of cameras in it, ids like A1101-003."""
    cams = []
    for code, n in sizes.items():
        for i in range(1, n + 1):
            cams.append({"camera_id": f"A{code}-{i:03d}", "site_name": f"site {code} {i}",
                         "amphoe_code": code, "amphoe_name": f"amphoe {code}",
                         "province_code": code[:2], "province_name": "P", "agency": "X",
                         "registered_lat": 13.5 + i * 0.001, "registered_lon": 100.5,
                         "stream_url": "rtsp://127.0.0.1/x" if i % 2 else ""})
    with database.transaction(db):
        camera_db.insert_cameras(db, cams)
    return cams
