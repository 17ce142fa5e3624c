"""SQL for users and login attempts."""

from __future__ import annotations

from sqlite_utils import Database

from . import audit, now_iso, row, rows, transaction

ROLES = ("surveyor", "supervisor", "admin")


def insert_user(
    db: Database, *, name: str, display_name: str, role: str, pin_hash: str, actor: str | None
) -> int:
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO users (name, display_name, role, pin_hash, active, created_at)"
            " VALUES (?, ?, ?, ?, 1, ?) RETURNING id",
            [name, display_name, role, pin_hash, now_iso()],
        )
        user_id = cursor.fetchall()[0][0]
        audit(db, actor=actor, action="user.add", entity="user", entity_id=name,
              detail={"role": role, "display_name": display_name})
    return user_id


def get_user_by_name(db: Database, name: str) -> dict | None:
    return row(db, "SELECT * FROM users WHERE name = ?", [name])


def get_user(db: Database, user_id: int) -> dict | None:
    return row(db, "SELECT * FROM users WHERE id = ?", [user_id])


def session_is_current(user: dict | None, version) -> bool:
    """A session opens only for an active user, under the version it was logged in with."""
    return bool(user and user["active"] and version == user.get("session_version", 0))


def rows_users(db: Database) -> list[dict]:
    return rows(db, "SELECT id, name, display_name, role, active, created_at FROM users ORDER BY name")


def update_user(db: Database, name: str, *, actor: str | None, **changes) -> None:
    allowed = {"display_name", "role", "pin_hash", "active"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    sets = ", ".join(f"{k} = ?" for k in changes)
    if changes.keys() & {"pin_hash", "role", "active"}:
        # A new PIN, role or deactivation ends every session the user has open.
        sets += ", session_version = session_version + 1"
    with transaction(db):
        db.execute(f"UPDATE users SET {sets} WHERE name = ?", [*changes.values(), name])
        shown = {k: ("***" if k == "pin_hash" else v) for k, v in changes.items()}
        audit(db, actor=actor, action="user.update", entity="user", entity_id=name, detail=shown)


# -- login attempts ------------------------------------------------------------------


def get_attempts(db: Database, key: str) -> dict | None:
    return row(db, "SELECT * FROM login_attempts WHERE key = ?", [key])


def put_attempts(db: Database, attempts: list[dict]) -> None:
    """Write the counters of several keys at once (the policy is the accounts service's)."""
    with transaction(db):
        for a in attempts:
            db.execute(
                "INSERT INTO login_attempts (key, failures, lockouts, window_start, locked_until,"
                " last_failure_at) VALUES (:key, :failures, :lockouts, :window_start,"
                " :locked_until, :last_failure_at)"
                " ON CONFLICT(key) DO UPDATE SET failures = excluded.failures,"
                " lockouts = excluded.lockouts, window_start = excluded.window_start,"
                " locked_until = excluded.locked_until,"
                " last_failure_at = excluded.last_failure_at", a)


def clear_attempts(db: Database, keys: list[str]) -> None:
    with transaction(db):
        for key in keys:
            db.execute("DELETE FROM login_attempts WHERE key = ?", [key])


def end_sessions(db: Database, user_id: int, *, actor: str | None) -> None:
    """Log the user out everywhere: a cookie kept from before no longer opens a session."""
    with transaction(db):
        db.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?",
                   [user_id])
        audit(db, actor=actor, action="user.logout", entity="user", entity_id=actor or "",
              detail={})


def record_login(db: Database, name: str, client: str) -> None:
    with transaction(db):
        audit(db, actor=name, action="user.login", entity="user", entity_id=name,
              detail={"client": client})
