"""The review state in force is a column of the registry's surveys (r0760 / p0002): kept by
the writes that change it, on both stores, and set from the decisions by the migration."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest

from survey_node import config as config_mod
from survey_node.db import transaction
from survey_node.registry import dashboard
from survey_node.registry.db import review as rr_db
from survey_node.registry.db import surveys as survey_db
from survey_node.registry.service import Registry
from survey_node.registry.store import EmbeddedStore, FileObjectStore, PostgresStore
from survey_node.sync import protocol


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request, tmp_path):
    if request.param == "sqlite":
        store = EmbeddedStore(tmp_path)
    else:
        cluster = request.getfixturevalue("pg_cluster")  # conftest's, one per test process
        store = PostgresStore(cluster.url(cluster.new_database()), password=None, pool_size=2,
                              objects=FileObjectStore(tmp_path / "evidence"))
    found = Registry(config_mod.load(tmp_path), store=store)
    yield found
    store.close()


def _entry(survey_id: str, revision: int, note: str) -> dict:
    fields = dict.fromkeys(protocol.SURVEY_FIELDS)
    fields.update(camera_id="cam-1", surveyor="somchai", stream_verdict="timeout", notes=note,
                  completed_at="2026-12-01T03:00:00+00:00")
    entry = {"id": survey_id, "revision": revision, "fields": fields, "evidence": [],
             "stream_check": None}
    entry["content_sha256"] = protocol.content_hash(entry)
    return entry


def _send(registry: Registry, entry: dict) -> None:
    manifest = protocol.new_manifest("node-a", str(uuid.uuid4()), "2026-12-01", [entry])
    registry.receive_batch("node-a", manifest)
    registry.commit_batch("node-a", manifest["batch_id"])


def _state(registry: Registry, survey_id: str) -> str:
    with registry.db() as db:
        return survey_db.get_registry_survey(db, survey_id)["review_state"]


def test_the_state_follows_decisions_and_revisions(registry):
    registry.add_token("node-a")
    sid = str(uuid.uuid4())
    _send(registry, _entry(sid, 1, "first"))
    assert _state(registry, sid) == "pending"
    registry.record_decision(sid, state="rejected", reason="ภาพไม่ชัด", decided_by="boss")
    assert _state(registry, sid) == "rejected"
    registry.record_decision(sid, state="approved", reason="", decided_by="boss")
    assert _state(registry, sid) == "approved"  # the newest decision is in force
    _send(registry, _entry(sid, 2, "again"))
    assert _state(registry, sid) == "pending"  # a new revision waits for its own review
    # A decision the node made about the older revision does not decide the new one.
    registry.receive_node_decisions("node-a", {"decisions": [
        {"survey_id": sid, "revision": 1, "state": "approved", "decided_by": "lead"}]})
    assert _state(registry, sid) == "pending"
    with registry.db() as db:
        total, items = rr_db.rows_registry_queue(db, status="pending", surveyor="somchai",
                                                 verdict="failed")
        assert total == 1 and items[0]["id"] == sid and items[0]["stream_verdict"] == "timeout"
        choices = rr_db.rows_registry_choices(db)
    assert choices["surveyors"] == ["somchai"] and choices["verdicts"] == ["timeout"]
    registry.record_decision(sid, state="resurvey", reason="มุมกล้อง", decided_by="boss")
    data = dashboard.compute(registry, today=dt.date(2026, 12, 2))
    assert data["total"] == 1 and data["states"]["resurvey"] == 1
    assert data["failures"] == [("timeout", 1)]
    assert dict(data["per_day"])[dt.date(2026, 12, 1)] == 1


def test_refreshing_sets_every_state_from_the_decisions(registry):
    """What the migration (and a copy of rows from elsewhere) does."""
    registry.add_token("node-a")
    ids = [str(uuid.UUID(hashlib.md5(str(n).encode()).hexdigest())) for n in range(3)]
    for sid in ids:
        _send(registry, _entry(sid, 1, "x"))
    registry.record_decision(ids[0], state="approved", reason="", decided_by="boss")
    with registry.db() as db:
        db.execute("UPDATE surveys SET review_state = 'pending'")
        survey_db.refresh_review_states(db)
    assert [_state(registry, sid) for sid in ids] == ["approved", "pending", "pending"]


def _counts(registry: Registry) -> list[set]:
    """Each count table's keys with their summed counts (zeros left out)."""
    from survey_node.registry.db.dashboard import COUNT_TABLES

    with registry.db() as db:
        return [{tuple(r) for r in db.execute(f"SELECT {keys}, sum(n) FROM {table}"
                                              f" GROUP BY {keys} HAVING sum(n) != 0")}
                for table, keys in COUNT_TABLES.items()]


def test_the_dashboard_counts_kept_by_triggers_equal_a_recount(registry):
    """Commits, new revisions, decisions and camera imports (a camera that arrives after
    its survey, a district renamed, moved) keep the counts what counting again finds."""
    from survey_node.registry.db import dashboard as dash_db

    registry.add_token("node-a")
    ids = [str(uuid.uuid4()) for _ in range(4)]
    for sid in ids:
        _send(registry, _entry(sid, 1, "x"))
    registry.import_cameras([{"camera_id": "cam-1", "amphoe_code": "3001",
                              "amphoe_name": "เมืองนครราชสีมา"}])
    registry.record_decision(ids[0], state="approved", reason="", decided_by="boss")
    registry.record_decision(ids[1], state="rejected", reason="ภาพไม่ชัด", decided_by="boss")
    _send(registry, _entry(ids[1], 2, "again"))
    registry.import_cameras([{"camera_id": "cam-1", "amphoe_code": "3002", "amphoe_name": "ครบุรี"}])
    registry.import_cameras([{"camera_id": "cam-1", "amphoe_code": "3002", "amphoe_name": "ครบุรี",
                              "site_name": "only the name changed"}])
    kept = _counts(registry)
    with registry.db() as db, transaction(db):
        for table in ("node_counts", "amphoe_counts", "completion_counts"):
            dash_db.fold_counts(db, table)
    assert _counts(registry) == kept
    with registry.db() as db:
        assert db.execute("SELECT count(*) FROM amphoe_counts").fetchone()[0] == 2  # folded
    with registry.db() as db, transaction(db):
        dash_db.rebuild_counts(db)
    assert _counts(registry) == kept
    data = dashboard.compute(registry, today=dt.date(2026, 12, 2))
    assert [(a["code"], a["total"], a["approved"]) for a in data["amphoes"]] == [("3002", 4, 1)]
    assert data["states"] == {"pending": 3, "approved": 1}


def test_registry_recount_mends_counts_a_restore_left_behind(registry, tmp_path, cli):
    """A restore (or a hand edit) that leaves the count tables out of step shows a wrong
    dashboard; `registry recount` counts the surveys again and the page is right."""
    registry.add_token("node-a")
    for n in range(3):
        _send(registry, _entry(str(uuid.uuid4()), 1, f"survey {n}"))
    right = _counts(registry)
    with registry.db() as db, transaction(db):
        db.execute("DELETE FROM node_counts")  # the dump restored without its counts
        db.execute("INSERT INTO amphoe_counts (amphoe_code, amphoe_name, review_state, n)"
                   " VALUES ('9999', 'ghost', 'approved', 7)")
    wrong = dashboard.compute(registry, today=dt.date(2026, 12, 2))
    assert wrong["total"] == 0 and any(a["code"] == "9999" for a in wrong["amphoes"])

    env = {}
    if isinstance(registry.store, PostgresStore):
        env["SURVEY_NODE_REGISTRY__DATABASE_URL"] = registry.store.url
    result = cli("registry", "recount", "--data-dir", tmp_path, env=env)
    assert result.exit_code == 0, result.output
    assert "3 surveys" in result.output
    assert _counts(registry) == right
    mended = dashboard.compute(registry, today=dt.date(2026, 12, 2))
    assert mended["total"] == 3 and mended["states"] == {"pending": 3}
    assert not any(a["code"] == "9999" for a in mended["amphoes"])
    with registry.db() as db:
        assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'registry.recount'"
                          ).fetchone()[0] == 1
