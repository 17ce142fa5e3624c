"""The stream search as the node runs it: from the CLI at once, from the web as a job.

The inputs are checked before anything starts (a bad address or port is one line and
no job). The search holds one stream-check slot for all its tries and its picture check,
so it counts against streamcheck.max_concurrent like one check. Each try is written to
the job's result as it ends, for the page to show one line per try; the password is in
none of them (masked URLs, ffprobe's line masked).
"""

from __future__ import annotations

import logging
import threading

from .. import db as database
from ..db import cameras as camera_db
from ..db import jobs as job_db
from ..db import streamchecks as check_db
from ..diskspace import NODE_DISK_FULL, is_disk_full
from ..errors import NotFound, SurveyNodeError
from .brands import DEFAULT_BRAND, candidate_urls, check_credentials, check_port
from .find import Outcome, find_by_onvif, find_stream
from .runner import run_probe
from .service import (MAX_WAITING, ChecksBusy, N_, note_reference, record_check,
                      slots_for, view_reference)

log = logging.getLogger(__name__)
JOB_KIND = "stream_find"
__all__ = ["DEFAULT_BRAND", "JOB_KIND", "plan", "search", "start_find_job"]
MSG_TRYING = N_("Trying the maker's stream addresses...")
MSG_FOUND = N_("Stream found.")
MSG_NOT_FOUND = N_("No stream found at this camera.")


def plan(*, brand: str, host: str, port=None, user: str = "", password: str = "") -> list[str]:
    """The URLs a search will try, or BadInput naming the field that is wrong."""
    user, password = check_credentials(user, password)
    return candidate_urls(brand, host, port=check_port(port), user=user, password=password)


def search(config, db, urls: list[str], *, camera_id: str | None, actor: str,
           job_id: str | None = None, on_try=None, on_queued=None,
           keep_warm: bool = False) -> Outcome:
    settings = config.streamcheck

    reference = view_reference(config, db, camera_id)

    def check(url: str, timeout_s: float, extra: dict | None = None):
        result = run_probe(url, settings, timeout_s=timeout_s, keep_warm=keep_warm,
                           reference_path=reference.get("path"))
        note_reference(result, reference)
        return result, record_check(config, db, url, result, camera_id=camera_id,
                                    job_id=job_id, actor=actor, extra=extra)

    with slots_for(config).acquire(wait_s=settings.queue_wait_s, on_wait=on_queued):
        if urls and urls[0].startswith("onvif://"):
            return find_by_onvif(settings, urls[0], check=check, on_try=on_try)
        return find_stream(settings, urls, check=check, on_try=on_try)


def keep_with_survey(db, config, survey_id: str, outcome: Outcome, *, user: dict,
                     via: str) -> dict:
    """Save a found stream with the survey, as the survey page does (the web job and
    `stream find --survey` both call this): the masked address, the check that proved it,
    its snapshot and the earlier snapshot its view was compared with."""
    from .. import survey as survey_svc

    result = outcome.check
    return survey_svc.record_found_stream(
        db, config, survey_id, user=user, masked_url=outcome.masked, check_id=outcome.check_id,
        via=via, verdict=result.verdict, snapshot_sha256=result.snapshot_sha256,
        reference_sha256=result.view_reference_sha256)


def outcome_public(outcome: Outcome) -> dict:
    check = outcome.check.public() if outcome.check is not None else None
    return {"found_url": outcome.masked, "verdict": outcome.verdict,
            "tries": [t.public() for t in outcome.tries], "check": check,
            "check_id": outcome.check_id, "out_of_time": outcome.out_of_time,
            "onvif": outcome.onvif}


def start_find_job(config, db, camera_id: str, urls: list[str], *, brand: str, actor: str,
                   on_found=None) -> str:
    """Queue a search; `on_found(db, outcome)` runs in the job's thread when a stream with
    a picture was found (the survey keeps it)."""
    if camera_db.get_camera(db, camera_id) is None:
        raise NotFound("Camera %(camera_id)s is not in the registry", camera_id=camera_id)
    if check_db.count_active_jobs(db, JOB_KIND) + check_db.count_active_jobs(
            db, "stream_check") >= MAX_WAITING:
        raise ChecksBusy("Too many stream checks are running; try again in a minute")
    job_id = job_db.insert_job(db, JOB_KIND, created_by=actor,
                               params={"camera_id": camera_id, "brand": brand,
                                       "tries": len(urls)})
    worker = threading.Thread(target=_run, name=f"streamfind-{job_id[:8]}", daemon=True,
                              args=(config, job_id, camera_id, urls, actor, on_found))
    worker.start()
    return job_id


def _run(config, job_id: str, camera_id: str, urls: list[str], actor: str, on_found) -> None:
    db = database.connect(config.db_path)
    tries: list[dict] = []
    try:
        job_db.update_job(db, job_id, state="running", progress=0.05, message=MSG_TRYING,
                          result={"tries": tries})

        def tried(attempt) -> None:
            tries.append(attempt.public())
            job_db.update_job(db, job_id, progress=round(0.05 + 0.9 * len(tries) / len(urls), 2),
                              result={"tries": tries})

        outcome = search(config, db, urls, camera_id=camera_id, actor=actor, job_id=job_id,
                         on_try=tried, keep_warm=config.streamcheck.keep_warm)
        if outcome.url and on_found is not None:
            on_found(db, outcome)
        job_db.update_job(db, job_id, state="done", progress=1.0,
                          message=MSG_FOUND if outcome.url else MSG_NOT_FOUND,
                          result={**outcome_public(outcome), "camera_id": camera_id})
    except SurveyNodeError as exc:
        job_db.update_job(db, job_id, state="failed", error=exc.line(),
                          result={"tries": tries})
    except Exception as exc:  # noqa: BLE001 - a job thread must leave its row in a final state
        if is_disk_full(exc):
            job_db.update_job(db, job_id, state="failed", error=NODE_DISK_FULL)
            return
        log.exception("stream search job %s failed", job_id)
        job_db.update_job(db, job_id, state="failed", error="internal error")
    finally:
        db.close()
