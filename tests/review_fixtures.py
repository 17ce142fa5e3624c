"""Cameras, a survey set and completed surveys for the review, dashboard and export tests.

Surveys are made through the survey workflow service, as a surveyor on the node would.
"""

from __future__ import annotations

import io

from PIL import Image

from survey_node import survey as survey_svc
from survey_node.db import cameras as camera_db
from survey_node.db import evidence as evidence_db
from survey_node.db import streamchecks as streamcheck_db
from survey_node.db import transaction
from survey_node.evidence import EvidenceStore
from survey_node.selection import sample

SURVEYOR = {"name": "surveyor", "role": "surveyor"}
SUPERVISOR = {"name": "supervisor", "role": "supervisor"}
ADMIN = {"name": "admin", "role": "admin"}

CAMERAS = [
    # camera_id, site, amphoe code, amphoe name, agency, lat, lon, stream
    ("NMA-001", "แยกหัวทะเล", "3001", "เมืองนครราชสีมา", "สถานีตำรวจภูธรเมืองนครราชสีมา", 14.9700, 102.1000, True),
    ("NMA-002", "หน้าโรงเรียนสุรนารี", "3001", "เมืองนครราชสีมา", "เทศบาลนครนครราชสีมา", 14.9750, 102.1050, True),
    ("NMA-003", "ตลาดปากช่อง", "3021", "ปากช่อง", "เทศบาลเมืองปากช่อง", 14.7050, 101.4200, False),
    ("NMA-004", "สี่แยกปากช่อง", "3021", "ปากช่อง", "สถานีตำรวจภูธรปากช่อง", 14.7100, 101.4150, True),
    ("NMA-005", "หน้าอำเภอสีคิ้ว", "3020", "สีคิ้ว", "ที่ว่าการอำเภอสีคิ้ว", 14.8900, 101.7200, False),
]


def seed_cameras(db) -> list[str]:
    rows = [{"camera_id": cid, "site_name": site, "place_name": f"ถนน {site}",
             "place_type": "ทางแยก", "agency": agency, "province_code": "30",
             "province_name": "นครราชสีมา", "amphoe_code": code, "amphoe_name": name,
             "tambon_name": "ในเมือง", "registered_lat": lat, "registered_lon": lon,
             "brand": "Hikvision", "model": "DS-2CD", "resolution": "1920x1080",
             "registry_status": "ใช้งานได้",
             "stream_url": f"rtsp://admin:pw@127.0.0.1:8554/{cid}" if stream else ""}
            for cid, site, code, name, agency, lat, lon, stream in CAMERAS]
    with transaction(db):
        camera_db.insert_cameras(db, rows)
    return [r["camera_id"] for r in rows]


def select_all(db) -> None:
    """A survey set of every camera (fraction 1), so the quota counts all five."""
    sample.draw_sample(db, fraction="1", by=["amphoe"], seed="review-tests", user=ADMIN)


def jpeg(colour=(200, 30, 30), size=(320, 240)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def store_photo(db, config, colour=(200, 30, 30), kind="photo") -> str:
    data = jpeg(colour)
    sha = EvidenceStore(config.evidence_dir).put_bytes(data)
    evidence_db.upsert_evidence(db, {"sha256": sha, "kind": kind, "mime": "image/jpeg",
                                     "bytes": len(data), "width": 320, "height": 240,
                                     "source": "upload"})
    return sha


def complete_survey(db, config, camera_id: str, *, user=SURVEYOR, offset=0.0001,
                    verdict: str | None = "ok", colour=(200, 30, 30), answers=None) -> dict:
    cam = camera_db.get_camera(db, camera_id)
    s = survey_svc.start_or_resume(db, config, camera_id=camera_id, user=user)
    lat, lon = cam["registered_lat"] + offset, cam["registered_lon"]
    survey_svc.set_position(db, config, s["id"], user=user, source="gpsd", fix={
        "lat": lat, "lon": lon, "eph": 3.5, "hdop": 0.9, "sats_used": 9, "fix_mode": 3,
        "samples": 10, "spread_m": 1.2, "fix_time": "2026-11-25T03:00:00+00:00",
        "eph_source": "gst"})
    survey_svc.add_photo(db, config, s["id"], user=user, sha256=store_photo(db, config, colour),
                         role="camera")
    if verdict:
        snapshot = store_photo(db, config, (40, 40, 160), kind="snapshot") if verdict == "ok" else None
        check_id = streamcheck_db.insert_stream_check(db, {
            "camera_id": camera_id, "url_masked": f"rtsp://***@127.0.0.1:8554/{camera_id}",
            "url_secret": f"rtsp://admin:pw@127.0.0.1:8554/{camera_id}", "transport": "tcp",
            "verdict": verdict, "connect_ms": 120, "first_frame_ms": 340, "codec": "h264",
            "width": 1920 if verdict == "ok" else None, "height": 1080 if verdict == "ok" else None,
            "fps": 12.5 if verdict == "ok" else None, "luma": 97.0, "frozen_score": 4.2,
            "blur_score": 310.0, "snapshot_sha256": snapshot, "checked_by": user["name"]},
            actor=user["name"])
        survey_svc.record_stream_check(db, config, s["id"], user=user, check_id=check_id,
                                       verdict=verdict, snapshot_sha256=snapshot)
    if offset * 111_000 > config.survey.distance_warning_m:
        survey_svc.save_answers(db, config, s["id"], user=user,
                                position_reason="ย้ายไปเสาต้นถัดไป")
    survey_svc.save_answers(db, config, s["id"], user=user,
                            checklist=answers or {"exists": "yes", "working": "yes"},
                            notes="กล้องอยู่บนเสาไฟ")
    return survey_svc.complete(db, config, s["id"], user=user)
