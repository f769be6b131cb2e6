#!/usr/bin/env bash
# bench-logscan.sh compares internal/logscan's throughput with
# `grep -F -c OutOfMemoryError` on the same generated container log, and
# shows that the scanner's memory does not grow with the log.
#
#   scripts/bench-logscan.sh            # 128 MiB log
#   SIZE_MIB=512 scripts/bench-logscan.sh
#
# The requirement is logscan/grep >= 0.5. Both sides are timed as their
# best run (grep: best of 3; logscan: fastest iteration of the benchmark)
# after a warm read, so both read from the page cache.
set -euo pipefail
cd "$(dirname "$0")/.."

size=${SIZE_MIB:-128}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/bench.log

echo "generating a ${size} MiB log in $tmp ..."
go run ./internal/logscan/internal/genlog/cmd/genlog -size "$size" -o "$log" >"$log.json"
echo "planted: $(cat "$log.json")"
bytes=$(stat -c %s "$log")

# Warm the page cache so neither side pays for the disk.
cat "$log" >/dev/null

# grep's output goes to a file, not /dev/null: GNU grep notices a
# /dev/null stdout and stops at the first match, which would time nothing.
# EPOCHREALTIME (bash 5) avoids timing the fork of date(1) too.
best=
for _ in 1 2 3; do
	start=$EPOCHREALTIME
	grep -F -c OutOfMemoryError "$log" >"$tmp/grep.out"
	end=$EPOCHREALTIME
	us=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%d", (e - s) * 1e6 }')
	if [ -z "$best" ] || [ "$us" -lt "$best" ]; then best=$us; fi
done
grep_mbs=$(awk -v b="$bytes" -v us="$best" 'BEGIN { printf "%.0f", b / us }')

out=$(OOMBOT_BENCH_LOG=$log go test -run '^$' -bench 'BenchmarkScan$' -benchmem -count 1 ./internal/logscan/)
echo "$out" | grep -E '^(Benchmark|cpu:)'
scan_mbs=$(echo "$out" | awk '/^BenchmarkScan-/ { for (i = 1; i < NF; i++) if ($(i+1) == "bestMB/s") printf "%.0f", $i }')
if [ -z "$scan_mbs" ]; then
	echo "could not read the benchmark result:" >&2
	echo "$out" >&2
	exit 1
fi

echo
echo "grep -F -c OutOfMemoryError:  ${grep_mbs} MB/s (best of 3: $(awk -v us="$best" 'BEGIN { printf "%.1f", us / 1e3 }') ms, $(cat "$tmp/grep.out") matching lines)"
echo "logscan.Scan (best run):      ${scan_mbs} MB/s"
awk -v s="$scan_mbs" -v g="$grep_mbs" 'BEGIN { r = s / g; printf "ratio logscan/grep:           %.2f (requirement >= 0.5): %s\n", r, (r >= 0.5 ? "ok" : "FAIL") }'

echo
echo "memory (bytes allocated / peak heap growth while scanning 10 MiB vs 100 MiB):"
go test -run 'TestScanMemoryConstant$' -v -count 1 ./internal/logscan/ | grep -E 'MiB|^(ok|FAIL|---)'
