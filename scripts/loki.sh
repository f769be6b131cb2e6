#!/usr/bin/env bash
# loki.sh prints the path of a Grafana Loki binary built from the release
# pinned in tools/loki/go.mod, building it first if the cache lacks it.
#
#   OOMBOT_LOKI_BIN=$(scripts/loki.sh)
#
# The binary is cached per version under
# ${XDG_CACHE_HOME:-$HOME/.cache}/oombot/tools/loki-<version>/loki, so only
# the first run pays for the build (~12 min and ~3 GB RAM on 2 cores); later
# runs print the path at once. Build output goes to stderr so stdout carries
# only the path. scripts/tool.sh does the work for every pinned tool.
set -euo pipefail
OOMBOT_TOOL_CALLER=loki.sh exec "$(dirname "$0")/tool.sh" loki
