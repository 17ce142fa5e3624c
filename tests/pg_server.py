"""A throwaway PostgreSQL cluster for the tests: Debian's `postgresql` package, started here.

initdb + pg_ctl on a fresh directory in /tmp, listening on a free 127.0.0.1 port only (no
Unix socket a system cluster could share), with a scram password for the test role. As
root, the server runs as the `postgres` user: PostgreSQL refuses to run as root. One
cluster per test process; each test gets its own database copied from a migrated template
(CREATE DATABASE ... TEMPLATE is a file copy, far faster than migrating again).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.live import free_port

USER, PASSWORD = "registry", "test-only-" + uuid.uuid4().hex[:12]
DEADLINE_S = 60


def pg_bin(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, else Debian's versioned directory."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


class Cluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="survey-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.log = self.root / "server.log"
        self.template = "registry_template"

    def url(self, database: str) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
        subprocess.run(_as_server_user(
            [pg_bin("initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
             "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
            check=True, capture_output=True, timeout=DEADLINE_S)
        pwfile.unlink()
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port}"
                   " -c unix_socket_directories='' -c fsync=off -c full_page_writes=off"
                   " -c max_connections=200 -c shared_buffers=64MB")
        subprocess.run(_as_server_user(
            [pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
             "-w", "-t", str(DEADLINE_S), "start"]),
            check=True, capture_output=True, timeout=DEADLINE_S + 10)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            subprocess.run(_as_server_user(
                [pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "30",
                 "stop"]), capture_output=True, timeout=40)
        shutil.rmtree(self.root, ignore_errors=True)

    def admin(self):
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10)

    def prepare_template(self) -> None:
        """A database with the registry's migrations applied, to copy for each test."""
        from survey_node.registry.db import pg_schema

        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {self.template}")
        pg_schema.migrate(self.url(self.template))

    def new_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:16]
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def running_cluster():
    cluster = Cluster()
    try:
        cluster.start()
        cluster.prepare_template()
        yield cluster
    finally:
        cluster.stop()
