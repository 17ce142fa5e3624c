"""Registry SQL: nodes and their bearer tokens (stored as SHA-256 of the secret part)."""

from __future__ import annotations

from sqlite_utils import Database

from ...db import now_iso, row, rows


def insert_node_token(db: Database, node_id: str, token_id: str, secret_sha256: str) -> None:
    """Register the node if new and add a token (call inside a transaction)."""
    stamp = now_iso()
    db.execute("INSERT INTO nodes (node_id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
               [node_id, stamp])
    db.execute(
        "INSERT INTO node_tokens (token_id, node_id, secret_sha256, created_at)"
        " VALUES (?, ?, ?, ?)",
        [token_id, node_id, secret_sha256, stamp],
    )


def set_node_province(db: Database, node_id: str, province_code: str) -> None:
    db.execute("UPDATE nodes SET province_code = ? WHERE node_id = ?", [province_code, node_id])


def get_live_token(db: Database, token_id: str) -> dict | None:
    return row(db, "SELECT * FROM node_tokens WHERE token_id = ? AND revoked_at IS NULL",
               [token_id])


def revoke_node_tokens(db: Database, node_id: str) -> int:
    cursor = db.execute(
        "UPDATE node_tokens SET revoked_at = ? WHERE node_id = ? AND revoked_at IS NULL",
        [now_iso(), node_id])
    return cursor.rowcount


def get_node(db: Database, node_id: str) -> dict | None:
    return row(db, "SELECT * FROM nodes WHERE node_id = ?", [node_id])


def rows_nodes(db: Database) -> list[dict]:
    return rows(
        db,
        "SELECT n.node_id, n.created_at, count(t.token_id) AS live_tokens FROM nodes n"
        " LEFT JOIN node_tokens t ON t.node_id = n.node_id AND t.revoked_at IS NULL"
        " GROUP BY n.node_id ORDER BY n.node_id",
    )
