"""Fixtures in the style of Flask's tutorial: app, client, runner, and an auth helper.

Each test gets its own data dir with a real SQLite file.
"""

from __future__ import annotations

import os
import shutil

import pytest
from click.testing import CliRunner

from survey_node import accounts, config as config_mod
from survey_node import db as database
from survey_node.app import create_app
from survey_node.cli import main as cli_main
from survey_node.cli.core import init_data_dir

PINS = {"admin": "135790", "supervisor": "246800", "surveyor": "112233"}
# The environment a `registry_backend` fixture set for this test: `data_dir` clears every
# other SURVEY_NODE_* variable (a developer's shell must not change what a test sees).
_BACKEND_ENV: dict[str, str] = {}


def require_system(*commands: str) -> None:
    """Skip (loudly) when a system tool is missing on a laptop; under CI=true, fail."""
    missing = [c for c in commands if shutil.which(c) is None and not os.path.exists(c)]
    if missing:
        message = f"missing system package command(s): {', '.join(missing)} (make test installs them as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    root = tmp_path / "node"
    for name in list(os.environ):
        if name.startswith(config_mod.ENV_PREFIX) and name not in _BACKEND_ENV:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    init_data_dir(root)
    return root


@pytest.fixture
def config(data_dir):
    return config_mod.load(data_dir)


@pytest.fixture
def db(config):
    conn = database.connect(config.db_path)
    yield conn
    conn.close()


@pytest.fixture
def users(db, config):
    for role, pin in PINS.items():
        accounts.add_user(db, config.security, name=role, role=role, pin=pin,
                          display_name=f"{role.title()} Test")
    return PINS


@pytest.fixture
def app(config, users):
    app = create_app(config, testing=True)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def cli(runner):
    def invoke(*args, input=None, env=None):
        return runner.invoke(cli_main, [str(a) for a in args], input=input, env=env)

    return invoke


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, name="surveyor", pin=None):
        return self._client.post("/login", data={"name": name, "pin": pin or PINS[name]})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for this test process (tests/pg_server.py)."""
    from tests.pg_server import pg_bin, running_cluster

    require_system(pg_bin("initdb") or "initdb", pg_bin("pg_ctl") or "pg_ctl")
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_registry(pg_cluster, monkeypatch):
    """A fresh PostgreSQL database for this test's registry, named by
    SURVEY_NODE_REGISTRY__DATABASE_URL (registry processes the test starts inherit it);
    yields its URL. Pools the test's registries opened are closed after it."""
    from survey_node.registry import store as store_mod

    name = pg_cluster.new_database()
    opened = []
    prepare = store_mod.PostgresStore.prepare

    def prepare_and_remember(self):
        opened.append(self)
        return prepare(self)

    monkeypatch.setattr(store_mod.PostgresStore, "prepare", prepare_and_remember)
    env = {"SURVEY_NODE_REGISTRY__DATABASE_URL": pg_cluster.url(name)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    _BACKEND_ENV.update(env)
    try:
        yield env["SURVEY_NODE_REGISTRY__DATABASE_URL"]
    finally:
        for key in env:
            _BACKEND_ENV.pop(key, None)
        for store in opened:
            store.close()
        pg_cluster.drop_database(name)


@pytest.fixture(scope="session")
def s3_server():
    """An S3 server on 127.0.0.1 for this test process: Ceph RGW (moto on a laptop without
    radosgw; tests/s3_server.py)."""
    from tests.s3_server import running_s3_server

    with running_s3_server() as server:
        yield server


@pytest.fixture
def s3_evidence(s3_server, monkeypatch):
    """A fresh bucket for this test's registry evidence, named by
    SURVEY_NODE_REGISTRY__EVIDENCE_URL (keys in the AWS_* environment, which boto3 reads
    when the credentials directory has none); yields (server, bucket)."""
    bucket = s3_server.new_bucket()
    env = {"SURVEY_NODE_REGISTRY__EVIDENCE_URL": f"s3://{bucket}/evidence",
           "SURVEY_NODE_REGISTRY__S3_ENDPOINT_URL": s3_server.endpoint_url}
    for key, value in {**env, "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
                       "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key}.items():
        monkeypatch.setenv(key, value)
    _BACKEND_ENV.update(env)
    try:
        yield s3_server, bucket
    finally:
        for key in env:
            _BACKEND_ENV.pop(key, None)


@pytest.fixture(params=["embedded", "national"])
def registry_backend(request):
    """Run the test on each registry store: the embedded one (SQLite file + evidence
    folder) and the national one (PostgreSQL, `postgres_registry`, + an S3 bucket,
    `s3_evidence`). Yields the backend's name."""
    if request.param == "national":
        request.getfixturevalue("postgres_registry")
        request.getfixturevalue("s3_evidence")
    return request.param
