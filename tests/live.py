"""Real servers for browser and integration tests: the node as a subprocess, and Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TABLET = {"width": 768, "height": 1024}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, *, deadline_s: float = 20.0, process=None) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {deadline_s}s")


@contextlib.contextmanager
def running_node(data_dir: Path, *args: str, command: str = "serve", env: dict | None = None,
                 python: str = sys.executable, cwd: Path | None = None):
    """`survey-node <command> --data-dir DIR --host 127.0.0.1 --port P` in a subprocess."""
    with running_server([python, "-m", "survey_node", *command.split(), "--data-dir",
                         str(data_dir)], *args, log_dir=Path(data_dir).parent, env=env,
                        cwd=cwd) as base:
        yield base


@contextlib.contextmanager
def running_server(argv: list[str], *args: str, log_dir: Path, env: dict | None = None,
                   cwd: Path | None = None):
    """A server command given `--host 127.0.0.1 --port P`; yields its base URL once its
    /healthz answers, and stops it (terminate, then kill) on the way out."""
    port = free_port()
    log = open(Path(log_dir) / f"server-{port}.log", "wb")
    process = subprocess.Popen(
        [*argv, "--host", "127.0.0.1", "--port", str(port), *args],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=cwd,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/healthz", process=process)
        yield base
    finally:
        stop_process(process)
        log.close()


def stop_process(process: subprocess.Popen, *, grace_s: float = 10) -> None:
    """SIGTERM, and SIGKILL if it has not ended after `grace_s`."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextlib.contextmanager
def serving_app(config, *, threads: int = 4):
    """The node app under waitress in this process (for tests that also touch its database)."""
    import threading

    from waitress import create_server

    from survey_node.app import create_app

    server = create_server(create_app(config), host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


@contextlib.contextmanager
def chromium():
    """Debian's Chromium, driven by Playwright (pages come from new_tablet_page)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()


def logged_in_page(browser, base: str, name: str, pin: str):
    """A tablet page of its own, logged in as `name`."""
    page = new_tablet_page(browser)
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#pin", pin)
    page.click("form button.btn-primary")
    page.wait_for_load_state()
    return page


def new_tablet_page(browser, viewport: dict | None = None):
    """A page in a context of its own (its own cookies: another person, another tablet)."""
    # bypass_csp: the node's CSP forbids eval, which Playwright's wait_for_function uses
    # to poll a condition; the pages themselves never need it.
    context = browser.new_context(viewport=viewport or TABLET, has_touch=True, locale="th-TH",
                                  bypass_csp=True)
    context.set_default_timeout(15_000)
    # The product must never fetch anything from outside this node.
    outside: list[str] = []
    context.route(
        lambda url: not url.startswith(("http://127.0.0.1", "data:", "blob:")),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    page = context.new_page()
    page.outside_requests = outside
    return page


@contextlib.contextmanager
def tablet_browser(viewport: dict | None = None):
    """A Playwright page in Debian's Chromium at tablet size."""
    with chromium() as browser:
        yield new_tablet_page(browser, viewport)


def make_demo_data(root: Path, **extra_env: str) -> tuple[dict, dict]:
    """`survey-node demo --no-serve` into `root` with its stream and registry servers on free
    ports; returns the environment to serve it with and the demo users' PINs."""
    import json

    from click.testing import CliRunner

    from survey_node.cli import main

    env = {"SURVEY_NODE_DEMO__STREAMS_PORT": str(free_port()),
           "SURVEY_NODE_DEMO__REGISTRY_PORT": str(free_port()), **extra_env}
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--data-dir", str(root)], env=env)
    assert result.exit_code == 0, result.output
    pins = {u["name"]: u["pin"] for u in json.loads((root / "demo-users.json").read_text())}
    return env, pins


def assigned_cameras(root: Path, user: str, limit: int) -> list[str]:
    """Camera ids assigned to `user` in a demo data dir, with a registered position."""
    import sqlite3

    conn = sqlite3.connect(root / "survey.db")
    try:
        return [row[0] for row in conn.execute(
            "SELECT c.camera_id FROM cameras c JOIN assignments a ON a.camera_id = c.camera_id"
            " WHERE a.user_name = ? AND c.registered_lat IS NOT NULL ORDER BY c.camera_id"
            " LIMIT ?", [user, limit])]
    finally:
        conn.close()


def log_in(page, base: str, name: str, pin: str) -> None:
    """Log in through the login page and wait for the home page."""
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#pin", pin)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")


def open_menu(page) -> None:
    """Open the top menu where a phone folds it behind its button (a no-op on a tablet)."""
    toggle = page.locator("[data-testid=menu-toggle]")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        page.wait_for_selector("#topmenu.open")
