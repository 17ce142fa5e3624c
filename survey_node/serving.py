"""Run the node app under waitress (the production server; Flask's own is for debugging)."""

from __future__ import annotations

import logging

from .config import Config

log = logging.getLogger(__name__)


def serve_app(config: Config, *, host: str, port: int, demo: bool = False) -> None:
    from waitress import create_server

    from . import sdnotify
    from .app import create_app
    from .devices import build_devices

    _remove_wired_leftovers(config)
    app = create_app(config, devices=build_devices(config, demo=demo))
    server = create_server(app, host=host, port=port, threads=config.web.threads,
                           ident="survey-node", channel_timeout=60)
    log.info("serving on http://%s:%s/ (data dir %s)", host, port, config.data_dir)
    # Under systemd (Type=notify): ready once the socket is bound, then a health-checked
    # watchdog; elsewhere both are no-ops.
    sdnotify.notify("READY=1")
    sdnotify.start_watchdog(sdnotify.health_url(str(server.effective_host), int(server.effective_port)))
    server.run()


def _remove_wired_leftovers(config: Config) -> None:
    """Temporary addresses a crash left on the wired port go before the first request."""
    from . import db as database
    from .wired.tempaddr import remove_leftovers

    db = database.connect(config.db_path)
    try:
        for item in remove_leftovers(db):
            log.info("removed temporary address %s left by an earlier run", item)
    except Exception:  # noqa: BLE001 - the web UI must start even if `ip` misbehaves
        log.warning("could not clear the wired port's temporary addresses", exc_info=True)
    finally:
        db.close()
