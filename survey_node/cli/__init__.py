"""`survey-node`: a click group of thin commands over the services.

Every command takes `--data-dir` (or $SURVEY_NODE_DATA). Bad input exits 2 with one line on
stderr; an unexpected failure exits 1 with one line and the traceback goes to the data
dir's log, never to the terminal.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import click

from ..diskspace import is_disk_full
from ..errors import SurveyNodeError

log = logging.getLogger("survey_node")
DISK_FULL_LINE = ("the data disk is full, nothing was saved: free space (sync, archive old"
                  " evidence) and run it again")


class SurveyNodeGroup(click.Group):
    """A group whose commands never print a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            code = 1
        except click.ClickException as exc:
            click.echo(f"error: {_one_line(exc.format_message())}", err=True)
            code = exc.exit_code
        except SurveyNodeError as exc:
            click.echo(f"error: {_one_line(str(exc))}", err=True)
            code = 2
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            code = 130
        except Exception as exc:  # noqa: BLE001 - last line of defence, logged in full
            if is_disk_full(exc):  # not a bug: say what to do (the write was rolled back)
                click.echo(f"error: {DISK_FULL_LINE} ({_one_line(str(exc))})", err=True)
                return _exit(3, standalone_mode)
            where = _log_crash()
            click.echo(f"error: internal error ({type(exc).__name__}: {_one_line(str(exc))});"
                       f" details in {where}", err=True)
            code = 1
        else:
            code = result if isinstance(result, int) else 0
        return _exit(code, standalone_mode)


def _exit(code: int, standalone_mode: bool) -> int:
    if standalone_mode:
        sys.exit(code)
    return code


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _log_crash() -> str:
    import os
    import tempfile

    root = os.environ.get("SURVEY_NODE_DATA") or tempfile.gettempdir()
    path = Path(root) / "survey-node-errors.log"
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(traceback.format_exc() + "\n")
    except OSError:
        return "(log not writable)"
    return str(path)


def data_dir_option(func):
    """`--data-dir DIR`, defaulting to $SURVEY_NODE_DATA."""
    return click.option(
        "--data-dir",
        envvar="SURVEY_NODE_DATA",
        type=click.Path(file_okay=False, path_type=Path),
        required=True,
        help="The node's data directory (config, database, evidence); or set SURVEY_NODE_DATA.",
    )(func)


def json_option(func):
    return click.option("--json", "as_json", is_flag=True,
                        help="Print the result as one JSON object.")(func)


@click.group(cls=SurveyNodeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cctv-survey-node", help="Show the version and exit.")
def main() -> None:
    """CCTV Survey Node: survey the cameras chosen for the central system, offline."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# Commands live in one module per area; importing them registers them on `main`.
from . import (appliance, core, demo, evidence, exports, gps, inventory, review,  # noqa: E402,F401
               selection, streamcheck, streamfind, sync, wired)
