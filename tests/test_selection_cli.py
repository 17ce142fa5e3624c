import json

import click
import pytest

from survey_node import db as database
from survey_node.cli import main as cli_main
from tests.selection_fixtures import seed_demo_cameras


@pytest.fixture
def node(data_dir, db, users):
    seed_demo_cameras(db, 300)
    return data_dir


def run_json(cli, *args):
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def selected(db):
    return {r[0] for r in db.execute(
        "SELECT camera_id FROM selection WHERE status = 'selected' AND run_id ="
        " (SELECT max(id) FROM selection_runs)")}


def test_select_fraction_same_seed_same_set(cli, node, db):
    args = ("select", "--data-dir", node, "--fraction", "0.2", "--by", "amphoe", "--seed", "2569")
    first = run_json(cli, *args)["run"]
    set1 = selected(db)
    assert first["method"] == "sample" and first["seed"] == "2569" and first["counts"]["selected"] == 60
    assert "sha256(seed || camera_id)" in first["method_text"]
    refused = cli(*args)
    assert refused.exit_code == 2 and "already in force" in refused.output
    run_json(cli, *args, "--replace")
    assert selected(db) == set1
    run_json(cli, *args[:-1], "other-seed", "--replace")
    assert selected(db) != set1
    shown = cli("select", "--data-dir", node, "--show")
    assert "seed 'other-seed'" in shown.output and "by cli" in shown.output
    verify = cli("select", "--data-dir", node, "--verify")
    assert verify.exit_code == 0 and "identical" in verify.output


def test_select_dry_run_records_nothing(cli, node, db):
    out = run_json(cli, "select", "--data-dir", node, "--fraction", "0.2", "--seed", "x", "--dry-run")
    assert out["dry_run"] and out["run"]["counts"]["selected"] == 60
    assert db.execute("SELECT count(*) FROM selection_runs").fetchone()[0] == 0


@pytest.mark.parametrize("args, message", [
    (("--fraction", "0.2"), "seed"),
    (("--fraction", "2", "--seed", "s"), "at most 1"),
    (("--fraction", "0.2", "--by", "colour", "--seed", "s"), "colour"),
    (("--seed", "s"), "exactly one of"),
    (("--from-list", "missing.xlsx"), "not found"),
    (("--fraction", "0.2", "--seed", "s", "--as", "surveyor"), "admin role"),
    (("--fraction", "0.2", "--seed", "s", "--as", "ghost"), "No active user ghost"),
])
def test_select_bad_input_exits_2_with_one_line(cli, node, args, message):
    result = cli("select", "--data-dir", node, *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_select_from_list_reports_unknown_ids_with_rows(cli, node, tmp_path):
    path = tmp_path / "committee.csv"
    path.write_text("camera_id\nDEMO-11-00001\nDEMO-11-99999\nDEMO-11-00002\n", encoding="utf-8")
    result = cli("select", "--data-dir", node, "--from-list", path)
    assert result.exit_code == 0, result.output
    assert "list row 3: unknown camera id DEMO-11-99999" in result.output
    out = run_json(cli, "select", "--data-dir", node, "--show")
    assert out["run"]["method"] == "list" and out["run"]["counts"]["selected"] == 2


def test_quota_json_and_table(cli, node):
    cli("select", "--data-dir", node, "--fraction", "0.2", "--seed", "q")
    out = run_json(cli, "quota", "--data-dir", node)
    assert out["level"] == "amphoe" and len(out["rows"]) == 6
    assert all(r["selected"] >= r["target"] and r["shortfall"] == 0 for r in out["rows"])
    assert out["totals"]["registered"] == 300 and out["totals"]["surveyed"] == 0
    table = cli("quota", "--data-dir", node, "--level", "agency")
    assert table.exit_code == 0 and "registered" in table.output and "total" in table.output


def test_assign_and_replace_from_the_cli(cli, node, db):
    cli("select", "--data-dir", node, "--fraction", "0.2", "--seed", "r")
    result = cli("assign", "amphoe", "--data-dir", node, "1101", "--to", "surveyor")
    assert result.exit_code == 0 and "assigned 10 cameras" in result.output
    mine = run_json(cli, "assign", "list", "--data-dir", node, "--user", "surveyor")
    cid = mine[0]["camera_id"]
    req = run_json(cli, "replace", "request", "--data-dir", node, cid, "--reason", "not_found",
                   "--as", "surveyor")
    refused = cli("replace", "decide", "--data-dir", node, str(req["request"]), "--confirm",
                  "--as", "surveyor")
    assert refused.exit_code == 2 and "supervisor role" in refused.output
    done = run_json(cli, "replace", "decide", "--data-dir", node, str(req["request"]), "--confirm",
                    "--as", "supervisor")
    new = done["request"]["replacement_camera_id"]
    assert new and new != cid
    mine = {a["camera_id"] for a in run_json(cli, "assign", "list", "--data-dir", node,
                                              "--user", "surveyor")}
    assert new in mine and cid not in mine
    listed = cli("replace", "list", "--data-dir", node)
    assert f"{cid}" in listed.output and new in listed.output and "confirmed" in listed.output
    audit = [a["action"] for a in database.rows_audit(db)]
    assert {"selection.sample", "assignment.amphoe", "selection.replace_request",
            "selection.replace_confirm"} <= set(audit)


def test_every_selection_command_and_option_has_help():
    for name in ("select", "quota", "assign", "replace"):
        command = cli_main.commands[name]
        commands = [command] + list(getattr(command, "commands", {}).values())
        for cmd in commands:
            assert (cmd.help or "").strip(), cmd.name
            for param in cmd.params:
                if isinstance(param, click.Option):
                    assert (param.help or "").strip(), f"{cmd.name} {param.name}"


def test_demo_is_ready_to_survey(cli, tmp_path, monkeypatch):
    from survey_node.cli.demo import prepare_demo

    monkeypatch.delenv("SURVEY_NODE_DATA", raising=False)
    cfg = prepare_demo(tmp_path / "demo")
    db = database.connect(cfg.db_path)
    try:
        run = db.execute("SELECT seed, fraction, counts FROM selection_runs").fetchall()
        assert len(run) == 1 and run[0][0] == "DEMO-2569" and json.loads(run[0][2])["selected"] == 240
        per_user = dict(db.execute("SELECT user_name, count(*) FROM assignments GROUP BY user_name"))
        assert per_user == {"surveyor": 120, "surveyor2": 120}
    finally:
        db.close()
    prepare_demo(tmp_path / "demo")  # a second start keeps the set
    out = run_json(cli, "select", "--data-dir", tmp_path / "demo", "--show")
    assert out["run"]["id"] == 1


def test_a_committee_csv_with_a_cell_over_the_field_limit_is_one_line(cli, node, tmp_path):
    path = tmp_path / "committee.csv"
    path.write_text('camera_id\nDEMO-11-00001\n"' + "x" * (2 << 20) + "\n", encoding="utf-8")
    result = cli("select", "--data-dir", node, "--from-list", path, "--dry-run")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "committee.csv line" in result.output and "field limit" in result.output
    assert len(result.output.strip().splitlines()) == 1
