"""Shared bits of the appliance tests: where the files are, and a systemd unit-file reader."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SYSTEMD = REPO / "systemd"
IMAGES = REPO / "images"
UNIT_FILES = sorted(p for p in SYSTEMD.iterdir() if p.suffix in (".service", ".timer"))
SCRIPTS = sorted(IMAGES.rglob("*.sh"))
# Paths the units use on the appliance.
APPLIANCE_VENV = "/opt/survey-node/venv"
APPLIANCE_DATA = "/srv/survey-node"
FIRSTBOOT = "/usr/lib/survey-node/firstboot"


def read_unit(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) for every setting, in order (keys like Environment= repeat)."""
    settings = []
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        settings.append((section, key.strip(), value.strip()))
    return settings


def unit_values(path: Path, section: str, key: str) -> list[str]:
    return [v for s, k, v in read_unit(path) if s == section and k == key]
