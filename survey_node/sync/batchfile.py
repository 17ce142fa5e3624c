"""The USB path: one batch (manifest + evidence) as one zip file, and its import.

The file holds ``manifest.json``, ``signature.json`` (the manifest's bytes signed with a key
derived from the node's registry token, see :mod:`signing`) and ``evidence/<sha256>`` for
every referenced hash. Evidence is stored uncompressed (photos do not compress). The
registry imports it with the same rules as the HTTP path, after checking that a live token
of the node named inside signed it; every hash in the file is checked before anything is
written, so a tampered or forged file is refused whole. The receipt it writes back is
signed too, and the node applies only a receipt signed for its own token.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from .. import db as database
from ..config import Config
from ..db import transaction
from ..errors import BadInput, Forbidden, NotFound
from ..evidence import EvidenceStore
from . import protocol, signing
from .client import plan_batches
from .registry import Registry

MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
MAX_BATCH_FILE_SURVEYS = 1000
MAX_SIGNATURE_BYTES = 4096


def export_batch(config: Config, out: str | os.PathLike) -> dict:
    """Write every completed, unsynced survey as one batch file; the summary of what it holds."""
    token_id, secret_sha = signing.split_token(config.secret("registry_token"))
    db = database.connect(config.db_path)
    try:
        from ..db import sync as sync_db

        pending = sync_db.count_surveys_to_send(db)
        if not pending:
            raise BadInput("No completed surveys are waiting to be sent")
        if pending > MAX_BATCH_FILE_SURVEYS:
            raise BadInput("%(count)s surveys are waiting; a batch file holds at most %(max)s",
                           count=pending, max=MAX_BATCH_FILE_SURVEYS)
        [manifest] = plan_batches(db, config, run_id=None, size=MAX_BATCH_FILE_SURVEYS,
                                  state="exported")
    finally:
        db.close()
    store = EvidenceStore(config.evidence_dir)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    hashes = protocol.manifest_hashes(manifest)
    text = protocol.canonical_json(manifest)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(MANIFEST, text)
        zf.writestr(SIGNATURE, json.dumps(signing.sign(token_id, secret_sha, "batch", text)))
        for sha in hashes:
            path = store.path(sha)
            if not path.exists():
                tmp.unlink(missing_ok=True)
                raise NotFound("Evidence %(sha)s is not on this node", sha=sha[:12])
            zf.write(path, f"evidence/{sha}")
    os.replace(tmp, out)
    return {"batch_id": manifest["batch_id"], "surveys": len(manifest["surveys"]),
            "evidence": len(hashes), "file": str(out)}


def import_receipt(config: Config, path: str | os.PathLike) -> dict:
    """On the node: apply the receipt `registry import-batch --receipt-out` wrote."""
    from ..db import sync as sync_db
    from .client import apply_receipt

    try:
        receipt = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput("%(file)s is not a receipt file: %(why)s", file=str(path), why=str(exc))
    if not isinstance(receipt, dict) or receipt.get("node_id") != config.node.id:
        raise BadInput("%(file)s is not a receipt for this node (%(node)s)", file=str(path),
                       node=config.node.id)
    token_id, secret_sha = signing.split_token(config.secret("registry_token"))
    signature = receipt.pop("signature", None)
    if not (isinstance(signature, dict) and signature.get("token_id") == token_id
            and signing.matches(signature, secret_sha, "receipt",
                                protocol.canonical_json(receipt))):
        raise BadInput("%(file)s is not signed by the registry for this node's token: it was"
                       " not written by `registry import-batch`, or it was changed; nothing was"
                       " marked synced", file=str(path))
    db = database.connect(config.db_path)
    try:
        batch = sync_db.get_sync_batch(db, str(receipt.get("batch_id")))
        if batch is None:
            raise BadInput("%(file)s is for batch %(batch)s, which this node did not make",
                           file=str(path), batch=receipt.get("batch_id"))
        acknowledged = apply_receipt(db, json.loads(batch["manifest"]), receipt)
    finally:
        db.close()
    return {"batch_id": receipt["batch_id"], "surveys_acknowledged": acknowledged}


def import_batch(config: Config, path: str | os.PathLike) -> dict:
    """Import a batch file into the registry; returns the receipt."""
    registry = Registry(config)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BadInput("%(file)s is not a batch file: %(why)s", file=str(path), why=str(exc))
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names:
            raise BadInput("%(file)s has no manifest.json", file=str(path))
        info = zf.getinfo(MANIFEST)
        if info.file_size > 32 * 1024 * 1024:
            raise BadInput("The manifest in %(file)s is too large", file=str(path))
        raw = zf.read(MANIFEST)
        try:
            manifest = json.loads(raw)
        except ValueError:
            raise BadInput("The manifest in %(file)s is not valid JSON", file=str(path)) from None
        manifest = protocol.validate_manifest(
            manifest, max_surveys=config.registry.max_batch_surveys)
        node_id = manifest["node_id"]
        token_id, secret_sha = _check_signature(zf, names, raw, node_id, registry, str(path))
        declared = {e["sha256"]: e["bytes"] for s in manifest["surveys"] for e in s["evidence"]}
        _verify_members(zf, names, declared, registry, node_id, str(path))
        reply = registry.receive_batch(node_id, manifest, source="file")
        if "receipt" in reply:
            return _signed_receipt(reply["receipt"], token_id, secret_sha)
        for sha in reply["missing"]:
            with zf.open(f"evidence/{sha}") as fh:
                registry.put_evidence(node_id, sha, iter(lambda: fh.read(1 << 20), b""), None)
        receipt = registry.commit_batch(node_id, manifest["batch_id"])
    with registry.db() as db, transaction(db):
        from ..db import registry_batches as batch_db

        batch_db.insert_sync_event(db, action="import", node_id=node_id,
                                   batch_id=manifest["batch_id"],
                                   surveys=len(manifest["surveys"]), evidence=len(declared))
    return _signed_receipt(receipt, token_id, secret_sha)


def _check_signature(zf: zipfile.ZipFile, names: set[str], manifest_bytes: bytes,
                     node_id: str, registry: Registry, where: str) -> tuple[str, str]:
    """The (token id, secret hash) of the live token of `node_id` that signed the manifest."""
    from ..db import registry_nodes as node_db

    with registry.db() as db:
        if node_db.get_node(db, node_id) is None:
            raise Forbidden("Node %(node)s is not registered: `survey-node registry token"
                            " add %(node)s` first", node=node_id)
        signature = None
        if SIGNATURE in names and zf.getinfo(SIGNATURE).file_size <= MAX_SIGNATURE_BYTES:
            try:
                signature = json.loads(zf.read(SIGNATURE))
            except ValueError:
                signature = None
        token_id = signature.get("token_id") if isinstance(signature, dict) else None
        token = node_db.get_live_token(db, token_id) if isinstance(token_id, str) else None
    if (token is None or token["node_id"] != node_id
            or not signing.matches(signature, token["secret_sha256"], "batch", manifest_bytes)):
        with registry.db() as db, transaction(db):
            from ..db import registry_batches as batch_db

            batch_db.insert_sync_event(db, action="refused", node_id=node_id,
                                       batch_id=None, error=f"unsigned or forged file {where}")
        raise Forbidden("%(file)s is not signed by a live registry token of node %(node)s:"
                        " nothing was imported", file=where, node=node_id)
    return token_id, token["secret_sha256"]


def _signed_receipt(receipt: dict, token_id: str, secret_sha: str) -> dict:
    body = {k: v for k, v in receipt.items() if k != "signature"}
    return {**body, "signature": signing.sign(token_id, secret_sha, "receipt",
                                              protocol.canonical_json(body))}


def _verify_members(zf: zipfile.ZipFile, names: set[str], declared: dict, registry: Registry,
                    node_id: str, where: str) -> None:
    """Every referenced hash is in the file (or already held) and every file hashes right."""
    import hashlib

    from ..db import registry_batches as batch_db

    with registry.db() as db:
        lacking = set(batch_db.rows_missing_hashes(db, sorted(declared), node_id))
    for sha in sorted(declared):
        member = f"evidence/{sha}"
        if member not in names:
            if sha in lacking:
                raise BadInput("%(file)s lacks evidence %(sha)s that its manifest references",
                               file=where, sha=sha[:12])
            continue
        if zf.getinfo(member).file_size > registry.max_evidence:
            raise BadInput("Evidence %(sha)s in %(file)s is larger than the registry accepts",
                           sha=sha[:12], file=where)
        digest = hashlib.sha256()
        try:
            with zf.open(member) as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        except (zipfile.BadZipFile, OSError):
            digest = None
        if digest is None or digest.hexdigest() != sha:
            raise BadInput("%(file)s is damaged or altered: evidence %(sha)s does not match its"
                           " hash; nothing was imported", file=where, sha=sha[:12])
