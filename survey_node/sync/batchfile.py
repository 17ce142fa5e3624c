"""The USB path, the node's side: one batch (manifest + evidence) as one zip file, and the
registry's signed receipt applied back (the registry's import is registry/batch_import.py).

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
from .. import json_input
from ..config import Config
from ..errors import BadInput, NotFound
from ..evidence import EvidenceStore
from . import protocol, signing
from .client import plan_batches
from ..db import sync as sync_db
from .client import apply_receipt

MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
MAX_BATCH_FILE_SURVEYS = 1000
MAX_SIGNATURE_BYTES = 4096


def export_batch(config: Config, out: str | os.PathLike) -> dict:
    """Write every completed, unsynced survey as one batch file; the summary of what it holds."""
    token_id, secret_sha = signing.split_token(config.secret("registry_token"))
    db = database.connect(config.db_path)
    try:

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

    try:
        receipt = json_input.loads(Path(path).read_text(encoding="utf-8"))
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
