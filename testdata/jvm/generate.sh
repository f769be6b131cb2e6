#!/usr/bin/env bash
# Regenerates the real-JVM incident bundles under testdata/bundles/ and
# examples/incidents/: compiles the fixture programs in testdata/jvm/src, runs
# each scenario in a real cgroup v1 memory cgroup (needs root), and converts
# what the JVM produced into a bundle.
#
#   testdata/jvm/generate.sh                  # every scenario in scenarios.yaml
#   testdata/jvm/generate.sh lock-growth ...  # just these
#
# Idempotent: run directories are recreated, bundle files are replaced.
# Hand-written for oombot.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
work=${OOMBOT_FIXTURE_WORK:-/tmp/oombot-fixtures}
classes=$work/classes
bin=$work/fixturegen
config=testdata/jvm/scenarios.yaml

if [[ $(id -u) -ne 0 ]]; then
  echo "generate.sh: needs root (memory cgroup, dmesg)" >&2
  exit 1
fi

echo "== compiling fixture programs into $classes"
rm -rf "$classes"
mkdir -p "$classes" "$work/runs"
netty_cp=""
for jar in common buffer transport codec codec-http resolver handler; do
  f=/usr/share/java/netty-$jar.jar
  [[ -f $f ]] && netty_cp="$netty_cp:$f"
done
sources=$(find testdata/jvm/src -name '*.java' -not -path '*/plugin/*')
if [[ -z $netty_cp ]]; then
  echo "   netty jars not found in /usr/share/java (apt-get install libnetty-java); skipping the Netty program"
  sources=$(echo "$sources" | grep -v '/edge/')
fi
javac -nowarn -encoding UTF-8 -d "$classes" -cp "${netty_cp#:}" $sources
# The agent's advice classes live in their own jar, loaded only through the
# agent's classloaders (as an APM agent's instrumentation jar is).
plugin_sources=$(find testdata/jvm/src -path '*/plugin/*' -name '*.java')
if [[ -n $plugin_sources ]]; then
  rm -rf "$work/plugin-classes"
  mkdir -p "$work/plugin-classes"
  javac -nowarn -encoding UTF-8 -d "$work/plugin-classes" $plugin_sources
  jar --create --file "$classes/apm-advice.jar" -C "$work/plugin-classes" .
fi

echo "== building fixturegen"
go build -o "$bin" ./internal/fixturegen

scenarios=("$@")
if [[ ${#scenarios[@]} -eq 0 ]]; then
  mapfile -t scenarios < <(sed -n 's/^- name: //p' "$config")
fi
failed=()
for s in "${scenarios[@]}"; do
  echo "== $s"
  if ! "$bin" run -config "$config" -scenario "$s" -classes "$classes" -out "$work/runs/$s"; then
    failed+=("$s")
    continue
  fi
  "$bin" convert -config "$config" -scenario "$s" -run "$work/runs/$s"
  out=$(sed -n "/^- name: $s\$/,/^- name:/s/^  out: //p" "$config")
  echo "   wrote $out ($(du -sh "$out" | cut -f1))"
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "generate.sh: failed: ${failed[*]} (bundles left as they were; re-run those)" >&2
  exit 1
fi
