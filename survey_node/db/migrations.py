"""Schema changes, in order, applied by sqlite-utils' Migrations on every connect.

One migration set for the node database. A migration is never edited once it has landed
on main: add a new one at the end (name it mNNNN_what) instead.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("survey_node")


@migrations()
def m0001_users_audit_jobs(db: Database) -> None:
    db.executescript(
        """
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
        -- Append-only: the triggers refuse UPDATE and DELETE.
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT,
            action TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT,
            detail TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        -- Long work (imports, stream checks, syncs) with progress the UI polls.
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
            progress REAL NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            params TEXT NOT NULL DEFAULT '{}',
            result TEXT,
            error TEXT,
            created_by TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX jobs_state ON jobs (state, kind);
        """
    )


@migrations()
def m0002_cameras(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE cameras (
            id INTEGER PRIMARY KEY,                -- stable integer key for the R*Tree
            camera_id TEXT NOT NULL UNIQUE,
            site_name TEXT NOT NULL DEFAULT '',
            place_name TEXT NOT NULL DEFAULT '',
            place_type TEXT NOT NULL DEFAULT '',
            agency TEXT NOT NULL DEFAULT '',
            province_code TEXT NOT NULL DEFAULT '',
            province_name TEXT NOT NULL DEFAULT '',
            amphoe_code TEXT NOT NULL DEFAULT '',
            amphoe_name TEXT NOT NULL DEFAULT '',
            tambon_code TEXT NOT NULL DEFAULT '',
            tambon_name TEXT NOT NULL DEFAULT '',
            registered_lat REAL,
            registered_lon REAL,
            coord_text TEXT NOT NULL DEFAULT '',
            coord_system TEXT NOT NULL DEFAULT '',
            brand TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            resolution TEXT NOT NULL DEFAULT '',
            stream_url TEXT NOT NULL DEFAULT '',   -- a secret: may hold credentials
            registry_status TEXT NOT NULL DEFAULT '',
            removed INTEGER NOT NULL DEFAULT 0,    -- gone from the latest registry file
            raw TEXT NOT NULL DEFAULT '{}',        -- the original row as JSON
            import_id INTEGER,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX cameras_amphoe ON cameras (amphoe_code);
        CREATE INDEX cameras_agency ON cameras (agency);
        -- Nearest-first lookups: a bounding box per camera with a known position.
        CREATE VIRTUAL TABLE cameras_rtree USING rtree(
            id, min_lat, max_lat, min_lon, max_lon
        );
        CREATE TRIGGER cameras_rtree_insert AFTER INSERT ON cameras
            WHEN NEW.registered_lat IS NOT NULL AND NEW.registered_lon IS NOT NULL
            BEGIN
                INSERT INTO cameras_rtree VALUES (NEW.id, NEW.registered_lat,
                    NEW.registered_lat, NEW.registered_lon, NEW.registered_lon);
            END;
        CREATE TRIGGER cameras_rtree_update AFTER UPDATE OF registered_lat, registered_lon ON cameras
            BEGIN
                DELETE FROM cameras_rtree WHERE id = OLD.id;
                INSERT INTO cameras_rtree SELECT NEW.id, NEW.registered_lat,
                    NEW.registered_lat, NEW.registered_lon, NEW.registered_lon
                    WHERE NEW.registered_lat IS NOT NULL AND NEW.registered_lon IS NOT NULL;
            END;
        CREATE TRIGGER cameras_rtree_delete AFTER DELETE ON cameras
            BEGIN DELETE FROM cameras_rtree WHERE id = OLD.id; END;
        """
    )


@migrations()
def m0003_evidence(db: Database) -> None:
    db.executescript(
        """
        -- One row per stored file, keyed by the SHA-256 of its bytes.
        CREATE TABLE evidence (
            sha256 TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('photo', 'snapshot')),
            mime TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            width INTEGER,
            height INTEGER,
            taken_at TEXT,
            lat REAL,
            lon REAL,
            source TEXT NOT NULL DEFAULT '',       -- picamera2 / opencv / upload / streamcheck
            created_by TEXT,
            created_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m0100_imports(db: Database) -> None:
    db.executescript(
        """
        -- One row per registry import that was committed (dry runs leave no row).
        CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            file_name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT '',          -- xlsx / xls / ods / csv
            sheet TEXT NOT NULL DEFAULT '',
            header_row INTEGER,
            mapping TEXT NOT NULL DEFAULT '{}',     -- field -> header text, as used
            crs TEXT NOT NULL DEFAULT '',
            rows_read INTEGER NOT NULL DEFAULT 0,
            new_count INTEGER NOT NULL DEFAULT 0,
            changed_count INTEGER NOT NULL DEFAULT 0,
            unchanged_count INTEGER NOT NULL DEFAULT 0,
            removed_count INTEGER NOT NULL DEFAULT 0,
            rejected_count INTEGER NOT NULL DEFAULT 0,
            rejected TEXT NOT NULL DEFAULT '[]',    -- [{row, reason, message, params}]
            warnings TEXT NOT NULL DEFAULT '[]',    -- [{row, field, reason, message, params}]
            changes TEXT NOT NULL DEFAULT '[]',     -- [{camera_id, row, fields}]
            removed TEXT NOT NULL DEFAULT '[]',     -- camera ids no longer in the registry
            created_by TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX imports_created ON imports (created_at);
        -- Hash of a camera's columns that map to no field, so a re-import notices when they change.
        ALTER TABLE cameras ADD COLUMN extra_hash TEXT NOT NULL DEFAULT '';
        """
    )
