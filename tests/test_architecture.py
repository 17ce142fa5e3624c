"""The architecture document and the import rules hold for the code as it is.

`make test` runs lint-imports on the package itself; these tests check that the rules bite
(a change that brings the old loop back is refused) and that docs/architecture.md names only
parts that exist.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT), "--no-cache", str(ROOT / "pyproject.toml")], cwd=tree,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("arch")
    shutil.copytree(ROOT / "survey_node", tree / "survey_node",
                    ignore=shutil.ignore_patterns("__pycache__", "translations"))
    return tree


@pytest.mark.parametrize("module, line, broken", [
    # The old loop: sheets built an app to render a template.
    ("sheets.py", "from .app import create_app", "No import loops anywhere in the package"),
    # A service reaching for the request's database connection.
    ("survey.py", "from .context import get_db", "never import Flask, click or the web layers"),
    # The node's pages borrowing from the registry's.
    ("views/review.py", "from ..registry import views as registry_views", "two products"),
    # The probe writing to the database.
    ("streamcheck/probe.py", "from .. import db as database", "knows nothing of the database"),
])
def test_a_change_against_the_layering_fails_the_lint(package_copy, module, line, broken):
    target = package_copy / "survey_node" / module
    original = target.read_text(encoding="utf-8")
    target.write_text(original + f"\n{line}  # noqa\n", encoding="utf-8")
    try:
        result = _lint(package_copy)
    finally:
        target.write_text(original, encoding="utf-8")
    assert result.returncode != 0, result.stdout[-2000:]
    assert re.search(re.escape(broken) + r".*\n?.*BROKEN", result.stdout), result.stdout[-2000:]


def test_the_untouched_copy_keeps_every_contract(package_copy):
    result = _lint(package_copy)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_architecture_document_names_only_parts_that_exist():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:survey_node/)?[a-z_]+(?:/[a-z_]+)*(?:/|\.py))`", text))
    assert len(named) > 20, named  # the parts table is there
    missing = []
    for name in sorted(named):
        path = name if name.startswith("survey_node/") else f"survey_node/{name}"
        if (ROOT / path).exists() or (ROOT / name).exists():
            continue
        # A bare module name in a package's row ("`views.py`" among registry/'s modules).
        if "/" not in name and any((ROOT / "survey_node").rglob(name)):
            continue
        missing.append(name)
    assert not missing, missing
