"""The central registry's services: tokens, batches, evidence, commit, pulls, decisions.

Plain Python over a :mod:`registry_store` (never Flask): the HTTP API in ``server`` and the
USB import in ``batchfile`` call the same functions, so both follow the same rules.

Idempotency rules (DESIGN.md section 6): a survey revision already held with the same
content hash is a no-op; the same revision with another hash is a conflict that refuses
the whole batch (nothing is written); a higher revision supersedes the latest record and
every revision is kept. A committed batch answers any replay with its stored receipt.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import json
import secrets
from typing import Iterable, Iterator

from sqlite_utils import Database

from ..config import Config
from ..db import audit, now_iso, transaction
from .db import batches as batch_db
from .db import nodes as node_db
from .db import surveys as survey_db
from ..diskspace import is_disk_full
from ..errors import BadInput, Conflict, Forbidden, NotFound, TooLarge, Unauthorized
from ..inventory.places import province_code
from ..sync import protocol
from .store import EmbeddedStore, PostgresStore, open_store
from ..review import FLAGS

DECISION_STATES = ("approved", "rejected", "resurvey")
PULL_LIMIT = 500
WRITE_ATTEMPTS = 4
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
_DUMMY_SHA = hashlib.sha256(b"no such token").hexdigest()


class Registry:
    def __init__(self, config: Config, store: EmbeddedStore | PostgresStore | None = None) -> None:
        self.config = config
        self.store = store or open_store(config)
        self.max_evidence = config.registry.max_evidence_mb * 1024 * 1024
        self._held: contextvars.ContextVar[list | None] = contextvars.ContextVar(
            f"registry-connection-{id(self)}", default=None)

    def _retrying(self, write):
        """Run `write()` (one whole transaction) again when another registry process wrote
        the same row first: the second run sees that row and answers as a replay does."""
        for _ in range(WRITE_ATTEMPTS - 1):
            try:
                return write()
            except self.store.retryable:
                pass
        return write()

    @contextlib.contextmanager
    def db(self) -> Iterator[Database]:
        """A connection: the one held by an enclosing :meth:`one_connection`, or a new one
        for this block."""
        held = self._held.get()
        if held is not None:
            if not held:
                held.append(self.store.connect())
            yield held[0]
            return
        conn = self.store.connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def one_connection(self) -> Iterator[None]:
        """Let every :meth:`db` in the block (in this thread) share one connection, taken
        at the first and given back at the end: one HTTP request asks the pool once, and
        pays its liveness check once, instead of once per step (token, reads, write)."""
        held: list = []
        token = self._held.set(held)
        try:
            yield
        finally:
            self._held.reset(token)
            if held:
                held[0].close()

    # -- tokens ------------------------------------------------------------------------

    def add_token(self, node_id: str, *, province: str = "", actor: str = "cli") -> str:
        """A new bearer token for a node; only its hash is stored, so show it once.

        `province` (a name or DOPA code) is the one the node surveys: its token reads only
        that province's cameras. Given again with a later token, it moves the node."""
        protocol._id(node_id, "node_id")
        code = province_code(province) if str(province or "").strip() else ""
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        with self.db() as db, transaction(db):
            node_db.insert_node_token(db, node_id, token_id, _sha(secret))
            if code:
                node_db.set_node_province(db, node_id, code)
            audit(db, actor=actor, action="registry.token_add", entity="node", entity_id=node_id,
                  detail={"token_id": token_id, "province": code or None})
        return f"{token_id}.{secret}"

    def authenticate(self, header: str | None) -> str:
        """The node id a bearer token belongs to; Unauthorized otherwise (one message for all)."""
        token = (header or "").removeprefix("Bearer ").strip() \
            if (header or "").startswith("Bearer ") else ""
        token_id, _, secret = token.partition(".")
        with self.db() as db:
            found = node_db.get_live_token(db, token_id) if token_id and secret else None
        stored = found["secret_sha256"] if found else _DUMMY_SHA
        # Compare in constant time even when the token id is unknown.
        if not hmac.compare_digest(_sha(secret), stored) or found is None:
            raise Unauthorized("Missing, unknown or revoked registry token")
        return found["node_id"]

    # -- batches -----------------------------------------------------------------------

    def receive_batch(self, node_id: str, manifest, *, source: str = "http") -> dict:
        """Step 1: store the manifest; answer which evidence hashes are still missing."""
        manifest = protocol.validate_manifest(
            manifest, max_surveys=self.config.registry.max_batch_surveys)
        if manifest["node_id"] != node_id:
            raise Forbidden("This token belongs to node %(node)s, not %(claimed)s", node=node_id,
                            claimed=manifest["node_id"])
        for entry in manifest["surveys"]:
            for item in entry["evidence"]:
                if item["bytes"] > self.max_evidence:
                    raise TooLarge("Evidence %(sha)s of survey %(id)s is %(size)s bytes; the"
                                   " registry accepts at most %(limit)s",
                                   sha=item["sha256"][:12], id=entry["id"], size=item["bytes"],
                                   limit=self.max_evidence)
        text = protocol.canonical_json(manifest).decode("utf-8")
        digest = _sha(text)
        hashes = protocol.manifest_hashes(manifest)
        return self._retrying(lambda: self._receive(node_id, manifest, text, digest, hashes,
                                                    source))

    def _receive(self, node_id: str, manifest: dict, text: str, digest: str,
                 hashes: list[str], source: str) -> dict:
        with self.db() as db, transaction(db):
            batch = batch_db.get_batch(db, manifest["batch_id"])
            if batch is None:
                batch_db.insert_batch(db, batch_id=manifest["batch_id"], node_id=node_id,
                                      manifest_text=text, manifest_sha256=digest,
                                      surveys=len(manifest["surveys"]), hashes=hashes,
                                      source=source)
                batch_db.insert_sync_event(db, action="batch", node_id=node_id,
                                           batch_id=manifest["batch_id"],
                                           surveys=len(manifest["surveys"]),
                                           evidence=len(hashes))
                batch = {"batch_id": manifest["batch_id"], "state": "open"}
            elif batch["node_id"] != node_id or batch["manifest_sha256"] != digest:
                raise Conflict("Batch %(batch)s was already received with other content;"
                               " a batch id is used once", batch=manifest["batch_id"])
            missing = batch_db.rows_missing_hashes(db, hashes, node_id)
        return _batch_reply(batch, missing)

    def put_evidence(self, node_id: str, sha256: str, chunks: Iterable[bytes],
                     length: int | None) -> dict:
        """Step 2: store one evidence file, verified against its hash; repeating is harmless."""
        if not protocol.SHA256_RE.match(sha256):
            raise BadInput("%(value)r is not a SHA-256 hash", value=sha256)
        if length is not None and length > self.max_evidence:
            raise TooLarge("Evidence %(sha)s is %(size)s bytes; the registry accepts at most"
                           " %(limit)s", sha=sha256[:12], size=length, limit=self.max_evidence)
        with self.db() as db:
            held, wanted = batch_db.get_upload_standing(db, node_id, sha256)
            if held:
                return {"sha256": sha256, "stored": False}
            if not wanted:
                raise Conflict("Evidence %(sha)s is not referenced by an open batch of this"
                               " node; send the batch manifest first", sha=sha256[:12])
        size = self.store.objects.put_stream(sha256, chunks, self.max_evidence)
        try:
            with self.db() as db:
                batch_db.insert_evidence(db, sha256, size, node_id)
        except Exception as exc:
            if is_disk_full(exc) and not self._is_evidence_recorded(sha256):
                # No row names the file: give its room back; the node sends it again.
                self.store.objects.discard(sha256)
            raise
        return {"sha256": sha256, "stored": True, "bytes": size}

    def _is_evidence_recorded(self, sha256: str) -> bool:
        """Whether a row names this object (asked after a failed write; when even the
        asking fails, the answer is yes: a file kept too long is harmless, a row whose
        file was removed is not)."""
        try:
            with self.db() as db:
                return batch_db.is_evidence_recorded(db, sha256)
        except Exception:  # noqa: BLE001 - see the docstring
            return True

    def commit_batch(self, node_id: str, batch_id: str) -> dict:
        """Step 3: all evidence present -> write every survey in one transaction -> receipt."""
        return self._retrying(lambda: self._commit_once(node_id, batch_id))

    def _commit_once(self, node_id: str, batch_id: str) -> dict:
        with self.db() as db:
            try:
                with transaction(db):
                    return self._commit(db, node_id, batch_id)
            except Conflict as exc:
                with transaction(db):
                    batch_db.insert_sync_event(db, action="refused", node_id=node_id,
                                               batch_id=batch_id, error=exc.line())
                raise

    def _commit(self, db: Database, node_id: str, batch_id: str) -> dict:
        batch = batch_db.lock_batch(db, batch_id)
        if batch is None or batch["node_id"] != node_id:
            raise NotFound("Batch %(batch)s is not known for this node", batch=batch_id)
        if batch["state"] == "committed":
            return json.loads(batch["receipt"])
        missing = batch_db.rows_batch_missing_hashes(db, batch_id, node_id)
        if missing:
            exc = Conflict("%(count)s evidence file(s) of batch %(batch)s have not arrived",
                           count=len(missing), batch=batch_id)
            exc.code, exc.extra = "evidence_missing", {"missing": missing}
            raise exc
        entries = json.loads(batch["manifest"])["surveys"]
        outcomes = _judge_surveys(entries, node_id,
                                  *survey_db.rows_held_for_surveys(db, [e["id"] for e in entries]))
        conflicts = [{"id": e["id"], "revision": e["revision"], "reason": outcomes[e["id"]]}
                     for e in entries if outcomes[e["id"]].startswith("conflict")]
        if conflicts:
            first = conflicts[0]
            exc = Conflict("Survey %(id)s revision %(revision)s is already held with different"
                           " content (%(count)s conflict(s)); change the survey on the node so"
                           " it gets a new revision", id=first["id"],
                           revision=first["revision"], count=len(conflicts))
            exc.code, exc.extra = "revision_conflict", {"conflicts": conflicts}
            raise exc
        new = [e for e in entries if outcomes[e["id"]] == "new"]
        became = survey_db.insert_survey_revisions(db, new, node_id=node_id, batch_id=batch_id)
        for entry in new:
            outcomes[entry["id"]] = "stored" if entry["id"] in became else "stored_older"
        results = [{"id": e["id"], "revision": e["revision"],
                    "content_sha256": e["content_sha256"], "result": outcomes[e["id"]]}
                   for e in entries]
        receipt = {"batch_id": batch_id, "node_id": node_id, "committed_at": now_iso(),
                   "surveys": results}
        survey_db.replace_survey_evidence(db, [e for e in new if e["id"] in became])
        batch_db.update_batch_committed(db, batch_id, receipt)
        batch_db.insert_sync_event(db, action="commit", node_id=node_id,
                                   batch_id=batch_id, surveys=len(results),
                                   evidence=batch["evidence"])
        audit(db, actor=node_id, action="registry.commit", entity="batch",
              entity_id=batch_id, detail={"surveys": len(results)})
        return receipt

    # -- pulls -------------------------------------------------------------------------

    def cameras_since(self, node_id: str, asked_for: str, since: int) -> dict:
        """The cameras of the node's own province (named with its token), never another's."""
        with self.db() as db:
            node = node_db.get_node(db, node_id) or {}
            province = node.get("province_code") or ""
            if not province:
                raise Forbidden("Node %(node)s has no province on the registry: make its token"
                                " with `registry token add %(node)s --province NAME`",
                                node=node_id)
            if asked_for and asked_for != province:
                raise Forbidden("This token reads the cameras of province %(mine)s, not"
                                " %(asked)s", mine=province, asked=asked_for)
            found = survey_db.rows_registry_cameras(db, province=province, since=since,
                                                    limit=PULL_LIMIT + 1)
        more = len(found) > PULL_LIMIT
        found = found[:PULL_LIMIT]
        cameras = [{**json.loads(c["record"]), "seq": c["seq"]} for c in found]
        return {"cameras": cameras, "next_since": found[-1]["seq"] if found else since,
                "more": more}

    def decisions_since(self, node_id: str, asked_for: str, since: int) -> dict:
        if asked_for and asked_for != node_id:
            raise Forbidden("This token belongs to node %(node)s, not %(claimed)s", node=node_id,
                            claimed=asked_for)
        with self.db() as db:
            found = survey_db.rows_decisions(db, node_id=node_id, since=since,
                                             limit=PULL_LIMIT + 1)
        more = len(found) > PULL_LIMIT
        found = found[:PULL_LIMIT]
        return {"decisions": found, "next_since": found[-1]["seq"] if found else since,
                "more": more}

    def import_cameras(self, cameras: list[dict], *, actor: str = "cli") -> int:
        for index, cam in enumerate(cameras):
            if not isinstance(cam, dict) or not str(cam.get("camera_id") or "").strip():
                raise BadInput("Camera %(row)s has no camera_id", row=index + 1)
        with self.db() as db, transaction(db):
            changed = survey_db.upsert_registry_cameras(db, cameras)
            audit(db, actor=actor, action="registry.cameras_import", entity="camera",
                  detail={"rows": len(cameras), "changed": changed})
        return changed

    # -- review ------------------------------------------------------------------------

    def record_decision(self, survey_id: str, *, state: str, reason: str,
                        decided_by: str, flags: list[str] | tuple = ()) -> dict:
        """A supervisor's decision on a survey's latest revision; nodes pull it (with the
        reviewer's flags: camera_moved, stream_dead, ...)."""

        flags = list(dict.fromkeys(flags))
        for flag in flags:
            if flag not in FLAGS:
                raise BadInput("Review flag %(flag)r is not one of %(known)s", flag=flag,
                               known=", ".join(FLAGS))
        if state not in DECISION_STATES:
            raise BadInput("Decision %(state)r is not one of %(known)s", state=state,
                           known=", ".join(DECISION_STATES))
        reason = (reason or "").strip()
        if state != "approved" and not reason:
            raise BadInput("A %(state)s decision needs a reason for the surveyor", state=state)
        with self.db() as db, transaction(db):
            survey = survey_db.get_registry_survey(db, survey_id)
            if survey is None:
                raise NotFound("Survey %(survey_id)s is not in the registry", survey_id=survey_id)
            seq = survey_db.insert_decision(db, survey_id=survey_id, node_id=survey["node_id"],
                                            revision=survey["revision"], state=state,
                                            reason=reason, decided_by=decided_by,
                                            flags=flags)
            audit(db, actor=decided_by, action="registry.decide", entity="survey",
                  entity_id=survey_id, detail={"state": state, "revision": survey["revision"],
                                               "reason": reason, "flags": flags})
        return {"seq": seq, "survey_id": survey_id, "node_id": survey["node_id"],
                "revision": survey["revision"], "state": state, "reason": reason,
                "flags": flags}

    def receive_node_decisions(self, node_id: str, body) -> dict:
        """Review decisions a supervisor made on the node, for surveys that node sent: kept
        as decided there (so the registry's queue no longer asks for them), never sent back
        to it. A decision about a survey or revision the registry lacks is named, not kept."""

        items = body.get("decisions") if isinstance(body, dict) else None
        if not isinstance(items, list) or len(items) > PULL_LIMIT:
            raise BadInput("decisions must be a list of at most %(n)s", n=PULL_LIMIT)
        recorded, unknown = [], []
        with self.db() as db, transaction(db):
            for index, item in enumerate(items):
                where = f"decisions[{index}]"
                if not isinstance(item, dict):
                    raise BadInput("%(where)s must be an object", where=where)
                survey_id, revision = item.get("survey_id"), item.get("revision")
                state = item.get("state")
                if state not in DECISION_STATES or not isinstance(revision, int):
                    raise BadInput("%(where)s needs a state (%(known)s) and a revision",
                                   where=where, known=", ".join(DECISION_STATES))
                survey = survey_db.get_registry_survey(db, str(survey_id or ""))
                if survey is None or not survey_db.get_survey_revision(db, survey["id"], revision):
                    unknown.append(str(survey_id))
                    continue
                if survey["node_id"] != node_id:
                    raise Forbidden("Survey %(survey_id)s was sent by another node",
                                    survey_id=survey["id"])
                flags = [f for f in (item.get("flags") or []) if f in FLAGS][:10]
                reviewer = str(item.get("decided_by") or "")[:100]
                seq = survey_db.insert_decision(
                    db, survey_id=survey["id"], node_id=node_id, revision=revision, state=state,
                    reason=str(item.get("reason") or "")[:2000],
                    decided_by=f"{reviewer} ({node_id})", flags=flags, origin_node=node_id,
                    decided_at=str(item.get("decided_at") or "")[:40] or None)
                audit(db, actor=f"{reviewer}@{node_id}", action="registry.decide",
                      entity="survey", entity_id=survey["id"],
                      detail={"state": state, "revision": revision, "on_node": node_id})
                recorded.append({"survey_id": survey["id"], "revision": revision, "seq": seq,
                                 "ref": item.get("ref")})
        return {"recorded": recorded, "unknown": unknown}

    # -- history -----------------------------------------------------------------------

    def history(self, node_id: str | None = None, limit: int = 100) -> list[dict]:
        with self.db() as db:
            return batch_db.rows_sync_events(db, node_id=node_id, limit=limit)

    def note_refusal(self, node_id: str | None, error: str) -> None:
        try:
            with self.db() as db, transaction(db):
                batch_db.insert_sync_event(db, action="refused", node_id=node_id, error=error)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            # The refusal itself (401, ...) still answers; only its history line is missed.


def record_decision(config: Config, survey_id: str, *, state: str, reason: str,
                    decided_by: str, flags: list[str] | tuple = ()) -> dict:
    """The entry point the registry's review pages call."""
    return Registry(config).record_decision(survey_id, state=state, reason=reason,
                                            decided_by=decided_by, flags=flags)


def _judge_surveys(entries: list[dict], node_id: str, owners: dict,
                   revisions: dict) -> dict[str, str]:
    """Each survey's fate by today's rules, from what is held: "new" (to be written),
    "unchanged" (the same revision with the same content), or a conflict."""
    outcomes = {}
    for entry in entries:
        owner = owners.get(entry["id"])
        held = revisions.get((entry["id"], entry["revision"]))
        if owner is not None and owner != node_id:
            outcomes[entry["id"]] = "conflict: the survey belongs to another node"
        elif held is None:
            outcomes[entry["id"]] = "new"
        elif held == entry["content_sha256"]:
            outcomes[entry["id"]] = "unchanged"
        else:
            outcomes[entry["id"]] = "conflict: same revision, different content"
    return outcomes


def _batch_reply(batch: dict, missing: list[str]) -> dict:
    reply = {"batch_id": batch["batch_id"], "state": batch["state"], "missing": missing}
    if batch["state"] == "committed":
        reply["missing"] = []
        reply["receipt"] = json.loads(batch["receipt"])
    return reply


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
