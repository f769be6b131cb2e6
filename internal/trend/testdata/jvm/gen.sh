#!/bin/sh
# gen.sh regenerates ../jstat_leak.csv and ../jstat_bounded.csv: it runs
# MemWorkload under JDK 17 with -Xmx64m and samples `jstat -gc -t <pid> 200`
# for 100 samples (~20 s). Usage: sh gen.sh (from this directory).
set -eu
work=$(mktemp -d)
javac -d "$work" MemWorkload.java

run() { # name mode retainPerSec churnPerSec
	name=$1; shift
	java -Xmx64m -Xms64m -XX:+UseG1GC -cp "$work" MemWorkload "$@" 24 >/dev/null &
	pid=$!
	sleep 1
	{
		echo "# jstat -gc -t <pid> 200 100 while running: java -Xmx64m -Xms64m -XX:+UseG1GC MemWorkload $* 24"
		echo "# $(java -version 2>&1 | head -1); produced by testdata/jvm/gen.sh; sizes in KiB, Timestamp in seconds since JVM start"
		jstat -gc -t "$pid" 200 100 | awk 'NR==1 { $1=$1; gsub(/ /, ","); print; next } { $1=$1; gsub(/ /, ","); print }'
	} >"../jstat_$name.csv"
	wait "$pid" || true
}

run leak leak 1800000 30000000
run bounded bounded 2000000 30000000
rm -rf "$work"
