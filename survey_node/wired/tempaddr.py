"""A temporary address on the wired port, for a camera with a fixed address in a subnet
the port is not on (camera 192.168.1.64, port on DHCP or link-local only).

The node takes a free address of the camera's subnet (from the top: .254, .253, ...; free
means nobody answered an ARP duplicate-address probe for it, RFC 5227's test), adds it
with `ip addr add` for the search, and removes it afterwards, also when the search fails.
The address is recorded in the database before it is added, so one left behind by a crash
or a power cut is removed at the next start (`remove_leftovers`); and it is added with a
lifetime, so the kernel drops it by itself even if the node never gets to.

It never touches the hotspot: a camera subnet that overlaps the hotspot's network is
refused, and nothing here enables forwarding between the ports.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import os
import shutil
import subprocess
import threading
from contextlib import contextmanager

from ..db import wired as wired_db
from ..errors import BadInput, DeviceUnavailable

log = logging.getLogger(__name__)
IP_TIMEOUT_S = 5.0
MAX_CANDIDATES = 4  # a subnet whose top four addresses are all taken is not one to guess in
HOTSPOT_PREFIX = 24  # the hotspot profile's address1=<address>/24
_LOCK = threading.Lock()
_IN_USE: dict[tuple[str, str], list] = {}  # (interface, network) -> [address, searches using it]


def run_tool(args: list[str], timeout: float = IP_TIMEOUT_S) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        raise DeviceUnavailable("%(program)s is not installed on this node", program=args[0])
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                              check=False, env={**os.environ, "LC_ALL": "C"})
    except subprocess.TimeoutExpired:
        raise DeviceUnavailable("%(program)s gave no answer in %(seconds)s s",
                                program=args[0], seconds=round(timeout)) from None


def ipv4_addresses(interface: str | None = None) -> list[tuple[str, ipaddress.IPv4Interface]]:
    """(interface, address/prefix) of every IPv4 address, or of one interface's."""
    result = run_tool(["ip", "-j", "-4", "addr", "show", *(["dev", interface] if interface else [])])
    if result.returncode != 0:
        if interface and "does not exist" in result.stderr:
            raise BadInput("There is no network interface %(interface)s on this node",
                           interface=interface[:30]).at("interface")
        raise DeviceUnavailable("ip addr show failed: %(why)s",
                                why=" ".join(result.stderr.split())[:200])
    found = []
    for link in json.loads(result.stdout or "[]"):
        for info in link.get("addr_info", []):
            if info.get("family") == "inet":
                found.append((link.get("ifname", ""), ipaddress.IPv4Interface(
                    f"{info['local']}/{info['prefixlen']}")))
    return found


def subnet_needed(config, host: str) -> ipaddress.IPv4Network | None:
    """The camera's subnet when reaching `host` needs a temporary address, else None
    (a host name, IPv6, an address on a network the node already has, or turned off)."""
    wired = config.wired
    try:
        address = ipaddress.IPv4Address((host or "").strip())
    except ValueError:
        return None
    if not wired.temp_addresses or not address.is_private or address.is_loopback \
            or address.is_link_local:  # link-local: the port's own 169.254 address reaches it
        return None
    network = ipaddress.IPv4Network(f"{address}/{wired.temp_prefix}", strict=False)
    hotspot = ipaddress.IPv4Network(f"{config.hotspot.address}/{HOTSPOT_PREFIX}", strict=False)
    if network.overlaps(hotspot):
        raise BadInput("The camera's address %(host)s is in the hotspot's network"
                       " %(network)s: the node will not put its wired port there",
                       host=str(address), network=str(hotspot)).at("host")
    if shutil.which("ip") is None:
        return None  # not a node (a laptop): the search goes on as it would without
    if any(address in found.network for _, found in ipv4_addresses()):
        return None
    try:
        ipv4_addresses(wired.interface)
    except BadInput:
        return None  # no wired port here: the search itself will say the camera is unreachable
    return network


def _taken(interface: str, candidate: str, wait_s: float) -> bool:
    """Did any device answer an ARP duplicate-address probe for `candidate`?"""
    wait = max(1, math.ceil(wait_s))
    result = run_tool(["arping", "-D", "-q", "-I", interface, "-c", "1", "-w", str(wait), candidate],
                  timeout=wait + IP_TIMEOUT_S)
    if result.returncode not in (0, 1):
        raise DeviceUnavailable("arping on %(interface)s failed: %(why)s", interface=interface,
                                why=" ".join((result.stderr or result.stdout).split())[:200])
    return result.returncode == 1


def pick_free_address(config, network: ipaddress.IPv4Network, host: str) -> str:
    interface = config.wired.interface
    mine = {str(found.ip) for _, found in ipv4_addresses()}
    tried = 0
    top = network.broadcast_address
    for step in range(1, MAX_CANDIDATES + 3):
        if top - step <= network.network_address:
            break
        text = str(top - step)
        if text == host or text in mine:
            continue
        if not _taken(interface, text, config.wired.arp_wait_s):
            return text
        tried += 1
        if tried >= MAX_CANDIDATES:
            break
    raise DeviceUnavailable("No free address for this node in %(network)s: other devices"
                            " answered on the ones it tried", network=str(network))


def _add(config, db, address: str, network, host: str, actor: str | None) -> None:
    interface, prefix = config.wired.interface, network.prefixlen
    # Recorded first: a crash between the two steps leaves a record of an address that may
    # not exist, which the next start clears, never an address nobody knows about.
    wired_db.insert_temp_address(db, interface=interface, address=address, prefix=prefix,
                                 camera_host=host, actor=actor)
    lifetime = str(config.wired.temp_lifetime_s)
    result = run_tool(["ip", "addr", "add", f"{address}/{prefix}", "dev", interface,
                   "valid_lft", lifetime, "preferred_lft", lifetime])
    if result.returncode != 0:
        wired_db.delete_temp_address(db, interface=interface, address=address, actor=actor)
        raise DeviceUnavailable("Could not add the address %(address)s on %(interface)s:"
                                " %(why)s", address=address, interface=interface,
                                why=" ".join(result.stderr.split())[:200])
    log.info("temporary address %s/%s on %s for camera %s", address, prefix, interface, host)


def remove_address(db, interface: str, address: str, prefix: int, *, actor: str | None) -> bool:
    """Take the address off the port and its record out; True when it is gone."""
    try:
        result = run_tool(["ip", "addr", "del", f"{address}/{prefix}", "dev", interface])
    except DeviceUnavailable as exc:
        log.warning("removing %s from %s: %s", address, interface, exc.line())
        return False
    gone = result.returncode == 0 or "Cannot assign requested address" in result.stderr \
        or "does not exist" in result.stderr  # expired, or the port itself is gone
    if not gone:
        log.warning("removing %s from %s failed: %s", address, interface, result.stderr.strip())
        return False
    wired_db.delete_temp_address(db, interface=interface, address=address, actor=actor)
    return True


@contextmanager
def temporary_address(config, db, host: str, *, actor: str | None):
    """Within the block, `host` is reachable on the wired port; yields the address added
    (None when none was needed). Searches at once for one subnet share one address."""
    network = subnet_needed(config, host)
    if network is None:
        yield None
        return
    key = (config.wired.interface, str(network))
    with _LOCK:
        if key in _IN_USE:
            _IN_USE[key][1] += 1
        else:
            address = pick_free_address(config, network, host)
            _add(config, db, address, network, host, actor)
            _IN_USE[key] = [address, 1]
        address = _IN_USE[key][0]
    try:
        yield address
    finally:
        with _LOCK:
            _IN_USE[key][1] -= 1
            if _IN_USE[key][1] == 0:
                del _IN_USE[key]
                remove_address(db, key[0], address, network.prefixlen, actor=actor)


def remove_leftovers(db, *, actor: str | None = "startup") -> list[str]:
    """Remove every recorded temporary address this process is not using (after a crash:
    all of them); returns the ones removed, as address/prefix on interface."""
    with _LOCK:
        busy = {(iface, entry[0]) for (iface, _), entry in _IN_USE.items()}
    removed = []
    for item in wired_db.rows_temp_addresses(db):
        if (item["interface"], item["address"]) in busy:
            continue
        if remove_address(db, item["interface"], item["address"], item["prefix"], actor=actor):
            removed.append(f"{item['address']}/{item['prefix']} on {item['interface']}")
    return removed
