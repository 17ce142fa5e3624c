"""`survey-node`: a click group of thin commands over the services (cli/base.py), one module
per area; importing an area's module registers its commands on `main`."""

from __future__ import annotations

from . import (appliance, core, demo, evidence, exports, gps, inventory, review,  # noqa: F401
               selection, streamcheck, streamfind, sync, wired)
from ..registry.cli import registry
from .base import main

main.add_command(registry)

__all__ = ["main"]
