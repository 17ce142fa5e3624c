"""Schema of the central registry's own database (not the node's).

The registry is the same package in another role with its own SQLite file
(``<registry data dir>/registry.db``) and its own migration set, so a node database and
a registry database never share tables. SQL for these tables lives in the modules next
to this one; a national registry has the same schema on PostgreSQL (pg_schema.py: mirror
every change there). Never edit a landed migration: append.
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from ...db import accounts_ddl
from ...db import connect
from .dashboard import REBUILD_SQL

migrations = Migrations("registry")


def connect_registry(path: str | Path) -> Database:
    """Open the registry database (WAL, synchronous=FULL) and apply its migrations."""

    db = connect(path, migrate=False)
    migrations.apply(db)
    return db


@migrations()
def r0001_registry(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE nodes (
            node_id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL
        );
        -- A bearer token is '<token_id>.<secret>'; only SHA-256(secret) is kept. The secret
        -- is 256 random bits, so a fast hash is enough (nothing to brute-force).
        CREATE TABLE node_tokens (
            token_id TEXT PRIMARY KEY,
            node_id TEXT NOT NULL REFERENCES nodes(node_id),
            secret_sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE batches (
            batch_id TEXT PRIMARY KEY,
            node_id TEXT NOT NULL REFERENCES nodes(node_id),
            manifest_sha256 TEXT NOT NULL,
            manifest TEXT NOT NULL,
            surveys INTEGER NOT NULL,
            evidence INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('open', 'committed')),
            source TEXT NOT NULL DEFAULT 'http',   -- http / file (USB)
            receipt TEXT,
            created_at TEXT NOT NULL,
            committed_at TEXT
        );
        CREATE INDEX batches_node ON batches (node_id, created_at);
        CREATE TABLE batch_evidence (
            batch_id TEXT NOT NULL REFERENCES batches(batch_id),
            sha256 TEXT NOT NULL,
            PRIMARY KEY (batch_id, sha256)
        );
        CREATE INDEX batch_evidence_sha ON batch_evidence (sha256);
        CREATE TABLE evidence (
            sha256 TEXT PRIMARY KEY,
            bytes INTEGER NOT NULL,
            node_id TEXT NOT NULL,                 -- the node that uploaded it first
            created_at TEXT NOT NULL
        );
        -- The latest revision of each survey, and every revision ever received.
        CREATE TABLE surveys (
            id TEXT PRIMARY KEY,
            node_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            content_sha256 TEXT NOT NULL,
            camera_id TEXT,
            record TEXT NOT NULL,                  -- the manifest entry as JSON
            batch_id TEXT NOT NULL,
            received_at TEXT NOT NULL
        );
        CREATE INDEX surveys_node ON surveys (node_id);
        CREATE INDEX surveys_camera ON surveys (camera_id);
        CREATE TABLE survey_revisions (
            id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            content_sha256 TEXT NOT NULL,
            record TEXT NOT NULL,
            batch_id TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (id, revision)
        );
        CREATE TABLE survey_evidence (
            survey_id TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (survey_id, sha256)
        );
        -- Review decisions; `seq` is the cursor nodes pull with (?since=).
        CREATE TABLE decisions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            survey_id TEXT NOT NULL,
            node_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('approved', 'rejected', 'resurvey')),
            reason TEXT NOT NULL DEFAULT '',
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL
        );
        CREATE INDEX decisions_node ON decisions (node_id, seq);
        -- The province camera registries as pushed or imported; `seq` grows on each change.
        CREATE TABLE cameras (
            camera_id TEXT PRIMARY KEY,
            province_code TEXT NOT NULL DEFAULT '',
            record TEXT NOT NULL,
            seq INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX cameras_province ON cameras (province_code, seq);
        -- The registry's sync history: every batch, commit and refusal, per node.
        CREATE TABLE sync_events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            node_id TEXT,
            batch_id TEXT,
            action TEXT NOT NULL,                  -- batch / commit / refused / import
            surveys INTEGER NOT NULL DEFAULT 0,
            evidence INTEGER NOT NULL DEFAULT 0,
            error TEXT
        );
        CREATE INDEX sync_events_node ON sync_events (node_id, id);
        -- Same shape as the node's, so db.audit() works here too; append-only.
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT,
            action TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT,
            detail TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """
    )


@migrations()
def r0700_review(db: Database) -> None:
    # Supervisors who review on the registry: the node's accounts tables (accounts_ddl.py).
    db.executescript(accounts_ddl.CREATE_USERS)
    db.executescript(
        """
        -- What the reviewer found (camera_moved, stream_dead, ...); pulled by nodes with the
        -- decision.
        ALTER TABLE decisions ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
        """
    )


@migrations()
def r0710_sessions_and_backoff(db: Database) -> None:
    db.executescript(accounts_ddl.ADD_SESSIONS_AND_BACKOFF)


@migrations()
def r0720_evidence_holders(db: Database) -> None:
    # Which nodes have proven they hold each evidence object (by uploading its bytes). A
    # batch may cite only hashes its own node proved; the first uploader of what is already
    # stored counts as its holder.
    db.executescript(
        """
        CREATE TABLE evidence_holders (
            sha256 TEXT NOT NULL,
            node_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (sha256, node_id)
        ) WITHOUT ROWID;
        INSERT OR IGNORE INTO evidence_holders (sha256, node_id, created_at)
            SELECT sha256, node_id, created_at FROM evidence;
        """
    )


@migrations()
def r0730_node_province(db: Database) -> None:
    # The province a node surveys, named when its token is made: its token reads only that
    # province's cameras. Null for nodes registered before: they are refused the camera pull
    # (one line saying how to name it) rather than reading every province.
    db.executescript("ALTER TABLE nodes ADD COLUMN province_code TEXT;")


@migrations()
def r0740_decision_origin(db: Database) -> None:
    # A decision a supervisor made on a node arrives with the node's next sync: it is kept
    # with the node it came from, shown as decided there, and not sent back to that node.
    db.executescript("ALTER TABLE decisions ADD COLUMN origin_node TEXT;")


@migrations()
def r0750_review_indexes(db: Database) -> None:
    # The indexes the review queue (the decision in force per survey, oldest first), a
    # survey's history and the pulls need at national size; the same as pg_schema.p0001.
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS decisions_survey ON decisions (survey_id, seq);
        CREATE INDEX IF NOT EXISTS surveys_received ON surveys (received_at, id);
        CREATE INDEX IF NOT EXISTS node_tokens_node ON node_tokens (node_id);
        CREATE INDEX IF NOT EXISTS cameras_seq ON cameras (seq);
        CREATE INDEX IF NOT EXISTS audit_log_entity ON audit_log (entity, entity_id, id);
        """
    )


@migrations()
def r0760_review_columns(db: Database) -> None:
    # At national size (a million surveys) the queue, its filter choices and the dashboard
    # cannot parse every record's JSON per page: the fields they filter and count by become
    # columns with indexes. Those read from the record are generated (always what the record
    # says; VIRTUAL, as SQLite adds no other kind to a table, but indexed); the review state
    # in force (the newest decision, if it is about the revision held, else 'pending') is
    # kept by the writes that change it (surveys.insert_survey_revisions, insert_decision).
    # The same as pg_schema.p0002.
    db.executescript(
        """
        ALTER TABLE surveys ADD COLUMN surveyor TEXT
            GENERATED ALWAYS AS (json_extract(record, '$.fields.surveyor')) VIRTUAL;
        ALTER TABLE surveys ADD COLUMN stream_verdict TEXT
            GENERATED ALWAYS AS (json_extract(record, '$.fields.stream_verdict')) VIRTUAL;
        ALTER TABLE surveys ADD COLUMN completed_at TEXT
            GENERATED ALWAYS AS (json_extract(record, '$.fields.completed_at')) VIRTUAL;
        ALTER TABLE surveys ADD COLUMN review_state TEXT NOT NULL DEFAULT 'pending';
        ALTER TABLE cameras ADD COLUMN amphoe_code TEXT
            GENERATED ALWAYS AS (json_extract(record, '$.amphoe_code')) VIRTUAL;
        ALTER TABLE cameras ADD COLUMN amphoe_name TEXT
            GENERATED ALWAYS AS (json_extract(record, '$.amphoe_name')) VIRTUAL;
        ALTER TABLE cameras ADD COLUMN agency TEXT
            GENERATED ALWAYS AS (json_extract(record, '$.agency')) VIRTUAL;
        """
    )
    db.executescript(_REVIEW_STATE_AND_INDEXES)


# After the review columns are added (r0760 here, pg_schema.p0002): the state in force of
# the surveys already held, and the indexes; the same statements on both engines.
_REVIEW_STATE_AND_INDEXES = """
    UPDATE surveys SET review_state = coalesce((SELECT CASE WHEN d.revision =
        surveys.revision THEN d.state END FROM decisions d WHERE d.survey_id = surveys.id
        ORDER BY d.seq DESC LIMIT 1), 'pending');
    CREATE INDEX surveys_review ON surveys (review_state, received_at, id);
    -- PostgreSQL counts a state's tab from this narrow index (index-only, in parallel):
    -- without it the queue's p95 at 1M surveys went from 50 to 204 ms.
    CREATE INDEX surveys_node_review ON surveys (node_id, review_state, stream_verdict);
    CREATE INDEX surveys_surveyor ON surveys (surveyor);
    CREATE INDEX surveys_verdict ON surveys (stream_verdict);
    CREATE INDEX cameras_amphoe ON cameras (amphoe_code, amphoe_name);
    CREATE INDEX cameras_agency ON cameras (agency);
"""


# The dashboard's counts, kept by triggers as the rows change (so a million surveys are
# never counted per page view, whichever code path writes them: a commit, a decision, a
# camera import, `registry migrate`). A change appends signed deltas (+1 to the new key,
# -1 to the old one) and never updates a counter row: two processes' commits would queue
# on a shared row, and deadlock on two taken in different orders. The page sums the rows
# and folds them into one per key now and then (dashboard.fold_counts). '' stands for
# "none" in the keys. The same statements as pg_schema.p0003.
_COUNT_SURVEY = """
    INSERT INTO node_counts (node_id, review_state, stream_verdict, n)
        VALUES ({r}.node_id, {r}.review_state, coalesce({r}.stream_verdict, ''), {delta});
    INSERT INTO amphoe_counts (amphoe_code, amphoe_name, review_state, n)
        SELECT coalesce((SELECT amphoe_code FROM cameras WHERE camera_id = {r}.camera_id), ''),
               coalesce((SELECT amphoe_name FROM cameras WHERE camera_id = {r}.camera_id), ''),
               {r}.review_state, {delta};
    INSERT INTO completion_counts (hour, tail, n)
        SELECT substr({r}.completed_at, 1, 13), substr({r}.completed_at, 20), {delta}
        WHERE {r}.completed_at IS NOT NULL;
"""
_MOVE_CAMERA = """
    INSERT INTO amphoe_counts (amphoe_code, amphoe_name, review_state, n)
        SELECT {code}, {name}, review_state, {sign}count(*) FROM surveys
        WHERE camera_id = {r}.camera_id GROUP BY review_state;
"""
_OLD_PLACE = ("coalesce(OLD.amphoe_code, '')", "coalesce(OLD.amphoe_name, '')")
_NEW_PLACE = ("coalesce(NEW.amphoe_code, '')", "coalesce(NEW.amphoe_name, '')")
_NO_PLACE = ("''", "''")


def _move(r: str, place: tuple[str, str], sign: str) -> str:
    return _MOVE_CAMERA.format(r=r, code=place[0], name=place[1], sign=sign)


@migrations()
def r0770_dashboard_counts(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE node_counts (
            id INTEGER PRIMARY KEY,
            node_id TEXT NOT NULL,
            review_state TEXT NOT NULL,
            stream_verdict TEXT NOT NULL,
            n INTEGER NOT NULL
        );
        CREATE TABLE amphoe_counts (
            id INTEGER PRIMARY KEY,
            amphoe_code TEXT NOT NULL,
            amphoe_name TEXT NOT NULL,
            review_state TEXT NOT NULL,
            n INTEGER NOT NULL
        );
        CREATE TABLE completion_counts (
            id INTEGER PRIMARY KEY,
            hour TEXT NOT NULL,
            tail TEXT NOT NULL,
            n INTEGER NOT NULL
        );
        CREATE INDEX completion_counts_hour ON completion_counts (hour);
        """
    )
    db.executescript(
        f"""
        CREATE TRIGGER surveys_count_insert AFTER INSERT ON surveys BEGIN
            {_COUNT_SURVEY.format(r="NEW", delta="1")}
        END;
        CREATE TRIGGER surveys_count_update AFTER UPDATE ON surveys BEGIN
            {_COUNT_SURVEY.format(r="OLD", delta="-1")}
            {_COUNT_SURVEY.format(r="NEW", delta="1")}
        END;
        CREATE TRIGGER surveys_count_delete AFTER DELETE ON surveys BEGIN
            {_COUNT_SURVEY.format(r="OLD", delta="-1")}
        END;
        CREATE TRIGGER cameras_count_insert AFTER INSERT ON cameras BEGIN
            {_move("NEW", _NO_PLACE, "-")}
            {_move("NEW", _NEW_PLACE, "")}
        END;
        CREATE TRIGGER cameras_count_update AFTER UPDATE ON cameras
            WHEN coalesce(OLD.amphoe_code, '') != coalesce(NEW.amphoe_code, '')
              OR coalesce(OLD.amphoe_name, '') != coalesce(NEW.amphoe_name, '') BEGIN
            {_move("OLD", _OLD_PLACE, "-")}
            {_move("NEW", _NEW_PLACE, "")}
        END;
        CREATE TRIGGER cameras_count_delete AFTER DELETE ON cameras BEGIN
            {_move("OLD", _OLD_PLACE, "-")}
            {_move("OLD", _NO_PLACE, "")}
        END;
        """
    )
    for sql in REBUILD_SQL:
        db.execute(sql)
