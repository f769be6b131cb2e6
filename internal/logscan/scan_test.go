package logscan

import (
	"context"

	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"time"

	"github.com/oombot/oombot/internal/evidence"
)

// want describes one expected trace. Empty fields are not checked, except
// that Thread and Time are always compared (zero means "none found").
type want struct {
	kind, exception, message, thread string
	time                             string // RFC 3339, "" for zero
	frames                           int
	first, last                      string // first and last frame
	chain                            []string
	lines                            [2]int64 // first and last line number
	nLines                           int
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

func checkTrace(t *testing.T, i int, got Trace, w want) {
	t.Helper()
	if got.Kind != w.kind {
		t.Errorf("trace %d: kind %q, want %q", i, got.Kind, w.kind)
	}
	if w.exception != "" && got.Exception != w.exception {
		t.Errorf("trace %d: exception %q, want %q", i, got.Exception, w.exception)
	}
	if got.Message != w.message {
		t.Errorf("trace %d: message %q, want %q", i, got.Message, w.message)
	}
	if got.Thread != w.thread {
		t.Errorf("trace %d: thread %q, want %q", i, got.Thread, w.thread)
	}
	if wt := mustTime(t, w.time); !got.Time.Equal(wt) {
		t.Errorf("trace %d: time %v, want %v", i, got.Time, wt)
	}
	if len(got.Frames) != w.frames {
		t.Errorf("trace %d: %d frames, want %d: %q", i, len(got.Frames), w.frames, got.Frames)
	} else if w.frames > 0 {
		if w.first != "" && got.Frames[0] != w.first {
			t.Errorf("trace %d: first frame %q, want %q", i, got.Frames[0], w.first)
		}
		if w.last != "" && got.Frames[len(got.Frames)-1] != w.last {
			t.Errorf("trace %d: last frame %q, want %q", i, got.Frames[len(got.Frames)-1], w.last)
		}
	}
	if w.chain != nil && !reflect.DeepEqual(got.Chain, w.chain) {
		t.Errorf("trace %d: chain %q, want %q", i, got.Chain, w.chain)
	}
	if w.nLines != 0 && len(got.Lines) != w.nLines {
		t.Errorf("trace %d: %d lines, want %d", i, len(got.Lines), w.nLines)
	}
	if w.lines != [2]int64{} && len(got.Lines) > 0 {
		if g := [2]int64{got.Lines[0].No, got.Lines[len(got.Lines)-1].No}; g != w.lines {
			t.Errorf("trace %d: lines %v, want %v", i, g, w.lines)
		}
	}
}

func scanString(t *testing.T, s string, opt Options) Result {
	t.Helper()
	res, err := Scan(context.Background(), strings.NewReader(s), opt)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return res
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const heapRuntime = "java.lang.RuntimeException: report 42 failed"

var heapChain = []string{heapRuntime, "Caused by: java.lang.OutOfMemoryError: Java heap space"}

// TestScanFixtures checks the logs captured from real JVM runs
// (testdata/gen.sh, testdata/README.md).
func TestScanFixtures(t *testing.T) {
	const heapMsg = "java.lang.OutOfMemoryError: Java heap space"
	tests := []struct {
		file  string
		lines int64
		want  []want
	}{
		{"heap.log", 17, []want{
			{kind: evidence.OOMHeap, exception: "java.lang.OutOfMemoryError", message: heapMsg, thread: "http-nio-8080-exec-3",
				time: "2026-03-14T02:11:05.130Z", frames: 5, first: "HeapOOM.fill(HeapOOM.java:14)",
				last: "HeapOOM$$Lambda$1/0x00007f5ae4000a08.run(Unknown Source)", chain: heapChain, lines: [2]int64{3, 13}, nLines: 11},
			{kind: evidence.OOMHeap, message: heapMsg, thread: "main", time: "2026-03-14T02:11:05.137Z", frames: 2,
				first: "HeapOOM.fill(HeapOOM.java:14)", last: "HeapOOM.main(HeapOOM.java:51)", chain: []string{heapMsg},
				lines: [2]int64{15, 17}},
		}},
		{"heap-cri.log", 17, []want{
			{kind: evidence.OOMHeap, message: heapMsg, thread: "http-nio-8080-exec-3", time: "2026-03-14T02:11:05.126456789Z",
				frames: 5, first: "HeapOOM.fill(HeapOOM.java:14)", chain: heapChain, lines: [2]int64{3, 13}},
			{kind: evidence.OOMHeap, message: heapMsg, thread: "main", time: "2026-03-14T02:11:05.501456789Z", frames: 2,
				last: "HeapOOM.main(HeapOOM.java:51)", lines: [2]int64{15, 17}},
		}},
		{"heap-json.log", 6, []want{
			{kind: evidence.OOMHeap, message: heapMsg, thread: "http-nio-8080-exec-3", time: "2026-03-14T02:11:05.130Z",
				frames: 5, first: "HeapOOM.fill(HeapOOM.java:14)", chain: heapChain, lines: [2]int64{2, 2}, nLines: 1},
			{kind: evidence.OOMHeap, message: heapMsg, thread: "main", time: "2026-03-14T02:11:05.137Z", frames: 2, lines: [2]int64{4, 6}},
		}},
		{"heap-gclog.log", 40, []want{
			// Time from the logger line just before; the second trace has
			// no logger line, so the nearest timestamped line is a GC line.
			{kind: evidence.OOMHeap, message: heapMsg, thread: "http-nio-8080-exec-3", time: "2026-11-23T10:53:46.190Z",
				frames: 5, chain: heapChain, lines: [2]int64{12, 22}},
			{kind: evidence.OOMHeap, message: heapMsg, thread: "main", time: "2026-11-23T10:53:46.228Z", frames: 2, lines: [2]int64{38, 40}},
		}},
		{"suppressed.log", 8, []want{
			{kind: evidence.OOMHeap, message: heapMsg, thread: "main", time: "2026-03-14T02:11:05.123Z", frames: 2,
				first: "SuppressedOOM$Spool.close(SuppressedOOM.java:15)", last: "SuppressedOOM.export(SuppressedOOM.java:24)",
				chain: []string{"java.lang.IllegalStateException: export aborted", "Suppressed: java.lang.OutOfMemoryError: Java heap space"},
				lines: [2]int64{2, 8}},
		}},
		{"metaspace-kubectl.log", 9, []want{
			{kind: evidence.OOMMetaspace, message: "java.lang.OutOfMemoryError: Metaspace", thread: "main",
				time: "2026-03-14T02:11:05.003123456Z", frames: 6, first: "java.base/java.lang.ClassLoader.defineClass1(Native Method)",
				last: "MetaspaceOOM.main(MetaspaceOOM.java:36)", lines: [2]int64{3, 9}},
		}},
		{"compressed-class.log", 9, []want{
			{kind: evidence.OOMCompressedCS, message: "java.lang.OutOfMemoryError: Compressed class space", thread: "main",
				time: "2026-03-14T02:11:05.130Z", frames: 6, lines: [2]int64{3, 9}},
		}},
		{"direct-cri.log", 8, []want{
			{kind: evidence.OOMDirect, message: "java.lang.OutOfMemoryError: Cannot reserve 1048576 bytes of direct buffer memory (allocated: 8388608, limit: 8388608)",
				thread: "main", time: "2026-03-14T02:11:05.126456789Z", frames: 5, first: "java.base/java.nio.Bits.reserveMemory(Bits.java:178)",
				last: "DirectOOM.main(DirectOOM.java:19)", lines: [2]int64{3, 8}},
		}},
		{"array-size.log", 4, []want{
			{kind: evidence.OOMArraySize, message: "java.lang.OutOfMemoryError: Requested array size exceeds VM limit", thread: "main",
				time: "2026-03-14T02:11:05.123Z", frames: 2, first: "ArraySizeOOM.huge(ArraySizeOOM.java:4)", lines: [2]int64{2, 4}},
		}},
		{"gc-overhead.log", 8, []want{
			{kind: evidence.OOMGCOverhead, message: "java.lang.OutOfMemoryError: GC overhead limit exceeded", thread: "main",
				time: "2026-03-14T02:11:05.130Z", frames: 5, last: "GCOverheadOOM.main(GCOverheadOOM.java:14)", lines: [2]int64{3, 8}},
		}},
		{"native-thread.log", 8, []want{
			// The JVM's own [0.138s][warning][os,thread] lines carry uptime,
			// not a time, so the logger line's time is used.
			{kind: evidence.OOMNativeThread, message: "java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory or process/resource limits reached",
				thread: "main", time: "2026-03-14T02:11:05.130Z", frames: 3, first: "java.base/java.lang.Thread.start0(Native Method)", lines: [2]int64{5, 8}},
		}},
		{"netty-oom.log", 16, []want{
			// java.util.logging lines have no bracketed thread.
			{kind: evidence.OOMDirect, exception: "io.netty.util.internal.OutOfDirectMemoryError",
				message: "io.netty.util.internal.OutOfDirectMemoryError: failed to allocate 1048576 byte(s) of direct memory (used: 8388608, max: 8388608)",
				time:    "2026-11-23T10:53:50.882Z", frames: 13, first: "io.netty.util.internal.PlatformDependent.incrementMemoryCounter(PlatformDependent.java:743)",
				last: "NettyLeak.main(NettyLeak.java:54)", lines: [2]int64{2, 15}},
		}},
		{"netty-leak.log", 19, []want{
			{kind: KindLeak, message: "LEAK: ByteBuf.release() was not called before it's garbage-collected. See https://netty.io/wiki/reference-counted-objects.html for more information.",
				time: "2026-11-23T10:53:49.491Z", frames: 14, first: "io.netty.buffer.AdvancedLeakAwareByteBuf.readInt(AdvancedLeakAwareByteBuf.java:436)",
				last: "NettyLeak.main(NettyLeak.java:56)", lines: [2]int64{1, 19}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data := readFixture(t, tc.file)
			res := scanString(t, string(data), Options{})
			if res.Lines != tc.lines || res.Bytes != int64(len(data)) {
				t.Errorf("read %d lines, %d bytes; want %d, %d", res.Lines, res.Bytes, tc.lines, len(data))
			}
			if len(res.Traces) != len(tc.want) {
				t.Fatalf("found %d traces, want %d: %+v", len(res.Traces), len(tc.want), res.Traces)
			}
			for i, w := range tc.want {
				checkTrace(t, i, res.Traces[i], w)
			}
			// Every kept line is cited exactly as it appears in the log.
			lines := strings.Split(string(data), "\n")
			for _, tr := range res.Traces {
				for _, l := range tr.Lines {
					if lines[l.No-1] != l.Text {
						t.Errorf("line %d cited as %q, log has %q", l.No, l.Text, lines[l.No-1])
					}
				}
			}
		})
	}
}

// TestScanExcerpts covers shapes the captured fixtures do not: they are
// hand-written in the formats of the named tools (marked per case).
func TestScanExcerpts(t *testing.T) {
	const heapMsg = "java.lang.OutOfMemoryError: Java heap space"
	tests := []struct {
		name  string
		log   string
		lines int64
		want  []want
	}{
		{
			// Spring's DispatcherServlet logs the error inside its message and
			// then the trace: one error, reported once, with the thread and
			// time of the logger line.
			name: "spring nested exception then trace",
			log: "2026-03-14 02:11:05.123 ERROR 1 --- [nio-8080-exec-3] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() for servlet [dispatcherServlet] threw exception [Handler dispatch failed; nested exception is java.lang.OutOfMemoryError: Java heap space] with root cause\n" +
				"\n" +
				"java.lang.OutOfMemoryError: Java heap space\n" +
				"\tat c.e.Report.build(Report.java:88)\n" +
				"\tat java.base/java.lang.Thread.run(Thread.java:833)\n" +
				"2026-03-14 02:11:05.200  INFO 1 --- [           main] c.e.App : next\n",
			lines: 6,
			want: []want{
				// The blank line makes the mention a trace of its own...
				{kind: evidence.OOMHeap, message: heapMsg + "] with root cause", thread: "nio-8080-exec-3", time: "2026-03-14T02:11:05.123Z",
					lines: [2]int64{1, 1}},
				{kind: evidence.OOMHeap, message: heapMsg, time: "2026-03-14T02:11:05.123Z", frames: 2,
					first: "c.e.Report.build(Report.java:88)", last: "java.base/java.lang.Thread.run(Thread.java:833)", lines: [2]int64{3, 5}},
			},
		},
		{
			name: "spring nested exception directly followed by trace",
			log: "2026-03-14 02:11:05.123 ERROR 1 --- [nio-8080-exec-3] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() threw exception [Handler dispatch failed; nested exception is java.lang.OutOfMemoryError: Java heap space] with root cause\n" +
				"java.lang.OutOfMemoryError: Java heap space\n" +
				"\tat c.e.Report.build(Report.java:88)\n",
			lines: 3,
			want: []want{{kind: evidence.OOMHeap, message: heapMsg, thread: "nio-8080-exec-3", time: "2026-03-14T02:11:05.123Z",
				frames: 1, chain: []string{heapMsg}, lines: [2]int64{2, 3}}},
		},
		{
			// logback: "common frames omitted", and the root-cause-first
			// "Wrapped by:" layout.
			name: "logback root cause first",
			log: "02:11:05.123 [main] ERROR c.e.App - boom\n" +
				"java.lang.OutOfMemoryError: GC overhead limit exceeded\n" +
				"\tat c.e.Cache.put(Cache.java:10)\n" +
				"Wrapped by: java.lang.IllegalStateException: cache failed\n" +
				"\tat c.e.Cache.load(Cache.java:20)\n" +
				"\t... 3 common frames omitted\n",
			lines: 6,
			want: []want{{kind: evidence.OOMGCOverhead, message: "java.lang.OutOfMemoryError: GC overhead limit exceeded", thread: "",
				frames: 1, first: "c.e.Cache.put(Cache.java:10)",
				chain: []string{"java.lang.OutOfMemoryError: GC overhead limit exceeded", "Wrapped by: java.lang.IllegalStateException: cache failed"},
				lines: [2]int64{2, 6}}},
		},
		{
			// Netty wraps its OutOfDirectMemoryError in a DecoderException
			// whose message repeats it; the OOM's own section is the cause.
			name: "netty decoder exception",
			log: "2026-03-14 02:11:05,123 WARN  [nioEventLoopGroup-3-1] i.n.c.DefaultChannelPipeline - An exceptionCaught() event was fired\n" +
				"io.netty.handler.codec.DecoderException: io.netty.util.internal.OutOfDirectMemoryError: failed to allocate 16777216 byte(s) of direct memory (used: 251658247, max: 268435456)\n" +
				"\tat io.netty.handler.codec.ByteToMessageDecoder.channelRead(ByteToMessageDecoder.java:471)\n" +
				"Caused by: io.netty.util.internal.OutOfDirectMemoryError: failed to allocate 16777216 byte(s) of direct memory (used: 251658247, max: 268435456)\n" +
				"\tat io.netty.util.internal.PlatformDependent.incrementMemoryCounter(PlatformDependent.java:754)\n" +
				"\tat io.netty.util.internal.PlatformDependent.allocateDirectNoCleaner(PlatformDependent.java:709)\n" +
				"\t... 2 more\n",
			lines: 7,
			want: []want{{kind: evidence.OOMDirect, exception: "io.netty.util.internal.OutOfDirectMemoryError",
				message: "io.netty.util.internal.OutOfDirectMemoryError: failed to allocate 16777216 byte(s) of direct memory (used: 251658247, max: 268435456)",
				thread:  "nioEventLoopGroup-3-1", time: "2026-03-14T02:11:05.123Z", frames: 2,
				first: "io.netty.util.internal.PlatformDependent.incrementMemoryCounter(PlatformDependent.java:754)", lines: [2]int64{2, 7}}},
		},
		{
			// What the JVM itself prints with -XX:+ExitOnOutOfMemoryError and
			// -XX:+HeapDumpOnOutOfMemoryError; the flags echoed at start-up
			// are not errors.
			name: "jvm flags, exit and heap dump notices",
			log: "Picked up JAVA_TOOL_OPTIONS: -XX:+HeapDumpOnOutOfMemoryError -XX:+ExitOnOutOfMemoryError -XX:OnOutOfMemoryError=kill\n" +
				"2026-03-14T02:11:05.000Z INFO starting\n" +
				"java.lang.OutOfMemoryError: Java heap space\n" +
				"Dumping heap to /tmp/java_pid1.hprof ...\n" +
				"Heap dump file created [11848251 bytes in 0.040 secs]\n" +
				"Terminating due to java.lang.OutOfMemoryError: Java heap space\n",
			lines: 6,
			want: []want{
				{kind: evidence.OOMHeap, message: heapMsg, time: "2026-03-14T02:11:05Z", lines: [2]int64{3, 3}},
				{kind: evidence.OOMHeap, message: heapMsg, time: "2026-03-14T02:11:05Z", lines: [2]int64{6, 6}},
			},
		},
		{
			name: "trace cut off by the end of the log",
			log: "2026-03-14 02:11:05.123 ERROR [w-1] c.e.A - failed\n" +
				"java.lang.RuntimeException: x\n" +
				"\tat c.e.A.a(A.java:1)\n" +
				"Caused by: java.lang.OutOfMemoryError: Metaspace\n" +
				"\tat c.e.A.b(A.java:2)",
			lines: 5,
			want: []want{{kind: evidence.OOMMetaspace, message: "java.lang.OutOfMemoryError: Metaspace", thread: "w-1",
				time: "2026-03-14T02:11:05.123Z", frames: 1, first: "c.e.A.b(A.java:2)", lines: [2]int64{2, 5}}},
		},
		{
			name:  "windows line endings",
			log:   "Exception in thread \"pool-1-thread-2\" java.lang.OutOfMemoryError: Java heap space\r\n\tat c.e.A.a(A.java:1)\r\n\tat c.e.A.b(A.java:2)\r\nnext\r\n",
			lines: 4,
			want: []want{{kind: evidence.OOMHeap, message: heapMsg, thread: "pool-1-thread-2", frames: 2, last: "c.e.A.b(A.java:2)",
				lines: [2]int64{1, 3}}},
		},
		{
			name: "unknown message and bare class name",
			log: "2026-03-14T03:00:00+01:00 OutOfMemoryError: Map failed\n" +
				"[2026-03-14T02:11:05.123+0000][error][gc] java.lang.OutOfMemoryError: Out of swap space?\n",
			lines: 2,
			want: []want{
				{kind: evidence.OOMOther, exception: "OutOfMemoryError", message: "OutOfMemoryError: Map failed", time: "2026-03-14T02:00:00Z", lines: [2]int64{1, 1}},
				{kind: evidence.OOMOther, message: "java.lang.OutOfMemoryError: Out of swap space?", time: "2026-03-14T02:11:05.123Z", lines: [2]int64{2, 2}},
			},
		},
		{
			name: "near misses",
			log: "WARN heap 91% used, raise -Xmx to avoid an OutOfMemoryError\n" +
				"\tat c.e.OutOfMemoryErrorHandler.handle(OutOfMemoryErrorHandler.java:3)\n" +
				"INFO LEAK: detection level is simple\n" +
				"see java.lang.OutOfMemoryErrors.html\n",
			lines: 4,
		},
		{
			// kubectl logs --timestamps prefix on every line, two traces.
			name: "kubectl timestamps, two traces",
			log: "2026-03-14T02:11:05.100000000Z 2026-03-14 02:11:05.099 ERROR [a] c.e.A - first\n" +
				"2026-03-14T02:11:05.101000000Z java.lang.OutOfMemoryError: Java heap space\n" +
				"2026-03-14T02:11:05.102000000Z \tat c.e.A.a(A.java:1)\n" +
				"2026-03-14T02:11:06.000000000Z 2026-03-14 02:11:05.999 ERROR [b] c.e.B - second\n" +
				"2026-03-14T02:11:06.001000000Z java.lang.OutOfMemoryError: Direct buffer memory\n" +
				"2026-03-14T02:11:06.002000000Z \tat java.base/java.nio.Bits.reserveMemory(Bits.java:175)\n",
			lines: 6,
			want: []want{
				{kind: evidence.OOMHeap, message: heapMsg, thread: "a", time: "2026-03-14T02:11:05.101Z", frames: 1, lines: [2]int64{2, 3}},
				{kind: evidence.OOMDirect, message: "java.lang.OutOfMemoryError: Direct buffer memory", thread: "b",
					time: "2026-03-14T02:11:06.001Z", frames: 1, lines: [2]int64{5, 6}},
			},
		},
		{
			name:  "json error.stack nested, epoch millis",
			log:   `{"timestamp":1773454265123,"thread":"worker-2","error":{"kind":"java.lang.OutOfMemoryError","stack":"java.lang.OutOfMemoryError: Metaspace\n\tat c.e.A.a(A.java:1)\n"}}` + "\n",
			lines: 1,
			want: []want{{kind: evidence.OOMMetaspace, message: "java.lang.OutOfMemoryError: Metaspace", thread: "worker-2",
				time: "2026-03-14T02:11:05.123Z", frames: 1, lines: [2]int64{1, 1}}},
		},
		{
			name:  "json flat error.stack, zap float ts",
			log:   `{"level":"error","ts":1773454265.5,"msg":"boom","error.stack":"Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space\n\tat A.a(A.java:1)"}` + "\n",
			lines: 1,
			want:  []want{{kind: evidence.OOMHeap, message: heapMsg, thread: "main", time: "2026-03-14T02:11:05.5Z", frames: 1, lines: [2]int64{1, 1}}},
		},
		{
			name: "json exception and message fields, CRI prefix",
			log: `2026-03-14T02:11:05.123456789Z stdout F {"time":"2026-03-14T02:11:05.120Z","message":"failed: java.lang.OutOfMemoryError: Java heap space","exception":"java.lang.OutOfMemoryError: Java heap space\n\tat A.a(A.java:1)\n\tat A.b(A.java:2)"}` + "\n" +
				`2026-03-14T02:11:06.123456789Z stdout F {"message":"java.lang.OutOfMemoryError: GC overhead limit exceeded"}` + "\n",
			lines: 2,
			want: []want{
				{kind: evidence.OOMHeap, message: heapMsg, time: "2026-03-14T02:11:05.120Z", frames: 2, lines: [2]int64{1, 1}},
				// No time field: the CRI prefix gives it.
				{kind: evidence.OOMGCOverhead, message: "java.lang.OutOfMemoryError: GC overhead limit exceeded", time: "2026-03-14T02:11:06.123456789Z",
					lines: [2]int64{2, 2}},
			},
		},
		{
			name:  "json stack field holding a leak",
			log:   `{"@timestamp":"2026-03-14T02:11:05.123+01:00","stack":"LEAK: ByteBuf.release() was not called before it's garbage-collected.\nRecent access records: \nCreated at:\n\tio.netty.buffer.PooledByteBufAllocator.newDirectBuffer(PooledByteBufAllocator.java:363)\n"}` + "\n",
			lines: 1,
			want: []want{{kind: KindLeak, message: "LEAK: ByteBuf.release() was not called before it's garbage-collected.", time: "2026-03-14T01:11:05.123Z",
				frames: 1, first: "io.netty.buffer.PooledByteBufAllocator.newDirectBuffer(PooledByteBufAllocator.java:363)"}},
		},
		{
			// A JSON line cut short (e.g. by a shipper's size limit) is read leniently.
			name:  "truncated json",
			log:   `{"@timestamp":"2026-03-14T02:11:05.123Z","thread_name":"t","stack_trace":"java.lang.OutOfMemoryError: Java heap space\n\tat A.a(A.java:1)\n\tat A.b(A.j`,
			lines: 1,
			want: []want{{kind: evidence.OOMHeap, message: heapMsg, thread: "t", time: "2026-03-14T02:11:05.123Z", frames: 2,
				first: "A.a(A.java:1)", last: "A.b(A.j"}},
		},
		{
			name: "netty leak with hints and discarded records",
			log: "2026-03-14 02:11:05.123 ERROR [nioEventLoopGroup-2-1] i.n.u.ResourceLeakDetector - LEAK: ByteBuf.release() was not called before it's garbage-collected. See https://netty.io/wiki/reference-counted-objects.html for more information.\n" +
				"Recent access records: \n" +
				"#1:\n" +
				"\tHint: 'DefaultChannelPipeline$HeadContext#0' will handle the message from this point.\n" +
				"\tio.netty.channel.DefaultChannelPipeline$HeadContext.write(DefaultChannelPipeline.java:1371)\n" +
				": 4 leak records were discarded because the leak record count is targeted to 4. Use system property io.netty.leakDetection.targetRecords to increase the limit.\n" +
				"Created at:\n" +
				"\tio.netty.buffer.PooledByteBufAllocator.newDirectBuffer(PooledByteBufAllocator.java:363)\n" +
				"2026-03-14 02:11:05.200 INFO [main] c.e.App - after\n",
			lines: 9,
			want: []want{{kind: KindLeak, message: "LEAK: ByteBuf.release() was not called before it's garbage-collected. See https://netty.io/wiki/reference-counted-objects.html for more information.",
				thread: "nioEventLoopGroup-2-1", time: "2026-03-14T02:11:05.123Z", frames: 2,
				first: "io.netty.channel.DefaultChannelPipeline$HeadContext.write(DefaultChannelPipeline.java:1371)",
				last:  "io.netty.buffer.PooledByteBufAllocator.newDirectBuffer(PooledByteBufAllocator.java:363)", lines: [2]int64{1, 8}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := scanString(t, tc.log, Options{})
			if res.Lines != tc.lines {
				t.Errorf("read %d lines, want %d", res.Lines, tc.lines)
			}
			if len(res.Traces) != len(tc.want) {
				t.Fatalf("found %d traces, want %d: %+v", len(res.Traces), len(tc.want), res.Traces)
			}
			for i, w := range tc.want {
				checkTrace(t, i, res.Traces[i], w)
			}
		})
	}
}
