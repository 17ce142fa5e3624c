"""The options every `survey-node` command shares, for the node's commands (cli/) and the
registry's (registry/cli.py) alike."""

from __future__ import annotations

from pathlib import Path

import click


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
