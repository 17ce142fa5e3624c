#!/bin/bash -e
# pi-gen stage that makes a survey node image: copy the recipe and the wheel into the image
# and run images/provision.sh inside its chroot (pi-gen's on_chroot), exactly as on a Pi.
# SURVEY_NODE_SRC: the repository, with the wheel built (`make wheel`), set in pi-gen's config.
SRC="${SURVEY_NODE_SRC:?set SURVEY_NODE_SRC in the pi-gen config to the survey node repository}"
wheel="$(find "$SRC/dist" -maxdepth 1 -name 'cctv_survey_node-*.whl' | sort -V | tail -n 1)"
[ -n "$wheel" ] || { echo "no wheel in $SRC/dist: run make wheel" >&2; exit 1; }

dest="${ROOTFS_DIR}/tmp/survey-node"
rm -rf "$dest"
install -d "$dest/dist"
cp -a "$SRC/images" "$SRC/systemd" "$SRC/README.md" "$dest/"
install -m 0644 "$wheel" "$dest/dist/"

on_chroot <<CHROOT
bash /tmp/survey-node/images/provision.sh --wheel "/tmp/survey-node/dist/$(basename "$wheel")" \
    --country "${WPA_COUNTRY:-TH}" ${SURVEY_NODE_DATA_LABEL:+--data-label "$SURVEY_NODE_DATA_LABEL"}
CHROOT
rm -rf "$dest"
