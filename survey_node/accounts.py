"""Users, PINs and the login rate limit (no Flask here)."""

from __future__ import annotations

import datetime as dt
import logging
import re

from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from . import db as database
from .config import SecuritySection
from .db import users as user_db
from .diskspace import is_disk_full
from .errors import BadInput, Conflict, TooManyAttempts

log = logging.getLogger(__name__)
# Wrong-PIN counters a full disk kept out of the database ((db file, key) -> row), oldest first.
_UNSAVED_ATTEMPTS: dict[tuple[str, str], dict] = {}
MAX_UNSAVED_ATTEMPTS = 10_000  # bounded: user names are whatever a client types

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

    Failures are counted per user name and per client address, within a window of
    ``failure_window_minutes``; at ``pin_attempts`` both are locked and even a right PIN
    is refused until the lock ends. Each lockout that follows soon after another lasts twice
    as long (up to ``max_lockout_minutes``); a quiet window forgets them all.
    """
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    name = (name or "").strip()
    keys = [f"user:{name.lower()}", f"client:{client}"]
    _refuse_if_locked(db, keys, now)
    user = user_db.get_user_by_name(db, name) if name else None
    ok = check_password_hash(user["pin_hash"] if user else _DUMMY_HASH, pin or "")
    if not (user and ok and user["active"]):
        _put_attempts(db, [_count_failure(_get_attempts(db, key) or {"key": key}, security, now)
                           for key in keys])
        _refuse_if_locked(db, keys, now)
        raise BadInput("Wrong user name or PIN")
    # A right PIN logs in even on a full disk: the session is a signed cookie (nothing to
    # write), clearing the counters only spares later tries, and a login changes no data,
    # so its audit line may be missed. Refusing would lock out the very people who must
    # log in to sync and free the space.
    for write in (lambda: user_db.clear_attempts(db, keys),
                  lambda: user_db.record_login(db, user["name"], client)):
        try:
            write()
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            log.warning("disk full: login of %s not recorded", user["name"])
    _forget_unsaved(db, keys)
    return user


def _get_attempts(db: Database, key: str) -> dict | None:
    unsaved = _UNSAVED_ATTEMPTS.get((_db_file(db), key)) if _UNSAVED_ATTEMPTS else None
    return unsaved or user_db.get_attempts(db, key)


def _db_file(db: Database) -> str:
    """Which database the counters belong to (a process may serve more than one)."""
    return database.database_file(db)


def _put_attempts(db: Database, attempts: list[dict]) -> None:
    """Save the failure counters; on a full disk keep them in this process instead.

    The lockout is what stands between a 4-digit PIN and a guesser on the open field WiFi,
    so a full disk must not switch it off. Counters kept in memory are lost at a restart
    (at most one more window of tries); the next write that fits saves them.
    """
    try:
        user_db.put_attempts(db, attempts)
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        log.warning("disk full: wrong-PIN counters kept in memory")
        where = _db_file(db)
        for a in attempts:
            _UNSAVED_ATTEMPTS.pop((where, a["key"]), None)  # re-inserted last: newest kept
            _UNSAVED_ATTEMPTS[(where, a["key"])] = a
        while len(_UNSAVED_ATTEMPTS) > MAX_UNSAVED_ATTEMPTS:
            _UNSAVED_ATTEMPTS.pop(next(iter(_UNSAVED_ATTEMPTS)))
    else:
        _forget_unsaved(db, [a["key"] for a in attempts])


def _forget_unsaved(db: Database, keys: list[str]) -> None:
    if _UNSAVED_ATTEMPTS:
        where = _db_file(db)
        for key in keys:
            _UNSAVED_ATTEMPTS.pop((where, key), None)


def _count_failure(attempts: dict, security: SecuritySection, now: dt.datetime) -> dict:
    """The counters of one key after one more wrong PIN at `now`."""
    window = dt.timedelta(minutes=security.failure_window_minutes)
    failures, lockouts = attempts.get("failures") or 0, attempts.get("lockouts") or 0
    last = _when(attempts.get("last_failure_at"))
    until = _when(attempts.get("locked_until"))
    start = _when(attempts.get("window_start")) or last
    quiet_since = max((t for t in (last, until) if t is not None), default=None)
    if quiet_since is None or now - quiet_since > window:  # a quiet window forgets it all
        failures, lockouts, start, until = 0, 0, None, None
    if until is not None and until <= now:  # the lock is over: count afresh, keep the back-off
        failures, start, until = 0, None, None
    if start is None or now - start > window:
        failures, start = 0, now
    failures += 1
    if failures >= security.pin_attempts:
        lockouts += 1
        minutes = min(security.lockout_minutes * 2 ** (lockouts - 1),
                      max(security.max_lockout_minutes, security.lockout_minutes))
        until = now + dt.timedelta(minutes=minutes)
    return {"key": attempts["key"], "failures": failures, "lockouts": lockouts,
            "window_start": start.isoformat(), "last_failure_at": now.isoformat(),
            "locked_until": until.isoformat() if until else None}


def _when(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _refuse_if_locked(db: Database, keys: list[str], now: dt.datetime) -> None:
    for key in keys:
        attempts = _get_attempts(db, key)
        until = _when(attempts and attempts["locked_until"])
        if until is not None and until > now:
            minutes = max(1, -(-int((until - now).total_seconds()) // 60))
            raise TooManyAttempts(
                "Too many wrong PINs. Try again in %(minutes)s minutes", minutes=minutes
            )
