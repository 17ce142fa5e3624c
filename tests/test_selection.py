import hashlib
import json
import math
from collections import Counter

import pytest

from survey_node import db as database
from survey_node.db import selection as sel_db
from survey_node.errors import BadInput, Conflict, Forbidden, NotFound
from survey_node.selection import EMPTY_PROPERTIES, active_run, geojson_properties
from survey_node.selection import assign, quota, replace, sample
from tests.selection_fixtures import ADMIN, SUPERVISOR, SURVEYOR, seed_demo_cameras, seed_strata


def selected_ids(db, run_id):
    return {r["camera_id"] for r in sel_db.rows_selection(db, run_id, status="selected")}


def test_same_seed_same_set_different_seed_different_set(db):
    seed_demo_cameras(db)
    first = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="2569", user=ADMIN)
    again = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="2569", user=ADMIN,
                               replace=True)
    other = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="2570", user=ADMIN,
                               replace=True)
    assert selected_ids(db, first["id"]) == selected_ids(db, again["id"])
    assert selected_ids(db, first["id"]) != selected_ids(db, other["id"])
    assert len(selected_ids(db, first["id"])) == len(selected_ids(db, other["id"])) == 120


def test_anyone_can_rederive_the_set_from_the_seed(db):
    """The documented recipe: sha256(seed + camera_id), ascending per stratum, first ceil(f N)."""
    cams = seed_demo_cameras(db, 300)
    run = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="ปี 2569", user=ADMIN)
    expected = set()
    for code in {c["amphoe_code"] for c in cams}:
        ids = [c["camera_id"] for c in cams if c["amphoe_code"] == code]
        ids.sort(key=lambda cid: hashlib.sha256(("ปี 2569" + cid).encode()).hexdigest())
        expected |= set(ids[:math.ceil(len(ids) / 5)])
    assert selected_ids(db, run["id"]) == expected
    assert sample.verify_run(db, run) == []


def test_every_stratum_gets_at_least_its_ceiling(db):
    seed_demo_cameras(db, 600)
    run = sample.draw_sample(db, fraction="0.2", by="amphoe,agency", seed="s", user=ADMIN)
    items = sel_db.rows_selection(db, run["id"])
    size = Counter(i["stratum"] for i in items)
    chosen = Counter(i["stratum"] for i in items if i["status"] == "selected")
    assert len(size) > 30  # many small strata, some of one camera
    for stratum, n in size.items():
        assert chosen[stratum] == math.ceil(n * 0.2), stratum
    assert run["counts"]["strata"] == len(size)


def test_quota_uses_decimal_not_binary_fractions(db):
    seed_strata(db, {"1101": 10, "1102": 3, "1103": 1})
    run = sample.draw_sample(db, fraction="0.7", by="amphoe", seed="x", user=ADMIN)
    chosen = Counter(json.loads(i["stratum"])[0]
                     for i in sel_db.rows_selection(db, run["id"], status="selected"))
    assert chosen == {"1101": 7, "1102": 3, "1103": 1}  # 0.7*10 in floats is 7.000000000000001


def test_only_with_stream_leaves_out_cameras_without_one(db):
    seed_strata(db, {"1101": 10})
    run = sample.draw_sample(db, fraction="1", by="amphoe", seed="x", only_with_stream=True,
                             user=ADMIN)
    assert run["only_with_stream"] == 1
    assert selected_ids(db, run["id"]) == {f"A1101-{i:03d}" for i in (1, 3, 5, 7, 9)}


@pytest.mark.parametrize("kwargs, message", [
    ({"fraction": "0", "by": "amphoe", "seed": "s"}, "above 0"),
    ({"fraction": "1.5", "by": "amphoe", "seed": "s"}, "at most 1"),
    ({"fraction": "abc", "by": "amphoe", "seed": "s"}, "not a number"),
    ({"fraction": "0.2", "by": "amphoe,colour", "seed": "s"}, "colour"),
    ({"fraction": "0.2", "by": "amphoe", "seed": "  "}, "seed"),
])
def test_bad_sample_arguments_say_what(db, kwargs, message):
    seed_strata(db, {"1101": 3})
    with pytest.raises(BadInput, match=message):
        sample.draw_sample(db, user=ADMIN, **kwargs)
    assert active_run(db) is None


def test_sampling_is_recorded_and_audited(db):
    seed_strata(db, {"1101": 5})
    run = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="S1", user=ADMIN)
    assert run["created_by"] == "admin" and run["seed"] == "S1" and run["strata"] == ["amphoe"]
    entry = database.rows_audit(db, entity="selection_run")[0]
    assert entry["action"] == "selection.sample" and entry["actor"] == "admin"
    assert json.loads(entry["detail"])["seed"] == "S1"


def test_a_surveyor_cannot_draw_a_sample(db):
    seed_strata(db, {"1101": 5})
    with pytest.raises(Forbidden):
        sample.draw_sample(db, fraction="0.2", by="amphoe", seed="s", user=SURVEYOR)
    assert active_run(db) is None


# -- replacements -------------------------------------------------------------------------


@pytest.fixture
def drawn(db, users):
    seed_demo_cameras(db, 300)
    run = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="2569", user=ADMIN)
    assign.assign_amphoe(db, "1101", "surveyor", user=SUPERVISOR)
    return run


def test_a_replacement_comes_from_the_same_stratum_in_rank_order(db, drawn):
    mine = sel_db.rows_assignments(db, user_name="surveyor")
    old = sel_db.get_selection(db, drawn["id"], mine[0]["camera_id"])
    expected = sel_db.next_candidate(db, drawn["id"], old["stratum"])
    rid = replace.request_replacement(db, camera_id=old["camera_id"], reason="not_found",
                                      user=SURVEYOR)
    req = replace.decide_replacement(db, rid, confirm=True, user=SUPERVISOR)
    new = sel_db.get_selection(db, drawn["id"], req["replacement_camera_id"])
    assert new["camera_id"] == expected["camera_id"]
    assert new["stratum"] == old["stratum"]
    stratum_selected = [s for s in sel_db.rows_selection(db, drawn["id"], status="selected")
                        if s["stratum"] == old["stratum"]]
    assert new["rank"] == max(s["rank"] for s in stratum_selected)  # the next one, no skipping
    # both stay visible, with the reason
    old_after = sel_db.get_selection(db, drawn["id"], old["camera_id"])
    assert (old_after["status"], old_after["replaced_by"]) == ("replaced", new["camera_id"])
    assert new["replaces"] == old["camera_id"]
    assert req["reason"] == "not_found" and req["decided_by"] == "supervisor"
    # the set keeps its size; the surveyor gets the new camera
    assert len(selected_ids(db, drawn["id"])) == drawn["counts"]["selected"]
    assert sel_db.get_assignment(db, new["camera_id"])["user_name"] == "surveyor"
    assert sel_db.get_assignment(db, old["camera_id"]) is None
    props = geojson_properties(db)
    assert props[old["camera_id"]] == {"selected": False, "selection_rank": old["rank"],
                                      "replaced_by": new["camera_id"]}
    assert props[new["camera_id"]]["selected"] is True
    actions = [a["action"] for a in database.rows_audit(db, entity="camera")]
    assert actions[:2] == ["selection.replace_confirm", "selection.replace_request"]


def test_a_surveyor_cannot_confirm_a_replacement(db, drawn):
    cid = sel_db.rows_assignments(db, user_name="surveyor")[0]["camera_id"]
    rid = replace.request_replacement(db, camera_id=cid, reason="no_access", user=SURVEYOR)
    with pytest.raises(Forbidden):
        replace.decide_replacement(db, rid, confirm=True, user=SURVEYOR)
    assert sel_db.get_replacement(db, rid)["state"] == "requested"


def test_a_surveyor_asks_only_for_their_own_cameras(db, drawn):
    others = [s["camera_id"] for s in sel_db.rows_selection(db, drawn["id"], status="selected")
              if s["amphoe_code"] != "1101"]
    with pytest.raises(Forbidden):
        replace.request_replacement(db, camera_id=others[0], reason="removed", user=SURVEYOR)


def test_replacement_requests_are_checked(db, drawn):
    cid = sel_db.rows_assignments(db, user_name="surveyor")[0]["camera_id"]
    with pytest.raises(BadInput):
        replace.request_replacement(db, camera_id=cid, reason="bored", user=SURVEYOR)
    with pytest.raises(BadInput, match="note"):
        replace.request_replacement(db, camera_id=cid, reason="other", user=SURVEYOR)
    with pytest.raises(NotFound):
        replace.request_replacement(db, camera_id="DEMO-NOPE", reason="removed", user=SUPERVISOR)
    rid = replace.request_replacement(db, camera_id=cid, reason="removed", user=SURVEYOR)
    with pytest.raises(Conflict):
        replace.request_replacement(db, camera_id=cid, reason="removed", user=SURVEYOR)
    rejected = replace.decide_replacement(db, rid, confirm=False, user=SUPERVISOR, note="try again")
    assert rejected["state"] == "rejected"
    assert sel_db.get_selection(db, drawn["id"], cid)["status"] == "selected"
    with pytest.raises(Conflict):
        replace.decide_replacement(db, rid, confirm=True, user=SUPERVISOR)


def test_an_exhausted_stratum_says_so_and_changes_nothing(db, users):
    seed_strata(db, {"1101": 2})
    run = sample.draw_sample(db, fraction="1", by="amphoe", seed="s", user=ADMIN)
    rid = replace.request_replacement(db, camera_id="A1101-001", reason="removed", user=ADMIN)
    with pytest.raises(Conflict, match="No camera left"):
        replace.decide_replacement(db, rid, confirm=True, user=SUPERVISOR)
    assert sel_db.get_replacement(db, rid)["state"] == "requested"
    assert selected_ids(db, run["id"]) == {"A1101-001", "A1101-002"}


# -- quota and assignments -----------------------------------------------------------------


def test_quota_counts_and_shortfalls(db):
    seed_strata(db, {"1101": 10, "1102": 5})
    sample.draw_sample(db, fraction="0.2", by="amphoe", seed="s", only_with_stream=True,
                       user=ADMIN)
    result = quota.compute_quota(db, level="amphoe")
    by_code = {r["code"]: r for r in result["rows"]}
    # 1101: 5 with a stream -> 1 selected, target ceil(0.2*10)=2: short by 1
    assert (by_code["1101"]["registered"], by_code["1101"]["target"],
            by_code["1101"]["selected"], by_code["1101"]["shortfall"]) == (10, 2, 1, 1)
    assert (by_code["1102"]["target"], by_code["1102"]["selected"],
            by_code["1102"]["shortfall"]) == (1, 1, 0)
    assert by_code["1101"]["surveyed"] == by_code["1101"]["approved"] == 0
    assert result["totals"]["registered"] == 15


def test_assignments_by_amphoe_and_by_hand(db, drawn):
    mine = {a["camera_id"] for a in sel_db.rows_assignments(db, user_name="surveyor")}
    assert mine == set(sel_db.selected_ids_in_amphoe(db, drawn["id"], "1101"))
    assign.assign_cameras(db, ["DEMO-11-00002"], "supervisor",
                          user=SUPERVISOR)
    assert sel_db.get_assignment(db, "DEMO-11-00002")["how"] == "hand"
    with pytest.raises(NotFound):
        assign.assign_cameras(db, ["NOPE"], "surveyor", user=SUPERVISOR)
    with pytest.raises(NotFound):
        assign.assign_amphoe(db, "1101", "nobody", user=SUPERVISOR)
    with pytest.raises(Forbidden):
        assign.assign_amphoe(db, "1102", "surveyor", user=SURVEYOR)
    actions = {a["action"] for a in database.rows_audit(db)}
    assert {"assignment.amphoe", "assignment.hand"} <= actions


def test_a_new_set_drops_assignments_outside_it(db, drawn):
    before = len(sel_db.rows_assignments(db, user_name="surveyor"))
    with pytest.raises(Conflict, match="already in force"):
        sample.draw_sample(db, fraction="0.2", by="amphoe", seed="another", user=ADMIN)
    assert len(sel_db.rows_assignments(db, user_name="surveyor")) == before
    run = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="another", user=ADMIN,
                             replace=True)
    after = {a["camera_id"] for a in sel_db.rows_assignments(db, user_name="surveyor")}
    assert after <= selected_ids(db, run["id"]) and len(after) < before
    detail = json.loads(database.rows_audit(db, entity="selection_run")[0]["detail"])
    assert detail["assignments_dropped"] == before - len(after)


def test_verify_notices_a_set_that_was_changed_behind_its_seed(db):
    seed_strata(db, {"1101": 10})
    run = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="s", user=ADMIN)
    chosen = sorted(selected_ids(db, run["id"]))
    outsider = next(i["camera_id"] for i in sel_db.rows_selection(db, run["id"], status="candidate"))
    db.execute("UPDATE selection SET status = 'candidate' WHERE camera_id = ?", [chosen[0]])
    db.execute("UPDATE selection SET status = 'selected' WHERE camera_id = ?", [outsider])
    problems = sample.verify_run(db, run)
    assert len(problems) == 2 and any(chosen[0] in p for p in problems)


def test_geojson_properties_for_the_export(db):
    seed_strata(db, {"1101": 5})
    assert geojson_properties(db) == {}
    run = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="g", user=ADMIN)
    props = geojson_properties(db)
    chosen = [cid for cid, p in props.items() if p["selected"]]
    assert len(chosen) == 1 and props[chosen[0]] == {"selected": True, "selection_rank": 1,
                                                     "replaced_by": None}
    others = [p for cid, p in props.items() if not p["selected"]]
    assert len(others) == 4 and all(p == EMPTY_PROPERTIES for p in others)
    assert run["counts"]["selected"] == 1
