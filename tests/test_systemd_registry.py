"""The central registry's systemd files (systemd/registry/), checked by the tools that read
them, and the unit's own command lines run for real against a PostgreSQL registry."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import urllib.request
from pathlib import Path

import pytest

from survey_node import config as config_mod
from tests.appliance_support import APPLIANCE_VENV, REPO, SYSTEMD, read_unit, unit_values
from tests.conftest import require_system
from tests.live import free_port, stop_process
from tests.pg_server import pg_bin

pytestmark = pytest.mark.system

UNITS = SYSTEMD / "registry"
UNIT = UNITS / "survey-registry.service"
BACKUP_UNIT = UNITS / "survey-registry-backup.service"
UNIT_FILES = sorted(p for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))
BACKUP_SCRIPT = UNITS / "survey-registry-backup"
BACKUP_INSTALLED = "/usr/lib/survey-registry/backup"
ENV_EXAMPLE = UNITS / "registry.env.example"
DATA = "/var/lib/survey-registry"
CREDENTIALS = {"registry_db_password", "registry_s3_access_key_id",
               "registry_s3_secret_access_key"}


@pytest.fixture(scope="module")
def unit_dir(tmp_path_factory):
    """The units as installed, with the venv and the backup script pointing at this
    checkout's (systemd-analyze insists that the Exec*= binaries exist)."""
    root = tmp_path_factory.mktemp("registry-units")
    for path in UNIT_FILES:
        text = path.read_text(encoding="utf-8").replace(APPLIANCE_VENV, str(REPO / ".venv"))
        text = text.replace(BACKUP_INSTALLED, str(BACKUP_SCRIPT))
        (root / path.name).write_text(text, encoding="utf-8")
    return root


def _analyze(unit_dir, *args):
    env = {"SYSTEMD_UNIT_PATH": f"{unit_dir}:", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
           "SYSTEMD_LOG_COLOR": "0"}
    return subprocess.run(["systemd-analyze", *args], cwd=unit_dir, env=env, capture_output=True,
                          text=True, timeout=60)


def _service() -> dict[str, str]:
    return {k: v for s, k, v in read_unit(UNIT) if s == "Service"}


def test_there_are_units():
    assert {p.name for p in UNIT_FILES} == {"survey-registry.service",
                                            "survey-registry-backup.service",
                                            "survey-registry-backup.timer"}


@pytest.mark.parametrize("unit", [p.name for p in UNIT_FILES])
def test_systemd_analyze_verify_is_clean(unit_dir, unit):
    require_system("systemd-analyze", "/usr/bin/curl")
    result = _analyze(unit_dir, "verify", "--man=no", unit)
    # verify exits 0 on unknown keys and bad values too; any line it prints is a finding.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), \
        result.stdout + result.stderr


@pytest.mark.parametrize("unit", [UNIT.name, BACKUP_UNIT.name])
def test_units_are_hardened(unit_dir, unit):
    """Network clients and a server with no capability at all: tighter than the node's web
    unit (2.7), which needs port 80 and the wired port's addresses."""
    require_system("systemd-analyze")
    result = _analyze(unit_dir, "security", "--offline=yes", "--threshold=20", "--no-pager",
                      unit)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    score = re.search(rf"Overall exposure level for {re.escape(unit)}: ([0-9.]+)",
                      result.stdout)
    assert score and float(score.group(1)) <= 2.0


def test_unit_settings_the_issue_asks_for():
    service = _service()
    assert service["User"] == service["Group"] == "survey-registry"
    assert service["StateDirectory"] == "survey-registry"
    assert service["Restart"] == "on-failure" and service["KillMode"] == "mixed"
    assert service["CapabilityBoundingSet"] == ""
    for key in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectHome"):
        assert service[key] == "yes"
    assert service["ProtectSystem"] == "strict"
    # Nothing writable but the state dir: no ReadWritePaths= to widen it.
    assert "ReadWritePaths" not in service
    argv = shlex.split(service["ExecStart"])
    assert argv[1:3] == ["registry", "serve"]
    assert argv[argv.index("--data-dir") + 1] == DATA
    # Every secret the registry reads is loaded from root's folder, each with a blank
    # fallback so a registry that does not use it still starts.
    loaded = dict(c.split(":", 1) for c in unit_values(UNIT, "Service", "LoadCredential"))
    assert set(loaded) == CREDENTIALS
    assert all(path == f"/etc/survey-registry/credentials/{name}"
               for name, path in loaded.items())
    fallbacks = dict(c.split(":", 1) for c in unit_values(UNIT, "Service", "SetCredential"))
    assert fallbacks == {name: r"\n" for name in CREDENTIALS}
    assert unit_values(UNIT, "Service", "EnvironmentFile") == \
        ["-/etc/survey-registry/registry.env"]


def test_the_unit_loads_every_secret_the_registry_reads():
    """The credential names are the ones the registry's code asks for: a renamed secret
    would otherwise be handed over under a name nobody reads."""
    code = " ".join(p.read_text(encoding="utf-8")
                    for p in (REPO / "survey_node" / "registry").rglob("*.py"))
    read = set(re.findall(r"read_optional_secret\(\s*config,\s*\"(\w+)\"\)", code))
    assert read == CREDENTIALS


def test_sysusers_and_tmpfiles_make_the_user_and_the_secrets_folder(tmp_path):
    require_system("systemd-sysusers", "systemd-tmpfiles")
    (tmp_path / "etc").mkdir()
    for tool, conf in (("systemd-sysusers", UNITS / "sysusers" / "survey-registry.conf"),
                       ("systemd-tmpfiles", UNITS / "tmpfiles" / "survey-registry.conf")):
        args = ["--create"] if tool == "systemd-tmpfiles" else []
        result = subprocess.run([tool, f"--root={tmp_path}", *args, str(conf)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    users = {line.split(":")[0]: line.split(":")
             for line in (tmp_path / "etc" / "passwd").read_text().splitlines()}
    user = users[_service()["User"]]
    assert user[5] == DATA and user[6] == "/usr/sbin/nologin"
    credentials = tmp_path / "etc" / "survey-registry" / "credentials"
    assert credentials.stat().st_mode & 0o777 == 0o700 and credentials.stat().st_uid == 0
    backups = tmp_path / "var" / "backups" / "survey-registry"
    assert backups.stat().st_mode & 0o777 == 0o700 and backups.stat().st_uid == int(user[2])
    assert unit_values(BACKUP_UNIT, "Service", "ReadWritePaths") == [str(backups)[len(
        str(tmp_path)):]]


def test_backup_script_is_shellcheck_clean():
    require_system("shellcheck")
    result = subprocess.run(["shellcheck", "--severity=style", str(BACKUP_SCRIPT)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_timer_starts_the_backup_and_catches_up():
    timer = UNITS / "survey-registry-backup.timer"
    assert unit_values(timer, "Timer", "Persistent") == ["yes"]
    assert unit_values(timer, "Install", "WantedBy") == ["timers.target"]
    assert unit_values(BACKUP_UNIT, "Service", "Type") == ["oneshot"]
    assert unit_values(BACKUP_UNIT, "Service", "ExecStart") == [BACKUP_INSTALLED]


def test_env_example_names_only_real_config_keys(tmp_path):
    """Every SURVEY_NODE_* line of registry.env.example is a key the config knows (a typo
    would stop the registry at start), and they land where the registry reads them."""
    env = _env_file(ENV_EXAMPLE)
    ours = {k: v for k, v in env.items() if k.startswith(config_mod.ENV_PREFIX)}
    cfg = config_mod.load(tmp_path, env=ours)
    assert cfg.registry.database_url == env["SURVEY_NODE_REGISTRY__DATABASE_URL"]
    assert cfg.registry.evidence_url.startswith("s3://") and cfg.registry.workers == 2
    assert cfg.web.secure_cookies is True
    assert "password" not in " ".join(ours).lower()  # secrets go in the credentials folder


def test_a_blank_credential_is_taken_as_not_given(data_dir, tmp_path, monkeypatch):
    """What SetCredential='s blank fallback hands over is no secret: the data dir's file,
    or none (so the S3 client looks for keys elsewhere instead of signing with empty ones)."""
    cfg = config_mod.load(data_dir)
    creds = tmp_path / "credentials"
    creds.mkdir()
    for name in CREDENTIALS:
        (creds / name).write_text("\n", encoding="utf-8")
    (cfg.secrets_dir / "registry_db_password").write_text("from-the-data-dir\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert config_mod.read_optional_secret(cfg, "registry_db_password") == "from-the-data-dir"
    assert config_mod.read_optional_secret(cfg, "registry_s3_access_key_id") is None
    (creds / "registry_s3_access_key_id").write_text("AKIA-TEST\n")
    assert config_mod.read_optional_secret(cfg, "registry_s3_access_key_id") == "AKIA-TEST"


# -- the unit's command lines, run -------------------------------------------------------


@pytest.fixture
def cluster(pg_cluster):
    return pg_cluster  # conftest's, one per test process


def _env_file(path: Path) -> dict[str, str]:
    """systemd's EnvironmentFile= for the lines this one uses: KEY=VALUE, # comments."""
    values = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _command(key: str, env: dict[str, str], data_dir: Path) -> list[str]:
    """The unit's Exec line as systemd would run it here: ${VAR} from `env`, the checkout's
    venv for the appliance's, `data_dir` for the state dir."""
    line = _service()[key]
    line = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], line)
    line = line.replace(APPLIANCE_VENV, str(REPO / ".venv")).replace(DATA, str(data_dir))
    return shlex.split(line)


def _unit_environment(port: int, **settings: str) -> dict[str, str]:
    """The unit's Environment= lines, then registry.env (a deployment's, here with a test
    database and no bucket), as systemd layers them; plus the process environment."""
    env = dict(e.split("=", 1) for e in unit_values(UNIT, "Service", "Environment"))
    env.update({k: v for k, v in _env_file(ENV_EXAMPLE).items()
                if k.startswith(config_mod.ENV_PREFIX) and "S3" not in k and "EVIDENCE" not in k})
    env.update(settings, REGISTRY_PORT=str(port))
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(config_mod.ENV_PREFIX) and k != "CREDENTIALS_DIRECTORY"}
    return {**base, **env}


def _serve_as_the_unit(tmp_path, env):
    """ExecStart= in the background, then ExecStartPost= (the readiness check) to its end,
    which must succeed with the server still up; returns what /readyz says then."""
    data_dir = tmp_path / "state"
    data_dir.mkdir()
    log = open(tmp_path / "registry.log", "wb")
    server = subprocess.Popen(_command("ExecStart", env, data_dir), env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        check = subprocess.Popen(_command("ExecStartPost", env, data_dir), env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # systemd would fail the start when the server exits; so does this, without
        # waiting out the check's retries.
        for _ in range(240):
            if check.poll() is not None or server.poll() is not None:
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                check.wait(timeout=0.5)
        if check.poll() is None:
            check.kill()
        _, err = check.communicate(timeout=10)
        log.flush()
        assert check.returncode == 0 and server.poll() is None, \
            f"readiness check {check.returncode}: {err}" + (tmp_path / "registry.log").read_text()
        with urllib.request.urlopen(  # noqa: S310 - our own loopback server
                f"http://127.0.0.1:{env['REGISTRY_PORT']}/readyz", timeout=10) as answer:
            readyz = json.loads(answer.read())
    finally:
        # KillMode=mixed: systemd's SIGTERM goes to the main process alone.
        stop_process(server, grace_s=30)
        log.close()
    # ...and no worker outlives it (SIGKILL to the leftovers comes only after the timeout).
    text = (tmp_path / "registry.log").read_text()
    workers = re.search(r"registry workers: pids ([\d ]+)", text)
    for pid in workers.group(1).split() if workers else []:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
    assert server.returncode == 0, text
    return readyz


def _url_without_password(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1@", url)


def test_the_unit_starts_a_postgresql_registry_with_its_password_as_a_credential(
        tmp_path, cluster):
    """The URL of registry.env has no password; the one file LoadCredential= hands over
    under the unit's name for it is what lets the registry in."""
    require_system("/usr/bin/curl")
    from tests.pg_server import PASSWORD

    database = cluster.new_database()
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "registry_db_password").write_text(PASSWORD + "\n", encoding="utf-8")
    for name in CREDENTIALS - {"registry_db_password"}:
        (creds / name).write_text("\n", encoding="utf-8")  # SetCredential='s blank fallback
    env = _unit_environment(
        free_port(), CREDENTIALS_DIRECTORY=str(creds),
        SURVEY_NODE_REGISTRY__DATABASE_URL=_url_without_password(cluster.url(database)))
    readyz = _serve_as_the_unit(tmp_path, env)
    assert readyz["status"] == "ok" and readyz["backend"] == "postgresql", readyz
    assert not (tmp_path / "state" / "registry.db").exists()


def test_the_unit_starts_a_registry_on_postgresql_and_a_bucket(tmp_path, cluster, monkeypatch,
                                                                s3_server):
    """registry.env.example's bucket settings pointed at an S3 server on 127.0.0.1, the keys
    as the unit's credentials (without them boto3 finds none and /readyz says so)."""
    require_system("/usr/bin/curl")
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "registry_db_password").write_text("\n", encoding="utf-8")
    s3 = s3_server  # conftest's, one per test process
    (creds / "registry_s3_access_key_id").write_text(s3.access_key_id + "\n")
    (creds / "registry_s3_secret_access_key").write_text(s3.secret_access_key + "\n")
    bucket = s3.new_bucket()
    env = _unit_environment(
        free_port(), CREDENTIALS_DIRECTORY=str(creds),
        SURVEY_NODE_REGISTRY__DATABASE_URL=cluster.url(cluster.new_database()),
        SURVEY_NODE_REGISTRY__EVIDENCE_URL=f"s3://{bucket}/registry",
        SURVEY_NODE_REGISTRY__S3_ENDPOINT_URL=s3.endpoint_url,
        SURVEY_NODE_REGISTRY__S3_REGION=s3.region,
        # Never ask a cloud's metadata address for keys: only 127.0.0.1 here.
        AWS_EC2_METADATA_DISABLED="true")
    readyz = _serve_as_the_unit(tmp_path, env)
    # The blank fallbacks instead of the key files: no keys, said so (boto3 looked in
    # the environment and its files, and nowhere else).
    for name in ("registry_s3_access_key_id", "registry_s3_secret_access_key"):
        (creds / name).write_text("\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for key, value in env.items():
        if key.startswith(config_mod.ENV_PREFIX) or key in ("CREDENTIALS_DIRECTORY",
                                                             "AWS_EC2_METADATA_DISABLED"):
            monkeypatch.setenv(key, value)
    from survey_node.registry.store import open_store

    keyless = open_store(config_mod.load(tmp_path / "state")).objects
    with pytest.raises(Exception, match="Unable to locate credentials"):
        keyless.ping()
    assert readyz["status"] == "ok" and readyz["evidence"] == "ok", readyz
    assert not (tmp_path / "state" / "evidence").exists()


def test_a_blank_password_credential_means_none_given(tmp_path, cluster):
    """Without the password file systemd hands over the blank SetCredential= value: the
    password in the URL is then the one used, and the registry still starts."""
    require_system("/usr/bin/curl")
    creds = tmp_path / "credentials"
    creds.mkdir()
    for name in CREDENTIALS:
        (creds / name).write_text("\n", encoding="utf-8")
    env = _unit_environment(free_port(), CREDENTIALS_DIRECTORY=str(creds),
                            SURVEY_NODE_REGISTRY__DATABASE_URL=cluster.url(
                                cluster.new_database()))
    readyz = _serve_as_the_unit(tmp_path, env)
    assert readyz["status"] == "ok" and readyz["backend"] == "postgresql", readyz


# -- the backup script, run ----------------------------------------------------------------


def _backup(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(config_mod.ENV_PREFIX) and k != "CREDENTIALS_DIRECTORY"}
    return subprocess.run([str(BACKUP_SCRIPT)], env={**base, **env}, capture_output=True,
                          text=True, timeout=120)


def _aged(path: Path, days: int) -> Path:
    path.write_bytes(b"an old backup")
    old = path.stat().st_mtime - days * 86400
    os.utime(path, (old, old))
    return path


def test_backup_script_dumps_the_postgresql_registry_and_drops_old_dumps(tmp_path, cluster):
    """As the timer runs it: the URL from registry.env without its password, the password
    as the unit's credential; the dump is a whole custom-format archive of the registry."""
    require_system(pg_bin("pg_dump") or "pg_dump", pg_bin("pg_restore") or "pg_restore")
    from tests.pg_server import PASSWORD

    dest = tmp_path / "backups"
    dest.mkdir()
    old = _aged(dest / "registry-20260101T000000Z.dump", 20)
    recent = _aged(dest / "registry-20261201T000000Z.dump", 3)
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "registry_db_password").write_text(PASSWORD + "\n")
    data = tmp_path / "state"
    (data / "evidence" / "ab").mkdir(parents=True)
    (data / "evidence" / "ab" / ("ab" + "0" * 62)).write_bytes(b"a photo")
    bindir = str(Path(pg_bin("pg_dump")).parent)
    env = {"SURVEY_NODE_REGISTRY__DATABASE_URL": _url_without_password(
               cluster.url(cluster.new_database())),
           "SURVEY_NODE_REGISTRY__EVIDENCE_URL": "s3://survey-evidence/registry",
           "CREDENTIALS_DIRECTORY": str(creds), "REGISTRY_BACKUP_DIR": str(dest),
           "REGISTRY_DATA": str(data), "PATH": f"{bindir}:{os.environ['PATH']}"}
    result = _backup(env)
    assert result.returncode == 0, result.stderr
    assert not (dest / "evidence").exists()  # the bucket keeps itself
    dumps = sorted(p.name for p in dest.glob("registry-*"))
    assert not old.exists() and recent.exists() and len(dumps) == 2, dumps
    made = next(p for p in dest.glob("registry-*") if p != recent)
    assert re.fullmatch(r"registry-\d{8}T\d{6}Z\.dump", made.name)
    listing = subprocess.run([pg_bin("pg_restore"), "--list", str(made)], capture_output=True,
                             text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"TABLE DATA public decisions", listing.stdout)
    assert re.search(r"SEQUENCE SET public decisions_seq_seq", listing.stdout)
    # PostgreSQL with the evidence folder (no bucket): the folder is copied too.
    del env["SURVEY_NODE_REGISTRY__EVIDENCE_URL"]
    result = _backup(env)
    assert result.returncode == 0, result.stderr
    assert (dest / "evidence" / "ab" / ("ab" + "0" * 62)).read_bytes() == b"a photo"


def test_backup_script_copies_an_embedded_registry_db_first_then_its_evidence(tmp_path):
    require_system("sqlite3", "rsync")
    import sqlite3

    data = tmp_path / "state"
    (data / "evidence" / "ab").mkdir(parents=True)
    (data / "evidence" / "ab" / ("ab" + "0" * 62)).write_bytes(b"a photo")
    with contextlib.closing(sqlite3.connect(data / "registry.db")) as db, db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE decisions (seq INTEGER PRIMARY KEY, state TEXT)")
        db.execute("INSERT INTO decisions (state) VALUES ('approved')")
    (data / "secrets").mkdir()
    (data / "secrets" / "flask_secret_key").write_text("session-key\n")
    dest = tmp_path / "backups"
    result = _backup({"REGISTRY_DATA": str(data), "REGISTRY_BACKUP_DIR": str(dest)})
    assert result.returncode == 0, result.stderr
    assert [p.suffix for p in dest.glob("registry-*")] == [".db"]  # no -wal left to copy
    with contextlib.closing(sqlite3.connect(next(dest.glob("registry-*.db")))) as db:
        assert db.execute("SELECT state FROM decisions").fetchall() == [("approved",)]
    assert (dest / "evidence" / "ab" / ("ab" + "0" * 62)).read_bytes() == b"a photo"
    assert not list(dest.glob("*.part"))
    assert (dest / "data-dir" / "secrets" / "flask_secret_key").read_text() == "session-key\n"
    # A registry that never started (or a wrong data dir) is an error, not an empty backup.
    empty = tmp_path / "never-started"
    empty.mkdir()
    result = _backup({"REGISTRY_DATA": str(empty), "REGISTRY_BACKUP_DIR": str(dest)})
    assert result.returncode == 1 and "nothing to back up" in result.stderr
    assert not (empty / "registry.db").exists() and len(list(dest.glob("registry-*"))) == 1
