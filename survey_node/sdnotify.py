"""systemd's notify protocol and a health-checked watchdog, without a dependency.

Under ``Type=notify`` systemd passes ``$NOTIFY_SOCKET`` (a unix datagram socket) and, with
``WatchdogSec=``, ``$WATCHDOG_USEC``. The server sends ``READY=1`` once its socket is bound
and then ``WATCHDOG=1`` at half the watchdog interval -- but only while its own
``/healthz`` answers through the listening socket. A process that is alive but cannot serve
(deadlocked dispatcher, every worker thread stuck, database unreadable) therefore stops
pinging, and systemd kills and restarts it. Outside systemd every function here is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import urllib.error
import urllib.request

log = logging.getLogger(__name__)


def notify(message: str, env=None) -> bool:
    """Send one notify message ("READY=1", "WATCHDOG=1", ...); False when not under systemd."""
    env = os.environ if env is None else env
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(2)
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.warning("could not notify systemd (%s): %s", message, exc)
        return False
    return True


def watchdog_interval(env=None) -> float | None:
    """Seconds between watchdog pings (half of WatchdogSec=), or None when there is none."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.5, int(usec) / 2_000_000)
    except ValueError:
        return None


def healthy(url: str, timeout: float) -> bool:
    """True when GET `url` answers 200 within `timeout` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own URL
            return response.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def health_url(host: str, port: int) -> str:
    """Where the watchdog asks: the listening socket itself (loopback for a wildcard bind)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def start_watchdog(url: str, env=None, stop: threading.Event | None = None) -> threading.Thread | None:
    """Ping systemd's watchdog while `url` is healthy; None when no watchdog is configured."""
    interval = watchdog_interval(env)
    if interval is None:
        return None
    stop = stop or threading.Event()
    timeout = min(5.0, interval)

    def loop() -> None:
        while not stop.wait(interval):
            if healthy(url, timeout):
                notify("WATCHDOG=1", env)
            else:
                # Say why in the journal; systemd restarts us when the pings stay away.
                log.warning("health check %s failed: not pinging the watchdog", url)

    thread = threading.Thread(target=loop, name="sd-watchdog", daemon=True)
    thread.start()
    return thread
