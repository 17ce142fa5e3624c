"""The stream search as the node runs it: from the CLI at once, from the web as a job.

The inputs are checked before anything starts (a bad address or port is one line and
no job). The search holds one stream-check slot for all its tries and its picture check,
so it counts against streamcheck.max_concurrent like one check. Each try is written to
the job's result as it ends, for the page to show one line per try; the password is in
none of them (masked URLs, ffprobe's line masked).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from . import jobs
from . import survey as survey_svc
from .db import cameras as camera_db
from .db import streamchecks as check_db
from .errors import NotFound, SurveyNodeError
from .streamcheck.brands import DEFAULT_BRAND, candidate_urls, check_credentials, check_port
from .streamcheck.find import Outcome, find_by_onvif, find_stream
from .streamcheck.runner import run_probe
from .stream_check import (MAX_WAITING, ChecksBusy, N_, note_reference, record_check,
                                  slots_for, view_reference)
from .wired.tempaddr import temporary_address

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

    # A camera on a fixed address outside the wired port's networks gets a temporary
    # address of its subnet on the port for the search (removed at the end, also on error).
    host = (urlsplit(urls[0]).hostname or "") if urls else ""
    with slots_for(config).acquire(wait_s=settings.queue_wait_s, on_wait=on_queued), \
            temporary_address(config, db, host, actor=actor):
        if urls and urls[0].startswith("onvif://"):
            return find_by_onvif(settings, urls[0], check=check, on_try=on_try)
        return find_stream(settings, urls, check=check, on_try=on_try)


def keep_with_survey(db, config, survey_id: str, outcome: Outcome, *, user: dict,
                     via: str) -> dict:
    """Save a found stream with the survey, as the survey page does (the web job and
    `stream find --survey` both call this): the masked address, the check that proved it,
    its snapshot and the earlier snapshot its view was compared with."""
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
    return jobs.start_job(config, db, JOB_KIND,
                          lambda run: _search_job(config, run, camera_id, urls, actor, on_found),
                          params={"camera_id": camera_id, "brand": brand, "tries": len(urls)},
                          actor=actor)


def _search_job(config, run: jobs.JobRun, camera_id: str, urls: list[str], actor: str,
                on_found) -> None:
    tries: list[dict] = []
    run.start(progress=0.05, message=MSG_TRYING, result={"tries": tries})

    def tried(attempt) -> None:
        tries.append(attempt.public())
        run.report(progress=0.05 + 0.9 * len(tries) / len(urls), result={"tries": tries})

    try:
        outcome = search(config, run.db, urls, camera_id=camera_id, actor=actor,
                         job_id=run.id, on_try=tried, keep_warm=config.streamcheck.keep_warm)
    except SurveyNodeError as exc:
        run.fail(exc.line(), result={"tries": tries})  # the tries so far stay on the page
        return
    if outcome.url and on_found is not None:
        on_found(run.db, outcome)
    run.finish({**outcome_public(outcome), "camera_id": camera_id},
               message=MSG_FOUND if outcome.url else MSG_NOT_FOUND)
