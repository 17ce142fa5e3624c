"""Hardware behind small interfaces: one module per device type, backends chosen by config.

Hardware libraries are imported inside their backend, so a missing one is reported as a
state ("not available"), never a crash at import time.
"""

from __future__ import annotations

from ..config import Config


def build_devices(config: Config, *, demo: bool = False) -> dict:
    """The device backends for this config (later issues add gps and camera)."""
    return {}
