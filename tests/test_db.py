import sqlite3

import pytest

from survey_node import db as database
from survey_node.db import jobs as job_db


def test_pragmas(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_migrations_apply_once(config):
    database.connect(config.db_path).close()
    db = database.connect(config.db_path)
    names = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    assert names[:2] == ["m0001_users_audit_jobs", "m0002_cameras"]
    assert len(names) == len(set(names))


def test_audit_is_append_only(db):
    with database.transaction(db):
        database.audit(db, actor="t", action="x", entity="thing", entity_id=1)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_log")


def test_audit_outside_a_transaction_is_refused(db):
    with pytest.raises(RuntimeError):
        database.audit(db, actor="t", action="x", entity="thing")


def test_audit_rolls_back_with_the_change(db):
    with pytest.raises(ZeroDivisionError):
        with database.transaction(db):
            database.audit(db, actor="t", action="x", entity="thing")
            1 / 0
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0


def test_nearest_first_follows_camera_positions(db):
    from survey_node.db import cameras as camera_db

    with database.transaction(db):
        camera_db.insert_cameras(db, [
            {"camera_id": "A", "registered_lat": 13.6, "registered_lon": 100.6},
            {"camera_id": "B"},
            {"camera_id": "C", "registered_lat": 13.9, "registered_lon": 100.9},
        ])
    nearest = [c["camera_id"] for c in camera_db.rows_nearest(db, 13.7, 100.7, limit=5)]
    assert nearest == ["A", "C"]  # B has no position
    db.execute("UPDATE cameras SET registered_lat = 13.71, registered_lon = 100.71"
               " WHERE camera_id = 'B'")
    nearest = [c["camera_id"] for c in camera_db.rows_nearest(db, 13.7, 100.7, limit=5)]
    assert nearest == ["B", "A", "C"]


def test_nearest_first_is_exact_by_box_search_and_by_direct_sort(db):
    import random

    from survey_node.db import cameras as camera_db
    from survey_node.geo import distance_m

    rng = random.Random(7)
    cams = [{"camera_id": f"K{i:04d}", "registered_lat": 13.4 + rng.random() * 0.4,
             "registered_lon": 100.4 + rng.random() * 0.6} for i in range(3000)]
    with database.transaction(db):
        camera_db.insert_cameras(db, cams)
    sparse = ("c.camera_id LIKE ?", ["K%5"])  # every tenth camera, scattered everywhere
    subset = [c for c in cams if c["camera_id"].endswith("5")]
    for lat, lon in ((13.6, 100.7), (13.41, 100.41), (14.5, 101.5)):
        want = sorted(subset, key=lambda c: distance_m(lat, lon, c["registered_lat"],
                                                       c["registered_lon"]))
        want = [c["camera_id"] for c in want[10:40]]
        boxed = camera_db.rows_nearest(db, lat, lon, limit=30, offset=10, filters=sparse)
        direct = camera_db.rows_nearest(db, lat, lon, limit=30, offset=10, filters=sparse,
                                        matching=len(subset))
        assert [c["camera_id"] for c in boxed] == want
        assert [c["camera_id"] for c in direct] == want


def test_interrupted_jobs_are_marked_failed_on_startup(db, config, users):
    from survey_node.app import create_app

    job_id = job_db.insert_job(db, "import")
    job_db.update_job(db, job_id, state="running", progress=0.4)
    create_app(config, testing=True)
    job = job_db.get_job(db, job_id)
    assert job["state"] == "failed" and "interrupted" in job["error"]


def test_evidence_record_is_stored_once(db):
    from survey_node.db import evidence as evidence_db

    record = {"sha256": "a" * 64, "kind": "photo", "mime": "image/jpeg", "bytes": 7}
    assert evidence_db.upsert_evidence(db, record) is True
    assert evidence_db.upsert_evidence(db, record) is False
    assert evidence_db.get_evidence(db, "a" * 64)["source"] == ""
