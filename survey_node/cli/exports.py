"""`survey-node export`: the hand-in files (XLSX, CSV, GeoJSON, KML, evidence zip, PDF)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from .. import db as database
from .. import exports as export_mod
from ..errors import BadInput
from .base import data_dir_option, json_option, main
from .core import _require_init


@main.command("export")
@data_dir_option
@click.option("--format", "fmt", type=click.Choice(export_mod.FORMATS), default="geojson",
              show_default=True,
              help="geojson (for QGIS), xlsx (Thai headers + quota sheet), csv (UTF-8 with BOM),"
                   " kml (Google Earth), evidence-zip (photos + SHA-256 manifest) or pdf (A4"
                   " evidence sheets).")
@click.option("--state", "scope", type=click.Choice(export_mod.SCOPES), default="all",
              show_default=True,
              help="Which cameras: the survey set (selected), the surveyed, the approved, or all.")
@click.option("--amphoe", default="", help="Only this district (DOPA code or name).")
@click.option("--agency", default="", help="Only this agency (its name as in the registry).")
@click.option("--out", default="-", show_default=True,
              help="The file to write (replaced only when the export succeeds), or - for"
                   " standard output (geojson, csv and kml only).")
@json_option
def export_cmd(data_dir, fmt, scope, amphoe, agency, out, as_json):
    """Export cameras with their survey results for the ministry, QGIS or Google Earth."""
    cfg = _require_init(data_dir)
    db = database.connect(cfg.db_path)
    try:
        if out == "-":
            count = _to_stdout(db, cfg, fmt, scope=scope, amphoe=amphoe, agency=agency)
        else:
            count = export_mod.export_file(db, cfg, fmt, Path(out), scope=scope, amphoe=amphoe,
                                           agency=agency)
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps({"format": fmt, "state": scope, "cameras": count, "out": out}),
                   err=out == "-")
    else:
        click.echo(f"exported {count} cameras" + ("" if out == "-" else f" to {out}"), err=True)


def _to_stdout(db, cfg, fmt, **scope) -> int:
    if fmt not in ("geojson", "csv", "kml"):
        raise BadInput("%(format)s is a binary file: give --out FILE", format=fmt)
    if fmt == "geojson":  # streamed: a whole province never sits in memory
        found = export_mod.records(db, **scope)
        whole = scope["scope"] == "all" and not (scope["amphoe"] or scope["agency"])
        count = export_mod.write_geojson_scope(db, sys.stdout, found, whole=whole)
        sys.stdout.flush()
        return count
    with tempfile.TemporaryDirectory(dir=cfg.data_dir) as tmp:
        path = Path(tmp) / f"export.{fmt}"
        count = export_mod.export_file(db, cfg, fmt, path, **scope)
        sys.stdout.buffer.write(path.read_bytes())
        sys.stdout.flush()
    return count
