package playbooks

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/jvm"
	"github.com/oombot/oombot/internal/logscan"
)

// The helpers below turn the real JVM excerpts in testdata/jvm into evidence
// items. Parsing is left to the product's own readers (internal/logscan for
// stack traces, internal/jvm for class histograms and GC logs), so these
// tests exercise the playbooks on what oombot would really extract; only the
// thin conversion into evidence values, with citations, lives here.

// openFixture opens testdata/jvm/name, closed when the test ends.
func openFixture(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "jvm", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readLines returns a fixture's raw lines, for citing the text of a line
// the product parsers name only by number.
func readLines(t testing.TB, name string) []string {
	t.Helper()
	var lines []string
	sc := bufio.NewScanner(openFixture(t, name))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return lines
}

// readOOMs scans a log with logscan and folds identical OutOfMemoryError
// traces (same Trace.Signature) into one evidence.OOMError with a count and
// one citation per occurrence.
func readOOMs(t testing.TB, name, container string) []evidence.OOMError {
	t.Helper()
	res, err := logscan.Scan(t.Context(), openFixture(t, name), logscan.Options{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	source := "logs/" + name
	var out []evidence.OOMError
	bySig := map[string]int{}
	for _, tr := range res.Traces {
		if tr.Kind == logscan.KindLeak {
			// No fixture has one; it would belong in evidence.LeakRecord.
			t.Fatalf("%s: unexpected Netty LEAK record %q", name, tr.Message)
		}
		c := headerCite(t, source, tr)
		if i, ok := bySig[tr.Signature()]; ok {
			out[i].Count++
			out[i].Cites = append(out[i].Cites, c)
			if out[i].Thread == "" {
				out[i].Thread = tr.Thread
			}
			continue
		}
		bySig[tr.Signature()] = len(out)
		out = append(out, evidence.OOMError{
			ID: fmt.Sprintf("oom/%s/%d", container, len(out)+1), Container: container, Source: source,
			Kind: tr.Kind, Exception: tr.Exception, Message: tr.Message, Thread: tr.Thread, Time: tr.Time,
			Frames: tr.Frames, Chain: tr.Chain, Count: 1, Cites: []evidence.Citation{c},
		})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no OutOfMemoryError", name)
	}
	return out
}

// headerCite cites the line of a trace that carries the OOM's header (a
// "Caused by:" further down when the OOM is a cause), else its first line.
func headerCite(t testing.TB, source string, tr logscan.Trace) evidence.Citation {
	t.Helper()
	if len(tr.Lines) == 0 {
		t.Fatalf("%s: trace %q has no lines", source, tr.Message)
	}
	l := tr.Lines[0]
	if i := slices.IndexFunc(tr.Lines, func(l logscan.Line) bool { return strings.Contains(l.Text, tr.Message) }); i >= 0 {
		l = tr.Lines[i]
	}
	return evidence.Citation{Source: source, Ref: fmt.Sprintf("line %d", l.No), Time: tr.Time, Text: l.Text}
}

// readHistogram parses a class histogram fixture with jvm.ParseHistogram.
func readHistogram(t testing.TB, name string) jvm.Histogram {
	t.Helper()
	h, err := jvm.ParseHistogram(openFixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return h
}

// classGrowth is one class's growth between two histogram files, as
// jvm.DiffHistograms computes it. The class must be in both files and have
// grown.
func classGrowth(t testing.TB, from, to, class string) evidence.ClassGrowth {
	t.Helper()
	// No instance threshold: the caller names the class it wants.
	deltas := jvm.DiffHistograms(readHistogram(t, from), readHistogram(t, to), math.MinInt64)
	i := slices.IndexFunc(deltas, func(d jvm.ClassDelta) bool { return d.Class == class })
	if i < 0 || deltas[i].StartLine == 0 {
		t.Fatalf("class %s missing from %s or %s, or did not grow", class, from, to)
	}
	d := deltas[i]
	return evidence.ClassGrowth{
		ID: "class/" + class, ClassName: class,
		InstancesStart: d.InstancesStart, InstancesEnd: d.InstancesEnd, InstancesDelta: d.InstancesEnd - d.InstancesStart,
		BytesStart: d.BytesStart, BytesEnd: d.BytesEnd, BytesDelta: d.BytesEnd - d.BytesStart,
		Cites: []evidence.Citation{
			{Source: "histograms/" + from, Ref: fmt.Sprintf("line %d", d.StartLine), Text: readLines(t, from)[d.StartLine-1]},
			{Source: "histograms/" + to, Ref: fmt.Sprintf("line %d", d.EndLine), Text: readLines(t, to)[d.EndLine-1]},
		},
	}
}

// gcSummary summarises, with jvm.ParseGCLog and jvm.SummarizeGC, the
// collections of a GC log in the line index range [from, to) (to < 0: to the
// end), so a startup phase or a post-mortem line can be left out.
// capacityMiB is the heap's maximum capacity the log is expected to show.
//
// session-locks-gc.log (a real leak) has all seven of its full GCs in the
// last 18 s, once the heap is exhausted; SummarizeGC then reads the floor
// from the young and mixed pauses, which show it climbing from 14M.
func gcSummary(t testing.TB, name string, from, to int, capacityMiB int64) evidence.GCSummary {
	t.Helper()
	colls, err := jvm.ParseGCLog(t.Context(), openFixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	colls = slices.DeleteFunc(colls, func(c jvm.Collection) bool {
		i := int(c.LineNo) - 1
		return i < from || (to >= 0 && i >= to)
	})
	if len(colls) == 0 {
		t.Fatalf("%s: no collections in lines [%d, %d)", name, from, to)
	}
	g := jvm.SummarizeGC(colls)
	if g.HeapCapacityBytes != capacityMiB*mib {
		t.Fatalf("%s: heap capacity %d bytes, want %d MiB", name, g.HeapCapacityBytes, capacityMiB)
	}
	g.ID, g.Container, g.Source = "gc/"+name, "app", "gc/"+name
	for i := range g.Cites {
		g.Cites[i].Source = g.Source
	}
	return g
}
