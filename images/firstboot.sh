#!/usr/bin/env bash
# First boot of a survey node (installed as /usr/lib/survey-node/firstboot, run once by
# survey-node-firstboot.service): this card's node id, secrets and WiFi hotspot.
# Safe to run again: every step keeps what is already there.
set -euo pipefail

DATA="${SURVEY_NODE_DATA:-/srv/survey-node}"
VENV="${SURVEY_NODE_VENV:-/opt/survey-node/venv}"
SERVICE_USER="${SURVEY_NODE_USER:-survey-node}"
CREDENTIALS="${SURVEY_NODE_CREDENTIALS:-/etc/survey-node/credentials}"
LIB="${SURVEY_NODE_LIB:-/usr/lib/survey-node}"
NM_DIR="${SURVEY_NODE_NM_DIR:-/etc/NetworkManager/system-connections}"
MARK="${SURVEY_NODE_FIRSTBOOT_MARK:-/var/lib/survey-node/firstboot.done}"

log() { printf 'survey-node firstboot: %s\n' "$*"; }

# Run the node's CLI as its own user (never as root: files it makes belong to that user).
as_node() {
    if [ "$(id -u)" = 0 ] && [ "$(id -un)" != "$SERVICE_USER" ]; then
        runuser -u "$SERVICE_USER" -- env SURVEY_NODE_DATA="$DATA" "$VENV/bin/survey-node" "$@"
    else
        SURVEY_NODE_DATA="$DATA" "$VENV/bin/survey-node" "$@"
    fi
}

# 1. Config (with this node's id) and database on the data partition.
install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA"
as_node init --data-dir "$DATA"

# 2. Secrets: moved from the data dir to a root-only folder; the units get them through
#    LoadCredential= (so a copy of the data partition does not carry them).
install -d -m 0700 "$CREDENTIALS"
for name in flask_secret_key registry_token; do
    if [ ! -s "$CREDENTIALS/$name" ] && [ -s "$DATA/secrets/$name" ]; then
        install -m 0600 "$DATA/secrets/$name" "$CREDENTIALS/$name"
        log "secret $name -> $CREDENTIALS/$name"
    fi
    if [ -s "$CREDENTIALS/$name" ]; then
        rm -f "$DATA/secrets/$name"
    fi
done

# 3. The hotspot: a passphrase of this card's own, and the NetworkManager profile
#    (written before NetworkManager starts, so it comes up with it).
profile="$NM_DIR/survey-node-hotspot.nmconnection"
if [ ! -s "$profile" ]; then
    install -d -m 0700 "$NM_DIR"
    tmp="$(mktemp "$NM_DIR/.survey-node-hotspot.XXXXXX")"
    as_node hotspot profile --data-dir "$DATA" \
        --template "$LIB/survey-node-hotspot.nmconnection.in" > "$tmp"
    chmod 0600 "$tmp"
    mv "$tmp" "$profile"
    log "hotspot profile $profile"
fi

# 4. Raspberry Pi OS keeps WiFi soft-blocked until a country is set; provisioning set it.
if command -v rfkill >/dev/null 2>&1; then
    rfkill unblock wifi || log "rfkill unblock wifi failed (no WiFi device?)"
fi

install -d "$(dirname "$MARK")"
date -u +%FT%TZ > "$MARK"
log "done; print the WiFi label with: sudo survey-node label --out /srv/survey-node/label.html"
