"""SQL for stream check runs. `url_secret` is read only by `get_stream_check_secret_url`
(an admin's audited reveal) and `get_stream_check_url` (the node re-checking a stream it
found on site; the address goes to FFmpeg, never to a page)."""

from __future__ import annotations

from sqlite_utils import Database

from . import audit, now_iso, placeholders, row, rows, transaction

CHECK_FIELDS = ("camera_id", "job_id", "url_masked", "url_secret", "transport", "verdict",
                "error", "connect_ms", "first_frame_ms", "codec", "width", "height", "fps",
                "bitrate_kbps", "keyframe_interval_s", "luma", "contrast", "frozen_score", "blur_score", "frames", "snapshot_sha256",
                "elapsed_ms", "probe_version", "checked_by",
                # The camera's own word over ONVIF, when the check came from it.
                "onvif_manufacturer", "onvif_model", "onvif_firmware", "onvif_serial",
                "onvif_hardware_id", "onvif_mac", "clock_drift_s",
                # The view against an earlier snapshot of the camera (viewchange.py).
                "view_change", "view_reference_sha256", "view_reference_at", "view_features",
                "view_structure", "view_shift", "view_inliers", "view_error")
PUBLIC_COLUMNS = ", ".join(["id", "checked_at", *(f for f in CHECK_FIELDS if f != "url_secret")])


def insert_stream_check(db: Database, record: dict, *, actor: str | None) -> int:
    item = {k: record.get(k) for k in CHECK_FIELDS}
    item["checked_at"] = now_iso()
    with transaction(db):
        cursor = db.execute(
            f"INSERT INTO stream_checks ({', '.join(item)})"
            f" VALUES ({placeholders(len(item))})",
            list(item.values()),
        )
        check_id = cursor.lastrowid
        audit(db, actor=actor, action="streamcheck.run", entity="stream_check",
              entity_id=check_id, detail={"camera_id": item["camera_id"],
                                          "url": item["url_masked"],
                                          "verdict": item["verdict"]})
    return check_id


def get_stream_check(db: Database, check_id: int) -> dict | None:
    return row(db, f"SELECT {PUBLIC_COLUMNS} FROM stream_checks WHERE id = ?", [check_id])


def get_stream_check_secret_url(db: Database, check_id: int, *, actor: str) -> str | None:
    """The unmasked URL of a check (admins only, decided by the caller); audited."""
    found = row(db, "SELECT url_masked, url_secret FROM stream_checks WHERE id = ?", [check_id])
    if found is None:
        return None
    with transaction(db):
        audit(db, actor=actor, action="streamcheck.reveal_url", entity="stream_check",
              entity_id=check_id)
    return found["url_secret"] or found["url_masked"]


def get_stream_check_url(db: Database, check_id: int) -> str | None:
    """The address a check opened, for checking the same stream again."""
    found = row(db, "SELECT url_masked, url_secret FROM stream_checks WHERE id = ?", [check_id])
    return (found["url_secret"] or found["url_masked"]) if found else None


def rows_stream_checks(db: Database, *, camera_id: str | None = None,
                       limit: int = 20) -> list[dict]:
    if camera_id is None:
        return rows(db, f"SELECT {PUBLIC_COLUMNS} FROM stream_checks ORDER BY id DESC LIMIT ?",
                    [limit])
    return rows(db, f"SELECT {PUBLIC_COLUMNS} FROM stream_checks WHERE camera_id = ?"
                " ORDER BY id DESC LIMIT ?", [camera_id, limit])


def count_active_jobs(db: Database, kind: str) -> int:
    return db.execute("SELECT count(*) FROM jobs WHERE kind = ? AND state IN ('queued',"
                      " 'running')", [kind]).fetchone()[0]


def get_view_reference(db: Database, camera_id: str) -> dict | None:
    """The snapshot an earlier visit to this camera ended with: the newest snapshot of a
    check made before the last time one of the camera's surveys was completed (None when
    no survey of it was ever completed). A check run during this visit, before the survey
    is completed again, is never its own reference.
    """
    done = db.execute(
        "SELECT max(at) FROM audit_log WHERE entity = 'survey' AND action = 'survey.complete'"
        " AND entity_id IN (SELECT id FROM surveys WHERE camera_id = ?)", [camera_id]
    ).fetchone()[0]
    if done is None:
        return None
    return row(db, "SELECT id, snapshot_sha256, checked_at FROM stream_checks"
                   " WHERE camera_id = ? AND snapshot_sha256 IS NOT NULL AND checked_at <= ?"
                   " ORDER BY checked_at DESC, id DESC LIMIT 1", [camera_id, done])
