"""The USB path, the registry's side: import a batch file a node wrote (sync/batchfile.py).

It is imported with the same rules as the HTTP path, after checking that a live token of
the node named inside signed it; every hash in the file is checked before anything is
written, so a tampered or forged file is refused whole. The receipt it writes back is signed
too, and the node applies only a receipt signed for its own token.
"""

from __future__ import annotations

import hashlib
import os
import zipfile

from .. import json_input
from ..config import Config
from ..db import transaction
from ..errors import BadInput, Forbidden
from ..sync import protocol, signing
from ..sync.batchfile import MANIFEST, MAX_SIGNATURE_BYTES, SIGNATURE
from .db import batches as batch_db
from .db import nodes as node_db
from .service import Registry


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
            manifest = json_input.loads(raw)
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
        batch_db.insert_sync_event(db, action="import", node_id=node_id,
                                   batch_id=manifest["batch_id"],
                                   surveys=len(manifest["surveys"]), evidence=len(declared))
    return _signed_receipt(receipt, token_id, secret_sha)


def _check_signature(zf: zipfile.ZipFile, names: set[str], manifest_bytes: bytes,
                     node_id: str, registry: Registry, where: str) -> tuple[str, str]:
    """The (token id, secret hash) of the live token of `node_id` that signed the manifest."""
    with registry.db() as db:
        if node_db.get_node(db, node_id) is None:
            raise Forbidden("Node %(node)s is not registered: `survey-node registry token"
                            " add %(node)s` first", node=node_id)
        signature = None
        if SIGNATURE in names and zf.getinfo(SIGNATURE).file_size <= MAX_SIGNATURE_BYTES:
            try:
                signature = json_input.loads(zf.read(SIGNATURE))
            except ValueError:
                signature = None
        token_id = signature.get("token_id") if isinstance(signature, dict) else None
        token = node_db.get_live_token(db, token_id) if isinstance(token_id, str) else None
    if (token is None or token["node_id"] != node_id
            or not signing.matches(signature, token["secret_sha256"], "batch", manifest_bytes)):
        with registry.db() as db, transaction(db):
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
