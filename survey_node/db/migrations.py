"""Schema changes, in order, applied by sqlite-utils' Migrations on every connect.

One migration set for the node database. A migration is never edited once it has landed
on main: add a new one at the end (name it mNNNN_what) instead.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from . import accounts_ddl

migrations = Migrations("survey_node")


@migrations()
def m0001_users_audit_jobs(db: Database) -> None:
    db.executescript(accounts_ddl.CREATE_USERS)
    db.executescript(
        """
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
def m0005_surveys(db: Database) -> None:
    db.executescript(
        """
        -- One survey of one camera (or of a camera not in the registry), made on a node.
        CREATE TABLE surveys (
            id TEXT PRIMARY KEY,                   -- UUID made on the node
            node_id TEXT NOT NULL,
            camera_id TEXT REFERENCES cameras(camera_id),  -- NULL for a new-camera report
            new_camera TEXT,                       -- JSON: what the surveyor reported
            surveyor TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'draft'
                CHECK (state IN ('draft', 'complete', 'synced')),
            review_state TEXT CHECK (review_state IN ('approved', 'rejected', 'resurvey')),
            review_reason TEXT,
            revision INTEGER NOT NULL DEFAULT 1,
            locked_by TEXT,                        -- the user who has it open
            locked_at TEXT,
            -- position as fixed on site
            lat REAL, lon REAL, alt REAL,
            eph REAL, epv REAL, hdop REAL, pdop REAL,
            sats_used INTEGER, sats_seen INTEGER, fix_mode INTEGER,
            samples INTEGER, spread_m REAL,
            position_source TEXT,                  -- gpsd / replay / tablet / manual
            position_reason TEXT,                  -- why manual, or why far from the registry
            fix_time TEXT,                         -- GPS time of the fix
            fix_system_time TEXT,                  -- the node's clock at the fix
            distance_m REAL,                       -- from the registered position
            checklist TEXT NOT NULL DEFAULT '{}',
            notes TEXT NOT NULL DEFAULT '',
            stream_check_id INTEGER,
            stream_verdict TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            completed_at TEXT,
            synced_at TEXT,
            synced_revision INTEGER
        );
        CREATE INDEX surveys_camera ON surveys (camera_id);
        CREATE INDEX surveys_state ON surveys (state);
        CREATE TABLE survey_evidence (
            survey_id TEXT NOT NULL REFERENCES surveys(id),
            sha256 TEXT NOT NULL REFERENCES evidence(sha256),
            role TEXT NOT NULL,                    -- camera / installation / label / snapshot / other
            added_by TEXT,
            added_at TEXT NOT NULL,
            PRIMARY KEY (survey_id, sha256)
        );
        """
    )


@migrations()
def m0200_selection(db: Database) -> None:
    db.executescript(
        """
        -- Each time the 20 % set is formed: who, when and how. The newest run is the set in
        -- force; older runs stay for the record.
        CREATE TABLE selection_runs (
            id INTEGER PRIMARY KEY,
            method TEXT NOT NULL CHECK (method IN ('sample', 'list')),
            fraction REAL,                         -- sample: the fraction per stratum
            strata TEXT NOT NULL DEFAULT '[]',     -- JSON list of fields, e.g. ["amphoe"]
            seed TEXT,                             -- sample: the seed anyone re-derives with
            only_with_stream INTEGER NOT NULL DEFAULT 0,
            source_file TEXT,                      -- list: the committee's file name
            source_sha256 TEXT,
            reserve_file TEXT,
            reserve_sha256 TEXT,
            counts TEXT NOT NULL DEFAULT '{}',     -- JSON: eligible, selected, strata, reserve...
            unmatched TEXT NOT NULL DEFAULT '[]',  -- JSON: list rows not found (row, reason)
            created_by TEXT,
            created_at TEXT NOT NULL
        );
        -- Every ranked camera of a run: the chosen ones and the candidates that can replace
        -- them (the rest of the stratum in rank order, or the committee's reserve list).
        CREATE TABLE selection (
            run_id INTEGER NOT NULL REFERENCES selection_runs(id),
            camera_id TEXT NOT NULL,
            stratum TEXT NOT NULL,                 -- JSON list of the stratum's values
            rank INTEGER NOT NULL,                 -- 1-based, within the stratum (sample) or list
            hash TEXT,                             -- sample: sha256(seed || camera_id), hex
            status TEXT NOT NULL CHECK (status IN ('selected', 'candidate', 'replaced')),
            reserve INTEGER NOT NULL DEFAULT 0,    -- list: came from the reserve list
            replaces TEXT,                         -- the camera this one took the place of
            replaced_by TEXT,                      -- the camera that took this one's place
            PRIMARY KEY (run_id, camera_id)
        );
        CREATE INDEX selection_stratum ON selection (run_id, stratum, status, rank);
        -- A surveyor's "cannot survey" and the supervisor's decision; kept whatever happens.
        CREATE TABLE replacements (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES selection_runs(id),
            camera_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL CHECK (state IN ('requested', 'confirmed', 'rejected')),
            requested_by TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            decided_by TEXT,
            decided_at TEXT,
            decision_note TEXT NOT NULL DEFAULT '',
            replacement_camera_id TEXT
        );
        CREATE INDEX replacements_state ON replacements (state, run_id);
        CREATE UNIQUE INDEX replacements_one_open ON replacements (run_id, camera_id)
            WHERE state = 'requested';
        -- Which surveyor goes to which camera (one surveyor per camera).
        CREATE TABLE assignments (
            camera_id TEXT PRIMARY KEY,
            user_name TEXT NOT NULL,
            how TEXT NOT NULL CHECK (how IN ('amphoe', 'hand', 'replacement')),
            assigned_by TEXT,
            assigned_at TEXT NOT NULL
        );
        CREATE INDEX assignments_user ON assignments (user_name);
        """
    )


@migrations()
def m0400_stream_checks(db: Database) -> None:
    db.executescript(
        """
        -- One row per stream check run (the UI's, the CLI's, the demo's).
        CREATE TABLE stream_checks (
            id INTEGER PRIMARY KEY,
            camera_id TEXT,                        -- NULL for a check of a typed URL
            job_id TEXT,
            url_masked TEXT NOT NULL,              -- what anyone may see, sync and export
            url_secret TEXT,                       -- the original, only when it holds credentials
            transport TEXT NOT NULL DEFAULT '',
            verdict TEXT NOT NULL CHECK (verdict IN ('ok', 'black', 'frozen', 'blurred',
                'no_frames', 'auth_failed', 'not_found', 'refused', 'timeout', 'dns',
                'unsupported', 'invalid_url')),
            error TEXT,
            connect_ms INTEGER,
            first_frame_ms INTEGER,
            codec TEXT,
            width INTEGER,
            height INTEGER,
            fps REAL,
            luma REAL,
            frozen_score REAL,
            blur_score REAL,
            frames INTEGER,
            snapshot_sha256 TEXT REFERENCES evidence (sha256),
            elapsed_ms INTEGER,
            probe_version TEXT,
            checked_by TEXT,
            checked_at TEXT NOT NULL
        );
        CREATE INDEX stream_checks_camera ON stream_checks (camera_id, id);
        """
    )


@migrations()
def m0300_evidence_photo_fields(db: Database) -> None:
    # A photo keeps the fix it was taken with (the evidence, not the survey, may move on)
    # and a trace of what was uploaded (hash and type of the original bytes).
    db.executescript(
        """
        ALTER TABLE evidence ADD COLUMN alt REAL;
        ALTER TABLE evidence ADD COLUMN h_error_m REAL;
        ALTER TABLE evidence ADD COLUMN fix_mode INTEGER;
        ALTER TABLE evidence ADD COLUMN gps_time TEXT;
        ALTER TABLE evidence ADD COLUMN node_id TEXT;
        ALTER TABLE evidence ADD COLUMN original_sha256 TEXT;
        ALTER TABLE evidence ADD COLUMN original_mime TEXT;
        ALTER TABLE evidence ADD COLUMN original_name TEXT;
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


@migrations()
def m0600_sync(db: Database) -> None:
    db.executescript(
        """
        -- One sync run (CLI, timer, UI button or USB export): the node's sync history.
        CREATE TABLE sync_runs (
            id TEXT PRIMARY KEY,
            trigger TEXT NOT NULL,                 -- cli / ui / timer / export
            registry_url TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            summary TEXT NOT NULL DEFAULT '{}',    -- the counts `sync --json` prints
            errors TEXT NOT NULL DEFAULT '[]'
        );
        -- A batch is stored with its manifest before its first byte is sent, so an
        -- interrupted sync resends the very same batch (same id) and gets the same receipt.
        CREATE TABLE sync_batches (
            id TEXT PRIMARY KEY,                   -- batch id, a UUID made here
            run_id TEXT REFERENCES sync_runs(id),
            state TEXT NOT NULL CHECK (state IN ('open', 'committed', 'refused', 'exported')),
            manifest TEXT NOT NULL,
            surveys INTEGER NOT NULL,
            evidence INTEGER NOT NULL,
            receipt TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            committed_at TEXT
        );
        CREATE INDEX sync_batches_state ON sync_batches (state);
        -- Pull cursors (cameras, decisions) and other small sync facts.
        CREATE TABLE sync_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """
    )


@migrations()
def m0700_reviews(db: Database) -> None:
    db.executescript(
        """
        -- Every supervisor decision on a survey revision, kept whatever happens after; the
        -- survey row holds only the latest (review_state, review_reason).
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            survey_id TEXT NOT NULL REFERENCES surveys(id),
            camera_id TEXT,
            revision INTEGER NOT NULL,             -- the revision that was reviewed
            decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected', 'resurvey')),
            reason TEXT NOT NULL DEFAULT '',       -- the reason or the re-survey instructions
            flags TEXT NOT NULL DEFAULT '[]',      -- JSON list: camera_moved, stream_dead, ...
            reviewer TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'node',   -- node, or registry (pulled by sync)
            decided_at TEXT NOT NULL
        );
        CREATE INDEX reviews_survey ON reviews (survey_id, id);
        CREATE INDEX surveys_review ON surveys (review_state, state);
        """
    )


@migrations()
def m0110_rtree_update_only_when_moved(db: Database) -> None:
    # The m0002 trigger rewrote a camera's R*Tree entry on every UPDATE that named its
    # position columns, so a re-import that changed only a status rewrote the entries of
    # all changed cameras. Now only a camera whose position really changed is rewritten.
    db.executescript(
        """
        DROP TRIGGER cameras_rtree_update;
        CREATE TRIGGER cameras_rtree_update AFTER UPDATE OF registered_lat, registered_lon ON cameras
            WHEN OLD.registered_lat IS NOT NEW.registered_lat
                OR OLD.registered_lon IS NOT NEW.registered_lon
            BEGIN
                DELETE FROM cameras_rtree WHERE id = OLD.id;
                INSERT INTO cameras_rtree SELECT NEW.id, NEW.registered_lat,
                    NEW.registered_lat, NEW.registered_lon, NEW.registered_lon
                    WHERE NEW.registered_lat IS NOT NULL AND NEW.registered_lon IS NOT NULL;
            END;
        """
    )


@migrations()
def m0120_position_index_instead_of_rtree(db: Database) -> None:
    # Nearest-first only ever asks "which cameras lie in this box", and a province's
    # cameras are points. Measured with 100,000 cameras: filling the R*Tree cost ~0.7 s of
    # every first import (10x a B-tree on (lat, lon)), while a worklist page through the
    # B-tree took 2.8 ms against 2.2 ms (the bar is 30 ms). The box query stays the same.
    db.executescript(
        """
        DROP TRIGGER IF EXISTS cameras_rtree_insert;
        DROP TRIGGER IF EXISTS cameras_rtree_update;
        DROP TRIGGER IF EXISTS cameras_rtree_delete;
        DROP TABLE IF EXISTS cameras_rtree;
        CREATE INDEX cameras_position ON cameras (registered_lat, registered_lon);
        """
    )


@migrations()
def m0130_import_headers(db: Database) -> None:
    # From now on a camera's `raw` is a JSON array of its row's cells and the names of those
    # cells are the import's headers, stored once here: repeating the Thai header names in
    # every camera's raw was about half the bytes an import wrote.
    db.executescript(
        """
        ALTER TABLE imports ADD COLUMN headers TEXT NOT NULL DEFAULT '[]';
        """
    )


@migrations()
def m0140_drop_agency_index(db: Database) -> None:
    # No query filters, groups or sorts cameras by agency in SQL (the quota table counts
    # agencies in Python), so the index only cost every write: 10 % of an import's.
    db.executescript("DROP INDEX IF EXISTS cameras_agency;")


@migrations()
def m0150_import_raw_fields(db: Database) -> None:
    # A camera's `raw` leaves null the cells it stores as they are (its site name, agency,
    # status...); `raw_fields` says, per column of the import, which field holds that cell.
    # Those cells were a third of the bytes an import wrote.
    db.executescript(
        """
        ALTER TABLE imports ADD COLUMN raw_fields TEXT NOT NULL DEFAULT '[]';
        """
    )


@migrations()
def m0160_import_notes(db: Database) -> None:
    # Lines about the whole file rather than one row: which province was inferred and
    # from what, or why none was ([{message, params, reason}]).
    db.executescript(
        """
        ALTER TABLE imports ADD COLUMN notes TEXT NOT NULL DEFAULT '[]';
        """
    )


@migrations()
def m0190_sessions_and_backoff(db: Database) -> None:
    db.executescript(accounts_ddl.ADD_SESSIONS_AND_BACKOFF)


@migrations()
def m0170_position_error_source(db: Database) -> None:
    # Whether a survey's eph was measured by the receiver (gst / receiver) or only estimated
    # by gpsd from HDOP (estimated), and the fix status (gps, dgps, rtk_float, rtk_fixed):
    # a reviewer weighs "±17 m estimated" and "±2 m measured" differently. Positions stored
    # before this have neither (null: unknown).
    db.executescript(
        """
        ALTER TABLE surveys ADD COLUMN eph_source TEXT;
        ALTER TABLE surveys ADD COLUMN fix_status TEXT;
        """
    )


@migrations()
def m0410_stream_check_rates(db: Database) -> None:
    # What linking a camera to the central system needs beside codec/size/fps: its
    # bitrate and keyframe interval (from the stream's packets), and the picture's
    # brightness spread that tells a dark night scene from a black one.
    db.executescript(
        """
        ALTER TABLE stream_checks ADD COLUMN bitrate_kbps INTEGER;
        ALTER TABLE stream_checks ADD COLUMN keyframe_interval_s REAL;
        ALTER TABLE stream_checks ADD COLUMN contrast REAL;
        """
    )


@migrations()
def m0420_import_undo(db: Database) -> None:
    # What an import changed, so that it can be undone from its report: the row each changed
    # camera had before it (JSON of every column), and NULL for a camera it added. Cameras it
    # marked removed are already listed in imports.removed.
    db.executescript(
        """
        CREATE TABLE import_undo (
            import_id INTEGER NOT NULL REFERENCES imports(id),
            camera_id TEXT NOT NULL,
            before TEXT,
            PRIMARY KEY (import_id, camera_id)
        ) WITHOUT ROWID;
        ALTER TABLE imports ADD COLUMN undone_at TEXT;
        ALTER TABLE imports ADD COLUMN undone_by TEXT;
        """
    )


@migrations()
def m0430_review_pushed(db: Database) -> None:
    # A decision made on this node is sent to the registry at the next sync (then stamped
    # here), so the registry shows the same review state and nobody decides twice.
    db.executescript("ALTER TABLE reviews ADD COLUMN pushed_at TEXT;")


@migrations()
def m0440_survey_found_stream(db: Database) -> None:
    # A stream address found on site (maker's paths, later ONVIF) when the registry had
    # none or a wrong one: the masked form travels to the registry as a correction; the
    # address itself stays in the stream check that proved it (stream_checks.url_secret).
    # found_stream_via: how it was found (the brand key, "onvif", "typed").
    db.executescript(
        """
        ALTER TABLE surveys ADD COLUMN found_stream_url TEXT;
        ALTER TABLE surveys ADD COLUMN found_stream_check_id INTEGER;
        ALTER TABLE surveys ADD COLUMN found_stream_via TEXT;
        """
    )


@migrations()
def m0450_stream_check_identity(db: Database) -> None:
    # Who the camera says it is over ONVIF (GetDeviceInformation) and how far its clock is
    # from this node's (camera minus node, seconds), kept with the check that used the
    # stream: the reviewer compares them with the registry's brand and model.
    db.executescript(
        """
        ALTER TABLE stream_checks ADD COLUMN onvif_manufacturer TEXT;
        ALTER TABLE stream_checks ADD COLUMN onvif_model TEXT;
        ALTER TABLE stream_checks ADD COLUMN onvif_firmware TEXT;
        ALTER TABLE stream_checks ADD COLUMN onvif_serial TEXT;
        ALTER TABLE stream_checks ADD COLUMN onvif_hardware_id TEXT;
        ALTER TABLE stream_checks ADD COLUMN onvif_mac TEXT;
        ALTER TABLE stream_checks ADD COLUMN clock_drift_s REAL;
        """
    )


@migrations()
def m0460_wired_temp_addresses(db: Database) -> None:
    # Addresses the node put on its wired port to reach a camera with a fixed address in
    # another subnet (issue 18). A row is written before the address is added and removed
    # after it is gone, so one left by a crash is found and taken off at the next start.
    db.executescript(
        """
        CREATE TABLE wired_temp_addresses (
            id INTEGER PRIMARY KEY,
            interface TEXT NOT NULL,
            address TEXT NOT NULL,
            prefix INTEGER NOT NULL,
            camera_host TEXT,
            added_at TEXT NOT NULL,
            UNIQUE (interface, address)
        );
        """
    )


@migrations()
def m0470_stream_check_view_change(db: Database) -> None:
    # How much the camera's view changed against an earlier snapshot of it (0 the same
    # view, 1 another view; streamcheck/viewchange.py), the snapshot compared with, and
    # the two measures behind the score, so a reviewer can see why "camera moved" is
    # suggested. view_error: why no score (the earlier picture unreadable, no time left).
    db.executescript(
        """
        ALTER TABLE stream_checks ADD COLUMN view_change REAL;
        ALTER TABLE stream_checks ADD COLUMN view_reference_sha256 TEXT;
        ALTER TABLE stream_checks ADD COLUMN view_reference_at TEXT;
        ALTER TABLE stream_checks ADD COLUMN view_features REAL;
        ALTER TABLE stream_checks ADD COLUMN view_structure REAL;
        ALTER TABLE stream_checks ADD COLUMN view_shift REAL;
        ALTER TABLE stream_checks ADD COLUMN view_inliers INTEGER;
        ALTER TABLE stream_checks ADD COLUMN view_error TEXT;
        """
    )
