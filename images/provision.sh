#!/usr/bin/env bash
# Turn Raspberry Pi OS Lite (Bookworm, arm64) into a CCTV survey node.
#
#   sudo images/provision.sh --wheel dist/cctv_survey_node-*.whl          # on a running Pi
#   images/provision.sh --dry-run                                          # print every step
#   sudo images/provision.sh --root /mnt/rootfs --wheel ...                # into a tree
#
# --root DIR installs every file into DIR (a mounted SD card, a pi-gen or debootstrap
# tree). Steps that must run the target's own programs (apt-get, the venv's pip, raspi-config)
# run through `chroot DIR` when DIR can run them (pi-gen's chroot has qemu-user-static for
# arm64), and are listed as skipped otherwise. Users, directories and enabled units are made
# with systemd's --root options, which need nothing from the target.
# The script is idempotent: running it again updates the files and keeps the node's data,
# its id, secrets and WiFi passphrase (those are made on first boot, per card).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
UNITS="$REPO/systemd"

ROOT=""
DRY_RUN=0
SKIP_PACKAGES=0
WHEEL=""
DATA_LABEL=""
COUNTRY="TH"
HOSTNAME_NODE="survey-node"
PREFIX=/opt/survey-node
VENV="$PREFIX/venv"
LIB=/usr/lib/survey-node
DATA=/srv/survey-node
PACKAGES=(gpsd gpsd-clients chrony ffmpeg python3-picamera2 python3-venv python3-pip
    network-manager dnsmasq-base avahi-daemon libnss-mdns rfkill iw nftables iputils-arping)
OUR_UNITS=(survey-node-firstboot.service survey-node.service survey-node-sync.timer
    survey-node-gps-setup.service survey-node-noforward.service)
OS_UNITS=(gpsd.service chrony.service NetworkManager.service avahi-daemon.service)
SKIPPED=()

usage() {
    cat <<USAGE
Usage: $(basename "$0") [options]
Turn Raspberry Pi OS Lite (Bookworm, arm64) into a CCTV survey node.

  --dry-run            print every step, change nothing
  --root DIR           install into the filesystem tree at DIR instead of this system
  --wheel FILE         the cctv-survey-node wheel to install (default: newest in dist/)
  --data-label LABEL   mount the partition with this filesystem label at $DATA
                       (ext4, noatime, nofail: without it the data stays on the root fs)
  --country CC         WiFi regulatory country for the hotspot (default: $COUNTRY)
  --hostname NAME      host name, published as NAME.local by avahi (default: $HOSTNAME_NODE)
  --skip-packages      do not run apt-get (the packages are already there)
  -h, --help           this help
USAGE
}

die() { printf 'provision: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT="${2%/}"; shift ;;
        --wheel) [ $# -ge 2 ] || die "--wheel needs a file"; WHEEL="$2"; shift ;;
        --data-label) [ $# -ge 2 ] || die "--data-label needs a label"; DATA_LABEL="$2"; shift ;;
        --country) [ $# -ge 2 ] || die "--country needs a code"; COUNTRY="$2"; shift ;;
        --hostname) [ $# -ge 2 ] || die "--hostname needs a name"; HOSTNAME_NODE="$2"; shift ;;
        --skip-packages) SKIP_PACKAGES=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

[[ "$COUNTRY" =~ ^[A-Z]{2}$ ]] || die "--country must be two capital letters, e.g. TH"
[[ "$HOSTNAME_NODE" =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "--hostname must be a lower-case host name"
if [ -n "$ROOT" ]; then
    [ -d "$ROOT" ] || die "--root $ROOT is not a directory"
    ROOT="$(cd "$ROOT" && pwd)"
fi
if [ -z "$WHEEL" ]; then
    WHEEL="$( (find "$REPO/dist" -maxdepth 1 -name 'cctv_survey_node-*.whl' 2>/dev/null || true) | sort -V | tail -n 1)"
fi
if [ -z "$WHEEL" ] || [ ! -f "$WHEEL" ]; then
    [ "$DRY_RUN" = 1 ] || die "no wheel: build one with \`make wheel\` or pass --wheel FILE"
    WHEEL="${WHEEL:-dist/cctv_survey_node-VERSION-py3-none-any.whl}"
fi
if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root (or try --dry-run)"
fi

# -- helpers: every change goes through one of these, so --dry-run shows all of them -----

step() { printf '\n== %s\n' "$*"; }

show() { printf '+'; printf ' %q' "$@"; printf '\n'; }

# Run a command on the build host (with --root: host tools given --root options).
run() {
    show "$@"
    [ "$DRY_RUN" = 1 ] || "$@"
}

# Can the target tree run its own programs? (Always, without --root.)
target_runs() {
    [ -z "$ROOT" ] && return 0
    [ -x "$ROOT/$1" ] && [ "$(id -u)" = 0 ]
}

# Run a command inside the target: here, or through chroot into --root; else note the skip.
in_target() {
    if [ -z "$ROOT" ]; then
        run "$@"
    elif target_runs "$1"; then
        run chroot "$ROOT" "$@"
    else
        show "$@"
        printf '   skipped: %s cannot run %s (run this step inside the target)\n' "$ROOT" "$1"
        SKIPPED+=("$*")
    fi
}

# Install a file from the repository at a path of the target.
put() {
    local src="$1" dest="$2" mode="$3"
    run install -D -m "$mode" "$src" "$ROOT$dest"
}

# Write text (from stdin) to a path of the target.
write() {
    local dest="$1" mode="$2" text
    text="$(cat)"
    printf '+ write %s (mode %s)\n' "$ROOT$dest" "$mode"
    if [ "$DRY_RUN" = 1 ]; then
        printf '%s\n' "$text" | sed 's/^/   | /'
        return 0
    fi
    install -d "$(dirname "$ROOT$dest")"
    printf '%s\n' "$text" > "$ROOT$dest"
    chmod "$mode" "$ROOT$dest"
}

# Append a line to a file of the target unless it is there already.
append_once() {
    local dest="$1" line="$2"
    if [ -f "$ROOT$dest" ] && grep -qxF -- "$line" "$ROOT$dest"; then
        printf '   (already in %s: %s)\n' "$ROOT$dest" "$line"
        return 0
    fi
    printf '+ append to %s: %s\n' "$ROOT$dest" "$line"
    [ "$DRY_RUN" = 1 ] || printf '%s\n' "$line" >> "$ROOT$dest"
}

unit_exists() {
    local unit="$1" dir
    for dir in /etc/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
        [ -e "$ROOT$dir/$unit" ] && return 0
    done
    return 1
}

systemctl_target() {
    if [ -n "$ROOT" ]; then
        run systemctl --root="$ROOT" "$@"
    else
        run systemctl "$@"
    fi
}

# -- the steps ------------------------------------------------------------------------------

step "0. target: ${ROOT:-this system}$([ "$DRY_RUN" = 1 ] && echo ' (dry run: nothing is changed)')"
if [ -r "$ROOT/etc/os-release" ]; then
    # shellcheck disable=SC1091
    codename="$(. "$ROOT/etc/os-release" && echo "${VERSION_CODENAME:-unknown}")"
    [ "$codename" = bookworm ] || printf '   warning: made for Bookworm, this is %s\n' "$codename"
fi
printf '   wheel: %s\n' "$WHEEL"

step "1. OS packages: ${PACKAGES[*]}"
if [ "$SKIP_PACKAGES" = 1 ]; then
    printf '   skipped (--skip-packages)\n'
else
    in_target /usr/bin/apt-get update
    in_target /usr/bin/env DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get install -y \
        --no-install-recommends "${PACKAGES[@]}"
    # journald keeps the logs (capped); a second copy through rsyslog only wears the card.
    in_target /usr/bin/env DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get purge -y rsyslog
fi

step "2. files: units, drop-ins, configs, scripts"
put "$UNITS/sysusers/survey-node.conf" /usr/lib/sysusers.d/survey-node.conf 0644
put "$UNITS/tmpfiles/survey-node.conf" /usr/lib/tmpfiles.d/survey-node.conf 0644
for unit in survey-node.service survey-node-sync.service survey-node-sync.timer survey-node-firstboot.service \
        survey-node-gps-setup.service survey-node-noforward.service; do
    put "$UNITS/$unit" "/etc/systemd/system/$unit" 0644
done
put "$UNITS/gpsd/gpsd.service.d/survey-node.conf" /etc/systemd/system/gpsd.service.d/survey-node.conf 0644
put "$UNITS/gpsd/gpsd.default" /etc/default/gpsd 0644
if [ -f "$UNITS/chrony/survey-node-gps.conf" ]; then
    put "$UNITS/chrony/survey-node-gps.conf" /etc/chrony/conf.d/survey-node-gps.conf 0644
else
    printf '   warning: %s is missing: the clock will not follow the GPS\n' "$UNITS/chrony/survey-node-gps.conf"
    SKIPPED+=("chrony GPS refclock config")
fi
put "$UNITS/journald/survey-node.conf" /etc/systemd/journald.conf.d/survey-node.conf 0644
put "$UNITS/avahi/survey-node.service" /etc/avahi/services/survey-node.service 0644
put "$UNITS/networkmanager/survey-node-hotspot.nmconnection.in" "$LIB/survey-node-hotspot.nmconnection.in" 0644
put "$HERE/firstboot.sh" "$LIB/firstboot" 0755
# The wired port (cabinet switch): DHCP client + link-local, never shared, never bridged;
# and no forwarding between it and the hotspot (the nft table, loaded before NetworkManager).
put "$UNITS/networkmanager/survey-node-wired.nmconnection" \
    /etc/NetworkManager/system-connections/survey-node-wired.nmconnection 0600
put "$UNITS/nftables/survey-node-noforward.nft" "$LIB/survey-node-noforward.nft" 0644
put "$HERE/survey-node-wrapper.sh" /usr/local/bin/survey-node 0755
write /etc/hostname 0644 <<<"$HOSTNAME_NODE"
# The host name resolves locally (sudo and avahi want that); other lines are kept.
if [ -f "$ROOT/etc/hosts" ] && grep -q '^127\.0\.1\.1[[:space:]]' "$ROOT/etc/hosts"; then
    run sed -i "s/^127\.0\.1\.1[[:space:]].*/127.0.1.1\t$HOSTNAME_NODE/" "$ROOT/etc/hosts"
else
    append_once /etc/hosts "$(printf '127.0.1.1\t%s' "$HOSTNAME_NODE")"
fi

step "3. user and directories (systemd-sysusers, systemd-tmpfiles)"
if [ -n "$ROOT" ]; then
    run systemd-sysusers --root="$ROOT" survey-node.conf
    run systemd-tmpfiles --root="$ROOT" --create survey-node.conf
else
    run systemd-sysusers survey-node.conf
    run systemd-tmpfiles --create survey-node.conf
fi

step "4. the application: a venv that sees the OS's picamera2, and the wheel"
wheel_name="$(basename "$WHEEL")"
run install -D -m 0644 "$WHEEL" "$ROOT$PREFIX/wheels/$wheel_name"
put "$REPO/README.md" "$PREFIX/README.md" 0644
in_target /usr/bin/python3 -m venv --system-site-packages "$VENV"
in_target "$VENV/bin/pip" install --no-cache-dir --upgrade "$PREFIX/wheels/$wheel_name"

step "5. storage: data partition, no swap on the card, /tmp in RAM"
if [ -n "$DATA_LABEL" ]; then
    # nofail + a short device timeout: a node whose data partition is missing still boots
    # and says so (doctor), instead of hanging in emergency mode with no screen.
    append_once /etc/fstab "LABEL=$DATA_LABEL $DATA ext4 defaults,noatime,nofail,x-systemd.device-timeout=10s 0 2"
else
    printf '   no --data-label: the data stays in %s on the root filesystem\n' "$DATA"
fi
if unit_exists dphys-swapfile.service; then
    systemctl_target disable dphys-swapfile.service
fi
if [ -f "$ROOT/usr/share/systemd/tmp.mount" ]; then
    put "$ROOT/usr/share/systemd/tmp.mount" /etc/systemd/system/tmp.mount 0644
    systemctl_target enable tmp.mount
fi

step "6. WiFi country $COUNTRY (the hotspot stays off until it is set)"
if [ -z "$ROOT" ] && command -v raspi-config >/dev/null 2>&1; then
    run raspi-config nonint do_wifi_country "$COUNTRY"
elif [ -f "$ROOT/boot/firmware/cmdline.txt" ]; then
    if grep -q 'cfg80211.ieee80211_regdom=' "$ROOT/boot/firmware/cmdline.txt"; then
        run sed -i "s/cfg80211.ieee80211_regdom=[A-Z]*/cfg80211.ieee80211_regdom=$COUNTRY/" "$ROOT/boot/firmware/cmdline.txt"
    else
        run sed -i "1s/\$/ cfg80211.ieee80211_regdom=$COUNTRY/" "$ROOT/boot/firmware/cmdline.txt"
    fi
else
    printf '   no raspi-config and no boot/firmware/cmdline.txt: set the country on the Pi\n'
    SKIPPED+=("WiFi country $COUNTRY")
fi

step "7. enable the units"
systemctl_target enable "${OUR_UNITS[@]}"
for unit in "${OS_UNITS[@]}"; do
    # (A dry run shows it too: step 1 would have installed the unit by now.)
    if unit_exists "$unit" || [ "$DRY_RUN" = 1 ]; then
        systemctl_target enable "$unit"
    else
        printf '   %s is not installed in the target yet: enable it after the packages\n' "$unit"
        SKIPPED+=("enable $unit")
    fi
done
write "$LIB/enabled-units" 0644 < <(printf '%s\n' "${OUR_UNITS[@]}" "${OS_UNITS[@]}")
if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
fi

step "done"
if [ "${#SKIPPED[@]}" -gt 0 ]; then
    printf '   skipped (do these inside the target):\n'
    printf '   - %s\n' "${SKIPPED[@]}"
fi
printf '   Reboot: first boot makes the node id, secrets and WiFi; then print the label with\n'
printf '   sudo survey-node label --out %s/label.html\n' "$DATA"
