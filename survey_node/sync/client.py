"""The node's side of sync: push completed surveys in batches, pull decisions and cameras.

A batch is planned and stored (manifest and all) before its first byte leaves the node,
so a sync killed at any point resends the very same batch next time and the registry
answers with the same receipt. Surveys become ``synced`` only from a receipt, and only
at the revision the receipt names.

Interrupted evidence is **resent whole**, not by byte range: photos are a few hundred KB,
so an interruption costs at most one file (~0.1 % of a day's batch), and the registry
never has to keep half-files per node or reconcile two partial uploads of one hash; a
file under a hash name on the registry is always complete and verified.

Every request has a (connect, read) timeout; failures that may pass (connection dropped,
timeout, 429/5xx, 507 when the registry's disk is full) are retried with exponential
backoff and jitter until the run's overall deadline (``sync.retry_deadline_s``): one
backoff shared by the upload threads, up to ``sync.max_backoff_s`` after a failed answer
(honouring Retry-After) and 5 s after a dropped connection, so a failing registry is not
sent the same files again and again. Every pause is reported through ``progress`` with
what the registry said; a refusal (4xx) is not retried but reported.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
import ipaddress
import json
import random
import time
import uuid
from typing import Callable
from urllib.parse import urlsplit

import requests

from .. import db as database
from ..config import Config
from ..db import audit, now_iso, transaction
from ..db import reviews as review_db
from ..db import surveys as survey_db
from ..db import sync as sync_db
from ..errors import BadInput, SurveyNodeError, message_of
from ..i18n import N_
from ..evidence import EvidenceStore
from . import protocol

SUMMARY_KEYS = ("batches", "surveys_sent", "surveys_acknowledged", "evidence_sent",
                "evidence_skipped", "bytes_sent", "decisions_sent", "decisions_received",
                "errors")
RETRY_STATUSES = {429, 500, 502, 503, 504, 507}
NETWORK_BACKOFF_S = 5.0  # a dropped connection: the network comes back soon, ask again soon
FIRST_BACKOFF_S = 0.2


class RegistryRefused(SurveyNodeError):
    """The registry answered with a 4xx problem; retrying would not help."""

    code = "registry_refused"

    def __init__(self, status: int, body: dict) -> None:
        said = body.get("translatable")  # the registry's own message, to translate here
        detail = said if isinstance(said, dict) else body.get("message", "")
        super().__init__(N_("The registry refused the request (%(status)s %(error)s): %(detail)s"),
                         status=status, error=body.get("error", "?"), detail=detail)
        self.http_status, self.body = status, body


class GaveUp(SurveyNodeError):
    """The overall deadline passed while the registry was unreachable or failing."""

    code = "sync_deadline"


def _registry_said(response) -> tuple[str, object, str]:
    """(error code, what it said as a message id or text, English line) of a failed answer."""
    body = _json(response) or {}
    said = body.get("translatable")
    text = str(body.get("message") or response.reason or "")[:300]
    error = str(body.get("error") or "?")[:60]
    return error, (said if isinstance(said, dict) else text), text


def _retry_after(response) -> float:
    """The registry's Retry-After in seconds (0 when absent or a date we do not parse)."""
    raw = (response.headers.get("Retry-After") or "").strip()
    return float(raw) if raw.isdigit() else 0.0


def check_transport(url: str, allow_insecure_http: bool) -> str:
    """The registry URL if its transport is acceptable; BadInput otherwise."""
    parts = urlsplit((url or "").strip())
    if not parts.scheme or not parts.hostname:
        raise BadInput("No registry URL: set sync.registry_url or pass --registry")
    if parts.scheme == "https":
        return url.rstrip("/")
    if parts.scheme != "http":
        raise BadInput("Registry URL %(url)s must start with https://", url=url)
    if _is_loopback(parts.hostname) or allow_insecure_http:
        return url.rstrip("/")
    raise BadInput("Plain http to %(host)s is refused: use https, or set"
                   " sync.allow_insecure_http (not recommended)", host=parts.hostname)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def sync_lock(config: Config):
    """One sync at a time per node (the timer, the button and the CLI may overlap)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    with open(config.data_dir / "sync.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BadInput("A sync is already running on this node") from None
        yield


def sync_is_running(config: Config) -> bool:
    """True while some process holds this node's sync lock."""
    path = config.data_dir / "sync.lock"
    if not path.exists():
        return False
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


class _ByteCounter:
    """Bytes put on the wire, from several upload threads."""

    def __init__(self) -> None:
        self.total = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.total += n


class _CountingFile:
    """A file body that counts the bytes requests actually reads (and so sends)."""

    def __init__(self, fh, size: int, counter: _ByteCounter) -> None:
        self._fh, self._size, self._counter = fh, size, counter

    def __len__(self) -> int:
        return self._size

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        self._counter.add(len(data))
        return data


class SyncClient:
    def __init__(self, config: Config, *, registry_url: str | None = None,
                 token: str | None = None, trigger: str = "cli",
                 progress: Callable[[float, str], None] | None = None,
                 seed: int | None = None) -> None:
        self.config = config
        self.url = check_transport(registry_url or config.sync.registry_url,
                                   config.sync.allow_insecure_http)
        self.token = token if token is not None else config.secret("registry_token")
        self.trigger = trigger
        self._report = progress or (lambda fraction, message: None)
        self.store = EvidenceStore(config.evidence_dir)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._abort = threading.Event()
        self._random = random.Random(seed)
        # One backoff for all upload threads: a registry that fails one file fails the
        # others too, so none of them resends a whole file before the pause ends.
        self._backoff_lock = threading.Lock()
        self._failures = 0
        self._resume_at = 0.0
        # (request, answer) of the failure that set the shared pause: a request that waited
        # it out to the deadline without a try of its own reports that answer, not "none".
        self._last_failure: tuple[str, object] | None = None
        self._probe_lock = threading.Lock()
        self._fraction = 0.0
        self._sent = _ByteCounter()
        self.summary = {k: 0 for k in SUMMARY_KEYS}
        self.summary["errors"] = []
        self.problems: list[dict] = []  # the same errors as message ids, for the UI's language

    def progress(self, fraction: float, message: str) -> None:
        self._fraction = fraction
        self._report(fraction, message)

    # -- the run ---------------------------------------------------------------------

    def run(self) -> dict:
        with sync_lock(self.config):
            self.deadline = time.monotonic() + self.config.sync.retry_deadline_s
            run_id = uuid.uuid4().hex
            db = database.connect(self.config.db_path)
            try:
                with transaction(db):
                    sync_db.fail_interrupted_sync_runs(db)
                    sync_db.insert_sync_run(db, run_id, trigger=self.trigger,
                                            registry_url=self.url)
                finished = False
                try:
                    self._push(db, run_id)
                    self._push_decisions(db)
                    self._pull_decisions(db)
                    self._pull_cameras(db)
                    finished = True
                except SurveyNodeError as exc:
                    self._problem(exc)
                    finished = True
                finally:
                    # Also on an unexpected error, the history says what happened so far.
                    self.summary["bytes_sent"] = self._sent.total
                    state = "done" if finished and not self.summary["errors"] else "failed"
                    with transaction(db):
                        sync_db.update_sync_run(
                            db, run_id, state=state,
                            summary={k: v for k, v in self.summary.items() if k != "errors"},
                            errors=self.problems or ([] if state == "done"
                                                     else ["internal error"]))
            finally:
                db.close()
                for session in self._sessions:
                    session.close()
        self.progress(1.0, "done")
        return dict(self.summary)

    def _problem(self, exc: SurveyNodeError, *, batch: str | None = None) -> None:
        """Keep an error twice: as an English line (--json) and as a message id with its
        parameters (the sync page shows it in the reader's language)."""
        prefix = f"batch {batch}: " if batch else ""
        self.summary["errors"].append(prefix + exc.line())
        self.problems.append({"text": prefix + exc.line(), **message_of(exc), "batch": batch})

    def _push(self, db, run_id: str) -> None:
        # Batches an earlier run left open go first, as they are (same id, same receipt);
        # new batches are planned after them, so a survey re-completed since goes out now.
        queue = [json.loads(b["manifest"]) for b in sync_db.rows_open_batches(db)]
        planned = not queue
        if planned:
            queue = plan_batches(db, self.config, run_id=run_id)
        conflicted: set[str] = set()
        done = 0
        while queue:
            manifest = queue.pop(0)
            total = done + 1 + len(queue)
            self.progress(0.9 * done / total, f"batch {done + 1}/{total}")
            try:
                self._send_batch(db, manifest, done, total)
            except RegistryRefused as exc:
                if exc.http_status in (401, 403):
                    raise  # the token is wrong: no batch can pass, the batch itself is fine
                self._problem(exc, batch=manifest["batch_id"])
                with transaction(db):
                    sync_db.update_sync_batch(db, manifest["batch_id"], state="refused",
                                              error=exc.line())
                if exc.body.get("error") == "revision_conflict":
                    # Send the batch's other surveys again without the conflicting ones; those
                    # wait for a person (a new revision on the node resolves them).
                    conflicted |= {c["id"] for c in exc.body.get("conflicts", [])}
                    queue += plan_batches(db, self.config, run_id=run_id, exclude=conflicted)
            done += 1
            if not queue and not planned:
                planned = True
                queue = plan_batches(db, self.config, run_id=run_id, exclude=conflicted)

    def _send_batch(self, db, manifest: dict, index: int, total: int) -> None:
        body = protocol.canonical_json(manifest)
        reply = self._call("POST", "/api/v1/batches", data=body,
                           headers={"Content-Type": "application/json"})
        self.summary["batches"] += 1
        self.summary["surveys_sent"] += len(manifest["surveys"])
        hashes = protocol.manifest_hashes(manifest)
        receipt = reply.get("receipt")
        if receipt is None:
            missing = reply.get("missing", [])
            self.summary["evidence_skipped"] += len(hashes) - len(missing)
            self._upload(missing, index, total)
            receipt = self._commit(manifest["batch_id"], index, total)
        else:
            self.summary["evidence_skipped"] += len(hashes)
        self._apply_receipt(db, manifest, receipt)

    def _upload(self, hashes: list[str], index: int, total: int) -> None:
        """PUT the missing files, a few at once: the registry's per-file fsync and hashing
        overlap with the next file's transfer (each PUT is idempotent, so order is free)."""
        paths = []
        for sha in hashes:
            path = self.store.path(sha)
            if not path.exists():
                raise BadInput("Evidence %(sha)s is missing from this node's store",
                               sha=sha[:12])
            paths.append((sha, path))
        workers = max(1, self.config.sync.upload_connections)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._put_file, sha, path) for sha, path in paths]
            try:
                for n, future in enumerate(as_completed(futures)):
                    future.result()
                    self.summary["evidence_sent"] += 1
                    self.progress(0.9 * (index + (n + 1) / len(paths)) / total,
                                  f"batch {index + 1}/{total}: evidence {n + 1}/{len(paths)}")
            except BaseException:
                self._abort.set()  # the other uploads stop at their next attempt
                for future in futures:
                    future.cancel()
                raise
            finally:
                pool.shutdown(wait=True)
                self._abort.clear()

    def _put_file(self, sha: str, path) -> None:
        size = path.stat().st_size

        def body():
            return _CountingFile(open(path, "rb"), size, self._sent)

        self._call("PUT", f"/api/v1/evidence/{sha}", body=body,
                   headers={"Content-Type": "application/octet-stream"})

    def _session(self) -> requests.Session:
        """One keep-alive session per thread (requests sessions are not thread-safe)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token}"
            session.headers["User-Agent"] = "survey-node-sync/1"
            session.verify = True  # never off: plain http is the only exception
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _commit(self, batch_id: str, index: int, total: int) -> dict:
        for _ in range(3):
            try:
                return self._call("POST", f"/api/v1/batches/{batch_id}/commit")
            except RegistryRefused as exc:
                if exc.body.get("error") != "evidence_missing":
                    raise
                # Lost on the registry's side since the manifest (or never stored): resend.
                self._upload(exc.body.get("missing", []), index, total)
        return self._call("POST", f"/api/v1/batches/{batch_id}/commit")

    def _apply_receipt(self, db, manifest: dict, receipt: dict) -> None:
        self.summary["surveys_acknowledged"] += apply_receipt(db, manifest, receipt)

    # -- pulls -----------------------------------------------------------------------

    def _push_decisions(self, db) -> None:
        """Decisions made on this node go to the registry, so it shows them and nobody
        decides twice; one about a survey the registry does not hold yet waits for the next
        sync (its survey goes first)."""
        while True:
            pending = review_db.rows_unpushed_reviews(db, limit=200)
            if not pending:
                return
            body = {"decisions": [{"ref": r["id"], "survey_id": r["survey_id"],
                                   "revision": r["revision"], "state": r["decision"],
                                   "reason": r["reason"], "flags": r["flags"],
                                   "decided_by": r["reviewer"], "decided_at": r["decided_at"]}
                                  for r in pending]}
            payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            reply = self._call("POST", "/api/v1/decisions", data=payload,
                               headers={"Content-Type": "application/json"})
            done = [item["ref"] for item in reply.get("recorded", []) if "ref" in item]
            with transaction(db):
                review_db.mark_reviews_pushed(db, done)
            self.summary["decisions_sent"] += len(done)
            if len(done) < len(pending):
                return  # the rest are about surveys the registry lacks: next time

    def _pull_decisions(self, db) -> None:
        self.progress(0.92, "decisions")
        while True:
            since = sync_db.get_sync_state(db, "decisions_since", "0")
            reply = self._call("GET", "/api/v1/decisions",
                               params={"node": self.config.node.id, "since": since})
            with transaction(db):
                for decision in reply.get("decisions", []):
                    apply_decision(db, decision)
                sync_db.set_sync_state(db, "decisions_since", str(reply["next_since"]))
            self.summary["decisions_received"] += len(reply.get("decisions", []))
            if not reply.get("more"):
                return

    def _pull_cameras(self, db) -> None:
        self.progress(0.96, "cameras")
        while True:
            since = sync_db.get_sync_state(db, "cameras_since", "0")
            reply = self._call("GET", "/api/v1/cameras",
                               params={"province": self.config.node.province_code,
                                       "since": since})
            with transaction(db):
                sync_db.upsert_pulled_cameras(db, reply.get("cameras", []))
                sync_db.set_sync_state(db, "cameras_since", str(reply["next_since"]))
            if not reply.get("more"):
                return

    # -- one request with retries ----------------------------------------------------

    def _call(self, method: str, path: str, *, body: Callable | None = None,
              data: bytes | None = None, **kwargs) -> dict:
        """One request, retried until it gets an answer or the run's deadline passes.

        `body` makes a fresh file body per attempt (a half-sent one cannot be rewound).
        A failed answer (429, 5xx such as 507 disk full) waits a backoff shared by every
        thread that doubles up to ``sync.max_backoff_s`` and honours Retry-After; each
        wait is reported with what the registry said, and so is giving up at the deadline.
        """
        what = f"{method} {path}"
        last = None  # (status, error, said, text) of the last answer, or the network error
        while True:
            self._wait_turn()
            if self._abort.is_set():
                raise GaveUp("Stopped after another upload failed (%(what)s)", what=what)
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise self._gave_up(what, last)
            timeout = (min(self.config.sync.connect_timeout_s, left),
                       min(self.config.sync.read_timeout_s, left))
            # While the registry fails, one request at a time asks again (not every thread).
            probing = self._probe_lock if self._failures else contextlib.nullcontext()
            payload_body = None
            try:
                with probing:
                    payload_body = body() if body else data
                    if data is not None:
                        self._sent.add(len(data))
                    response = self._session().request(method, self.url + path,
                                                       data=payload_body, timeout=timeout,
                                                       **kwargs)
                if response.status_code in RETRY_STATUSES or response.status_code >= 500:
                    last = (response.status_code, *_registry_said(response))
                    pause = self._failed(what, last, answered=True,
                                         at_least=_retry_after(response))
                    self.progress(self._fraction,
                                  f"the registry answered {last[0]} {last[1]} to {what}:"
                                  f" {last[3]}; {self._next_try(pause)}")
                    continue
                payload = _json(response)
                if payload is None:  # e.g. a proxy's HTML page: not the registry's answer
                    said = "an answer without a JSON body"
                    last = (response.status_code, "?", said, said)
                    pause = self._failed(what, last, answered=True)
                    self.progress(self._fraction, f"the registry answered {last[0]} without"
                                                  f" JSON to {what}; {self._next_try(pause)}")
                    continue
                self._succeeded()
                if response.status_code >= 400:
                    raise RegistryRefused(response.status_code, payload)
                return payload
            except requests.exceptions.SSLError as exc:
                # Not a passing fault: retrying would only hide it until the deadline.
                raise BadInput("The registry's TLS certificate could not be verified"
                               " (%(url)s): %(why)s", url=self.url,
                               why=str(exc.args[0] if exc.args else exc)[:200]) from None
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                last = type(exc).__name__
                pause = self._failed(what, last, answered=False)
                self.progress(self._fraction, f"no answer from the registry to {what}"
                                              f" ({last}); {self._next_try(pause)}")
            finally:
                if body and payload_body is not None:
                    payload_body._fh.close()

    def _failed(self, what: str, last, *, answered: bool, at_least: float = 0.0) -> float:
        """Note one failed try; the pause every thread now waits before its next request."""
        with self._backoff_lock:
            self._failures += 1
            self._last_failure = (what, last)
            cap = max(self.config.sync.max_backoff_s, FIRST_BACKOFF_S) if answered \
                else NETWORK_BACKOFF_S
            pause = min(cap, FIRST_BACKOFF_S * 2 ** min(self._failures - 1, 16))
            pause *= 0.75 + 0.5 * self._random.random()  # jitter: nodes do not ask in step
            pause = min(max(pause, min(at_least, cap)), self.deadline - time.monotonic())
            pause = max(0.0, pause)
            self._resume_at = max(self._resume_at, time.monotonic() + pause)
            return self._resume_at - time.monotonic()

    def _next_try(self, pause: float) -> str:
        tries = f"{self._failures} failed tr{'y' if self._failures == 1 else 'ies'} in a row"
        if time.monotonic() + pause >= self.deadline - 0.05:
            return f"{tries}, waiting out the sync's deadline (sync.retry_deadline_s)"
        return f"{tries}, asking again in {pause:.0f} s"

    def _succeeded(self) -> None:
        with self._backoff_lock:
            self._failures = 0

    def _wait_turn(self) -> None:
        """Sleep until the shared pause ends (or the deadline, or another upload failed)."""
        while not self._abort.is_set():
            with self._backoff_lock:
                wait = min(self._resume_at, self.deadline) - time.monotonic()
            if wait <= 0:
                return
            self._abort.wait(min(wait, 1.0))

    def _gave_up(self, what: str, last) -> GaveUp:
        if last is None and self._last_failure is not None:
            what, last = self._last_failure  # the answer whose pause this request waited out
        if isinstance(last, tuple):  # it did answer: say what, never "did not answer"
            status, error, said, _text = last
            return GaveUp("The registry kept answering %(status)s %(error)s to %(what)s until"
                          " the sync's deadline: %(detail)s", status=status, error=error,
                          what=what, detail=said)
        return GaveUp("The registry did not answer in time (%(what)s): %(last)s", what=what,
                      last=last or "no attempt")


def _json(response) -> dict | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


# -- planning and decisions (shared with the USB export) ------------------------------


def build_entry(db, survey_id: str) -> dict:
    survey = survey_db.get_survey(db, survey_id)
    evidence = survey_db.rows_survey_evidence(db, survey_id)
    check = sync_db.get_stream_check_summary(db, survey.get("stream_check_id"))
    return protocol.survey_entry(survey, evidence, check)


def plan_batches(db, config: Config, *, run_id: str | None, exclude: set[str] = frozenset(),
                 size: int | None = None, state: str = "open") -> list[dict]:
    """Store the manifests of new batches (completed surveys not yet in one) and return them."""
    size = size or config.sync.batch_size
    planned = []
    with transaction(db):
        in_open = {s["id"] for b in sync_db.rows_open_batches(db)
                   for s in json.loads(b["manifest"])["surveys"]}
        ids = [i for i in sync_db.rows_survey_ids_to_send(db)
               if i not in exclude and i not in in_open]
        for start in range(0, len(ids), size):
            entries = [build_entry(db, i) for i in ids[start:start + size]]
            manifest = protocol.new_manifest(config.node.id, str(uuid.uuid4()), now_iso(),
                                             entries)
            sync_db.insert_sync_batch(
                db, manifest["batch_id"], run_id=run_id, state=state,
                manifest_text=protocol.canonical_json(manifest).decode("utf-8"),
                surveys=len(entries), evidence=len(protocol.manifest_hashes(manifest)))
            planned.append(manifest)
    return planned


# A receipt's per-survey results that mean the registry now holds that revision.
HELD_RESULTS = ("stored", "stored_older", "unchanged")


def apply_receipt(db, manifest: dict, receipt: dict) -> int:
    """Mark the batch committed and its surveys synced, as far as the receipt says."""
    if not isinstance(receipt, dict) or receipt.get("batch_id") != manifest["batch_id"]:
        raise BadInput("The registry's receipt is for batch %(got)s, not %(want)s",
                       got=receipt.get("batch_id") if isinstance(receipt, dict) else None,
                       want=manifest["batch_id"])
    # Only what the registry says it holds, at the revision and content this node sent.
    sent = {(s["id"], s["revision"]): s["content_sha256"] for s in manifest["surveys"]}
    listed = receipt.get("surveys")
    pairs = [(s["id"], int(s["revision"]))
             for s in (listed if isinstance(listed, list) else [])
             if isinstance(s, dict) and s.get("result") in HELD_RESULTS
             and sent.get((s.get("id"), s.get("revision"))) == s.get("content_sha256")]
    with transaction(db):
        sync_db.update_sync_batch(db, manifest["batch_id"], state="committed", receipt=receipt)
        marked = sync_db.update_surveys_synced(db, pairs)
        audit(db, actor="sync", action="sync.receipt", entity="batch",
              entity_id=manifest["batch_id"], detail={"acknowledged": len(pairs),
                                                      "marked": marked})
    return len(pairs)


def apply_decision(db, decision: dict) -> bool:
    """A registry review decision on this node (call inside a transaction).

    Rejected or re-survey on the revision the node holds reopens the survey as a draft with
    the next revision and the reviewer's reason; approval locks it. A decision about an
    older revision only records the reason (the node already has newer work).
    """
    survey = survey_db.get_survey(db, decision["survey_id"])
    if survey is None:
        return False
    state, reason = decision["state"], decision.get("reason") or ""
    current = survey["revision"] == decision["revision"]
    changes: dict = {}
    if state == "approved":
        if current:
            changes = {"review_state": "approved", "review_reason": reason or None}
    else:
        changes = {"review_state": state, "review_reason": reason}
        if current and survey["state"] in ("complete", "synced"):
            changes.update(state="draft", revision=survey["revision"] + 1, completed_at=None)
    # Every decision is kept on the node too, so its review page shows the registry's.
    flags = decision.get("flags") or []
    if isinstance(flags, str):
        try:
            flags = json.loads(flags)
        except ValueError:
            flags = []
    review_db.insert_review(db, survey_id=survey["id"], camera_id=survey["camera_id"],
                            revision=decision["revision"], decision=state, reason=reason,
                            flags=[str(f) for f in flags if isinstance(f, str)][:10],
                            reviewer=str(decision.get("decided_by") or ""), source="registry")
    if not changes:
        return False
    survey_db.update_survey(db, survey["id"], **changes)
    audit(db, actor=f"registry:{decision.get('decided_by', '')}", action="survey.review",
          entity="survey", entity_id=survey["id"],
          detail={"state": state, "reason": reason, "revision": decision["revision"],
                  "flags": flags})
    return True
