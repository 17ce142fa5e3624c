"""One job runner: the life of long work the UI and the CLI poll (an import, a stream check,
a stream search, a sync).

A job is a row (db/jobs.py): queued → running (with progress and a message id) → done (with
its result) or failed (with one line). Whatever the work raises, the row ends in a final
state the page can show: a SurveyNodeError keeps its own line, a full disk says so, anything
else is logged here and shown as an internal error. Work left queued or running by a crash
or a power cut is failed at the next start (`reap_interrupted`), never left spinning.

Work runs in a thread of the web process (`start_job`) or in a process of its own that is
handed the job id (the sync command: `JobRun.attach`).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Callable

from sqlite_utils import Database

from . import db as database
from .config import Config
from .db import jobs as job_db
from .diskspace import NODE_DISK_FULL, is_disk_full
from .errors import SurveyNodeError
from .i18n import N_

log = logging.getLogger(__name__)
INTERNAL = N_("Internal error: %(kind)s")


class JobRun:
    """The row of one running job: what its work reports through."""

    def __init__(self, db: Database, job_id: str, *, errors_as: str = "line"):
        # How a failure is stored: "line" (English line or message id, as the stream pages
        # translate it) or "message" (JSON message id + params, as the import pages do).
        self.db, self.id, self.errors_as = db, job_id, errors_as
        self.ended = False  # finished or failed: nothing more to write

    @classmethod
    def attach(cls, config: Config, job_id: str, **kwargs) -> "JobRun":
        """The row of a job started elsewhere (a process handed `--job-id`)."""
        return cls(database.connect(config.db_path), job_id, **kwargs)

    def start(self, *, progress: float = 0.0, message: str | None = None,
              result: dict | None = None) -> None:
        self._update(state="running", progress=progress, message=message, result=result)

    def report(self, *, progress: float | None = None, message: str | None = None,
               result: dict | None = None, state: str | None = None) -> None:
        self._update(state=state, progress=None if progress is None else round(progress, 3),
                     message=message, result=result)

    def finish(self, result: dict | None = None, *, message: str | None = None) -> None:
        self._update(state="done", progress=1.0, message=message, result=result)
        self.ended = True

    def fail(self, error: str, *, params: dict | None = None,
             result: dict | None = None) -> None:
        """Fail with `error` (a line, or a message id with `params`)."""
        if self.errors_as == "message":
            error = json.dumps({"message": error, "params": params or {}}, ensure_ascii=False,
                               default=str)
        self._update(state="failed", error=error, result=result)
        self.ended = True

    def fail_with(self, exc: BaseException, *, what: str = "job") -> None:
        """End the row for an exception the work raised (see the module's docstring)."""
        if isinstance(exc, SurveyNodeError):
            if self.errors_as == "message":
                self.fail(exc.message, params=exc.params)
            else:
                self.fail(exc.line())
        elif is_disk_full(exc):  # the work's transaction rolled back: nothing half-written
            log.warning("%s %s: disk full", what, self.id)
            self.fail(NODE_DISK_FULL)
        else:
            log.error("%s %s failed", what, self.id, exc_info=exc)
            if self.errors_as == "message":
                self.fail(INTERNAL, params={"kind": type(exc).__name__})
            else:
                self.fail("internal error")

    def close(self) -> None:
        self.db.close()

    def _update(self, **changes) -> None:
        job_db.update_job(self.db, self.id, **{k: v for k, v in changes.items() if v is not None})


def run_job(config: Config, job_id: str, work: Callable[[JobRun], None], *,
            what: str = "job", errors_as: str = "line") -> None:
    """Run `work(run)` for the job; whatever happens the row ends done or failed. `work`
    calls `run.finish(...)`; if it returns without doing so the job is done as it stands."""
    run = JobRun(database.connect(config.db_path), job_id, errors_as=errors_as)
    try:
        work(run)
        if not run.ended:
            run.finish()
    except Exception as exc:  # noqa: BLE001 - a job must end in a state the page can show
        run.fail_with(exc, what=what)
    finally:
        run.close()


def start_job(config: Config, db: Database, kind: str, work: Callable[[JobRun], None], *,
              params: dict | None = None, actor: str | None = None,
              errors_as: str = "line") -> str:
    """Queue a job of `kind` and run `work` in a thread of this process; its id."""
    job_id = job_db.insert_job(db, kind, params=params, created_by=actor)
    thread = threading.Thread(target=run_job, name=f"{kind}-{job_id[:8]}", daemon=True,
                              args=(config, job_id, work),
                              kwargs={"what": f"{kind} job", "errors_as": errors_as})
    thread.start()
    return job_id


def reap_interrupted(db: Database) -> int:
    """At start: jobs a crash left queued or running are failed (they cannot be running)."""
    return job_db.fail_interrupted_jobs(db)
