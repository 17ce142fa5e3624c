"""A wheel built from the repo, installed in a fresh venv, serves the login page and static files.

The fresh venv gets the wheel itself; its dependencies are borrowed from the dev venv by a
plain path entry (which, unlike a site dir, does not run the dev venv's editable-install hook),
so the package that answers is the one inside the wheel, not the checkout.
"""

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import requests

from .live import running_node

REPO = Path(__file__).resolve().parent.parent


def test_wheel_serves_pages_and_static_files(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist),
                    str(REPO)], check=True, timeout=300, cwd=tmp_path)
    wheel = next(dist.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "survey_node/web/templates/login.html" in names
    assert "survey_node/web/static/css/app.css" in names
    assert any(n.endswith("sarabun-thai-400-normal.woff2") for n in names)
    assert "survey_node/translations/th/LC_MESSAGES/messages.mo" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = subprocess.run([str(python), "-c", "import survey_node; print(survey_node.__file__)"],
                           check=True, capture_output=True, text=True, cwd=tmp_path).stdout
    assert str(venv) in where, where

    data = tmp_path / "node"
    subprocess.run([str(venv / "bin" / "survey-node"), "init", "--data-dir", str(data)],
                   check=True, timeout=60, cwd=tmp_path)
    with running_node(data, python=str(python), cwd=tmp_path) as base:
        login = requests.get(f"{base}/login", timeout=5)
        assert login.status_code == 200 and "เข้าสู่ระบบ" in login.text
        for path in ["/static/css/app.css", "/static/vendor/sarabun/sarabun.css",
                     "/static/vendor/sarabun/files/sarabun-thai-400-normal.woff2"]:
            assert requests.get(base + path, timeout=5).status_code == 200, path
