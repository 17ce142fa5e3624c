"""`survey-node evidence`: look after the evidence store (thumbnails, integrity)."""

from __future__ import annotations

import json

import click

from .. import photos
from ..evidence import EvidenceStore
from .base import data_dir_option, json_option, main
from .core import _require_init


@main.group()
def evidence():
    """Look after the evidence store (photos and snapshots, stored by SHA-256)."""


@evidence.command("thumbnails")
@data_dir_option
@click.option("--force", is_flag=True, help="Remake every thumbnail, not only missing ones.")
@json_option
def thumbnails(data_dir, force, as_json):
    """Rebuild thumbnails from the stored photos (they are derived, never evidence)."""
    cfg = _require_init(data_dir)
    made = photos.rebuild_thumbnails(EvidenceStore(cfg.evidence_dir), cfg.camera.thumb_size,
                                     force=force)
    click.echo(json.dumps({"thumbnails": made}) if as_json else f"made {made} thumbnail(s)")


@evidence.command("verify")
@data_dir_option
@json_option
def verify(data_dir, as_json):
    """Re-hash every stored item; list any whose bytes no longer match their name."""
    cfg = _require_init(data_dir)
    store = EvidenceStore(cfg.evidence_dir)
    checked, damaged = 0, []
    for sha256 in store.hashes():
        checked += 1
        if not store.verify(sha256):
            damaged.append(sha256)
    if as_json:
        click.echo(json.dumps({"checked": checked, "damaged": damaged}))
    else:
        click.echo(f"checked {checked} item(s), {len(damaged)} damaged")
        for sha256 in damaged:
            click.echo(f"  damaged: {store.path(sha256)}")
    return 1 if damaged else 0
