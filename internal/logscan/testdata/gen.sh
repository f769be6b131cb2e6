#!/usr/bin/env bash
# gen.sh regenerates the captured JVM logs in this directory from the Java
# programs in java/. It needs JDK 17 (javac, java) and, for the Netty
# fixtures, Debian's libnetty-java (jars in /usr/share/java).
#
# The stack traces are printed by the JVM itself. Timestamps on application
# lines come from java/Log.java's fake clock (2026-03-14T02:11:05.123Z plus
# 7 ms per line) so most fixtures are byte-for-byte reproducible; the Netty
# fixtures log through java.util.logging and carry the real wall-clock time,
# and lambda/hidden-class addresses (0x00007f...) differ between runs.
# Regenerating therefore may require updating expectations in
# scan_test.go.
set -euo pipefail
cd "$(dirname "$0")"

NETTY=/usr/share/java/netty-buffer.jar:/usr/share/java/netty-common.jar
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
javac -d "$out" -cp "$NETTY" java/*.java
run() { java -cp "$out:$NETTY" "$@" 2>&1 || true; }

# cri prefixes every line the way containerd writes /var/log/pods files:
# "<RFC3339Nano> <stream> F <line>", 1 ms apart from a fixed start.
cri() {
	awk -v stream="$1" -v start="$2" '{ printf "2026-03-14T02:11:%02d.%09dZ %s F %s\n", 5 + int((start + NR) / 1000), ((start + NR) % 1000) * 1000000 + 456789, stream, $0 }'
}

# kubectl logs --timestamps: "<RFC3339Nano> <line>".
kts() {
	awk '{ printf "2026-03-14T02:11:%02d.%09dZ %s\n", 5 + int(NR / 1000), (NR % 1000) * 1000000 + 123456, $0 }'
}

run -Xmx16m HeapOOM >heap.log
run -Xmx16m HeapOOM json >heap-json.log
run -Xmx16m SuppressedOOM >suppressed.log
run -XX:MaxMetaspaceSize=16m MetaspaceOOM | kts >metaspace-kubectl.log
run -XX:MaxMetaspaceSize=256m -XX:CompressedClassSpaceSize=1m MetaspaceOOM >compressed-class.log
run -Xmx64m ArraySizeOOM >array-size.log
# GC unified logging (with its own [time] decoration) on stdout beside the
# application lines, as many containers run; real clock throughout.
TZ=UTC run -Xmx16m -Xlog:gc:stdout:time,level,tags -Dlog.realclock=true HeapOOM >heap-gclog.log
timeout 120 java -Xmx32m -XX:+UseParallelGC -cp "$out" GCOverheadOOM >gc-overhead.log 2>&1 || true

# Direct buffer OOM as a CRI log: the app's stdout and the JVM's stderr
# are prefixed separately (stdout first, as containerd would interleave
# them by time).
java -XX:MaxDirectMemorySize=8m -cp "$out" DirectOOM >"$out/direct.out" 2>"$out/direct.err" || true
{ cri stdout 123 <"$out/direct.out"; cri stderr 500 <"$out/direct.err"; } >direct-cri.log

# The heap trace again, CRI-prefixed, for interleaved-prefix parsing.
java -Xmx16m -cp "$out" HeapOOM >"$out/heap.out" 2>"$out/heap.err" || true
{ cri stdout 123 <"$out/heap.out"; cri stderr 500 <"$out/heap.err"; } >heap-cri.log

# unable to create native thread: only this JVM is limited, by ulimit -v
# in a subshell, and each thread asks for a 256 MiB stack.
(ulimit -v 4000000; java -Xmx64m -XX:CompressedClassSpaceSize=64m -XX:ReservedCodeCacheSize=32m \
	-XX:MaxMetaspaceSize=64m -cp "$out" NativeThreadOOM >native-thread.log 2>&1 || true)

JUL='%1$tY-%1$tm-%1$td %1$tH:%1$tM:%1$tS.%1$tL %4$s %3$s - %5$s%6$s%n'
run -Duser.timezone=UTC -Djava.util.logging.SimpleFormatter.format="$JUL" \
	-Dio.netty.leakDetection.level=paranoid NettyLeak >netty-leak.log
# Netty only enforces io.netty.maxDirectMemory on its no-cleaner path,
# which JDK 17 allows only with these opens.
run -Duser.timezone=UTC -Djava.util.logging.SimpleFormatter.format="$JUL" -XX:MaxDirectMemorySize=64m \
	-Dio.netty.tryReflectionSetAccessible=true --add-opens java.base/java.nio=ALL-UNNAMED \
	--add-opens java.base/jdk.internal.misc=ALL-UNNAMED -Dio.netty.maxDirectMemory=8388608 \
	NettyLeak oom >netty-oom.log
echo "regenerated: $(ls *.log | tr '\n' ' ')"
