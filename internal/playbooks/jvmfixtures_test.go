package playbooks

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/evidence"
)

// The helpers below turn the real JVM excerpts in testdata/jvm into evidence
// items. They are deliberately small readers for these files only; the
// product's parsers live elsewhere. What matters here is that frames,
// messages, counts and citations come from real JVM output.

func readLines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "jvm", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

var threadRE = regexp.MustCompile(`^Exception in thread "([^"]*)" `)

// oomKind classifies an OutOfMemoryError header the way the evidence model
// does.
func oomKind(msg string) string {
	switch {
	case strings.Contains(msg, "Java heap space"):
		return evidence.OOMHeap
	case strings.Contains(msg, "GC overhead limit exceeded"):
		return evidence.OOMGCOverhead
	case strings.Contains(msg, "Compressed class space"):
		return evidence.OOMCompressedCS
	case strings.Contains(msg, "Metaspace"):
		return evidence.OOMMetaspace
	case strings.Contains(msg, "direct buffer memory"), strings.Contains(msg, "OutOfDirectMemoryError"):
		return evidence.OOMDirect
	case strings.Contains(msg, "unable to create native thread"):
		return evidence.OOMNativeThread
	case strings.Contains(msg, "Requested array size"):
		return evidence.OOMArraySize
	default:
		return evidence.OOMOther
	}
}

// readOOMs reads every OutOfMemoryError trace in a log (as the header line
// or a "Caused by:"), folding identical traces into one with a count.
func readOOMs(t testing.TB, name, container string) []evidence.OOMError {
	t.Helper()
	lines := readLines(t, name)
	source := "logs/" + strings.TrimSuffix(name, ".log") + ".log"
	var out []evidence.OOMError
	var chain []string
	for i, l := range lines {
		if !strings.HasPrefix(l, "\t") && !strings.HasPrefix(l, "Caused by:") {
			chain = nil
		}
		if !strings.HasPrefix(l, "\t") {
			chain = append(chain, l)
		}
		idx := strings.Index(l, "OutOfMemoryError")
		if idx < 0 {
			continue
		}
		start := strings.LastIndex(l[:idx], " ") + 1
		header := l[start:]
		exception, _, _ := strings.Cut(header, ":")
		thread := ""
		if m := threadRE.FindStringSubmatch(l); m != nil {
			thread = m[1]
		}
		var frames []string
		for _, f := range lines[i+1:] {
			if !strings.HasPrefix(f, "\tat ") {
				break
			}
			frames = append(frames, strings.TrimPrefix(f, "\tat "))
		}
		e := evidence.OOMError{
			Container: container, Source: source, Kind: oomKind(header),
			Exception: exception, Message: header, Thread: thread,
			Frames: frames, Chain: slices.Clone(chain), Count: 1,
			Cites: []evidence.Citation{{Source: source, Ref: fmt.Sprintf("line %d", i+1), Text: l}},
		}
		if j := slices.IndexFunc(out, func(o evidence.OOMError) bool {
			return o.Message == e.Message && slices.Equal(o.Frames, e.Frames)
		}); j >= 0 {
			out[j].Count++
			out[j].Cites = append(out[j].Cites, e.Cites...)
			if out[j].Thread == "" {
				out[j].Thread = thread
			}
			continue
		}
		e.ID = fmt.Sprintf("oom/%s/%d", container, len(out)+1)
		out = append(out, e)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no OutOfMemoryError", name)
	}
	return out
}

var histoRE = regexp.MustCompile(`^\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)`)

type histoRow struct {
	instances, bytes int64
	line             int
	text             string
}

func readHistogram(t testing.TB, name string) map[string]histoRow {
	t.Helper()
	rows := map[string]histoRow{}
	for i, l := range readLines(t, name) {
		m := histoRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		b, _ := strconv.ParseInt(m[2], 10, 64)
		rows[m[3]] = histoRow{instances: n, bytes: b, line: i + 1, text: l}
	}
	return rows
}

// classGrowth compares one class between two histogram files.
func classGrowth(t testing.TB, from, to, class string) evidence.ClassGrowth {
	t.Helper()
	a, okA := readHistogram(t, from)[class]
	b, okB := readHistogram(t, to)[class]
	if !okA || !okB {
		t.Fatalf("class %s missing from %s or %s", class, from, to)
	}
	return evidence.ClassGrowth{
		ID: "class/" + class, ClassName: class,
		InstancesStart: a.instances, InstancesEnd: b.instances, InstancesDelta: b.instances - a.instances,
		BytesStart: a.bytes, BytesEnd: b.bytes, BytesDelta: b.bytes - a.bytes,
		Cites: []evidence.Citation{
			{Source: "histograms/" + from, Ref: fmt.Sprintf("line %d", a.line), Text: a.text},
			{Source: "histograms/" + to, Ref: fmt.Sprintf("line %d", b.line), Text: b.text},
		},
	}
}

var pauseRE = regexp.MustCompile(`^\[([\d.]+)s\].*Pause (Young|Full|Remark|Cleanup).* (\d+)M->(\d+)M\((\d+)M\)`)

// gcSummary summarises the pauses of a unified GC log in the line index
// range [from, to) (to < 0: to the end), so a startup phase or a post-mortem
// line can be left out, against the heap's maximum capacity.
func gcSummary(t testing.TB, name string, from, to int, capacityMiB int64) evidence.GCSummary {
	t.Helper()
	const mib = 1 << 20
	g := evidence.GCSummary{ID: "gc/" + name, Container: "app", Source: "gc/" + name, HeapCapacityBytes: capacityMiB * mib}
	var first, last float64
	var reclaimed float64
	var firstLine, lastLine string
	var firstNo, lastNo int
	for i, l := range readLines(t, name) {
		if i < from || (to >= 0 && i >= to) {
			continue
		}
		m := pauseRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ts, _ := strconv.ParseFloat(m[1], 64)
		before, _ := strconv.ParseInt(m[3], 10, 64)
		after, _ := strconv.ParseInt(m[4], 10, 64)
		if g.Collections == 0 {
			first, g.FloorStartBytes, firstLine, firstNo = ts, after*mib, l, i+1
		}
		last, g.FloorEndBytes, lastLine, lastNo = ts, after*mib, l, i+1
		g.Collections++
		if m[2] == "Full" {
			g.FullGCs++
			if before > 0 {
				reclaimed += float64(before-after) / float64(before)
			}
		}
	}
	if g.Collections == 0 {
		t.Fatalf("%s: no pauses", name)
	}
	if g.FullGCs > 0 {
		g.AvgFullGCReclaimedFraction = reclaimed / float64(g.FullGCs)
	}
	if hours := (last - first) / 3600; hours > 0 {
		g.FullGCsPerHour = float64(g.FullGCs) / hours
		g.FloorGrowthBytesPerHour = float64(g.FloorEndBytes-g.FloorStartBytes) / hours
	}
	g.FloorFractionOfCapacity = float64(g.FloorEndBytes) / float64(g.HeapCapacityBytes)
	g.Collector = "G1"
	if strings.Contains(readLines(t, name)[0], "Parallel") {
		g.Collector = "Parallel"
	}
	g.Cites = []evidence.Citation{
		{Source: g.Source, Ref: fmt.Sprintf("line %d", firstNo), Text: firstLine},
		{Source: g.Source, Ref: fmt.Sprintf("line %d", lastNo), Text: lastLine},
	}
	return g
}
