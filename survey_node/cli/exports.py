"""`survey-node export`: the node's cameras as a file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import db as database
from .. import exports
from . import data_dir_option, main
from .core import _require_init


@main.command("export")
@data_dir_option
@click.option("--format", "fmt", type=click.Choice(sorted(exports.WRITERS)), default="geojson",
              show_default=True, help="File format of the export.")
@click.option("--out", default="-", show_default=True,
              help="File to write, or - for standard output.")
def export_cmd(data_dir, fmt, out):
    """Export every camera (with registered position, codes and registry status)."""
    cfg = _require_init(data_dir)
    db = database.connect(cfg.db_path)
    try:
        if out == "-":
            count = exports.export(db, fmt, sys.stdout)
            sys.stdout.flush()
        else:
            path = Path(out)
            tmp = path.with_name(path.name + ".part")
            with open(tmp, "w", encoding="utf-8") as fh:
                count = exports.export(db, fmt, fh)
            tmp.replace(path)
    finally:
        db.close()
    click.echo(f"exported {count} cameras", err=True)
