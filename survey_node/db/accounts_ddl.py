"""The accounts tables' DDL, shared by the node's and the registry's migrations: the accounts
service (PIN hashes, rate limit, sessions) runs on either database, so both must have the
same shape. Each constant is one migration's worth, applied by both sets in their order."""

# m0001 (node) and r0700 (registry): the users and their failed-PIN counters.
CREATE_USERS = """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL CHECK (role IN ('surveyor', 'supervisor', 'admin')),
        pin_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE TABLE login_attempts (
        key TEXT PRIMARY KEY,          -- 'user:<name>' or 'client:<address>'
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        last_failure_at TEXT
    );
"""

# m0190 (node) and r0710 (registry). session_version: a session carries the version it was
# opened under, so logging out (or a new PIN) ends every copy of the cookie, not only the
# browser's own. lockouts/window_start: wrong PINs count within a window and lockouts back
# off and decay, instead of one failure every few minutes keeping a user locked for good.
ADD_SESSIONS_AND_BACKOFF = """
    ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE login_attempts ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE login_attempts ADD COLUMN window_start TEXT;
"""
