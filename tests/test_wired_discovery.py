"""Finding cameras on the wired link by WS-Discovery, inside network namespaces: the node in
one, the cabinet's cameras in another, joined by a veth pair; a third namespace on another
of the node's interfaces stands for the hotspot's tablets and must hear nothing."""

from __future__ import annotations

import pytest

from survey_node.errors import BadInput
from survey_node.wired import wsdiscovery
from tests.netns import Link, in_netns, ip, link  # noqa: F401 - link is a fixture
from tests.servers.wsd_camera import (FakeCamera, Responder, axis_scopes, dahua_scopes,
                                      hikvision_scopes)

pytestmark = pytest.mark.system
NODE_ADDR, CAB_ADDR = "169.254.10.1", "169.254.10.2"


@pytest.fixture(scope="module")
def cabinet(link):
    ip("addr", "add", f"{NODE_ADDR}/16", "dev", link.node_if, namespace=link.node)
    for last in range(2, 8):
        ip("addr", "add", f"169.254.10.{last}/16", "dev", link.cabinet_if, namespace=link.cabinet)
    cameras = [
        FakeCamera("169.254.10.2", hikvision_scopes(),
                   xaddrs=["http://169.254.10.2/onvif/device_service",
                           "http://[fe80::4619:b6ff:fe3a:7ce1]/onvif/device_service"],
                   endpoint="urn:uuid:4d454930-0023-1002-8000-4419b63a7ce1"),
        FakeCamera("169.254.10.3", dahua_scopes(), reply="twice",
                   xaddrs=["http://169.254.10.3:8080/onvif/device_service"],
                   endpoint="urn:uuid:2c5b9e58-1d3a-11b2-8a3d-9c14637f0a2b"),
        FakeCamera("169.254.10.4", axis_scopes(), reply="huge", endpoint="urn:uuid:axis-huge"),
        FakeCamera("169.254.10.5", axis_scopes(), reply="malformed", endpoint="urn:uuid:broken"),
        FakeCamera("169.254.10.6", dahua_scopes(), reply="bomb", endpoint="urn:uuid:bomb"),
    ]
    responder = in_netns(link.cabinet, lambda: Responder(cameras, CAB_ADDR).start())

    # The hotspot side: another interface of the node, with a camera-like responder on it.
    tablets = f"{link.cabinet}-t"[:20]
    ip("netns", "add", tablets)
    hotspot_if, tablet_if = f"{link.node_if}h", f"{link.cabinet_if}t"
    try:
        ip("link", "add", hotspot_if, "netns", link.node, "type", "veth",
           "peer", "name", tablet_if, "netns", tablets)
        ip("addr", "add", "10.42.0.1/24", "dev", hotspot_if, namespace=link.node)
        ip("addr", "add", "10.42.0.20/24", "dev", tablet_if, namespace=tablets)
        for namespace, interface in ((link.node, hotspot_if), (tablets, tablet_if),
                                     (tablets, "lo")):
            ip("link", "set", interface, "up", namespace=namespace)
        # A default route via the hotspot side: the probe must still not go there.
        ip("route", "add", "default", "via", "10.42.0.20", namespace=link.node)
        stray = in_netns(tablets, lambda: Responder(
            [FakeCamera("10.42.0.20", hikvision_scopes("DS-TABLET")
                        , endpoint="urn:uuid:tablet")], "10.42.0.20").start())
        try:
            search = in_netns(link.node, wsdiscovery.discover, link.node_if, timeout_s=1.5)
            yield {"search": search, "responder": responder, "stray": stray,
                   "hotspot_if": hotspot_if}
        finally:
            stray.stop()
    finally:
        responder.stop()
        ip("netns", "del", tablets, check=False)


def test_two_cameras_listed_with_maker_model_and_xaddr(cabinet):
    cameras = {c.ip: c for c in cabinet["search"].cameras}
    assert sorted(cameras) == ["169.254.10.2", "169.254.10.3"]
    hik, dahua = cameras["169.254.10.2"], cameras["169.254.10.3"]
    assert (hik.manufacturer, hik.model, hik.mac, hik.brand) == \
        ("HIKVISION", "DS-2CD2143G2-IU", "44:19:b6:3a:7c:e1", "hikvision")
    assert hik.xaddr == "http://169.254.10.2/onvif/device_service" and hik.onvif_port == 80
    assert len(hik.xaddrs) == 2  # the IPv6 link-local one is kept in the list, not picked
    assert (dahua.manufacturer, dahua.model, dahua.brand) == \
        ("Dahua", "IPC-HFW2431S-S-S2", "dahua")
    assert dahua.onvif_port == 8080
    assert cabinet["search"].source == NODE_ADDR


def test_duplicates_are_one_camera(cabinet):
    # The Dahua answers each of the two probes twice: four replies, one camera.
    endpoints = [c.endpoint for c in cabinet["search"].cameras]
    assert len(endpoints) == len(set(endpoints)) == 2


def test_huge_malformed_and_entity_replies_are_refused_with_a_reason(cabinet):
    rejected = " | ".join(cabinet["search"].rejected)
    assert "169.254.10.4: reply over 32768 bytes" in rejected
    assert "169.254.10.5: reply is not well-formed XML" in rejected
    assert "169.254.10.6: reply declares a DTD or entities" in rejected


def test_probe_goes_out_on_the_wired_port_only(cabinet):
    assert cabinet["responder"].probes, "the cabinet heard no probe"
    assert cabinet["stray"].probes == []
    assert all(c.model != "DS-TABLET" for c in cabinet["search"].cameras)


def test_the_hotspot_is_refused_as_the_wired_port(link, cabinet):
    before = len(cabinet["stray"].probes)
    with pytest.raises(BadInput) as refused:
        in_netns(link.node, wsdiscovery.discover, cabinet["hotspot_if"], timeout_s=0.3,
                 hotspot_address="10.42.0.1")
    assert refused.value.line() == f"{cabinet['hotspot_if']} is the hotspot, not the wired port"
    assert len(cabinet["stray"].probes) == before


def test_interface_without_address_or_unknown_is_one_line(link):
    bare = f"{link.node_if}b"
    ip("link", "add", bare, "type", "veth", "peer", "name", f"{bare}p", namespace=link.node)
    ip("link", "set", bare, "up", namespace=link.node)
    with pytest.raises(BadInput) as no_address:
        in_netns(link.node, wsdiscovery.discover, bare, timeout_s=0.2)
    assert no_address.value.line() == f"The wired port {bare} has no IPv4 address yet (is the cable in?)"
    with pytest.raises(BadInput) as missing:
        in_netns(link.node, wsdiscovery.discover, "eth9", timeout_s=0.2)
    assert missing.value.line() == "There is no network interface eth9 on this node"
    with pytest.raises(BadInput):
        wsdiscovery.discover("eth0; reboot", timeout_s=0.2)


# -- the parser on its own, with the message shapes cameras send -----------------------

def test_axis_scopes_and_ws_dd_1_1_namespace():
    reply = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
        ' xmlns:a="http://www.w3.org/2005/08/addressing"'
        ' xmlns:d="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01">'
        "<s:Header><a:Action>http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/ProbeMatches"
        "</a:Action><a:RelatesTo>uuid:p1</a:RelatesTo></s:Header><s:Body><d:ProbeMatches>"
        "<d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:axis-1</a:Address>"
        "</a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
        f"<d:Scopes>{' '.join(axis_scopes())}</d:Scopes>"
        "<d:XAddrs>http://[fe80::240:8cff:fe12:3456]/onvif/device_service "
        "http://192.168.0.90/onvif/device_service</d:XAddrs></d:ProbeMatch>"
        "</d:ProbeMatches></s:Body></s:Envelope>").encode()
    [match] = wsdiscovery.parse_probe_matches(reply, relates_to="uuid:p1")
    camera = wsdiscovery.camera_from_match(match, "192.168.0.90")
    assert (camera.manufacturer, camera.model, camera.brand) == ("AXIS", "P1448-LE", "axis")
    assert camera.xaddr == "http://192.168.0.90/onvif/device_service"
    with pytest.raises(ValueError, match="reply to another probe"):
        wsdiscovery.parse_probe_matches(reply, relates_to="uuid:other")


def test_a_device_cannot_point_at_another_address():
    [match] = wsdiscovery.parse_probe_matches(
        FakeCamera("10.0.0.7", dahua_scopes(), xaddrs=["http://10.42.0.5/onvif/device_service"])
        .probe_matches("uuid:p"), relates_to="uuid:p")
    assert wsdiscovery.camera_from_match(match, "10.0.0.7").ip == "10.0.0.7"


# -- the CLI and the survey page's API, run in the node's namespace ----------------------

def test_cli_discover_lists_the_cameras(link, cabinet, cli, data_dir):
    import json

    result = in_netns(link.node, cli, "stream", "discover", "--data-dir", data_dir,
                      "--interface", link.node_if, "--timeout", "1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert sorted((c["ip"], c["brand"]) for c in data["cameras"]) == \
        [("169.254.10.2", "hikvision"), ("169.254.10.3", "dahua")]
    text = in_netns(link.node, cli, "stream", "discover", "--data-dir", data_dir,
                    "--interface", link.node_if, "--timeout", "1")
    assert "169.254.10.2  HIKVISION DS-2CD2143G2-IU [brand hikvision]" \
        "  http://169.254.10.2/onvif/device_service" in text.output


def test_api_lists_cameras_and_says_what_is_wrong_in_thai(link, cabinet, config, client, auth):
    config.wired.interface, config.wired.discover_timeout_s = link.node_if, 1.0
    auth.login("surveyor")
    answer = in_netns(link.node, client.post, "/api/v1/wired/discover", json={})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    data = answer.get_json()
    assert sorted(c["ip"] for c in data["cameras"]) == ["169.254.10.2", "169.254.10.3"]
    assert data["ignored"] >= 3 and "rejected" not in data

    config.wired.interface = "eth9"
    refused = in_netns(link.node, client.post, "/api/v1/wired/discover", json={})
    assert refused.status_code == 400
    assert refused.get_json()["message"] == "เครื่องนี้ไม่มีพอร์ตเครือข่าย eth9"
