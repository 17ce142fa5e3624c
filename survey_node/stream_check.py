"""Stream checks as the node uses them: queue, run, keep the snapshot, record the result.

The CLI calls :func:`check_url`; the web layer calls :func:`start_camera_check`, which
records a job and runs the check in a background thread (the child process does the
work), so a request never waits on a camera. Progress goes to the job row for the page
to poll. Plain Python: no Flask here.
"""

from __future__ import annotations


from . import db as database
from . import jobs
from .db import cameras as camera_db
from .db import evidence as evidence_db
from .db import streamchecks as check_db
from .errors import BadInput, NotFound
from .evidence import EvidenceStore
from .streamcheck.runner import ProbeResult, run_probe
from .streamcheck.slots import ChecksBusy, Slots
from .streamcheck.urls import MAX_URL_LENGTH, InvalidStreamUrl, mask_url, validate_url

JOB_KIND = "stream_check"
MAX_WAITING = 20  # queued + running checks; more is someone pressing the button in a loop


def N_(text: str) -> str:
    """Mark a job message for translation; the view translates it when it is shown."""
    return text


MSG_QUEUED = N_("Queued: other stream checks are running; this one starts when one finishes.")
MSG_CONNECTING = N_("Connecting to the camera...")
MSG_SAMPLING = N_("Receiving pictures and measuring them...")
MSG_DONE = N_("Check finished.")


def slots_for(config) -> Slots:
    return Slots(config.data_dir / "run", config.streamcheck.max_concurrent)


def check_url(config, db, url: str, *, camera_id: str | None = None, job_id: str | None = None,
              actor: str | None = None, timeout_s: float | None = None, on_queued=None,
              on_start=None, on_event=None,
              keep_warm: bool = False) -> tuple[ProbeResult, int]:
    """Run one check (waiting for a free slot first) and record it; returns (result, row id)."""
    try:
        validate_url(url)
    except InvalidStreamUrl:
        result = run_probe(url, config.streamcheck, timeout_s=timeout_s)  # invalid_url, no I/O
    else:
        reference = view_reference(config, db, camera_id)
        with slots_for(config).acquire(wait_s=config.streamcheck.queue_wait_s, on_wait=on_queued):
            if on_start:
                on_start()
            result = run_probe(url, config.streamcheck, timeout_s=timeout_s, on_event=on_event,
                               keep_warm=keep_warm, reference_path=reference.get("path"))
        note_reference(result, reference)
    return result, record_check(config, db, url, result, camera_id=camera_id, job_id=job_id,
                                actor=actor)


def record_check(config, db, url: str, result: ProbeResult, *, camera_id: str | None,
                 job_id: str | None, actor: str | None, extra: dict | None = None) -> int:
    """Keep a finished check (its snapshot into the evidence store); returns its row id.
    `extra`: more columns of the row (the camera's ONVIF identity)."""
    if result.snapshot_jpeg:
        result.snapshot_sha256 = store_snapshot(config, db, result, actor=actor)
    original = (url or "").strip()
    masked = mask_url(original)[:MAX_URL_LENGTH + 100]  # an invalid URL may be any size
    # The original is kept only when masking hid something, and only for a URL that was used.
    secret = original if result.verdict != "invalid_url" and original != masked else None
    check_id = check_db.insert_stream_check(db, {
        **{k: v for k, v in vars(result).items() if k != "snapshot_jpeg"},
        "camera_id": camera_id, "job_id": job_id, "url_masked": masked, "url_secret": secret,
        "transport": config.streamcheck.transport, "checked_by": actor, **(extra or {}),
    }, actor=actor)
    return check_id


def view_reference(config, db, camera_id: str | None) -> dict:
    """The earlier snapshot of this camera the check's picture is compared with: its
    evidence file, hash and time; {} when there is none (a first visit)."""
    found = check_db.get_view_reference(db, camera_id) if camera_id else None
    if not found:
        return {}
    return {"path": str(EvidenceStore(config.evidence_dir).path(found["snapshot_sha256"])),
            "sha256": found["snapshot_sha256"], "at": found["checked_at"]}


def note_reference(result: ProbeResult, reference: dict) -> None:
    """Say on the result which snapshot its view-change score is against."""
    if reference and (result.view_change is not None or result.view_error):
        result.view_reference_sha256, result.view_reference_at = reference["sha256"], reference["at"]


def store_snapshot(config, db, result: ProbeResult, *, actor: str | None) -> str:
    sha256 = EvidenceStore(config.evidence_dir).put_bytes(result.snapshot_jpeg)
    evidence_db.upsert_evidence(db, {
        "sha256": sha256, "kind": "snapshot", "mime": "image/jpeg",
        "bytes": len(result.snapshot_jpeg), "width": result.width, "height": result.height,
        "taken_at": database.now_iso(), "source": "streamcheck", "created_by": actor,
    })
    return sha256


def start_camera_check(config, db, camera_id: str, *, actor: str, on_done=None,
                       url: str | None = None) -> str:
    """Queue a check of a camera's registered stream (or of `url`, one found on site);
    returns the job id at once.

    `on_done(db, result, check_id)` runs in the job's thread once the check is recorded
    (the survey workflow uses it to attach the check to the survey).
    """
    camera = camera_db.get_camera(db, camera_id, with_secrets=True)
    if camera is None:
        raise NotFound("Camera %(camera_id)s is not in the registry", camera_id=camera_id)
    url = (url or camera.get("stream_url") or "").strip()
    if not url:
        raise BadInput("Camera %(camera_id)s has no stream URL in the registry",
                       camera_id=camera_id)
    if check_db.count_active_jobs(db, JOB_KIND) >= MAX_WAITING:
        raise ChecksBusy("Too many stream checks are running; try again in a minute")
    return jobs.start_job(config, db, JOB_KIND,
                          lambda run: _check_job(config, run, camera_id, url, actor, on_done),
                          params={"camera_id": camera_id, "url": mask_url(url)}, actor=actor)


def _check_job(config, run: jobs.JobRun, camera_id: str, url: str, actor: str,
               on_done=None) -> None:
    def progress(event):
        if event.get("event") == "opened":
            run.report(progress=0.3, message=MSG_SAMPLING)
        elif event.get("event") == "sampling":
            run.report(progress=0.3 + 0.65 * float(event.get("progress") or 0))

    result, check_id = check_url(
        config, run.db, url, camera_id=camera_id, job_id=run.id, actor=actor,
        on_queued=lambda: run.report(message=MSG_QUEUED),
        on_start=lambda: run.start(progress=0.05, message=MSG_CONNECTING),
        on_event=progress, keep_warm=config.streamcheck.keep_warm)
    if on_done is not None:
        on_done(run.db, result, check_id)
    run.finish({**result.public(), "check_id": check_id, "camera_id": camera_id},
               message=MSG_DONE)


__all__ = ["check_url", "start_camera_check", "ChecksBusy", "JOB_KIND"]
