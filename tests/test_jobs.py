"""The one job runner (survey_node/jobs.py): whatever the work does, its row ends in a state
the page can show, and a crash's leftovers are failed at the next start."""

import errno
import json

import pytest

from survey_node import jobs
from survey_node.db import jobs as job_db
from survey_node.errors import BadInput


def _run(config, db, work, **kwargs) -> dict:
    job_id = job_db.insert_job(db, "test", params={"x": 1}, created_by="admin")
    jobs.run_job(config, job_id, work, **kwargs)
    return job_db.get_job(db, job_id)


def test_work_that_finishes_reports_its_progress_and_result(config, db):
    seen = []

    def work(run):
        run.start(progress=0.1, message="Connecting")
        run.report(progress=0.51234)
        seen.append(job_db.get_job(db, run.id))
        run.finish({"verdict": "ok"}, message="Done")

    job = _run(config, db, work)
    assert seen[0]["state"] == "running" and seen[0]["progress"] == 0.512
    assert job["state"] == "done" and job["progress"] == 1.0 and job["result"] == {"verdict": "ok"}
    assert job["message"] == "Done" and job["error"] is None


@pytest.mark.parametrize("raised, line, message", [
    (BadInput("Camera %(id)s has no stream URL", id="C1"), "Camera C1 has no stream URL",
     {"message": "Camera %(id)s has no stream URL", "params": {"id": "C1"}}),
    (OSError(errno.ENOSPC, "No space left on device"),
     "The node's disk is full", None),
    (ZeroDivisionError("boom"), "internal error",
     {"message": "Internal error: %(kind)s", "params": {"kind": "ZeroDivisionError"}}),
])
def test_whatever_the_work_raises_the_job_ends_failed_with_one_line(config, db, raised, line,
                                                                    message):
    def work(run):
        run.start()
        raise raised

    as_line = _run(config, db, work)
    assert as_line["state"] == "failed" and as_line["error"].startswith(line)
    as_message = _run(config, db, work, errors_as="message")
    stored = json.loads(as_message["error"])
    if message:
        assert stored == message
    else:
        assert stored["message"].startswith(line)


def test_work_that_returns_without_finishing_is_done_not_left_running(config, db):
    assert _run(config, db, lambda run: run.start(progress=0.4))["state"] == "done"


def test_jobs_a_crash_left_are_failed_at_the_next_start(config, db):
    left = job_db.insert_job(db, "import", created_by="admin")
    job_db.update_job(db, left, state="running", progress=0.3)
    finished = _run(config, db, lambda run: run.finish({"n": 1}))
    assert jobs.reap_interrupted(db) == 1
    assert job_db.get_job(db, left)["state"] == "failed"
    assert "restarted" in job_db.get_job(db, left)["error"]
    assert job_db.get_job(db, finished["id"])["state"] == "done"
