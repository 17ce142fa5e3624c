"""The temporary address on the wired port, in network namespaces: a camera on a fixed
192.168.1.64 in the cabinet, another device already on 192.168.1.254, the node's port on
link-local only. The node takes a free address, reaches the camera, and the address is gone
afterwards: after success, after a failure inside the search, and after a crash (at the
next start)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from survey_node import db as database
from survey_node.db import wired as wired_db
from survey_node.errors import BadInput
from survey_node.wired import tempaddr
from tests.conftest import require_system
from tests.netns import in_netns, ip, link  # noqa: F401 - link is a fixture

pytestmark = pytest.mark.system
CAMERA = "192.168.1.64"


class _Hello(BaseHTTPRequestHandler):
    seen: list[str] = []  # the addresses requests came from

    def do_POST(self):  # noqa: N802 - the http.server hook (an ONVIF client POSTs SOAP)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def do_GET(self):  # noqa: N802 - the http.server hook
        _Hello.seen.append(self.client_address[0])
        body = f"camera sees {self.client_address[0]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def cabinet(link):
    require_system("arping")
    ip("addr", "add", "169.254.20.1/16", "dev", link.node_if, namespace=link.node)
    ip("addr", "add", f"{CAMERA}/24", "dev", link.cabinet_if, namespace=link.cabinet)
    ip("addr", "add", "192.168.1.254/24", "dev", link.cabinet_if, namespace=link.cabinet)
    server = in_netns(link.cabinet, lambda: HTTPServer((CAMERA, 8000), _Hello))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield link
    server.shutdown()
    server.server_close()


@pytest.fixture
def node(cabinet, config):
    config.wired.interface = cabinet.node_if
    db = database.connect(config.db_path)
    yield config, db
    db.close()


def _fetch() -> str:
    with urllib.request.urlopen(f"http://{CAMERA}:8000/", timeout=3) as answer:
        return answer.read().decode()


def _camera_subnet(link) -> list[str]:
    return [a for a in link.addresses(link.node, link.node_if) if a.startswith("192.168.1.")]


def test_free_address_added_for_the_search_and_removed_after(node, cabinet):
    config, db = node

    def search():
        with tempaddr.temporary_address(config, db, CAMERA, actor="test") as address:
            held = (address, _camera_subnet(cabinet), wired_db.rows_temp_addresses(db), _fetch())
        return held

    address, during, records, answer = in_netns(cabinet.node, search)
    # .254 answered the ARP probe (another device has it), so the node took .253.
    assert address == "192.168.1.253" and during == ["192.168.1.253/24"]
    assert answer == "camera sees 192.168.1.253"
    assert [(r["interface"], r["address"], r["camera_host"]) for r in records] == \
        [(cabinet.node_if, "192.168.1.253", CAMERA)]
    assert _camera_subnet(cabinet) == [] and wired_db.rows_temp_addresses(db) == []


def test_removed_when_the_search_fails(node, cabinet):
    config, db = node

    def failing_search():
        with tempaddr.temporary_address(config, db, CAMERA, actor="test"):
            raise RuntimeError("the stream check blew up")

    with pytest.raises(RuntimeError, match="blew up"):
        in_netns(cabinet.node, failing_search)
    assert _camera_subnet(cabinet) == [] and wired_db.rows_temp_addresses(db) == []


def test_left_behind_by_a_crash_is_removed_at_the_next_start(node, cabinet, cli):
    config, db = node
    crash = (
        "import os, sys\n"
        "from survey_node import config as c, db as d\n"
        "from survey_node.wired import tempaddr\n"
        "cfg = c.load(sys.argv[1]); cfg.wired.interface = sys.argv[2]\n"
        "with tempaddr.temporary_address(cfg, d.connect(cfg.db_path), '192.168.1.64', actor='t'):\n"
        "    os.kill(os.getpid(), 9)\n")
    result = subprocess.run(["ip", "netns", "exec", cabinet.node, sys.executable, "-c", crash,
                             str(config.data_dir), cabinet.node_if],
                            capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items()
                                 if not k.startswith("SURVEY_NODE_")})
    assert result.returncode == -9, result.stderr
    assert _camera_subnet(cabinet) == ["192.168.1.253/24"]  # the crash left it there

    env = {"SURVEY_NODE_WIRED__INTERFACE": cabinet.node_if}
    cleaned = in_netns(cabinet.node, cli, "wired", "cleanup", "--data-dir", config.data_dir,
                       env=env)
    assert cleaned.exit_code == 0, cleaned.output
    assert f"removed 192.168.1.253/24 on {cabinet.node_if}" in cleaned.output
    assert _camera_subnet(cabinet) == [] and wired_db.rows_temp_addresses(db) == []


def test_no_address_when_the_camera_is_on_the_link_already(node, cabinet):
    config, db = node
    with tempaddr.temporary_address(config, db, "169.254.20.9", actor="test") as address:
        assert address is None
    assert in_netns(cabinet.node, tempaddr.subnet_needed, config, "cam.example") is None


def test_hotspot_subnet_is_refused_with_one_line(node):
    config, _ = node
    with pytest.raises(BadInput) as refused:
        tempaddr.subnet_needed(config, "10.42.0.77")
    assert refused.value.line() == ("The camera's address 10.42.0.77 is in the hotspot's network"
                                    " 10.42.0.0/24: the node will not put its wired port there")


def test_the_stream_search_reaches_the_camera_through_it(node, cabinet):
    """The ONVIF search for a fixed-address camera: the camera is asked from the temporary
    address (it is no ONVIF camera, so the verdict is "unsupported"), which is gone after."""
    from survey_node.stream_find import plan, search

    config, db = node
    config.streamcheck.onvif_timeout_s, config.streamcheck.onvif_call_timeout_s = 5.0, 2.0
    _Hello.seen.clear()
    urls = plan(brand="onvif", host=CAMERA, port=8000, user="admin", password="x")
    outcome = in_netns(cabinet.node, search, config, db, urls, camera_id=None, actor="test")
    assert outcome.verdict == "unsupported"
    assert _Hello.seen and set(_Hello.seen) == {"192.168.1.253"}
    assert _camera_subnet(cabinet) == [] and wired_db.rows_temp_addresses(db) == []
