"""Signatures on what travels by hand: batch files (node -> registry) and receipts (back).

Over HTTP the bearer token proves who sends; a file on a USB stick has no such channel, so
its bytes carry the proof instead. Both ends already share one secret per node token: the
node holds ``<token id>.<secret>``, the registry holds only SHA-256(secret). Keys are
derived from that hash, one per purpose, so a node's batch key never signs a receipt
(and a leaked registry database still reveals no token that opens the API).

A signature is ``{"token_id": ..., "alg": "HMAC-SHA256", "mac": <hex>}``; a file without
one, or signed by a token that is revoked or belongs to another node, is refused whole.
"""

from __future__ import annotations

import hashlib
import hmac

from ..errors import BadInput

ALG = "HMAC-SHA256"
PURPOSES = ("batch", "receipt")


def split_token(token: str) -> tuple[str, str]:
    """(token id, SHA-256 of the secret) of a node's registry token, or BadInput."""
    token_id, _, secret = (token or "").strip().partition(".")
    if not token_id or not secret:
        raise BadInput("This node has no registry token yet: put the one `survey-node registry"
                       " token add` printed in the node's secrets/registry_token")
    return token_id, hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _key(secret_sha256: str, purpose: str) -> bytes:
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    return hmac.new(secret_sha256.encode("ascii"), f"cctv-survey-node {purpose} v1".encode(),
                    hashlib.sha256).digest()


def sign(token_id: str, secret_sha256: str, purpose: str, payload: bytes) -> dict:
    mac = hmac.new(_key(secret_sha256, purpose), payload, hashlib.sha256).hexdigest()
    return {"token_id": token_id, "alg": ALG, "mac": mac}


def matches(signature, secret_sha256: str, purpose: str, payload: bytes) -> bool:
    """True when `signature` (as read from a file) is this key's over `payload`."""
    if not isinstance(signature, dict) or signature.get("alg") != ALG:
        return False
    mac = signature.get("mac")
    if not isinstance(mac, str):
        return False
    want = hmac.new(_key(secret_sha256, purpose), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, want)
