"""images/provision.sh: the dry run shows every step, --root installs into a tree."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.appliance_support import IMAGES, REPO, SYSTEMD
from tests.conftest import require_system

pytestmark = pytest.mark.system
PROVISION = IMAGES / "provision.sh"


def _provision(*args, timeout=120):
    return subprocess.run(["bash", str(PROVISION), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


@pytest.fixture
def wheel(tmp_path):
    # The script only copies the wheel into the tree; installing it is the venv step,
    # which needs the target's python (skipped in a bare tree, tested in test_appliance_serve).
    path = tmp_path / "cctv_survey_node-0.1.0-py3-none-any.whl"
    path.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    return path


def test_dry_run_prints_every_step_and_changes_nothing(tmp_path):
    before = {p: p.stat().st_mtime_ns for p in (REPO / "systemd").rglob("*")}
    result = _provision("--dry-run", "--root", tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    steps = re.findall(r"^== (\d)\.", out, re.M)
    assert steps == [str(i) for i in range(8)]
    for expected in ("apt-get install", "python3-picamera2", "install -D -m 0644",
                     "survey-node.service", "systemd-sysusers", "systemd-tmpfiles",
                     "-m venv --system-site-packages", "pip install",
                     "enable survey-node-firstboot.service survey-node.service survey-node-sync.timer survey-node-gps-setup.service"):
        assert expected in out, expected
    assert list(tmp_path.iterdir()) == []  # nothing landed
    assert before == {p: p.stat().st_mtime_ns for p in (REPO / "systemd").rglob("*")}


def test_dry_run_needs_no_root_and_no_wheel():
    """Anyone can read the recipe's steps: run it as an unprivileged user from /."""
    command = ["bash", str(PROVISION), "--dry-run"]
    if os.geteuid() == 0:
        require_system("runuser")
        command = ["runuser", "-u", "nobody", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "== done" in result.stdout and "dist/cctv_survey_node-VERSION" in result.stdout


def test_bad_option_is_one_clear_line():
    result = _provision("--colour", "red")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "provision: unknown option: --colour"


def test_root_mode_lands_files_user_and_enabled_units(tmp_path, wheel):
    require_system("systemctl", "systemd-sysusers", "systemd-tmpfiles")
    if os.geteuid() != 0:
        pytest.skip("--root needs root (ownership of the data dir)")
    root = tmp_path / "rootfs"
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "cmdline.txt").write_text("console=tty1 root=PARTUUID=x rootwait\n")
    (root / "etc").mkdir()
    (root / "etc" / "hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n")
    result = _provision("--root", root, "--skip-packages", "--wheel", wheel, "--data-label", "SURVEYDATA")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr

    for path, source in {
        "etc/systemd/system/survey-node.service": "survey-node.service",
        "etc/systemd/system/survey-node-sync.service": "survey-node-sync.service",
        "etc/systemd/system/survey-node-sync.timer": "survey-node-sync.timer",
        "etc/systemd/system/survey-node-firstboot.service": "survey-node-firstboot.service",
        "etc/systemd/system/survey-node-gps-setup.service": "survey-node-gps-setup.service",
        "etc/systemd/system/gpsd.service.d/survey-node.conf": "gpsd/gpsd.service.d/survey-node.conf",
        "etc/default/gpsd": "gpsd/gpsd.default",
        "etc/systemd/journald.conf.d/survey-node.conf": "journald/survey-node.conf",
        "etc/avahi/services/survey-node.service": "avahi/survey-node.service",
        "usr/lib/survey-node/survey-node-hotspot.nmconnection.in":
            "networkmanager/survey-node-hotspot.nmconnection.in",
        "etc/systemd/system/survey-node-noforward.service": "survey-node-noforward.service",
        "usr/lib/survey-node/survey-node-noforward.nft": "nftables/survey-node-noforward.nft",
        "etc/NetworkManager/system-connections/survey-node-wired.nmconnection":
            "networkmanager/survey-node-wired.nmconnection",
    }.items():
        assert (root / path).read_bytes() == (SYSTEMD / source).read_bytes(), path
    assert os.access(root / "usr/lib/survey-node/firstboot", os.X_OK)
    # NetworkManager ignores a keyfile others can read.
    wired = root / "etc/NetworkManager/system-connections/survey-node-wired.nmconnection"
    assert oct(wired.stat().st_mode & 0o777) == "0o600"
    assert os.access(root / "usr/local/bin/survey-node", os.X_OK)
    assert (root / "opt/survey-node/wheels" / wheel.name).exists()
    chrony_conf = SYSTEMD / "chrony" / "survey-node-gps.conf"
    assert (root / "etc/chrony/conf.d/survey-node-gps.conf").exists() == chrony_conf.exists()

    # The user and its directories, made by systemd's own tools in the tree.
    passwd = (root / "etc/passwd").read_text()
    entry = re.search(r"^survey-node:x:(\d+):(\d+):[^:]*:/srv/survey-node:/usr/sbin/nologin$", passwd, re.M)
    assert entry
    data = root / "srv/survey-node"
    assert data.stat().st_uid == int(entry.group(1)) and oct(data.stat().st_mode & 0o777) == "0o750"
    creds = root / "etc/survey-node/credentials"
    assert creds.stat().st_uid == 0 and oct(creds.stat().st_mode & 0o777) == "0o700"
    assert re.search(r"^video:x:\d+:.*survey-node", (root / "etc/group").read_text(), re.M)

    # Units enabled the way systemctl does it: symlinks in the targets' .wants.
    wants = {
        "multi-user.target.wants/survey-node.service",
        "multi-user.target.wants/survey-node-firstboot.service",
        "multi-user.target.wants/survey-node-gps-setup.service",
        "multi-user.target.wants/survey-node-noforward.service",
        "timers.target.wants/survey-node-sync.timer",
    }
    for link in wants:
        path = root / "etc/systemd/system" / link
        assert path.is_symlink(), link
        assert os.readlink(path) == "/etc/systemd/system/" + link.split("/")[1]
    listed = (root / "usr/lib/survey-node/enabled-units").read_text().split()
    assert "survey-node.service" in listed and "gpsd.service" in listed

    # Storage and WiFi country.
    assert "LABEL=SURVEYDATA /srv/survey-node ext4 defaults,noatime,nofail" in (root / "etc/fstab").read_text()
    assert "cfg80211.ieee80211_regdom=TH" in (root / "boot/firmware/cmdline.txt").read_text()
    assert (root / "etc/hostname").read_text().strip() == "survey-node"
    hosts = (root / "etc/hosts").read_text()
    assert "127.0.1.1\tsurvey-node" in hosts and "raspberrypi" not in hosts and "localhost" in hosts

    # Steps that need the target's own programs are reported, not silently dropped.
    assert "skipped" in result.stdout and "-m venv --system-site-packages" in result.stdout

    # Running it again keeps everything and adds no duplicate lines.
    again = _provision("--root", root, "--skip-packages", "--wheel", wheel, "--data-label", "SURVEYDATA")
    assert again.returncode == 0, again.stderr
    assert (root / "etc/fstab").read_text().count("SURVEYDATA") == 1
    assert (root / "boot/firmware/cmdline.txt").read_text().count("regdom") == 1
    assert passwd == (root / "etc/passwd").read_text()


def test_debian_packages_resolve():
    """Every OS package the script installs exists in Debian Bookworm, except the Raspberry Pi
    archive's own python3-picamera2 (resolved with apt's package lists, offline)."""
    require_system("apt-get", "apt-cache")
    out = _provision("--dry-run").stdout
    packages = re.search(r"^== 1\. OS packages: (.*)$", out, re.M).group(1).split()
    assert "python3-picamera2" in packages
    debian = [p for p in packages if p != "python3-picamera2"]
    probe = subprocess.run(["apt-cache", "policy", "bash"], capture_output=True, text=True, timeout=60)
    if "Candidate: (none)" in probe.stdout or "Candidate" not in probe.stdout:
        pytest.skip("apt has no package lists here (run apt-get update)")
    result = subprocess.run(["apt-get", "install", "--simulate", "--no-install-recommends", "-qq", *debian],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def test_firstboot_makes_id_secrets_and_hotspot_once(tmp_path):
    """The first-boot script, run with its paths pointed into a temp dir (as root it would
    drop to the survey-node user; here it runs as whoever runs the tests)."""
    import getpass

    from survey_node import config as config_mod, label

    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SURVEY_NODE_")},
        "SURVEY_NODE_DATA": str(data),
        "SURVEY_NODE_VENV": str(REPO / ".venv"),
        "SURVEY_NODE_USER": getpass.getuser(),
        "SURVEY_NODE_CREDENTIALS": str(tmp_path / "credentials"),
        "SURVEY_NODE_LIB": str(SYSTEMD / "networkmanager"),
        "SURVEY_NODE_NM_DIR": str(tmp_path / "nm"),
        "SURVEY_NODE_FIRSTBOOT_MARK": str(tmp_path / "state" / "firstboot.done"),
    }
    env.pop("CREDENTIALS_DIRECTORY", None)
    run = lambda: subprocess.run(["bash", str(IMAGES / "firstboot.sh")], env=env,  # noqa: E731
                                 capture_output=True, text=True, timeout=120)
    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    cfg = config_mod.load(data, env={})
    assert cfg.node.id.startswith("node-")
    creds = tmp_path / "credentials"
    assert sorted(p.name for p in creds.iterdir()) == ["flask_secret_key", "registry_token"]
    assert oct(creds.stat().st_mode & 0o777) == "0o700"
    assert not (data / "secrets" / "flask_secret_key").exists()  # moved, not copied
    profile = tmp_path / "nm" / "survey-node-hotspot.nmconnection"
    text = profile.read_text()
    assert oct(profile.stat().st_mode & 0o777) == "0o600"
    ssid = re.search(r"^ssid=(.*)$", text, re.M).group(1)
    psk = re.search(r"^psk=(.*)$", text, re.M).group(1)
    assert ssid == label.hotspot_ssid(cfg) and psk == label.wifi_passphrase(cfg)
    assert "@" not in text.split("[connection]", 1)[1]
    assert (tmp_path / "state" / "firstboot.done").exists()

    # Again: nothing changes (the same card keeps its id, secrets and WiFi).
    secret = (creds / "flask_secret_key").read_text()
    assert run().returncode == 0
    assert profile.read_text() == text and (creds / "flask_secret_key").read_text() == secret
    assert config_mod.load(data, env={}).node.id == cfg.node.id
