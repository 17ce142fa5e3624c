"""`survey-node import`: the province's camera registry from the file people have."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .. import db as database
from ..errors import BadInput
from ..inventory import columns, coords, quarantine, uploads
from ..inventory.importer import ImportOptions, public_report, run_import
from .base import data_dir_option, json_option, main
from .core import _require_init


@main.command("import")
@data_dir_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sheet", help="Sheet to read (default: the first sheet with a header row).")
@click.option("--mapping", "mapping_file", type=click.Path(dir_okay=False, path_type=Path),
              help='JSON file {"field": "header text" | column number | letter}, optionally with'
                   ' "header_row"; overrides the guessed columns.')
@click.option("--crs", help="Coordinate system of UTM values: EPSG:32647/32648 (WGS84, the"
                            " default) or EPSG:24047/24048 (Indian 1975).")
@click.option("--dry-run", is_flag=True, help="Read and count everything, change nothing.")
@click.option("--remove-missing", is_flag=True,
              help="Also mark the cameras that are not in FILE removed from the registry."
                   " Without it they stay (a file of some districts or agencies must not empty"
                   " the others' worklists).")
@click.option("--only-file-area", is_flag=True,
              help="With --remove-missing: remove only the missing cameras in the districts"
                   " and agencies FILE has (an update of one district's or agency's file).")
@json_option
def import_registry(data_dir, file, sheet, mapping_file, crs, dry_run, remove_missing,
                    only_file_area, as_json):
    """Import the camera registry FILE (xlsx, xls, ods or csv), all or nothing."""
    cfg = _require_init(data_dir)
    if not file.exists():
        raise BadInput("%(file)s does not exist", file=str(file))
    spec = columns.load_mapping_file(mapping_file) if mapping_file else None
    try:
        crs_code = coords.parse_crs(crs)
    except coords.CoordinateError:
        raise BadInput("--crs %(crs)s is not one of EPSG:32647, 32648, 24047, 24048", crs=crs) from None
    options = ImportOptions.from_mapping(spec, sheet=sheet, crs=crs_code, dry_run=dry_run,
                                         default_province=cfg.node.province_code, actor="cli",
                                         limits=uploads.sheet_limits(cfg),
                                         remove_missing=remove_missing,
                                         removal_scope="covered" if only_file_area else "all")
    work_dir = cfg.data_dir / "tmp"
    work_dir.mkdir(exist_ok=True)
    db = database.connect(cfg.db_path)
    try:
        report = _run_with_bar(db, file, options, work_dir, cfg,
                               show=not as_json and sys.stderr.isatty())
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(public_report(report), ensure_ascii=False))
        return
    _print_report(report)


def _run_with_bar(db, file, options, work_dir, cfg, *, show: bool):
    # Always in a reader child (memory limit, deadline): a file that kills it is
    # quarantined, as from the admin page, and refused at once the next time.
    extra = {"work_dir": work_dir, "child": True, "reader": uploads.reader_limits(cfg),
             "quarantine_dir": quarantine.folder(cfg.data_dir)}
    if not show:
        return run_import(db, file, options, **extra)
    with click.progressbar(length=1000, label="importing", file=sys.stderr) as bar:
        def progress(fraction, _message):
            bar.update(int(fraction * 1000) - bar.pos)

        return run_import(db, file, options, progress=progress, **extra)


def _print_report(report: dict) -> None:
    c = report["cameras"]
    where = f"sheet {report['sheet']}, " if report["sheet"] else ""
    click.echo(f"{report['file']} ({where}header row {report['header_row']}):"
               f" {report['rows_read']} rows read")
    click.echo(f"cameras: {c['new']} new, {c['changed']} changed, {c['unchanged']} unchanged,"
               f" {c['removed']} removed from the registry")
    missing = report.get("missing") or {}
    if missing.get("count") and not report.get("removals_applied"):
        click.echo(f"{missing['count']} cameras are not in the file and were kept"
                   f" ({missing['selected']} in the survey set, {missing['surveyed']} with"
                   f" surveys, {missing['outside_file_districts']} outside the file's"
                   f" districts, {missing.get('outside_file_agencies', 0)} outside its"
                   " agencies); --remove-missing marks them removed, with --only-file-area"
                   f" only the {missing.get('covered', 0)} inside its area")
    elif missing.get("count") and report.get("removal_scope") == "covered":
        click.echo(f"{missing['count'] - c['removed']} cameras outside the file's area"
                   " were kept")
    for change in report["changes"][:50]:
        click.echo(f"  changed {change['camera_id']} (row {change['row']}):"
                   f" {', '.join(change['fields'])}")
    if len(report["changes"]) > 50:
        click.echo(f"  ... and {len(report['changes']) - 50} more changed (see --json)")
    for note in report["notes"]:
        click.echo(note["reason"])
    if report["rejected"]:
        click.echo(f"rejected {len(report['rejected'])} rows:")
        for r in report["rejected"]:
            click.echo(f"  row {r['row']}: {r['reason']}")
    if report["warnings"]:
        click.echo(f"{len(report['warnings'])} warnings:")
        for w in report["warnings"]:
            field = f" {w['field']}" if w["field"] else ""
            click.echo(f"  row {w['row']}{field}: {w['reason']}")
    if report["dry_run"]:
        click.echo("dry run: nothing was changed")
    else:
        click.echo(f"import {report['import_id']} recorded")
