"""Doctor checks for the wired port: is the cable in, which addresses the port has (a DHCP
lease, its link-local address, temporary ones for fixed-address cameras), and that the
node forwards nothing between the port and the hotspot."""

from __future__ import annotations

import ipaddress
import json
import shutil

from ..config import Config
from ..doctor import Check, check
from .tempaddr import run_tool
from .. import db as database
from ..db import wired as wired_db

NOT_NODE_TH = "ไม่ใช่เครื่องสำรวจ (ไม่มีคำสั่ง ip)"


def _ip_json(*args: str) -> list:
    result = run_tool(["ip", "-j", *args])
    if result.returncode != 0:
        raise LookupError(" ".join(result.stderr.split())[:200])
    return json.loads(result.stdout or "[]")


def describe_port(link: dict, temporary: set[str]) -> tuple[bool, list[str]]:
    """(carrier, address descriptions) from one `ip -j addr show` entry."""
    carrier = "LOWER_UP" in link.get("flags", []) and link.get("operstate") != "DOWN"
    described = []
    for info in link.get("addr_info", []):
        if info.get("family") != "inet":
            continue
        text = f"{info['local']}/{info['prefixlen']}"
        if info["local"] in temporary:
            described.append(f"{text} temporary")
        elif ipaddress.IPv4Address(info["local"]).is_link_local:
            described.append(f"{text} link-local")
        elif info.get("dynamic"):
            left = info.get("valid_life_time")
            described.append(f"{text} DHCP lease" + (f" ({left} s left)"
                                                    if isinstance(left, int) else ""))
        else:
            described.append(f"{text} fixed")
    return carrier, described


def _temporary(config: Config, interface: str) -> set[str]:
    if not config.db_path.exists():
        return set()
    db = database.connect(config.db_path)
    try:
        return {r["address"] for r in wired_db.rows_temp_addresses(db)
                if r["interface"] == interface}
    finally:
        db.close()


@check
def wired_port(config: Config) -> Check:
    interface = config.wired.interface
    if shutil.which("ip") is None:
        return Check("wired", "warn", "not an appliance: iproute2 (ip) is not installed",
                     "Only on a survey node built from images/provision.sh.", NOT_NODE_TH)
    try:
        links = _ip_json("addr", "show", "dev", interface)
    except LookupError as exc:
        return Check("wired", "warn", f"no wired port {interface}: {exc}",
                     "Set wired.interface to the Ethernet port's name (`ip link`).",
                     "ตั้งค่า wired.interface เป็นชื่อพอร์ตแลน (ดูด้วย `ip link`)")
    carrier, addresses = describe_port(links[0] if links else {},
                                       _temporary(config, interface))
    shown = ", ".join(addresses) or "no IPv4 address"
    if not carrier:
        return Check("wired", "warn", f"{interface} link down (no cable); {shown}",
                     "Plug the cable into the camera cabinet's switch.",
                     "เสียบสายแลนเข้ากับสวิตช์ในตู้กล้อง")
    if not addresses:
        return Check("wired", "warn", f"{interface} link up, no IPv4 address yet",
                     "Wait a few seconds for the link-local address; check the"
                     " survey-node-wired NetworkManager profile.",
                     "รอสักครู่ให้ได้ที่อยู่ link-local แล้วตรวจโปรไฟล์ survey-node-wired")
    return Check("wired", "ok", f"{interface} link up; {shown}")


@check
def no_forwarding(config: Config) -> Check:
    """Nothing routed between the hotspot and the wired port: kernel forwarding off, or
    blocked by the node's nft table; and no bridge with the wired port in it."""
    if shutil.which("ip") is None:
        return Check("forwarding", "warn", "not an appliance: iproute2 (ip) is not installed",
                     "Only on a survey node built from images/provision.sh.", NOT_NODE_TH)
    try:
        bridges = [b.get("ifname") for b in _ip_json("link", "show", "type", "bridge")]
        port = _ip_json("link", "show", "dev", config.wired.interface)
    except LookupError:
        port = []
    master = port[0].get("master") if port else None
    if bridges or master:
        return Check("forwarding", "fail",
                     f"bridge {', '.join(filter(None, bridges)) or master} joins ports"
                     f"{f' ({config.wired.interface} in {master})' if master else ''}",
                     "Remove the bridge: the hotspot and the camera network must stay apart.",
                     "ลบบริดจ์ออก: เครือข่ายฮอตสปอตกับเครือข่ายกล้องต้องแยกกัน")
    with open("/proc/sys/net/ipv4/ip_forward", encoding="ascii") as fh:
        forwarding = fh.read().strip() == "1"
    if not forwarding:
        return Check("forwarding", "ok", "IPv4 forwarding off; no bridge")
    blocked = _nft_blocks()
    if blocked is None:
        return Check("forwarding", "warn",
                     "IPv4 forwarding on (the hotspot's NAT); the drop rule could not be read",
                     "Run doctor as root to see the nft table survey_node.",
                     "สั่ง doctor ด้วยสิทธิ์ root เพื่อดูตาราง nft survey_node")
    if blocked:
        return Check("forwarding", "ok",
                     "IPv4 forwarding on (the hotspot's NAT) but every forwarded packet is"
                     " dropped (nft table inet survey_node); no bridge")
    return Check("forwarding", "fail",
                 "IPv4 forwarding on and not blocked: tablets could reach the camera network",
                 "`systemctl restart survey-node-noforward` (provisioning installs it).",
                 "สั่ง `systemctl restart survey-node-noforward` เพื่อปิดการส่งต่อแพ็กเก็ต")


def _nft_blocks() -> bool | None:
    if shutil.which("nft") is None:
        return False
    try:
        result = run_tool(["nft", "list", "chain", "inet", "survey_node", "forward"])
    except Exception:  # noqa: BLE001 - a tool that does not answer is reported as unknown
        return None
    if result.returncode != 0:
        lowered = result.stderr.lower()
        return None if "permission" in lowered or "not permitted" in lowered else False
    return "policy drop" in result.stdout
