"""The CLI through click's CliRunner: help texts, exit codes, one-line errors."""

import json

import click

from survey_node.cli import main


def _walk(command, path=()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _walk(sub, path + (name,))


def test_every_command_and_option_has_help():
    for path, command in _walk(main):
        name = " ".join(path) or "survey-node"
        assert (command.help or command.short_help or "").strip(), f"{name} has no help"
        for param in command.params:
            if isinstance(param, click.Option):
                assert (param.help or "").strip(), f"{name} {param.opts} has no help"


def test_init_is_repeatable(cli, tmp_path):
    first = cli("init", "--data-dir", tmp_path / "n")
    assert first.exit_code == 0 and "created" in first.output
    again = cli("init", "--data-dir", tmp_path / "n")
    assert again.exit_code == 0 and "kept" in again.output


def test_users_add_and_list(cli, data_dir):
    added = cli("users", "add", "somchai", "--role", "surveyor", "--pin-stdin",
                "--data-dir", data_dir, input="4321\n")
    assert added.exit_code == 0, added.output
    listed = cli("users", "list", "--json", "--data-dir", data_dir)
    assert [u["name"] for u in json.loads(listed.output)] == ["somchai"]


def test_bad_input_exits_2_with_one_line(cli, data_dir):
    result = cli("users", "add", "somchai", "--role", "surveyor", "--pin-stdin",
                 "--data-dir", data_dir, input="12\n")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "PIN must be" in result.output
    dup = cli("users", "add", "x", "--role", "chief", "--data-dir", data_dir)
    assert dup.exit_code == 2 and "Traceback" not in dup.output


def test_unknown_command_is_one_line(cli):
    result = cli("fly")
    assert result.exit_code == 2 and result.output.strip().startswith("error:")


def test_commands_refuse_an_uninitialised_dir(cli, tmp_path):
    result = cli("users", "list", "--data-dir", tmp_path / "empty")
    assert result.exit_code == 2 and "survey-node init" in result.output


def test_config_show_reflects_env_override(cli, data_dir):
    result = cli("config", "show", "--json", "--data-dir", data_dir,
                 env={"SURVEY_NODE_WEB__PORT": "2948"})
    assert json.loads(result.output)["web"]["port"] == 2948


def test_config_error_is_one_line(cli, data_dir):
    (data_dir / "config.toml").write_text("[web]\nportt = 1\n")
    result = cli("config", "show", "--data-dir", data_dir)
    assert result.exit_code == 2 and "web.portt" in result.output


def test_demo_prepares_a_province(cli, tmp_path):
    result = cli("demo", "--no-serve", "--data-dir", tmp_path / "demo")
    assert result.exit_code == 0, result.output
    assert "PIN" in result.output
    from survey_node import db as database

    db = database.connect(tmp_path / "demo" / "survey.db")
    amphoes = {r[0] for r in db.execute("SELECT DISTINCT amphoe_code FROM cameras")}
    assert amphoes == {"1101", "1102", "1103", "1104", "1105", "1106"}
    count = db.execute("SELECT count(*) FROM cameras").fetchone()[0]
    assert count == 1200
    outside = db.execute(
        "SELECT count(*) FROM cameras WHERE registered_lat NOT BETWEEN 13.45 AND 13.72"
        " OR registered_lon NOT BETWEEN 100.45 AND 100.97").fetchone()[0]
    assert outside == 0


def test_doctor_reports_each_item(cli, data_dir):
    result = cli("doctor", "--json", "--data-dir", data_dir)
    items = {i["name"]: i for i in json.loads(result.output)}
    assert items["disk"]["status"] in ("ok", "warn", "fail")
    assert items["database"]["status"] == "warn"  # no cameras yet


def _demo_first_lines(data_dir, *, port, env, until=("central registry:", "Syncs to")):
    """What `survey-node demo` prints up to the line saying where it syncs, then stopped."""
    import os
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "survey_node", "demo", "--data-dir",
                             str(data_dir), "--host", "0.0.0.0", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **env})
    lines, deadline = [], time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if any(mark in line for mark in until):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return lines


def test_demo_on_every_interface_prints_addresses_a_tablet_can_open(tmp_path):
    """`make demo` serves on 0.0.0.0: it printed http://0.0.0.0:8080/, which no browser opens."""
    from tests.live import free_port

    port = free_port()
    lines = _demo_first_lines(tmp_path / "demo", port=port, env={
        "SURVEY_NODE_DEMO__STREAMS_PORT": str(free_port()),
        "SURVEY_NODE_DEMO__REGISTRY_PORT": str(free_port())})
    opened = [line for line in lines if line.startswith("Open http://")]
    assert opened and not any("0.0.0.0" in line for line in opened), lines
    assert any(f"http://127.0.0.1:{port}/" in line for line in opened)


def test_a_demo_pointed_at_another_registry_syncs_there_and_starts_none(tmp_path):
    """An office trying the demo against its real registry: the demo neither starts its own
    registry on :8092 nor writes a demo token over the one for the real registry."""
    import socket

    from tests.live import free_port

    root, other = tmp_path / "demo", f"http://127.0.0.1:{free_port()}"
    registry_port = free_port()
    lines = _demo_first_lines(root, port=free_port(), env={
        "SURVEY_NODE_DEMO__STREAMS_PORT": str(free_port()),
        "SURVEY_NODE_DEMO__REGISTRY_PORT": str(registry_port),
        "SURVEY_NODE_SYNC__REGISTRY_URL": other})
    assert any(f"Syncs to the registry at {other}" in line for line in lines), lines
    assert not any("central registry:" in line for line in lines), lines
    assert not (root / "registry").exists()  # no demo registry made, so no demo token issued
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex(("127.0.0.1", registry_port)) != 0  # nothing listens there
