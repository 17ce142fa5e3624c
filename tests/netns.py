"""Network namespaces for the wired-port tests: a veth pair between a "node" namespace and a
"cabinet" namespace (the switch in the roadside cabinet), made and removed by the fixture.

Code runs inside a namespace in a thread of its own that has called setns(2): a network
namespace is per thread, sockets belong to the namespace they were made in, and programs
started from that thread (ip, arping) inherit it. No subprocess interpreter is needed.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import threading
import uuid

import pytest

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def require_netns() -> None:
    """Skip without root or iproute2 on a laptop; fail under CI=true (CI runs as root)."""
    why = None
    if os.geteuid() != 0:
        why = "network namespace tests need root"
    elif shutil.which("ip") is None:
        why = "network namespace tests need iproute2 (ip)"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def ip(*args: str, namespace: str | None = None, check: bool = True) -> str:
    command = ["ip", *(["-n", namespace] if namespace else []), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=10)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result.stdout


def in_netns(namespace: str, func, *args, timeout: float = 30.0, **kwargs):
    """Run func(*args, **kwargs) in `namespace` (a thread that joined it) and return its
    result or raise its exception."""
    outcome: dict = {}

    def body() -> None:
        fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
        finally:
            os.close(fd)
        try:
            outcome["value"] = func(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=body, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"code in namespace {namespace} ran past {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class Link:
    """Two namespaces joined by a veth pair: `node_if` in `node`, `cabinet_if` in `cabinet`."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.node, self.cabinet = f"sn-node-{tag}", f"sn-cab-{tag}"
        self.node_if, self.cabinet_if = f"snw{tag}", f"snc{tag}"

    def create(self) -> "Link":
        ip("netns", "add", self.node)
        ip("netns", "add", self.cabinet)
        ip("link", "add", self.node_if, "netns", self.node, "type", "veth",
           "peer", "name", self.cabinet_if, "netns", self.cabinet)
        for namespace, interface in ((self.node, self.node_if), (self.cabinet, self.cabinet_if)):
            ip("link", "set", "lo", "up", namespace=namespace)
            ip("link", "set", interface, "up", namespace=namespace)
        return self

    def remove(self) -> None:
        # Deleting a namespace deletes the veth pair with it.
        for namespace in (self.node, self.cabinet):
            ip("netns", "del", namespace, check=False)

    def addresses(self, namespace: str, interface: str) -> list[str]:
        out = ip("-4", "-o", "addr", "show", "dev", interface, namespace=namespace)
        return [line.split()[3] for line in out.splitlines() if " inet " in f" {line} "]


@pytest.fixture(scope="module")
def link():
    require_netns()
    made = Link()
    try:
        made.create()
        yield made
    finally:
        made.remove()
