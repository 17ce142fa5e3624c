"""The installed wheel plus the unit start the UI.

`systemd-run --user` needs a running systemd user manager, which this container (and CI on
it) does not have, so this is the equivalent: the wheel is built and installed into a fresh
venv (non-editable: templates and translations come from the wheel), the data dir is made by
the first-boot script, and survey-node.service's ExecStart= runs with the unit's
Environment=, a credentials directory standing in for LoadCredential= and a notify socket
standing in for Type=notify + WatchdogSec=. What runs is the unit's own command line; only
the appliance paths (/opt/survey-node/venv, /srv/survey-node) and port 80 are swapped.
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from survey_node import sdnotify
from tests.appliance_support import (
    APPLIANCE_DATA, APPLIANCE_VENV, IMAGES, REPO, SYSTEMD, unit_values,
)

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def installed_venv(tmp_path_factory):
    """A venv with the wheel installed; dependencies come from the dev venv (offline)."""
    tmp = tmp_path_factory.mktemp("wheel")
    dev_python = REPO / ".venv" / "bin" / "python"
    build = subprocess.run(
        [str(dev_python), "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp / "dist"), str(REPO)],
        capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next((tmp / "dist").glob("cctv_survey_node-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = subprocess.run([str(venv / "bin/python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    dev_site = subprocess.run([str(dev_python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    # Dependencies only: the dev venv's editable hook is a .pth there, which a path added
    # this way does not run, so `survey_node` can only come from the wheel.
    with open(os.path.join(site, "zz_dev_dependencies.pth"), "w") as fh:
        fh.write(dev_site + "\n")
    install = subprocess.run(
        [str(dev_python), "-m", "pip", "--python", str(venv / "bin/python"), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    where = subprocess.run([str(venv / "bin/python"), "-c", "import survey_node; print(survey_node.__file__)"],
                           capture_output=True, text=True, check=True, timeout=60, cwd=tmp).stdout
    assert where.startswith(site), where
    return venv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unit_execstart_serves_healthz_and_feeds_the_watchdog(installed_venv, tmp_path):
    data = tmp_path / "data"
    creds = tmp_path / "credentials"
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith("SURVEY_NODE_") and k not in ("CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET")}
    firstboot = subprocess.run(["bash", str(IMAGES / "firstboot.sh")], capture_output=True, text=True, timeout=120,
                               env={**base_env, "SURVEY_NODE_DATA": str(data),
                                    "SURVEY_NODE_VENV": str(installed_venv),
                                    "SURVEY_NODE_USER": getpass.getuser(),
                                    "SURVEY_NODE_CREDENTIALS": str(creds),
                                    "SURVEY_NODE_LIB": str(SYSTEMD / "networkmanager"),
                                    "SURVEY_NODE_NM_DIR": str(tmp_path / "nm"),
                                    "SURVEY_NODE_FIRSTBOOT_MARK": str(tmp_path / "firstboot.done")})
    assert firstboot.returncode == 0, firstboot.stdout + firstboot.stderr
    # The session key now exists only where LoadCredential= reads it from.
    assert not (data / "secrets" / "flask_secret_key").exists()

    unit = SYSTEMD / "survey-node.service"
    port = _free_port()

    def swap(text: str) -> str:
        return text.replace(APPLIANCE_VENV, str(installed_venv)).replace(APPLIANCE_DATA, str(data))

    env = dict(base_env)
    for assignment in unit_values(unit, "Service", "Environment"):
        key, value = swap(assignment).split("=", 1)
        env[key] = value
    assert env.pop("SURVEY_NODE_WEB__PORT") == "80"
    env["SURVEY_NODE_WEB__PORT"] = str(port)
    env["SURVEY_NODE_WEB__HOST"] = "127.0.0.1"  # tests stay on loopback
    # LoadCredential=NAME:PATH -> systemd copies PATH to $CREDENTIALS_DIRECTORY/NAME.
    cred_dir = tmp_path / "run-credentials"
    cred_dir.mkdir(mode=0o700)
    for spec in unit_values(unit, "Service", "LoadCredential"):
        name, path = spec.split(":", 1)
        source = creds / os.path.basename(path)
        (cred_dir / name).write_bytes(source.read_bytes())
    env["CREDENTIALS_DIRECTORY"] = str(cred_dir)
    # Type=notify + WatchdogSec=: a datagram socket, and a 1 s watchdog (pings every 0.5 s).
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(1)
    env["NOTIFY_SOCKET"] = str(notify_path)
    env["WATCHDOG_USEC"] = "1000000"

    (exec_start,) = unit_values(unit, "Service", "ExecStart")
    proc = subprocess.Popen(shlex.split(swap(exec_start)), env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    messages: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while "READY=1" not in messages and time.monotonic() < deadline and proc.poll() is None:
            try:
                messages.append(notify.recv(4096).decode())
            except socket.timeout:
                pass
        assert "READY=1" in messages, f"no READY=1; server said: {_output(proc)}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            body = json.loads(response.read())
        node_id = (data / "config.toml").read_text().split('id = "', 1)[1].split('"', 1)[0]
        assert response.status == 200 and body == {"status": "ok", "node": node_id}
        deadline = time.monotonic() + 10
        while "WATCHDOG=1" not in messages and time.monotonic() < deadline:
            try:
                messages.append(notify.recv(4096).decode())
            except socket.timeout:
                pass
        assert "WATCHDOG=1" in messages
        # A page rendered from the wheel's templates (Thai by default).
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as response:
            assert response.status == 200 and 'lang="th"' in response.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)  # what `systemctl stop` sends
        try:
            proc.wait(timeout=20)  # TimeoutStopSec=
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("the server ignored SIGTERM")
        notify.close()


def _output(proc) -> str:
    if proc.poll() is None:
        return "(still running)"
    return proc.stdout.read()[-3000:]


def test_watchdog_stays_silent_while_the_server_does_not_answer(tmp_path):
    """A server that accepts connections but never answers (hung) gets no pings, so
    systemd's WatchdogSec= kills it; the same loop pings a server that answers."""
    notify_path = tmp_path / "n.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(0.2)
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)  # never accept()ed: connects, then silence
    env = {"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "600000"}
    stop = threading.Event()
    try:
        sdnotify.start_watchdog(sdnotify.health_url("127.0.0.1", hung.getsockname()[1]), env, stop)
        received = []
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            try:
                received.append(notify.recv(64))
            except socket.timeout:
                pass
        assert received == []
    finally:
        stop.set()
        hung.close()
        notify.close()


def test_notify_is_a_no_op_outside_systemd():
    assert sdnotify.notify("READY=1", env={}) is False
    assert sdnotify.watchdog_interval({}) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert sdnotify.health_url("0.0.0.0", 80) == "http://127.0.0.1:80/healthz"
    assert sdnotify.health_url("::", 8080) == "http://[::1]:8080/healthz"
