#!/bin/sh
# /usr/local/bin/survey-node on the appliance: the node's CLI with its data dir, run as
# the node's user (so `sudo survey-node label` or `sudo survey-node doctor` just work and
# never leave root-owned files in the data dir).
export SURVEY_NODE_DATA="${SURVEY_NODE_DATA:-/srv/survey-node}"
if [ "$(id -u)" = 0 ]; then
    exec runuser -u survey-node -- env SURVEY_NODE_DATA="$SURVEY_NODE_DATA" /opt/survey-node/venv/bin/survey-node "$@"
fi
exec /opt/survey-node/venv/bin/survey-node "$@"
