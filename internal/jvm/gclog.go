package jvm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Collection kinds.
const (
	KindYoung   = "young"
	KindMixed   = "mixed"
	KindFull    = "full"
	KindRemark  = "remark"
	KindCleanup = "cleanup"
	// KindConcurrent is a collection done while the application runs (a ZGC
	// cycle, a Shenandoah cleanup) or one of the short pauses such a cycle
	// needs (Shenandoah "Pause Init Mark", CMS initial mark).
	KindConcurrent = "concurrent"
)

// Collection is one GC event read from a GC log line.
type Collection struct {
	// LineNo is the line number given to the parser; Line is the raw line.
	LineNo int64
	Line   string
	// Time is absolute when the line carries a date decoration, else zero.
	Time time.Time
	// Uptime is the JVM uptime decoration, 0 when absent.
	Uptime time.Duration
	// Kind is one of the Kind constants.
	Kind string
	// Cause is why the collection ran ("G1 Evacuation Pause", "Allocation
	// Failure", "Ergonomics"); for pauses of concurrent collectors it is the
	// phase ("Init Mark"). Empty when the log does not say.
	Cause string
	// BeforeBytes and AfterBytes are heap occupancy around the collection and
	// CapacityBytes the committed heap after it. All three are 0 when the line
	// states no sizes (a remark of CMS, a pause of Shenandoah); CapacityBytes
	// > 0 means the sizes were stated. ZGC states capacity only as a
	// percentage, from which it is estimated.
	BeforeBytes, AfterBytes, CapacityBytes int64
	// Pause is the stop-the-world time, 0 for concurrent work.
	Pause time.Duration
	// Collector is the collector that wrote the line when the log told it
	// (a "Using G1" line, generation names, G1-specific causes), else "".
	Collector string

	// gcID is the unified-logging GC(n) number, -1 when the line has none.
	gcID int64
	// zgcPct is the larger of the two occupancy percentages of a ZGC line,
	// which says how precise its capacity estimate is.
	zgcPct int
}

// sized reports whether the collection states heap occupancy.
func (c Collection) sized() bool { return c.CapacityBytes > 0 }

// isPause reports whether the collection stopped the application.
func (c Collection) isPause() bool { return c.Kind != KindConcurrent || c.Pause > 0 }

// GCParser turns GC log lines into Collections. It is incremental so that a
// log scanner can feed it the GC lines it meets inside container logs; it
// recognises JDK 9+ unified logging (-Xlog:gc, -Xlog:gc*, any decorations,
// any prefix before them) and JDK 8 -XX:+PrintGCDetails / -XX:+PrintGC
// output, and ignores every other line. The zero value is an empty parser,
// as is NewGCParser's result.
type GCParser struct {
	colls     []Collection
	collector string
	// zgcCap is the ZGC capacity estimated from the line with the highest
	// occupancy percentage seen, the most precise one; zgcPct is that
	// percentage.
	zgcCap int64
	zgcPct int
	// pending is the index+1 of a JDK 8 G1 pause whose sizes come on a later
	// "[Eden: ... Heap: before(cap)->after(cap)]" line; 0 when none.
	pending int
}

// NewGCParser returns an empty parser.
func NewGCParser() *GCParser { return &GCParser{} }

// maxGCLine bounds the text kept from one line: GC event lines are a few
// hundred bytes, so anything longer is truncated rather than buffered.
const maxGCLine = 16 << 10

// Line parses one line. The parser copies what it keeps, so the caller may
// reuse line.
func (p *GCParser) Line(no int64, line []byte) {
	if len(line) > maxGCLine {
		line = line[:maxGCLine]
	}
	if !bytes.Contains(line, []byte("GC")) && !bytes.Contains(line, []byte("Heap:")) && !bytes.Contains(line, []byte("Using ")) {
		return // the common case for lines of an application log
	}
	s := strings.TrimRight(string(line), "\r\n")
	if p.noteCollector(s) {
		return
	}
	if c, ok := parseUnified(s); ok {
		p.add(no, s, c)
		return
	}
	if c, ok, needsHeap := parseJDK8(s); ok {
		p.add(no, s, c)
		if needsHeap {
			p.pending = len(p.colls)
		}
		return
	}
	if p.pending > 0 {
		if m := jdk8HeapRe.FindStringSubmatch(s); m != nil {
			c := &p.colls[p.pending-1]
			c.BeforeBytes, _ = sizeWithUnit(m[1], m[2])
			c.AfterBytes, _ = sizeWithUnit(m[5], m[6])
			c.CapacityBytes, _ = sizeWithUnit(m[7], m[8])
			p.pending = 0
		}
	}
}

func (p *GCParser) add(no int64, s string, c Collection) {
	c.LineNo, c.Line = no, s
	if c.Collector == "" {
		c.Collector = p.collector
	} else if p.collector == "" {
		p.collector = c.Collector
	}
	p.pending = 0
	if c.zgcPct > p.zgcPct {
		p.zgcCap, p.zgcPct = c.CapacityBytes, c.zgcPct
	}
	// Shenandoah logs "Concurrent cleanup" twice per cycle: after marking
	// (immediate garbage only) and at the end. The end is the cycle's
	// result, so it replaces the first.
	if c.gcID >= 0 && strings.HasPrefix(c.Cause, "Concurrent cleanup") {
		for i := len(p.colls) - 1; i >= 0 && p.colls[i].gcID == c.gcID; i-- {
			if strings.HasPrefix(p.colls[i].Cause, "Concurrent cleanup") {
				p.colls = append(p.colls[:i], p.colls[i+1:]...)
				break
			}
		}
	}
	p.colls = append(p.colls, c)
}

// Collections returns the collections parsed so far, in line order. Lines
// logged before the collector was identified get the collector learned later.
func (p *GCParser) Collections() []Collection {
	out := make([]Collection, len(p.colls))
	copy(out, p.colls)
	for i := range out {
		if out[i].Collector == "" {
			out[i].Collector = p.collector
		}
		if out[i].zgcPct > 0 {
			// One heap, one capacity: use the most precise estimate.
			out[i].CapacityBytes = p.zgcCap
		}
	}
	return out
}

// usingNames maps the collector named by unified logging's "Using X" line.
var usingNames = []struct{ prefix, gc string }{
	{"Using G1", GCG1}, {"Using Parallel", GCParallel}, {"Using Serial", GCSerial},
	{"Using The Z Garbage Collector", GCZ}, {"Using Shenandoah", GCShenandoah},
	{"Using Concurrent Mark Sweep", GCCMS}, {"Using Epsilon", GCEpsilon},
}

// detailCollector maps generation names in detail lines to collectors.
var detailCollector = []struct{ word, gc string }{
	{"PSYoungGen", GCParallel}, {"ParOldGen", GCParallel}, {"ParNew", GCCMS}, {"CMS-", GCCMS},
	{"DefNew", GCSerial}, {"Eden regions:", GCG1},
}

// noteCollector learns the collector from "Using X" lines and -Xlog:gc*
// detail lines and reports whether the line was such a line.
func (p *GCParser) noteCollector(s string) bool {
	if i := strings.Index(s, "Using "); i >= 0 && strings.HasSuffix(strings.TrimRight(s[:i], " "), "]") {
		for _, u := range usingNames {
			if strings.HasPrefix(s[i:], u.prefix) {
				p.collector = u.gc
				return true
			}
		}
	}
	if p.collector == "" {
		for _, d := range detailCollector {
			if strings.Contains(s, d.word) {
				p.collector = d.gc
				// A JDK 8 line with generations is also an event; let it
				// through.
				return false
			}
		}
	}
	return false
}

var (
	// GC(12) at the start of a unified-logging message.
	gcIDRe = regexp.MustCompile(`GC\(\d+\) `)
	// 24M->3M(256M)
	unifiedSizesRe = regexp.MustCompile(`^([\d.]+)([BKMGT])->([\d.]+)([BKMGT])\(([\d.]+)([BKMGT])\)$`)
	// 58M(91%)->10M(16%)
	zgcSizesRe = regexp.MustCompile(`([\d.]+)([BKMGT])\((\d+)%\)->([\d.]+)([BKMGT])\((\d+)%\)`)
	// 2.345ms
	durationRe = regexp.MustCompile(`^([\d.]+)(ms|s|us|ns)$`)
	// JDK 8: "2026-03-14T02:11:05.123+0000: " and "1.234: " before the event.
	jdk8DateRe   = regexp.MustCompile(`(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}): `)
	jdk8UptimeRe = regexp.MustCompile(`(?:^|\s|\])(\d+\.\d+): `)
	// JDK 8 event heads worth reading; "[GC Worker Start (ms)" and "[GC
	// concurrent-mark-start]" are details, not events.
	jdk8HeadRe  = regexp.MustCompile(`^(Full GC|GC)(\s*\(|\s+pause|\s+remark|\s+cleanup|--|\s+\d)`)
	jdk8SizesRe = regexp.MustCompile(`([\d.]+)([BKMG])->([\d.]+)([BKMG])\(([\d.]+)([BKMG])\)`)
	jdk8SecsRe  = regexp.MustCompile(`([\d.]+) secs`)
	// "[Eden: ... Heap: 24.0M(256.0M)->3584.0K(256.0M)]" after a JDK 8 G1 pause.
	jdk8HeapRe = regexp.MustCompile(`Heap: ([\d.]+)([BKMG])\(([\d.]+)([BKMG])\)->([\d.]+)([BKMG])\(([\d.]+)([BKMG])\)`)
)

// parseUnified reads a JDK 9+ unified-logging event line:
// "[decorations] GC(12) Pause Young (Normal) (G1 Evacuation Pause) 24M->3M(256M) 2.345ms".
func parseUnified(s string) (Collection, bool) {
	loc := gcIDRe.FindStringIndex(s)
	if loc == nil {
		return Collection{}, false
	}
	msg := strings.TrimSpace(s[loc[1]:])
	c := Collection{gcID: -1}
	if id, err := strconv.ParseInt(s[loc[0]+3:loc[1]-2], 10, 64); err == nil {
		c.gcID = id
	}
	switch {
	case strings.HasPrefix(msg, "Pause "):
		if !parsePause(msg[len("Pause "):], &c) {
			return Collection{}, false
		}
	case strings.HasPrefix(msg, "Garbage Collection ("), strings.HasPrefix(msg, "Major Collection ("),
		strings.HasPrefix(msg, "Minor Collection ("):
		// ZGC: "Garbage Collection (Allocation Rate) 58M(91%)->10M(16%)".
		m := zgcSizesRe.FindStringSubmatch(msg)
		if m == nil {
			return Collection{}, false
		}
		c.Kind, c.Collector = KindConcurrent, GCZ
		c.Cause = firstParen(msg)
		c.BeforeBytes, _ = sizeWithUnit(m[1], m[2])
		c.AfterBytes, _ = sizeWithUnit(m[4], m[5])
		// Capacity from the more precise of the two rounded percentages,
		// rounded to whole MiB (ZGC sizes the heap in 2 MiB granules).
		val, pct := c.BeforeBytes, atoi(m[3])
		if a := atoi(m[6]); a > pct {
			val, pct = c.AfterBytes, a
		}
		if pct > 0 {
			c.CapacityBytes = (val*100/int64(pct) + 1<<19) >> 20 << 20
			c.zgcPct = pct
		}
	case strings.HasPrefix(msg, "Concurrent ") && strings.Contains(msg, "->"):
		// Shenandoah: "Concurrent cleanup 12M->1M(64M) 0.012ms".
		f := strings.Fields(msg)
		if len(f) < 3 || !setUnifiedSizes(f[len(f)-2], &c) {
			return Collection{}, false
		}
		c.Kind, c.Collector = KindConcurrent, GCShenandoah
		c.Cause = strings.Join(f[:len(f)-2], " ")
	default:
		return Collection{}, false
	}
	c.Time, c.Uptime = unifiedDecorations(s[:loc[0]])
	return c, true
}

// parsePause reads what follows "Pause ": a name, parenthesised groups,
// optional sizes and a duration. Lines without a duration are the "start"
// lines of -Xlog:gc* and are skipped.
func parsePause(rest string, c *Collection) bool {
	f := strings.Fields(rest)
	if len(f) < 2 {
		return false
	}
	d, ok := parseDuration(f[len(f)-1])
	if !ok {
		return false
	}
	c.Pause = d
	head := strings.Join(f[:len(f)-1], " ")
	if len(f) >= 3 && setUnifiedSizes(f[len(f)-2], c) {
		head = strings.Join(f[:len(f)-2], " ")
	}
	name, groups := splitParens(head)
	last := ""
	if len(groups) > 0 {
		last = groups[len(groups)-1]
	}
	switch name {
	case "Young", "Initial Mark":
		c.Kind, c.Cause = KindYoung, last
		for _, g := range groups {
			if g == "Mixed" {
				c.Kind = KindMixed
			}
		}
	case "Mixed":
		c.Kind, c.Cause = KindMixed, last
	case "Full":
		c.Kind, c.Cause = KindFull, last
	case "Remark":
		c.Kind = KindRemark
	case "Cleanup":
		c.Kind = KindCleanup
	case "Degenerated GC":
		// Shenandoah's stop-the-world fallback when concurrent collection
		// cannot keep up: as telling as a full GC.
		c.Kind, c.Cause, c.Collector = KindFull, name, GCShenandoah
	default:
		// Pauses inside concurrent cycles: Shenandoah "Init Mark", "Final
		// Update Refs"; ZGC "Mark Start", "Relocate Start".
		c.Kind, c.Cause = KindConcurrent, head
		if strings.HasPrefix(name, "Init ") || strings.HasPrefix(name, "Final ") {
			c.Collector = GCShenandoah
		} else if strings.HasPrefix(name, "Mark ") || strings.HasPrefix(name, "Relocate ") {
			c.Collector = GCZ
		}
	}
	if strings.HasPrefix(c.Cause, "G1 ") {
		c.Collector = GCG1
	}
	return true
}

// setUnifiedSizes reads "24M->3M(256M)".
func setUnifiedSizes(field string, c *Collection) bool {
	m := unifiedSizesRe.FindStringSubmatch(field)
	if m == nil {
		return false
	}
	b, ok1 := sizeWithUnit(m[1], m[2])
	a, ok2 := sizeWithUnit(m[3], m[4])
	cp, ok3 := sizeWithUnit(m[5], m[6])
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	c.BeforeBytes, c.AfterBytes, c.CapacityBytes = b, a, cp
	return true
}

// splitParens splits "Young (Normal) (G1 Evacuation Pause)" into "Young" and
// the top-level parenthesised groups, honouring nesting ("(System.gc())").
func splitParens(s string) (string, []string) {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return strings.TrimSpace(s), nil
	}
	name := strings.TrimSpace(s[:i])
	var groups []string
	depth, start := 0, 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '(':
			if depth == 0 {
				start = j + 1
			}
			depth++
		case ')':
			if depth > 0 {
				depth--
				if depth == 0 {
					groups = append(groups, s[start:j])
				}
			}
		}
	}
	return name, groups
}

func firstParen(s string) string {
	_, g := splitParens(s)
	if len(g) == 0 {
		return ""
	}
	return g[0]
}

// unifiedDecorations reads time and uptime from the "[...]" groups before
// the message. Unknown groups (level, tags, pid, host) are ignored, as is
// anything before the first group (a container runtime's prefix).
func unifiedDecorations(prefix string) (t time.Time, up time.Duration) {
	for {
		open := strings.IndexByte(prefix, '[')
		if open < 0 {
			return t, up
		}
		end := strings.IndexByte(prefix[open:], ']')
		if end < 0 {
			return t, up
		}
		v := strings.TrimSpace(prefix[open+1 : open+end])
		prefix = prefix[open+end+1:]
		if len(v) >= 19 && v[4] == '-' && v[10] == 'T' {
			if tt, err := time.Parse("2006-01-02T15:04:05.000-0700", v); err == nil {
				t = tt
			} else if tt, err := time.Parse(time.RFC3339Nano, v); err == nil {
				t = tt
			}
			continue
		}
		if d, ok := parseDuration(v); ok {
			// uptimemillis/uptimenanos and timemillis/timenanos share units;
			// an epoch stamp is decades, an uptime is not.
			if d > 20*365*24*time.Hour {
				t = time.Unix(0, int64(d)).UTC()
			} else {
				up = d
			}
		}
	}
}

// parseDuration reads "2.345ms", "1.234s", "12us", "5ns".
func parseDuration(s string) (time.Duration, bool) {
	m := durationRe.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	unit := map[string]int64{"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1}[m[2]]
	if n, err := strconv.ParseInt(m[1], 10, 64); err == nil {
		// Integers exactly: timemillis/timenanos stamps exceed float precision.
		if n > math.MaxInt64/unit {
			return 0, false
		}
		return time.Duration(n * unit), true
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil || v*float64(unit) > float64(1<<62) {
		return 0, false
	}
	return time.Duration(v * float64(unit)), true
}

// sizeWithUnit reads "24" "M", "3584.0" "K", "0.0" "B".
func sizeWithUnit(num, unit string) (int64, bool) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	mult := map[string]float64{"B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[unit]
	if v*mult > float64(1<<62) {
		return 0, false
	}
	return int64(v*mult + 0.5), true
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// parseJDK8 reads a JDK 8 event: "2026-03-14T02:11:05.123+0000: 1.234: [GC
// (Allocation Failure) [PSYoungGen: ...] 65536K->10736K(251392K), 0.0123
// secs]". Only the outermost bracket's own text is read, so generation and
// Metaspace sizes are not mistaken for the heap. needsHeap is true for a G1
// pause whose sizes follow on a later "Heap:" line.
func parseJDK8(s string) (c Collection, ok, needsHeap bool) {
	c.gcID = -1
	start, text := -1, ""
	// Candidates are "[GC" and "[Full GC"; a bounded number of them keeps a
	// hostile line ("[GC[GC[GC...") linear.
	for i, tries := 0, 0; i < len(s) && tries < 8; {
		j := strings.Index(s[i:], "[")
		if j < 0 {
			break
		}
		i += j
		if rest := s[i+1:]; strings.HasPrefix(rest, "GC") || strings.HasPrefix(rest, "Full GC") {
			tries++
			if t := outerText(s[i:]); jdk8HeadRe.MatchString(t) {
				start, text = i, t
				break
			}
		}
		i++
	}
	if start < 0 {
		return Collection{}, false, false
	}
	m := jdk8SecsRe.FindAllStringSubmatch(text, -1)
	if m == nil {
		return Collection{}, false, false
	}
	secs, err := strconv.ParseFloat(m[len(m)-1][1], 64)
	if err != nil || secs < 0 || secs > 1e9 {
		return Collection{}, false, false
	}
	c.Pause = time.Duration(secs * 1e9)
	lower := strings.ToLower(text)
	head, _, _ := strings.Cut(text, ",")
	_, groups := splitParens(head)
	if len(groups) > 0 {
		c.Cause = groups[0]
	}
	switch {
	case strings.HasPrefix(text, "Full GC"):
		c.Kind = KindFull
	case strings.Contains(lower, "remark"):
		c.Kind = KindRemark
	case strings.HasPrefix(text, "GC cleanup"):
		c.Kind = KindCleanup
	case strings.Contains(text, "Initial Mark"):
		c.Kind = KindConcurrent
	case strings.Contains(text, "(mixed)"):
		c.Kind = KindMixed
	default:
		c.Kind = KindYoung
	}
	switch {
	case strings.Contains(s, "PSYoungGen") || strings.Contains(s, "ParOldGen"):
		c.Collector = GCParallel
	case strings.Contains(s, "ParNew") || strings.Contains(s, "CMS"):
		c.Collector = GCCMS
	case strings.Contains(s, "DefNew") || strings.Contains(s, "Tenured"):
		c.Collector = GCSerial
	case strings.HasPrefix(text, "GC pause") || strings.HasPrefix(c.Cause, "G1 ") || c.Kind == KindCleanup:
		c.Collector = GCG1
	}
	if sm := jdk8SizesRe.FindStringSubmatch(text); sm != nil {
		c.BeforeBytes, _ = sizeWithUnit(sm[1], sm[2])
		c.AfterBytes, _ = sizeWithUnit(sm[3], sm[4])
		c.CapacityBytes, _ = sizeWithUnit(sm[5], sm[6])
	} else if c.Collector == GCG1 && c.Kind != KindRemark {
		needsHeap = true
	}
	prefix := s[:start]
	if dm := jdk8DateRe.FindAllStringSubmatch(prefix, -1); dm != nil {
		if t, err := time.Parse("2006-01-02T15:04:05.000-0700", dm[len(dm)-1][1]); err == nil {
			c.Time = t
		}
	}
	if um := jdk8UptimeRe.FindAllStringSubmatch(prefix, -1); um != nil {
		if v, err := strconv.ParseFloat(um[len(um)-1][1], 64); err == nil && v < 1e9 {
			c.Uptime = time.Duration(v * 1e9)
		}
	}
	return c, true, needsHeap
}

// outerText returns the text directly inside the bracket s starts with,
// leaving out nested brackets; an unclosed bracket yields what there is.
func outerText(s string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
			continue
		case ']':
			depth--
			if depth == 0 {
				return strings.TrimSpace(b.String())
			}
			continue
		}
		if depth == 1 {
			b.WriteByte(s[i])
		}
	}
	return strings.TrimSpace(b.String())
}

// ParseGCLog reads a whole GC log. Lines longer than 16 KiB are truncated
// (no GC event line is that long). It stops with an error on a read failure
// or when ctx is done, returning what it parsed so far.
func ParseGCLog(ctx context.Context, r io.Reader) ([]Collection, error) {
	p := NewGCParser()
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		no  int64
		buf []byte
	)
	for {
		if no%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return p.Collections(), fmt.Errorf("reading GC log at line %d: %w", no, err)
			}
		}
		buf = buf[:0]
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			if room := maxGCLine - len(buf); room > 0 {
				buf = append(buf, chunk[:min(len(chunk), room)]...)
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if len(buf) > 0 || err == nil {
			no++
			p.Line(no, bytes.TrimRight(buf, "\n"))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return p.Collections(), nil
			}
			return p.Collections(), fmt.Errorf("reading GC log after line %d: %w", no, err)
		}
	}
}
