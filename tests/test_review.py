"""Supervisor decisions on the node: rules, the reopened survey, the audit, the quota."""

import pytest

from survey_node import review
from survey_node import survey as survey_svc
from survey_node.db import reviews as review_db
from survey_node.db import rows_audit
from survey_node.errors import BadInput, Conflict, Forbidden
from survey_node.selection import quota

from .review_fixtures import SUPERVISOR, SURVEYOR, complete_survey, seed_cameras, select_all


@pytest.fixture
def cams(db):
    ids = seed_cameras(db)
    select_all(db)
    return ids


def test_a_surveyor_cannot_decide(db, config, cams):
    s = complete_survey(db, config, cams[0])
    with pytest.raises(Forbidden):
        review.decide(db, s["id"], user=SURVEYOR, decision="approved")
    assert review_db.rows_reviews(db, [s["id"]]) == []


def test_resurvey_reopens_the_survey_with_the_instructions(db, config, cams):
    s = complete_survey(db, config, cams[0])
    out = review.decide(db, s["id"], user=SUPERVISOR, decision="resurvey",
                        reason="ถ่ายรูปป้ายหน่วยงานให้ชัด", flags=["picture_obstructed"])
    assert out["state"] == "draft" and out["revision"] == 2
    assert out["review_state"] == "resurvey" and out["review_reason"] == "ถ่ายรูปป้ายหน่วยงานให้ชัด"
    logged = rows_audit(db, entity="survey")[0]
    assert logged["action"] == "survey.review" and logged["actor"] == "supervisor"
    assert "picture_obstructed" in logged["detail"]
    # The surveyor works on it again; completing it puts it back in the queue.
    survey_svc.save_answers(db, config, s["id"], user=SURVEYOR, notes="ถ่ายใหม่แล้ว")
    again = survey_svc.complete(db, config, s["id"], user=SURVEYOR)
    assert again["state"] == "complete" and again["review_state"] is None
    assert [i["id"] for i in review.queue(db)["items"]] == [s["id"]]
    # The decision is still on record for revision 1.
    assert review_db.rows_reviews(db, [s["id"]])[0]["revision"] == 1


def test_reject_and_resurvey_need_a_reason(db, config, cams):
    s = complete_survey(db, config, cams[0])
    for decision in ("rejected", "resurvey"):
        with pytest.raises(BadInput, match="Say why"):
            review.decide(db, s["id"], user=SUPERVISOR, decision=decision, reason="  ")
    with pytest.raises(BadInput, match="flag"):
        review.decide(db, s["id"], user=SUPERVISOR, decision="approved", flags=["bogus"])


def test_a_draft_cannot_be_reviewed(db, config, cams):
    s = survey_svc.start_or_resume(db, config, camera_id=cams[0], user=SURVEYOR)
    with pytest.raises(Conflict, match="not complete"):
        review.decide(db, s["id"], user=SUPERVISOR, decision="approved")


def test_approval_counts_in_the_quota_and_locks_the_survey(db, config, cams):
    a = complete_survey(db, config, cams[0])
    b = complete_survey(db, config, cams[1])
    complete_survey(db, config, cams[2], verdict=None)
    review.decide(db, a["id"], user=SUPERVISOR, decision="approved")
    review.decide(db, b["id"], user=SUPERVISOR, decision="rejected", reason="ผิดกล้อง",
                  flags=["camera_missing"])
    result = quota.compute_quota(db, level="amphoe")
    muang = next(r for r in result["rows"] if r["code"] == "3001")
    assert (muang["selected"], muang["surveyed"], muang["approved"]) == (2, 1, 1)
    assert result["totals"]["surveyed"] == 2  # the rejected one is a draft again
    with pytest.raises(Conflict, match="approved"):
        survey_svc.save_answers(db, config, a["id"], user=SURVEYOR, notes="x")


def test_queue_filters(db, config, cams):
    complete_survey(db, config, cams[0])
    complete_survey(db, config, cams[3], verdict="timeout")
    complete_survey(db, config, cams[4], verdict=None)
    assert review.queue(db)["total"] == 3
    assert [i["camera_id"] for i in review.queue(db, amphoe="3021")["items"]] == [cams[3]]
    assert [i["camera_id"] for i in review.queue(db, verdict="failed")["items"]] == [cams[3]]
    assert [i["camera_id"] for i in review.queue(db, agency="ที่ว่าการอำเภอสีคิ้ว")["items"]] == [cams[4]]
    assert review.queue(db, surveyor="nobody")["total"] == 0
    assert review.queue(db, status="approved")["total"] == 0


def test_compare_highlights_a_moved_camera(db, config, cams):
    s = complete_survey(db, config, cams[0], offset=0.001)  # about 111 m north
    view = review.compare(db, config, s["id"])
    rows = {d["key"]: d for d in view["differences"]}
    assert rows["position"]["differs"] and rows["distance"]["surveyed"] > 100
    assert not rows["stream"]["differs"]
    assert view["gps"]["grade"] == "good"
    assert [h["action"] for h in view["history"]][0] == "survey.start"
    assert "stream_url" not in view["camera"] and view["camera"]["has_stream"]


def test_cli_review_records_a_decision_as_the_named_supervisor(cli, db, config, users, cams):
    s = complete_survey(db, config, cams[0])
    refused = cli("review", s["id"], "--decision", "approved", "--as", "surveyor",
                  "--data-dir", config.data_dir)
    assert refused.exit_code == 2 and "Only a supervisor" in refused.output
    done = cli("review", s["id"], "--decision", "rejected", "--reason", "ผิดกล้อง", "--flag",
               "camera_missing", "--as", "supervisor", "--json", "--data-dir", config.data_dir)
    assert done.exit_code == 0, done.output
    assert '"review_state": "rejected"' in done.output
    assert review_db.rows_reviews(db, [s["id"]])[0]["flags"] == ["camera_missing"]
