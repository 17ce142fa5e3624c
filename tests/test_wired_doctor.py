"""Doctor on the wired port, and no forwarding between the hotspot and the wired port, in
network namespaces: tablet -- (hotspot veth) -- node -- (wired veth) -- cabinet camera."""

from __future__ import annotations

import socket

import pytest

from survey_node import db as database
from survey_node.wired import health, tempaddr
from tests.appliance_support import SYSTEMD
from tests.conftest import require_system
from tests.netns import in_netns, ip, link  # noqa: F401 - link is a fixture

pytestmark = pytest.mark.system
CAMERA = "192.168.1.64"
NFT_FILE = SYSTEMD / "nftables" / "survey-node-noforward.nft"


@pytest.fixture(scope="module")
def site(link):
    require_system("nft", "arping")
    tablets = f"{link.cabinet}-t"
    ip("netns", "add", tablets)
    hotspot_if, tablet_if = f"{link.node_if}h", f"{link.cabinet_if}t"
    try:
        ip("link", "add", hotspot_if, "netns", link.node, "type", "veth",
           "peer", "name", tablet_if, "netns", tablets)
        for namespace, interface in ((link.node, hotspot_if), (tablets, tablet_if),
                                     (tablets, "lo")):
            ip("link", "set", interface, "up", namespace=namespace)
        ip("addr", "add", "10.42.0.1/24", "dev", hotspot_if, namespace=link.node)
        ip("addr", "add", "10.42.0.20/24", "dev", tablet_if, namespace=tablets)
        ip("route", "add", "default", "via", "10.42.0.1", namespace=tablets)
        ip("addr", "add", "169.254.30.1/16", "dev", link.node_if, namespace=link.node)
        ip("addr", "add", "192.168.1.10/24", "dev", link.node_if, namespace=link.node)
        ip("addr", "add", f"{CAMERA}/24", "dev", link.cabinet_if, namespace=link.cabinet)
        ip("route", "add", "10.42.0.0/24", "via", "192.168.1.10", namespace=link.cabinet)
        camera = in_netns(link.cabinet, socket.create_server, (CAMERA, 9000))
        yield {"link": link, "tablets": tablets}
        camera.close()
    finally:
        ip("netns", "del", tablets, check=False)


@pytest.fixture
def node_config(site, config):
    config.wired.interface = site["link"].node_if
    return config


def _reaches_camera() -> bool:
    try:
        socket.create_connection((CAMERA, 9000), timeout=1).close()
        return True
    except OSError:
        return False


def _sysctl_forward(namespace: str, value: int) -> None:
    def write():
        with open("/proc/sys/net/ipv4/ip_forward", "w", encoding="ascii") as fh:
            fh.write(str(value))
    in_netns(namespace, write)


def test_doctor_shows_link_and_addresses_including_a_temporary_one(site, node_config):
    link = site["link"]
    db = database.connect(node_config.db_path)

    def during_a_search():
        # A camera on a fixed 172.16.5.64: the node holds a temporary address meanwhile.
        with tempaddr.temporary_address(node_config, db, "172.16.5.64", actor="test"):
            return health.wired_port(node_config)

    try:
        found = in_netns(link.node, during_a_search)
        after = in_netns(link.node, health.wired_port, node_config)
    finally:
        db.close()
    assert found.status == "ok" and found.detail.startswith(f"{link.node_if} link up;")
    assert "169.254.30.1/16 link-local" in found.detail
    assert "192.168.1.10/24 fixed" in found.detail
    assert "172.16.5.254/24 temporary" in found.detail
    assert "temporary" not in after.detail


def test_doctor_says_when_the_cable_is_out(site, node_config):
    link = site["link"]
    ip("link", "set", link.cabinet_if, "down", namespace=link.cabinet)
    try:
        found = in_netns(link.node, health.wired_port, node_config)
    finally:
        ip("link", "set", link.cabinet_if, "up", namespace=link.cabinet)
    assert found.status == "warn" and "link down (no cable)" in found.detail
    assert found.hint_th


def test_forwarding_off_then_hotspot_nat_on_then_blocked_by_the_node_table(site, node_config):
    link, tablets = site["link"], site["tablets"]
    # (A link that went down, as in the cable test, took the camera's way back with it.)
    ip("route", "replace", "10.42.0.0/24", "via", "192.168.1.10", namespace=link.cabinet)
    _sysctl_forward(link.node, 0)
    assert in_netns(link.node, health.no_forwarding, node_config).status == "ok"
    assert not in_netns(tablets, _reaches_camera)

    # What NetworkManager's shared hotspot does: forwarding on. A tablet reaches the camera.
    _sysctl_forward(link.node, 1)
    try:
        assert in_netns(tablets, _reaches_camera)
        found = in_netns(link.node, health.no_forwarding, node_config)
        assert found.status == "fail" and "tablets could reach the camera network" in found.detail

        # The provisioned table: nothing forwarded, the node itself still reaches the camera.
        loaded = in_netns(link.node, tempaddr.run_tool, ["nft", "-f", str(NFT_FILE)])
        assert loaded.returncode == 0, loaded.stderr
        assert not in_netns(tablets, _reaches_camera)
        assert in_netns(link.node, _reaches_camera)
        found = in_netns(link.node, health.no_forwarding, node_config)
        assert found.status == "ok" and "dropped" in found.detail
        # Loading it again (a service restart) keeps one table, not two.
        again = in_netns(link.node, tempaddr.run_tool, ["nft", "-f", str(NFT_FILE)])
        assert again.returncode == 0, again.stderr
    finally:
        _sysctl_forward(link.node, 0)


def test_a_bridge_holding_the_wired_port_fails(site, node_config):
    link = site["link"]
    bridge = f"{link.node_if}br"
    ip("link", "add", bridge, "type", "bridge", namespace=link.node)
    try:
        found = in_netns(link.node, health.no_forwarding, node_config)
    finally:
        ip("link", "del", bridge, namespace=link.node)
    assert found.status == "fail" and bridge in found.detail
