"""Users, PINs and the login rate limit (no Flask here)."""

from __future__ import annotations

import datetime as dt
import re

from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from .config import SecuritySection
from .db import users as user_db
from .errors import BadInput, Conflict, TooManyAttempts

NAME_RE = re.compile(r"^[\w.\-]{2,40}$")
# A hash to compare against when the user does not exist, so timing does not tell
# an attacker which user names are real.
_DUMMY_HASH = generate_password_hash("0000")


def validate_pin(pin: str, security: SecuritySection) -> str:
    pin = (pin or "").strip()
    if not pin.isdigit() or not (security.min_pin_length <= len(pin) <= 12):
        raise BadInput(
            "PIN must be %(min)s to 12 digits", min=security.min_pin_length
        )
    return pin


def add_user(db: Database, security: SecuritySection, *, name: str, role: str, pin: str,
             display_name: str = "", actor: str | None = None) -> int:
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise BadInput("User name %(name)r: use 2-40 letters, digits, dot, dash or underscore",
                       name=name)
    if role not in user_db.ROLES:
        raise BadInput("Role %(role)r is not one of surveyor, supervisor, admin", role=role)
    pin = validate_pin(pin, security)
    if user_db.get_user_by_name(db, name):
        raise Conflict("User %(name)s already exists", name=name)
    return user_db.insert_user(db, name=name, display_name=display_name or name, role=role,
                               pin_hash=generate_password_hash(pin), actor=actor)


def authenticate(db: Database, security: SecuritySection, *, name: str, pin: str,
                 client: str, now: dt.datetime | None = None) -> dict:
    """Return the user for a right name + PIN, or raise.

    Failures are counted per user name and per client address; at the limit both are
    locked for ``lockout_minutes`` and even a right PIN is refused until then.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    name = (name or "").strip()
    keys = [f"user:{name.lower()}", f"client:{client}"]
    _refuse_if_locked(db, keys, now)
    user = user_db.get_user_by_name(db, name) if name else None
    ok = check_password_hash(user["pin_hash"] if user else _DUMMY_HASH, pin or "")
    if not (user and ok and user["active"]):
        lock_until = (now + dt.timedelta(minutes=security.lockout_minutes)).replace(microsecond=0)
        user_db.record_failure(db, keys, limit=security.pin_attempts,
                               lock_until=lock_until.isoformat())
        _refuse_if_locked(db, keys, now)
        raise BadInput("Wrong user name or PIN")
    user_db.clear_attempts(db, keys)
    user_db.record_login(db, user["name"], client)
    return user


def _refuse_if_locked(db: Database, keys: list[str], now: dt.datetime) -> None:
    for key in keys:
        attempts = user_db.get_attempts(db, key)
        if attempts and attempts["locked_until"]:
            until = dt.datetime.fromisoformat(attempts["locked_until"])
            if until > now:
                minutes = max(1, -(-int((until - now).total_seconds()) // 60))
                raise TooManyAttempts(
                    "Too many wrong PINs. Try again in %(minutes)s minutes", minutes=minutes
                )
