package logscan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/logscan/internal/genlog"
)

// allFixtures concatenates every captured log, so traces sit at many
// different offsets.
func allFixtures(t *testing.T) []byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var b bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.Bytes()
}

type gcLine struct {
	no   int64
	text string
}

func scanWith(t *testing.T, r io.Reader, opt Options, cfg config) (Result, []gcLine) {
	t.Helper()
	var seen []gcLine
	opt.ExtraNeedles = [][]byte{[]byte("GC("), []byte("[Full GC")}
	opt.OnLine = func(no int64, line []byte) { seen = append(seen, gcLine{no, string(line)}) }
	res, err := scan(context.Background(), r, opt, cfg)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return res, seen
}

// TestScanChunkBoundaries scans the same log with chunk sizes down to one
// byte, and with readers returning one byte at a time, and expects exactly
// the result of a single-chunk scan: traces spanning chunks, heads found
// by looking back into earlier chunks, line numbers and OnLine calls.
func TestScanChunkBoundaries(t *testing.T) {
	data := allFixtures(t)
	want, wantGC := scanWith(t, bytes.NewReader(data), Options{}, defaultConfig)
	if len(want.Traces) < 15 || len(wantGC) < 20 {
		t.Fatalf("fixtures gave only %d traces, %d GC lines", len(want.Traces), len(wantGC))
	}
	if n := int64(bytes.Count(data, []byte("\n"))); want.Lines != n {
		t.Errorf("counted %d lines, want %d", want.Lines, n)
	}
	// OnLine saw exactly the lines holding a needle, in order.
	var naive []gcLine
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "GC(") || strings.Contains(l, "[Full GC") {
			naive = append(naive, gcLine{int64(i + 1), l})
		}
	}
	if !reflect.DeepEqual(wantGC, naive) {
		t.Errorf("OnLine calls differ from a line-by-line search:\n got %v\nwant %v", wantGC, naive)
	}
	cases := []struct {
		name string
		cfg  config
		wrap func(io.Reader) io.Reader
	}{
		{"chunk 1", config{chunk: 1, lookBack: 64 << 10}, nil},
		{"chunk 7", config{chunk: 7, lookBack: 64 << 10}, nil},
		{"chunk 100", config{chunk: 100, lookBack: 64 << 10}, nil},
		{"chunk 4096", config{chunk: 4096, lookBack: 4096}, nil},
		{"one byte reads", defaultConfig, iotest.OneByteReader},
		{"half reads", config{chunk: 333, lookBack: 8192}, iotest.HalfReader},
		{"EOF with data", config{chunk: 50, lookBack: 8192}, iotest.DataErrReader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(data)
			if tc.wrap != nil {
				r = tc.wrap(r)
			}
			got, gotGC := scanWith(t, r, Options{}, tc.cfg)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("result differs from the single-chunk scan:\n got %+v\nwant %+v", summary(got), summary(want))
			}
			if !reflect.DeepEqual(gotGC, wantGC) {
				t.Errorf("OnLine calls differ: got %d, want %d", len(gotGC), len(wantGC))
			}
		})
	}
}

func summary(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lines=%d bytes=%d dropped=%d truncated=%d", r.Lines, r.Bytes, r.Dropped, r.TruncatedLines)
	for _, t := range r.Traces {
		fmt.Fprintf(&b, "\n  %s %q frames=%d chain=%d", t.Kind, t.Message, len(t.Frames), len(t.Chain))
		if len(t.Lines) > 0 {
			fmt.Fprintf(&b, " lines %d-%d", t.Lines[0].No, t.Lines[len(t.Lines)-1].No)
		}
	}
	return b.String()
}

// filler returns n bytes of ordinary logger lines.
func filler(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "2026-03-14 02:11:%02d.%03d  INFO 1 --- [main] c.e.App : request %d ok\n", i/1000%60, i%1000, i)
	}
	return b.String()
}

// TestScanTraceAcrossDefaultChunk puts a trace across the 1 MiB boundary
// of a real Scan: the outer header is in the first chunk, the
// "Caused by: OutOfMemoryError" that is found by the search in the second.
func TestScanTraceAcrossDefaultChunk(t *testing.T) {
	head := "2026-03-14 02:11:05.123 ERROR [exec-1] c.e.H - failed\njava.lang.RuntimeException: wrapped\n\tat c.e.H.a(H.java:1)\n"
	// Pad so that pre+head ends 10 bytes before the boundary.
	pre := filler(defaultConfig.chunk - len(head) - 200)
	pre += strings.Repeat("#", defaultConfig.chunk-len(pre)-len(head)-11) + "\n"
	log := pre + head + "\tat c.e.H.b(H.java:2)\nCaused by: java.lang.OutOfMemoryError: Java heap space\n\tat c.e.H.c(H.java:3)\n\t... 2 more\n" + filler(1000)
	if i := strings.Index(log, "Caused by"); i < defaultConfig.chunk {
		t.Fatalf("setup: Caused by at %d is not past the chunk boundary", i)
	}
	if i := strings.Index(log, "java.lang.RuntimeException"); i >= defaultConfig.chunk {
		t.Fatalf("setup: the header at %d is not before the chunk boundary", i)
	}
	res := scanString(t, log, Options{})
	if len(res.Traces) != 1 {
		t.Fatalf("found %d traces, want 1", len(res.Traces))
	}
	headLine := int64(strings.Count(pre, "\n") + 2)
	checkTrace(t, 0, res.Traces[0], want{kind: evidence.OOMHeap, message: "java.lang.OutOfMemoryError: Java heap space",
		thread: "exec-1", time: "2026-03-14T02:11:05.123Z", frames: 1, first: "c.e.H.c(H.java:3)",
		chain: []string{"java.lang.RuntimeException: wrapped", "Caused by: java.lang.OutOfMemoryError: Java heap space"},
		lines: [2]int64{headLine, headLine + 5}})
}

// TestScanLookBackLimit: when the trace's head lies further back than the
// kept tail, the OOM is still reported, starting where the tail starts.
func TestScanLookBackLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("java.lang.RuntimeException: wrapped\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "\tat c.e.H.f%d(H.java:%d)\n", i, i)
	}
	b.WriteString("Caused by: java.lang.OutOfMemoryError: Java heap space\n\tat c.e.H.c(H.java:3)\n")
	log := filler(5000) + b.String()
	// The buffer also has room for one maximal line, so keep that small too.
	res, err := scan(context.Background(), strings.NewReader(log), Options{MaxLineBytes: 128}, config{chunk: 256, lookBack: 512})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Traces) != 1 {
		t.Fatalf("found %d traces, want 1", len(res.Traces))
	}
	tr := res.Traces[0]
	if tr.Message != "java.lang.OutOfMemoryError: Java heap space" || len(tr.Frames) != 1 {
		t.Errorf("got %q with %d frames", tr.Message, len(tr.Frames))
	}
	if len(tr.Chain) == 0 || tr.Chain[len(tr.Chain)-1] != "Caused by: java.lang.OutOfMemoryError: Java heap space" {
		t.Errorf("chain %q does not end with the OOM", tr.Chain)
	}
	if n := len(tr.Lines); n < 3 || n >= 53 {
		t.Errorf("kept %d lines; want the part of the trace inside the 512-byte tail", n)
	}
	full := scanString(t, log, Options{})
	if len(full.Traces) != 1 || len(full.Traces[0].Lines) != 53 || full.Traces[0].Chain[0] != "java.lang.RuntimeException: wrapped" {
		t.Errorf("with the default tail the whole trace is expected: %s", summary(full))
	}
}

// TestScanLongLines: lines over MaxLineBytes are cut, counted, and what
// lies past the cut is not looked at, whether the line fits in the buffer
// or is dropped while it streams in.
func TestScanLongLines(t *testing.T) {
	long := strings.Repeat("x", 300)
	log := long + " java.lang.OutOfMemoryError: Java heap space\n" + // past the cap: ignored
		"java.lang.OutOfMemoryError: Metaspace " + long + "\n" + // kept, cut
		"\tat c.e.A.a(A.java:1)\n" +
		long + " GC(12) Pause Full\n" + // needle past the cap: no OnLine
		"GC(13) Pause Young " + long + "\n" +
		"short line\n" +
		long // last line, no newline
	opt := Options{MaxLineBytes: 100}
	cfgs := []config{defaultConfig, {chunk: 16, lookBack: 64}, {chunk: 1, lookBack: 1024}, {chunk: 150, lookBack: 200}}
	var first Result
	for i, cfg := range cfgs {
		res, gc := scanWith(t, strings.NewReader(log), opt, cfg)
		if res.TruncatedLines != 5 || res.Lines != 7 || res.Bytes != int64(len(log)) {
			t.Errorf("cfg %+v: %d truncated, %d lines, %d bytes; want 5, 7, %d", cfg, res.TruncatedLines, res.Lines, res.Bytes, len(log))
		}
		if len(res.Traces) != 1 {
			t.Fatalf("cfg %+v: found %d traces, want 1", cfg, len(res.Traces))
		}
		tr := res.Traces[0]
		if tr.Kind != evidence.OOMMetaspace || len(tr.Lines) != 2 || tr.Lines[0].No != 2 || len(tr.Lines[0].Text) != 100 || len(tr.Frames) != 1 {
			t.Errorf("cfg %+v: trace %+v", cfg, tr)
		}
		if len(gc) != 1 || gc[0].no != 5 || len(gc[0].text) != 100 {
			t.Errorf("cfg %+v: OnLine calls %v, want line 5 cut to 100 bytes", cfg, gc)
		}
		if i == 0 {
			first = res
		} else if !reflect.DeepEqual(res, first) {
			t.Errorf("cfg %+v: result differs from the default configuration", cfg)
		}
	}
}

// TestScanLimits checks MaxTraceLines and MaxTraces, and that the part of
// a trace past MaxTraceLines is not mistaken for new traces.
func TestScanLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 5; i++ {
		b.WriteString("java.lang.RuntimeException: outer\n")
		for j := 0; j < 30; j++ {
			fmt.Fprintf(&b, "\tat c.e.A.f%d(A.java:%d)\n", j, j)
		}
		b.WriteString("Caused by: java.lang.OutOfMemoryError: Java heap space\n\tat c.e.A.g(A.java:1)\n")
		b.WriteString("Caused by: java.lang.OutOfMemoryError: Metaspace\n\tat c.e.A.h(A.java:1)\n")
		b.WriteString("2026-03-14 02:11:05.123 INFO [main] c.e.A - next\n")
	}
	log := b.String()
	tests := []struct {
		opt      Options
		traces   int
		dropped  int
		maxLines int
		kind     string
	}{
		{Options{}, 5, 0, 35, evidence.OOMHeap},
		{Options{MaxTraceLines: 10}, 5, 0, 10, evidence.OOMHeap},
		{Options{MaxTraces: 2}, 2, 3, 35, evidence.OOMHeap},
		{Options{MaxTraces: 1, MaxTraceLines: 1}, 1, 4, 1, evidence.OOMHeap},
	}
	for _, tc := range tests {
		res := scanString(t, log, tc.opt)
		if len(res.Traces) != tc.traces || res.Dropped != tc.dropped {
			t.Errorf("%+v: %d traces, %d dropped; want %d, %d", tc.opt, len(res.Traces), res.Dropped, tc.traces, tc.dropped)
			continue
		}
		for _, tr := range res.Traces {
			if len(tr.Lines) != tc.maxLines || len(tr.Frames) > tc.maxLines {
				t.Errorf("%+v: %d lines, %d frames; want %d lines", tc.opt, len(tr.Lines), len(tr.Frames), tc.maxLines)
			}
		}
	}
	// With the full trace kept, the first OOM section is the one reported.
	res := scanString(t, log, Options{})
	checkTrace(t, 0, res.Traces[0], want{kind: evidence.OOMHeap, message: "java.lang.OutOfMemoryError: Java heap space", frames: 1,
		first: "c.e.A.g(A.java:1)", chain: []string{"java.lang.RuntimeException: outer",
			"Caused by: java.lang.OutOfMemoryError: Java heap space", "Caused by: java.lang.OutOfMemoryError: Metaspace"},
		lines: [2]int64{1, 35}})
}

// cancelReader cancels its context once more than after bytes were read.
type cancelReader struct {
	r      io.Reader
	read   int
	after  int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	if c.read > c.after {
		c.cancel()
	}
	return n, err
}

func TestScanCancel(t *testing.T) {
	trace := "java.lang.OutOfMemoryError: Java heap space\n\tat c.e.A.a(A.java:1)\n"
	log := trace + filler(5<<20) + trace

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Scan(ctx, strings.NewReader(log), Options{})
	if !errors.Is(err, context.Canceled) || len(res.Traces) != 0 || res.Bytes != 0 {
		t.Errorf("cancelled before start: %d traces, %d bytes, err %v", len(res.Traces), res.Bytes, err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	res, err = Scan(ctx, &cancelReader{r: strings.NewReader(log), after: 1 << 20, cancel: cancel}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(res.Traces) != 1 || res.Bytes >= int64(len(log)) || res.Bytes < 1<<20 {
		t.Errorf("cancelled mid-way: %d traces after %d of %d bytes; want the first trace and a partial read", len(res.Traces), res.Bytes, len(log))
	}
}

func TestScanReadError(t *testing.T) {
	boom := errors.New("connection reset")
	log := "2026-03-14 02:11:05.123 ERROR [a] c.e.A - x\njava.lang.OutOfMemoryError: Java heap space\n\tat c.e.A.a(A.java:1)\n\tat c.e.A.b(A.j"
	r := io.MultiReader(strings.NewReader(log), iotest.ErrReader(boom))
	res, err := Scan(context.Background(), r, Options{})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), fmt.Sprint(len(log))) {
		t.Errorf("err = %v, want the wrapped read error with the offset", err)
	}
	if len(res.Traces) != 1 || len(res.Traces[0].Frames) != 2 || res.Lines != 4 {
		t.Errorf("got %s; want the trace read before the error", summary(res))
	}
}

// TestScanMemoryConstant scans 10 MB and 100 MB of generated log (without
// traces, streamed from a repeating reader so the input costs nothing) and
// checks that the scanner's allocations do not grow with the input.
func TestScanMemoryConstant(t *testing.T) {
	if testing.Short() {
		t.Skip("scans 110 MB")
	}
	block := []byte(filler(1 << 20))
	measure := func(size int64) (total, peak uint64) {
		r := &repeatReader{block: block, left: size}
		return allocsDuring(t, func() {
			res, err := Scan(context.Background(), r, Options{ExtraNeedles: [][]byte{[]byte("GC(")}, OnLine: func(int64, []byte) {}})
			if err != nil || res.Bytes != size {
				t.Errorf("scan: %v, %d of %d bytes", err, res.Bytes, size)
			}
		})
	}
	total10, peak10 := measure(10 << 20)
	total100, peak100 := measure(100 << 20)
	t.Logf("10 MiB: allocated %d B, peak heap growth %d B; 100 MiB: allocated %d B, peak heap growth %d B", total10, peak10, total100, peak100)
	if total100 > total10+64<<10 || peak100 > peak10+512<<10 {
		t.Errorf("memory grows with input: 10 MiB → %d B allocated (peak %d), 100 MiB → %d B (peak %d)", total10, peak10, total100, peak100)
	}
	if total100 > 4<<20 {
		t.Errorf("allocated %d B for 100 MiB, want under 4 MiB", total100)
	}
}

type repeatReader struct {
	block []byte
	off   int
	left  int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.block[r.off:])
		n += c
		r.off = (r.off + c) % len(r.block)
	}
	r.left -= int64(n)
	return n, nil
}

// TestScanGeneratedLog scans a generated 8 MiB log (large enough for the
// anchors to be re-chosen from the data) and checks that exactly what
// genlog planted is found, with the default and with small chunks.
func TestScanGeneratedLog(t *testing.T) {
	var buf bytes.Buffer
	st, err := genlog.Write(&buf, genlog.Config{Size: 8 << 20, Seed: 7, OOMEvery: 3000, LeakEvery: 5000})
	if err != nil {
		t.Fatal(err)
	}
	var first Result
	for i, cfg := range []config{defaultConfig, {chunk: 4093, span: 20000, lookBack: 8192}} {
		res, gc := scanWith(t, bytes.NewReader(buf.Bytes()), Options{}, cfg)
		kinds := map[string]int{}
		for _, tr := range res.Traces {
			kinds[tr.Kind]++
			if tr.Kind != KindLeak && (len(tr.Frames) == 0 || tr.Time.IsZero()) {
				t.Errorf("cfg %+v: trace without frames or time: %+v", cfg, tr)
			}
		}
		oom := len(res.Traces) - kinds[KindLeak]
		if oom != st.OOMs || kinds[KindLeak] != st.Leaks || res.Lines != st.Lines || int64(len(gc)) != st.GCLines {
			t.Errorf("cfg %+v: %d OOMs, %d leaks, %d lines, %d GC lines; genlog wrote %d, %d, %d, %d",
				cfg, oom, kinds[KindLeak], res.Lines, len(gc), st.OOMs, st.Leaks, st.Lines, st.GCLines)
		}
		for _, k := range []string{evidence.OOMHeap, evidence.OOMGCOverhead, evidence.OOMMetaspace, evidence.OOMDirect} {
			if kinds[k] == 0 {
				t.Errorf("cfg %+v: no %s traces among %v", cfg, k, kinds)
			}
		}
		if i == 0 {
			first = res
		} else if !reflect.DeepEqual(res, first) {
			t.Errorf("cfg %+v: result differs from the default configuration", cfg)
		}
	}
}
