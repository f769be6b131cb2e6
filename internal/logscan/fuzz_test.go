package logscan

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/iotest"
)

// FuzzScan checks that Scan never panics, that its results hold their
// invariants, and that chunking does not change them: a scan in 3-byte
// chunks with one-byte reads must equal a scan of the whole input at once.
func FuzzScan(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.log"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("2026-03-14T02:11:05.123456789Z stderr F java.lang.RuntimeException: x\n2026-03-14T02:11:05.123456789Z stderr F \tat a.B.c(B.java:1)\nCaused by: java.lang.OutOfMemoryError: Java heap space\n\t... 1 more"))
	f.Add([]byte(`{"ts":1.7e9,"error.stack":"java.lang.OutOfMemoryError: Metaspace\n\tat a.B(B.java:1)","stack_trace":"LEAK: X.release() was not called\n\tq"}` + "\n"))
	f.Add([]byte("x LEAK: ByteBuf.release() was not called\nRecent access records: \n#1:\n\tHint: h\n\ta.B\nCreated at:\n\ta.C\nGC(1) [Full GC\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{MaxLineBytes: 64, MaxTraceLines: 8, MaxTraces: 4}
		whole := config{chunk: len(data) + 1, lookBack: len(data) + 1}
		small := config{chunk: 3, lookBack: len(data) + 1}
		ref, refGC := scanWith(t, bytes.NewReader(data), opt, whole)
		got, gotGC := scanWith(t, iotest.OneByteReader(bytes.NewReader(data)), opt, small)
		if !reflect.DeepEqual(ref, got) || !reflect.DeepEqual(refGC, gotGC) {
			t.Fatalf("chunked scan differs:\n got %s\nwant %s", summary(got), summary(ref))
		}
		if ref.Bytes != int64(len(data)) {
			t.Fatalf("read %d bytes of %d", ref.Bytes, len(data))
		}
		lines := int64(bytes.Count(data, []byte("\n")))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		if ref.Lines != lines {
			t.Fatalf("counted %d lines, want %d", ref.Lines, lines)
		}
		if len(ref.Traces) > opt.MaxTraces {
			t.Fatalf("%d traces kept, limit %d", len(ref.Traces), opt.MaxTraces)
		}
		var prev int64
		for i, tr := range ref.Traces {
			if tr.Message == "" || tr.Kind == "" || len(tr.Lines) == 0 {
				t.Fatalf("trace %d incomplete: %+v", i, tr)
			}
			if len(tr.Frames) > opt.MaxTraceLines || len(tr.Lines) > opt.MaxTraceLines {
				t.Fatalf("trace %d: %d frames, %d lines over the limit", i, len(tr.Frames), len(tr.Lines))
			}
			if tr.Lines[0].No < prev {
				t.Fatalf("trace %d starts at line %d, before the previous trace", i, tr.Lines[0].No)
			}
			for j, l := range tr.Lines {
				if len(l.Text) > opt.MaxLineBytes || l.No < 1 || l.No > ref.Lines || (j > 0 && l.No <= tr.Lines[j-1].No) {
					t.Fatalf("trace %d line %d: %+v (log has %d lines)", i, j, l, ref.Lines)
				}
			}
			prev = tr.Lines[len(tr.Lines)-1].No
		}
		for i := 1; i < len(refGC); i++ {
			if refGC[i].no <= refGC[i-1].no {
				t.Fatalf("OnLine line numbers not increasing: %v", refGC)
			}
		}
	})
}
