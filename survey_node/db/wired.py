"""SQL for the temporary addresses the node adds on its wired port (what to remove after a
crash, and what doctor shows as in use)."""

from __future__ import annotations

from sqlite_utils import Database

from . import audit, now_iso, rows, transaction


def insert_temp_address(db: Database, *, interface: str, address: str, prefix: int,
                        camera_host: str | None, actor: str | None) -> None:
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO wired_temp_addresses (interface, address, prefix,"
                   " camera_host, added_at) VALUES (?, ?, ?, ?, ?)",
                   [interface, address, prefix, camera_host, now_iso()])
        audit(db, actor=actor, action="wired.address_add", entity="wired_address",
              entity_id=f"{interface}/{address}", detail={"prefix": prefix,
                                                         "camera_host": camera_host})


def delete_temp_address(db: Database, *, interface: str, address: str,
                        actor: str | None) -> None:
    with transaction(db):
        db.execute("DELETE FROM wired_temp_addresses WHERE interface = ? AND address = ?",
                   [interface, address])
        audit(db, actor=actor, action="wired.address_remove", entity="wired_address",
              entity_id=f"{interface}/{address}")


def rows_temp_addresses(db: Database) -> list[dict]:
    return rows(db, "SELECT interface, address, prefix, camera_host, added_at"
                    " FROM wired_temp_addresses ORDER BY id")
