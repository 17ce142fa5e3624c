"""The survey workflow service on a real SQLite file."""

import pytest

from survey_node import survey as survey_svc
from survey_node.db import cameras as camera_db
from survey_node.db import evidence as evidence_db
from survey_node.db import transaction
from survey_node.errors import BadInput, Conflict, Forbidden
from survey_node.evidence import EvidenceStore

SURVEYOR = {"name": "surveyor", "role": "surveyor"}
OTHER = {"name": "surveyor2", "role": "surveyor"}
SUPERVISOR = {"name": "supervisor", "role": "supervisor"}


@pytest.fixture
def camera(db):
    with transaction(db):
        camera_db.insert_cameras(db, [{
            "camera_id": "SP-0001", "site_name": "แยกเทพารักษ์", "registered_lat": 13.6,
            "registered_lon": 100.6, "stream_url": "rtsp://admin:secret@127.0.0.1:8554/cam",
        }])
    return "SP-0001"


@pytest.fixture
def photo(db, config):
    sha = EvidenceStore(config.evidence_dir).put_bytes(b"\xff\xd8 fake jpeg bytes")
    evidence_db.upsert_evidence(db, {"sha256": sha, "kind": "photo", "mime": "image/jpeg",
                                     "bytes": 20, "source": "upload"})
    return sha


def _fix(lat=13.6001, lon=100.6001):
    return {"lat": lat, "lon": lon, "eph": 3.2, "hdop": 0.9, "sats_used": 9, "fix_mode": 3,
            "samples": 10, "spread_m": 1.1, "fix_time": "2026-11-25T03:00:00+00:00"}


def _complete_survey(db, config, camera, photo):
    s = survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    survey_svc.set_position(db, config, s["id"], user=SURVEYOR, fix=_fix(), source="gpsd")
    survey_svc.add_photo(db, config, s["id"], user=SURVEYOR, sha256=photo, role="camera")
    survey_svc.record_stream_check(db, config, s["id"], user=SURVEYOR, check_id=1, verdict="ok")
    survey_svc.save_answers(db, config, s["id"], user=SURVEYOR,
                            checklist={"exists": "yes", "working": "yes"})
    return survey_svc.complete(db, config, s["id"], user=SURVEYOR)


def test_resume_returns_the_same_draft(db, config, camera):
    first = survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    again = survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    assert first["id"] == again["id"] and again["state"] == "draft"


def test_a_write_reads_the_survey_once_and_returns_it_as_saved(db, config, camera):
    survey = survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        saved = survey_svc.save_answers(db, config, survey["id"], user=SURVEYOR,
                                        notes="เสาไฟหน้าวัด", checklist={"exists": "yes"})
    finally:
        db.conn.set_trace_callback(None)
    reads = [q for q in statements if q.lstrip().upper().startswith("SELECT")
             and "FROM SURVEYS" in q.upper() and "SURVEY_EVIDENCE" not in q.upper()]
    assert len(reads) == 1, reads
    # What comes back is what is stored: the next read sees the same survey.
    stored = survey_svc.get(db, survey["id"])
    assert saved["notes"] == stored["notes"] == "เสาไฟหน้าวัด"
    assert saved["checklist"] == stored["checklist"] == {"exists": "yes"}
    assert saved["updated_at"] == stored["updated_at"] and saved["evidence"] == []


def _assign(db, camera, name):
    from survey_node.db import selection as selection_db

    with transaction(db):
        selection_db.upsert_assignments(db, [camera], user_name=name, how="hand",
                                        actor="supervisor")


def test_another_surveyors_survey_is_theirs(db, config, camera):
    s = survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    with pytest.raises(Forbidden, match="belongs to surveyor"):
        survey_svc.start_or_resume(db, config, camera_id=camera, user=OTHER)
    for change in (lambda: survey_svc.set_position(db, config, s["id"], user=OTHER,
                                                   fix=_fix(13.6, 100.6), source="gpsd"),
                   lambda: survey_svc.save_answers(db, config, s["id"], user=OTHER,
                                                   checklist={"exists": "no"})):
        with pytest.raises(Forbidden):
            change()
    assert survey_svc.get(db, s["id"])["lat"] is None


def test_a_camera_assigned_to_another_surveyor_cannot_be_started(db, config, camera):
    _assign(db, camera, "surveyor2")
    with pytest.raises(Forbidden, match="assigned to surveyor2"):
        survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    supervisor = {"name": "supervisor", "role": "supervisor"}
    assert survey_svc.start_or_resume(db, config, camera_id=camera, user=supervisor)


def test_a_reassigned_survey_waits_for_the_lock_to_lapse(db, config, camera):
    s = survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    _assign(db, camera, "surveyor2")
    with pytest.raises(Conflict, match="open by surveyor"):
        survey_svc.start_or_resume(db, config, camera_id=camera, user=OTHER)
    db.execute("UPDATE surveys SET locked_at = '2000-01-01T00:00:00+00:00' WHERE id = ?", [s["id"]])
    taken = survey_svc.start_or_resume(db, config, camera_id=camera, user=OTHER)
    assert taken["locked_by"] == "surveyor2"


def test_position_records_distance_and_far_needs_a_reason(db, config, camera, photo):
    s = survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    far = survey_svc.set_position(db, config, s["id"], user=SURVEYOR,
                                  fix=_fix(13.6010, 100.6), source="gpsd")
    assert 100 < far["distance_m"] < 120
    missing = survey_svc.missing_for_completion(db, config, far)
    assert any("far from its registered position" in m for m in missing)


def test_manual_position_needs_a_reason(db, config, camera):
    s = survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    with pytest.raises(BadInput, match="needs a reason"):
        survey_svc.set_position(db, config, s["id"], user=SURVEYOR, fix=_fix(), source="manual")
    with pytest.raises(BadInput, match="Latitude \"north\" is not a number"):
        survey_svc.set_position(db, config, s["id"], user=SURVEYOR, fix={"lat": "north", "lon": 1},
                                source="gpsd")


def test_complete_says_what_is_missing(db, config, camera):
    s = survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    with pytest.raises(BadInput) as err:
        survey_svc.complete(db, config, s["id"], user=SURVEYOR)
    text = str(err.value)
    for expected in ("Fix the position", "photo of the camera", "stream check",
                     "The camera is there"):
        assert expected in text


def test_complete_then_change_reopens_with_next_revision(db, config, camera, photo):
    done = _complete_survey(db, config, camera, photo)
    assert done["state"] == "complete" and done["revision"] == 1 and done["locked_by"] is None
    edited = survey_svc.save_answers(db, config, done["id"], user=SURVEYOR, notes="ป้ายหาย")
    assert edited["state"] == "draft" and edited["revision"] == 2
    again = survey_svc.save_answers(db, config, done["id"], user=SURVEYOR, notes="ป้ายหายไป")
    assert again["revision"] == 2  # one revision per reopening, not per keystroke


def test_every_change_is_audited(db, config, camera, photo):
    done = _complete_survey(db, config, camera, photo)
    actions = [r[0] for r in db.execute(
        "SELECT action FROM audit_log WHERE entity_id = ? ORDER BY id", [done["id"]])]
    assert actions == ["survey.start", "survey.position", "survey.photo_add",
                       "survey.stream_check", "survey.answers", "survey.complete"]


def test_bad_checklist_answers_change_nothing(db, config, camera):
    s = survey_svc.start_or_resume(db, config, camera_id=camera, user=SURVEYOR)
    with pytest.raises(BadInput, match="maybe"):
        survey_svc.save_answers(db, config, s["id"], user=SURVEYOR, checklist={"exists": "maybe"})
    assert survey_svc.get(db, s["id"])["checklist"] == {}
