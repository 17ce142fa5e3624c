"""`survey-node check-stream URL`: one stream check, the same engine as the UI."""

from __future__ import annotations

import json

import click

from .. import db as database
from ..streamcheck import EXPLANATIONS
from ..streamcheck.runner import MAX_TIMEOUT_S
from ..stream_check import check_url
from ..streamcheck.slots import ChecksBusy
from .base import data_dir_option, json_option, main
from .core import _require_init


@main.command("check-stream")
@data_dir_option
@click.argument("url")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.5, MAX_TIMEOUT_S),
              help="Hard deadline of the check in seconds (default from config:"
                   " streamcheck.timeout_s).")
@json_option
def check_stream(data_dir, url, timeout_s, as_json):
    """Check that the video stream at URL (rtsp, rtsps, http, https) works and looks right.

    Exits 0 whatever the verdict; the verdict is in the output.
    """
    cfg = _require_init(data_dir)
    db = database.connect(cfg.db_path)
    try:
        result, _ = check_url(
            cfg, db, url, actor="cli", timeout_s=timeout_s,
            on_queued=lambda: click.echo("queued: other stream checks are running", err=True))
    except ChecksBusy as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    finally:
        db.close()
    data = result.public()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return 0
    click.echo(f"{data['verdict']}: {EXPLANATIONS[data['verdict']]}")
    if data["error"]:
        click.echo(f"  reason: {data['error']}")
    click.echo(f"  url: {data['url']}")
    rows = (("connect", "connect_ms", "ms"), ("first frame", "first_frame_ms", "ms"),
            ("codec", "codec", ""), ("width", "width", "px"), ("height", "height", "px"),
            ("fps", "fps", ""), ("bitrate", "bitrate_kbps", "kbps"),
            ("keyframe every", "keyframe_interval_s", "s"), ("luma", "luma", "/255"),
            ("contrast", "contrast", "/255"), ("frozen score", "frozen_score", ""),
            ("blur score", "blur_score", ""), ("snapshot", "snapshot_sha256", ""),
            ("elapsed", "elapsed_ms", "ms"))
    for label, key, unit in rows:
        if data[key] is not None:
            click.echo(f"  {label}: {data[key]}{(' ' + unit) if unit else ''}")
    return 0
