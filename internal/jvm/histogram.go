package jvm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HistogramEntry is one row of a class histogram.
type HistogramEntry struct {
	Rank      int
	Instances int64
	Bytes     int64
	// Class is the JVM class name as printed ("[B", "java.lang.String",
	// "com.example.Session").
	Class string
	// Module is the module in parentheses after the class name
	// ("java.base@17.0.15"), empty for classes of the unnamed module and
	// JDK 8 output.
	Module string
	// LineNo is the 1-based line of the row in its file.
	LineNo int
}

// Histogram is a parsed `jcmd <pid> GC.class_histogram` or `jmap -histo`.
type Histogram struct {
	// Time is when the histogram was taken, if a timestamp line preceded the
	// header (as `date; jcmd ...` writes); zero otherwise, for the caller to
	// fill from the file's name or modification time.
	Time    time.Time
	Entries []HistogramEntry
	// TotalInstances and TotalBytes come from the Total line, or are summed
	// from the entries when the output was cut before it.
	TotalInstances, TotalBytes int64
}

// maxHistogramLine bounds one line; class names are at most a few KiB.
const maxHistogramLine = 64 << 10

// ParseHistogram reads class histogram output. Lines before the header (the
// pid line jcmd prints, a timestamp) are allowed; after the header every
// line must be a row, a separator or the Total line. On a malformed line it
// returns the rows read so far and an error naming the line.
func ParseHistogram(r io.Reader) (Histogram, error) {
	var h Histogram
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxHistogramLine)
	no, inBody, sawTotal := 0, false, false
	for sc.Scan() {
		no++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case !inBody:
			if strings.HasPrefix(line, "num") && strings.Contains(line, "#instances") && strings.Contains(line, "#bytes") {
				inBody = true
			} else if t, ok := parseStamp(line); ok {
				h.Time = t
			}
			continue
		case strings.Trim(line, "-") == "":
			continue
		case strings.HasPrefix(line, "Total"):
			f := strings.Fields(line)
			if len(f) != 3 {
				return h, fmt.Errorf("line %d: malformed Total line %q", no, truncateText(line, 80))
			}
			inst, err1 := strconv.ParseInt(f[1], 10, 64)
			bytes, err2 := strconv.ParseInt(f[2], 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				return h, fmt.Errorf("line %d: Total line: %w", no, err)
			}
			h.TotalInstances, h.TotalBytes, sawTotal = inst, bytes, true
		case sawTotal:
			// jcmd prints nothing after Total; tolerate trailing text (a
			// shell prompt, a second command's output) without reading it.
			continue
		default:
			e, err := parseHistogramRow(line)
			if err != nil {
				return h, fmt.Errorf("line %d: %w", no, err)
			}
			e.LineNo = no
			h.Entries = append(h.Entries, e)
		}
	}
	if err := sc.Err(); err != nil {
		return h, fmt.Errorf("line %d: reading class histogram: %w", no+1, err)
	}
	if !inBody {
		return h, fmt.Errorf("no class histogram header (\"num #instances #bytes class name\") in %d lines", no)
	}
	if !sawTotal {
		for _, e := range h.Entries {
			h.TotalInstances += e.Instances
			h.TotalBytes += e.Bytes
		}
	}
	return h, nil
}

// parseHistogramRow reads "   4:        126800        4057600  LeakyCache$Session"
// or "   1:        126806        6087736  [J (java.base@17.0.15)".
func parseHistogramRow(line string) (HistogramEntry, error) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasSuffix(f[0], ":") {
		return HistogramEntry{}, fmt.Errorf("malformed histogram row %q", truncateText(line, 80))
	}
	rank, err := strconv.Atoi(strings.TrimSuffix(f[0], ":"))
	if err != nil || rank < 0 {
		return HistogramEntry{}, fmt.Errorf("histogram row rank %q is not a number", f[0])
	}
	inst, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || inst < 0 {
		return HistogramEntry{}, fmt.Errorf("histogram row instances %q is not a count", f[1])
	}
	bytes, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || bytes < 0 {
		return HistogramEntry{}, fmt.Errorf("histogram row bytes %q is not a count", f[2])
	}
	e := HistogramEntry{Rank: rank, Instances: inst, Bytes: bytes, Class: f[3]}
	if len(f) > 4 {
		mod := strings.Join(f[4:], " ")
		if !strings.HasPrefix(mod, "(") || !strings.HasSuffix(mod, ")") {
			return HistogramEntry{}, fmt.Errorf("histogram row has text after the class name: %q", truncateText(mod, 80))
		}
		e.Module = mod[1 : len(mod)-1]
	}
	return e, nil
}

// parseStamp accepts the timestamps a collection script is likely to write
// before the histogram: RFC 3339, "2006-01-02 15:04:05" (UTC) and date(1).
func parseStamp(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", time.UnixDate} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ClassDelta is one class's growth between two histograms.
type ClassDelta struct {
	Class                        string
	InstancesStart, InstancesEnd int64
	BytesStart, BytesEnd         int64
	// StartLine and EndLine are the rows' lines in each histogram; StartLine
	// is 0 when the class was absent from the first.
	StartLine, EndLine int
}

// DiffHistograms lists the classes that grew from first to last by at least
// minInstancesDelta instances (and at all, in instances or bytes), largest
// byte growth first, then largest instance growth, then by name. A class
// absent from first counts from zero. Rows with the same class name (one
// class loaded by several class loaders) are added together.
func DiffHistograms(first, last Histogram, minInstancesDelta int64) []ClassDelta {
	type agg struct {
		inst, bytes int64
		line        int
	}
	sum := func(h Histogram) map[string]*agg {
		m := make(map[string]*agg, len(h.Entries))
		for _, e := range h.Entries {
			a := m[e.Class]
			if a == nil {
				a = &agg{line: e.LineNo}
				m[e.Class] = a
			}
			a.inst += e.Instances
			a.bytes += e.Bytes
		}
		return m
	}
	start, end := sum(first), sum(last)
	var out []ClassDelta
	for class, e := range end {
		d := ClassDelta{Class: class, InstancesEnd: e.inst, BytesEnd: e.bytes, EndLine: e.line}
		if s := start[class]; s != nil {
			d.InstancesStart, d.BytesStart, d.StartLine = s.inst, s.bytes, s.line
		}
		di, db := d.InstancesEnd-d.InstancesStart, d.BytesEnd-d.BytesStart
		if (di <= 0 && db <= 0) || di < minInstancesDelta {
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if da, db := a.BytesEnd-a.BytesStart, b.BytesEnd-b.BytesStart; da != db {
			return da > db
		}
		if da, db := a.InstancesEnd-a.InstancesStart, b.InstancesEnd-b.InstancesStart; da != db {
			return da > db
		}
		return a.Class < b.Class
	})
	return out
}
