#!/usr/bin/env bash
# tool.sh prints the path of a binary built from the release pinned in
# tools/NAME/go.mod, building it first if the cache lacks it.
#
#   OOMBOT_HELM_BIN=$(scripts/tool.sh helm)
#   OOMBOT_KUSTOMIZE_BIN=$(scripts/tool.sh kustomize)
#   OOMBOT_LOKI_BIN=$(scripts/tool.sh loki)      # what scripts/loki.sh runs
#   OOMBOT_KUBE_APISERVER_BIN=$(scripts/tool.sh kube-apiserver)
#
# Each tool is its own Go module under tools/, so its dependency graph never
# enters oombot's go.mod. The binary is cached per version under
# ${XDG_CACHE_HOME:-$HOME/.cache}/oombot/tools/NAME-<version>/NAME, so only
# the first run pays for the build (on 2 cores: loki ~12 min, helm ~9 min,
# kustomize ~30 s); later runs print the path at once. Build output goes
# to stderr so stdout carries only the path.
#
# Adding a tool: a tools/NAME module (go.mod requiring the release, and a
# tools.go blank-importing the main package under //go:build tools) and one
# case below naming the module, the main package and any version ldflags.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
me=${OOMBOT_TOOL_CALLER:-tool.sh}

if [ $# -ne 1 ]; then
  echo "usage: $me NAME   (NAME: helm, kube-apiserver, kustomize or loki)" >&2
  exit 2
fi
name=$1
moddir=$root/tools/$name

# require prints the version go.mod requires for module $1.
require() {
  awk -v m="$1" '($1 == "require" && $2 == m) || ($1 == m && $2 ~ /^v/) { print ($1 == "require" ? $3 : $2); exit }' "$moddir/go.mod"
}

# Per tool: mod (whose required version names the cache entry), pkg (the
# main package to build) and ldflags. The version is stamped the way each
# project's own release build does, so `NAME version` names it.
case $name in
loki)
  mod=github.com/grafana/loki/v3
  pkg=$mod/cmd/loki
  version=$(require "$mod")
  ldflags="-X $mod/pkg/util/build.Version=${version#v}"
  ;;
helm)
  mod=helm.sh/helm/v3
  pkg=$mod/cmd/helm
  version=$(require "$mod")
  # Helm's Makefile derives the Kubernetes version `helm template` assumes
  # (.Capabilities.KubeVersion) from client-go v0.X.Y → 1.X; without it Helm
  # would claim Kubernetes 1.20.
  cg=$(require k8s.io/client-go)
  minor=$(echo "${cg#v}" | cut -d. -f2)
  ldflags="-s -w -X $mod/internal/version.version=$version -X $mod/internal/version.metadata= \
-X $mod/pkg/chartutil.k8sVersionMajor=1 -X $mod/pkg/chartutil.k8sVersionMinor=$minor \
-X $mod/pkg/lint/rules.k8sVersionMajor=1 -X $mod/pkg/lint/rules.k8sVersionMinor=$minor"
  ;;
kustomize)
  mod=sigs.k8s.io/kustomize/kustomize/v5
  pkg=$mod
  version=$(require "$mod")
  # kustomize reads its version from the build info (it is a dependency of
  # the tools module), so no -X is needed.
  ldflags="-s -w"
  ;;
kube-apiserver)
  # The end-to-end tests' API server (test/e2e). k8s.io/kubernetes is not
  # meant to be imported: its module needs a replace per staging module (see
  # tools/kube-apiserver/go.mod), and the version must be stamped or
  # clients such as kubectl refuse the server's "v0.0.0".
  mod=k8s.io/kubernetes
  pkg=$mod/cmd/kube-apiserver
  version=$(require "$mod")
  minor=$(echo "${version#v}" | cut -d. -f2)
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  ;;
*)
  echo "$me: unknown tool '$name' (known: helm, kube-apiserver, kustomize, loki)" >&2
  exit 2
  ;;
esac
if [ -z "$version" ]; then
  echo "$me: no 'require $mod' line in $moddir/go.mod" >&2
  exit 1
fi

dir=${XDG_CACHE_HOME:-$HOME/.cache}/oombot/tools/$name-$version
bin=$dir/$name
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dir"
# Build beside the final path and rename: an interrupted build never leaves a
# half-written binary that a later run would take as cached.
tmp=$(mktemp "$dir/$name.XXXXXX")
trap 'rm -f "$tmp"' EXIT
echo "$me: building $pkg $version (slow the first time) ..." >&2
# nice: the build saturates every core for minutes; tests and editors that
# share the machine keep running. -mod=mod lets the go command fill go.sum
# gaps instead of failing a long CI run on one missing line.
(
  cd "$moddir"
  GOFLAGS="-mod=mod -buildvcs=false" nice -n 10 \
    go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"
) >&2
chmod +x "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
echo "$bin"
