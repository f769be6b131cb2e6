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
# only the path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
moddir=$root/tools/loki

version=$(awk '$1 == "require" && $2 == "github.com/grafana/loki/v3" { print $3 }' "$moddir/go.mod")
if [ -z "$version" ]; then
  echo "loki.sh: no 'require github.com/grafana/loki/v3' line in $moddir/go.mod" >&2
  exit 1
fi

dir=${XDG_CACHE_HOME:-$HOME/.cache}/oombot/tools/loki-$version
bin=$dir/loki
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dir"
# Build beside the final path and rename: an interrupted build never leaves a
# half-written binary that a later run would take as cached.
tmp=$(mktemp "$dir/loki.XXXXXX")
trap 'rm -f "$tmp"' EXIT
echo "loki.sh: building github.com/grafana/loki/v3/cmd/loki $version (slow the first time) ..." >&2
# nice: the build saturates every core for minutes; tests and editors that
# share the machine keep running. -mod=mod lets the go command fill go.sum
# gaps instead of failing a long CI run on one missing line. The version is
# stamped the way Loki's Makefile does, so `loki -version` names it.
(
  cd "$moddir"
  GOFLAGS="-mod=mod -buildvcs=false" nice -n 10 \
    go build -trimpath -ldflags "-X github.com/grafana/loki/v3/pkg/util/build.Version=${version#v}" \
    -o "$tmp" github.com/grafana/loki/v3/cmd/loki
) >&2
chmod +x "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
echo "$bin"
