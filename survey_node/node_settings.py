"""Settings an admin changes on a running node (for now: the province it surveys).

A change is written to the data dir's config file, applied to the running config at once
(the next import uses it) and recorded in the audit log.
"""

from __future__ import annotations

from sqlite_utils import Database

from . import config as config_mod
from .config import Config
from .db import audit, transaction
from .inventory.places import find_province, province_code


def set_province(config: Config, db: Database, text: str, *, actor: str | None) -> str:
    """Set the node's province from a name or DOPA code ("" clears it); returns the code.
    A name that is no province raises BadInput and changes nothing."""
    code = province_code(text) if str(text or "").strip() else ""
    before = config.node.province_code
    config_mod.save_setting(config.data_dir, "node", "province_code", code)
    config.node.province_code = code
    with transaction(db):
        audit(db, actor=actor, action="settings.province", entity="config",
              entity_id="node.province_code", detail={"from": before, "to": code})
    return code


def province_label(code: str) -> str:
    prov = find_province(code) if code else None
    return f"{prov.name_th} ({prov.code})" if prov else ""
