package logscan

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/oombot/oombot/internal/evidence"
)

func TestKindOf(t *testing.T) {
	const oom = "java.lang.OutOfMemoryError"
	tests := []struct{ exception, message, want string }{
		{oom, oom + ": Java heap space", evidence.OOMHeap},
		{oom, oom + ": Java heap space: failed reallocation of scalar replaced objects", evidence.OOMHeap},
		{oom, oom + ": GC overhead limit exceeded", evidence.OOMGCOverhead},
		{oom, oom + ": Metaspace", evidence.OOMMetaspace},
		{oom, oom + ": Compressed class space", evidence.OOMCompressedCS},
		{oom, oom + ": Direct buffer memory", evidence.OOMDirect},
		{oom, oom + ": Cannot reserve 1048576 bytes of direct buffer memory (allocated: 8388608, limit: 8388608)", evidence.OOMDirect},
		{oom, oom + ": unable to create new native thread", evidence.OOMNativeThread},
		{oom, oom + ": unable to create native thread: possibly out of memory or process/resource limits reached", evidence.OOMNativeThread},
		{oom, oom + ": Requested array size exceeds VM limit", evidence.OOMArraySize},
		{oom, oom + ": Map failed", evidence.OOMOther},
		{oom, oom, evidence.OOMOther},
		{"io.netty.util.internal.OutOfDirectMemoryError", "io.netty.util.internal.OutOfDirectMemoryError: failed to allocate 16 byte(s) of direct memory (used: 1, max: 2)", evidence.OOMDirect},
	}
	for _, tc := range tests {
		if got := kindOf(tc.exception, tc.message); got != tc.want {
			t.Errorf("kindOf(%q) = %q, want %q", tc.message, got, tc.want)
		}
	}
}

func TestOOMToken(t *testing.T) {
	tests := []struct {
		line string
		want string // the class found, "" for none
	}{
		{"java.lang.OutOfMemoryError: Java heap space", "java.lang.OutOfMemoryError"},
		{"Caused by: java.lang.OutOfMemoryError", "java.lang.OutOfMemoryError"},
		{"OutOfMemoryError: x", "OutOfMemoryError"},
		{"x io.netty.util.internal.OutOfDirectMemoryError: failed", "io.netty.util.internal.OutOfDirectMemoryError"},
		{"-XX:+HeapDumpOnOutOfMemoryError -XX:+ExitOnOutOfMemoryError", ""},
		{"avoid an OutOfMemoryError", ""},
		{"c.e.OutOfMemoryErrorHandler: x", ""},
		{"see java.lang.OutOfMemoryError.java", ""},
		{"-XX:+ExitOnOutOfMemoryError then java.lang.OutOfMemoryError: x", "java.lang.OutOfMemoryError"},
		{"ends with java.lang.OutOfMemoryError", "java.lang.OutOfMemoryError"},
		{"failed with java.lang.OutOfMemoryError. Retrying", "java.lang.OutOfMemoryError"},
		{"java.lang.OutOfMemoryError.<init>(OutOfMemoryError.java:48)", ""},
	}
	for _, tc := range tests {
		s, e, ok := oomToken([]byte(tc.line))
		got := ""
		if ok {
			got = tc.line[s:e]
		}
		if got != tc.want {
			t.Errorf("oomToken(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestSignature: the same error from different JVM runs (hidden-class
// addresses differ) and log formats folds to one signature; a different
// kind, message or frame does not.
func TestSignature(t *testing.T) {
	sigs := map[string]string{}
	for _, f := range []string{"heap.log", "heap-cri.log", "heap-json.log", "heap-gclog.log"} {
		data, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Scan(context.Background(), bytesReader(data), Options{})
		if err != nil || len(res.Traces) != 2 {
			t.Fatalf("%s: %v, %d traces", f, err, len(res.Traces))
		}
		sigs[f] = res.Traces[0].Signature()
		if res.Traces[0].Signature() == res.Traces[1].Signature() {
			t.Errorf("%s: the wrapped and the uncaught OOM share a signature", f)
		}
	}
	for f, s := range sigs {
		if s != sigs["heap.log"] {
			t.Errorf("%s: signature %s, heap.log has %s", f, s, sigs["heap.log"])
		}
	}
	base := Trace{Kind: evidence.OOMDirect, Message: "java.lang.OutOfMemoryError: Cannot reserve 1048576 bytes (allocated: 8388608)",
		Frames: []string{"a.B.c(B.java:1)", "a.B.d(B.java:2)"}}
	same := base
	same.Message = "java.lang.OutOfMemoryError: Cannot reserve 2097152 bytes (allocated: 6291456)"
	same.Frames = append(append([]string{}, base.Frames...), "x", "x", "x", "x", "x", "x", "ignored past eight")
	base.Frames = append(base.Frames, "x", "x", "x", "x", "x", "x")
	if base.Signature() != same.Signature() {
		t.Errorf("numbers in the message or frames past the eighth changed the signature")
	}
	for _, d := range []Trace{
		{Kind: evidence.OOMHeap, Message: base.Message, Frames: base.Frames},
		{Kind: base.Kind, Message: "java.lang.OutOfMemoryError: Direct buffer memory", Frames: base.Frames},
		{Kind: base.Kind, Message: base.Message, Frames: []string{"a.B.c(B.java:9)"}},
	} {
		if d.Signature() == base.Signature() {
			t.Errorf("%+v has the signature of %+v", d, base)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		line string
		want lineClass
	}{
		{"\tat a.B.c(B.java:1)", classFrame},
		{"    at a.B.c(B.java:1)", classFrame},
		{"at least once", classOther},
		{"\t... 12 more", classElided},
		{"\t... 3 common frames omitted", classElided},
		{"\t[CIRCULAR REFERENCE: java.lang.X]", classElided},
		{"Caused by: java.lang.X", classCause},
		{"\t\tCaused by: java.lang.X", classCause},
		{"\tSuppressed: java.lang.X", classSuppressed},
		{"Wrapped by: java.lang.X", classWrapped},
		{"java.lang.X: y", classOther},
		{"", classOther},
	}
	for _, tc := range tests {
		if got := classify([]byte(tc.line)); got != tc.want {
			t.Errorf("classify(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
