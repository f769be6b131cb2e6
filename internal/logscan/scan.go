// Package logscan finds Java OutOfMemoryError stack traces, Netty
// OutOfDirectMemoryError traces and Netty LEAK records in container logs.
//
// Logs can be hundreds of megabytes, so Scan reads them once, in large
// chunks, with a fixed-size buffer. It does not split the log into lines:
// it looks for the few byte strings that can start a trace ("MemoryError",
// "LEAK: ") across a whole chunk with vectorised byte search, counts
// newlines in bulk for line numbers, and parses line by line only around a
// hit: backwards, within a bounded tail kept from earlier chunks, to the
// trace's head and the nearest timestamp; forwards until the trace ends.
package logscan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxLineBytes  = 64 << 10 // Options.MaxLineBytes
	DefaultMaxTraceLines = 256      // Options.MaxTraceLines
	DefaultMaxTraces     = 500      // Options.MaxTraces
	// maxMaxLineBytes bounds the buffer a caller can ask for.
	maxMaxLineBytes = 16 << 20
)

// Options tune Scan. The zero value uses the defaults.
type Options struct {
	// MaxLineBytes caps the length of a line; longer lines are truncated
	// (counted in Result.TruncatedLines), never buffered whole. Default
	// 64 KiB; at most 16 MiB.
	MaxLineBytes int
	// MaxTraceLines caps the lines kept per trace. Default 256.
	MaxTraceLines int
	// MaxTraces caps the traces kept; further ones are counted in
	// Result.Dropped. Default 500.
	MaxTraces int
	// ExtraNeedles and OnLine let a caller pick out other lines in the same
	// pass, e.g. GC log lines ("GC(", "[Full GC") in a container log: OnLine
	// is called, in line order, once for every line containing one of
	// ExtraNeedles, with its 1-based number and raw (possibly truncated)
	// text. The slice is only valid during the call.
	ExtraNeedles [][]byte
	OnLine       func(no int64, line []byte)
}

// Result is what Scan found.
type Result struct {
	// Traces are in log order.
	Traces []Trace
	// Lines and Bytes are how much of the log was read.
	Lines int64
	Bytes int64
	// Dropped counts traces found beyond Options.MaxTraces.
	Dropped int
	// TruncatedLines counts lines longer than Options.MaxLineBytes.
	TruncatedLines int
}

// config holds internal sizes; tests shrink them to exercise chunk
// boundaries with small inputs.
type config struct {
	// chunk is the most one Read asks for. Data is searched right after it
	// is read, while it is still in the CPU cache, so this is kept well
	// under the L2 size rather than made as large as possible.
	chunk int
	// span is how much unprocessed data the buffer holds beyond the
	// look-back tail; the buffer is compacted (the tail moved to the front)
	// only when it is full, so every span bytes rather than every chunk.
	span int
	// lookBack is how many bytes before the current position are kept for
	// finding a trace's head and timestamp.
	lookBack int
}

// The finders' anchor bytes are re-chosen from a tuneSample-byte sample
// of the log every tuneEvery bytes, so they follow the log's content.
const (
	tuneSample = 64 << 10
	tuneEvery  = 8 << 20
)

var defaultConfig = config{chunk: 256 << 10, span: 1 << 20, lookBack: 256 << 10}

// Scan reads r to the end and returns every OOM trace and LEAK record in
// it. It checks ctx between chunks. On a read error or cancellation it
// returns what it found so far together with the wrapped error.
func Scan(ctx context.Context, r io.Reader, opt Options) (Result, error) {
	return scan(ctx, r, opt, defaultConfig)
}

func (o Options) withDefaults() Options {
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.MaxLineBytes > maxMaxLineBytes {
		o.MaxLineBytes = maxMaxLineBytes
	}
	if o.MaxTraceLines <= 0 {
		o.MaxTraceLines = DefaultMaxTraceLines
	}
	if o.MaxTraces <= 0 {
		o.MaxTraces = DefaultMaxTraces
	}
	return o
}

// Needles that can start a trace. "MemoryError" covers both
// OutOfMemoryError and Netty's OutOfDirectMemoryError in one pass.
var traceNeedles = [][]byte{[]byte("MemoryError"), leakMarker}

type scanner struct {
	r   io.Reader
	opt Options
	cfg config

	// buf[:n] holds a tail of processed lines (for looking back) followed
	// by unprocessed data; buf[0] is always the start of a line.
	buf []byte
	n   int
	// pos is the start of the first unprocessed line.
	pos int
	// barrier is where the last trace ended: a later trace's head is never
	// looked for before it.
	barrier int
	eof     bool
	// skipping is set while the rest of an over-long line is discarded.
	skipping bool

	// cntPos and nl count lines lazily: nl newlines precede buf[cntPos].
	cntPos int
	nl     int64
	// llPos is where the search for over-long lines continues.
	llPos int

	// finders look for traceNeedles, then for ExtraNeedles.
	finders []finder
	// next[i] is the position of finder i's next match when >= pos;
	// otherwise no match exists before lim[i].
	next, lim []int

	// cur is the trace being assembled, with what was learnt about it
	// from the lines before it.
	cur       *assembler
	curTime   time.Time
	curThread string

	// untuned counts bytes processed since the finders' anchors were last
	// chosen from the data.
	untuned int

	res Result
}

func scan(ctx context.Context, r io.Reader, opt Options, cfg config) (Result, error) {
	opt = opt.withDefaults()
	s := &scanner{r: r, opt: opt}
	if cfg.span < cfg.chunk {
		cfg.span = cfg.chunk
	}
	s.cfg = cfg
	s.buf = make([]byte, cfg.lookBack+cfg.span+opt.MaxLineBytes)
	for _, n := range traceNeedles {
		s.finders = append(s.finders, newFinder(n))
	}
	if opt.OnLine != nil {
		for _, n := range opt.ExtraNeedles {
			if len(n) > 0 {
				s.finders = append(s.finders, newFinder(n))
			}
		}
	}
	s.next = make([]int, len(s.finders))
	s.lim = make([]int, len(s.finders))
	for i := range s.next {
		s.next[i] = -1
	}
	for {
		if err := ctx.Err(); err != nil {
			s.process(true)
			return s.result(), fmt.Errorf("logscan: stopped after %d bytes: %w", s.res.Bytes, err)
		}
		err := s.fill()
		s.process(s.eof || err != nil)
		if err != nil {
			return s.result(), fmt.Errorf("logscan: read after %d bytes: %w", s.res.Bytes, err)
		}
		if s.eof {
			return s.result(), nil
		}
	}
}

func (s *scanner) result() Result {
	s.countTo(s.n)
	s.res.Lines = s.nl
	if s.n > 0 && s.buf[s.n-1] != '\n' {
		s.res.Lines++ // a last line without a newline
	}
	return s.res
}

// fill reads once (up to a chunk) after making room; it retries reads
// that return nothing, as io.Reader allows.
func (s *scanner) fill() error {
	if len(s.buf)-s.n < s.cfg.chunk {
		s.compact()
	}
	target := min(s.n+s.cfg.chunk, len(s.buf))
	for empty := 0; ; empty++ {
		m, err := s.r.Read(s.buf[s.n:target])
		if m < 0 || m > target-s.n {
			return fmt.Errorf("reader returned invalid count %d", m)
		}
		s.res.Bytes += int64(m)
		s.appendRead(m)
		if errors.Is(err, io.EOF) {
			s.eof = true
			break
		}
		if err != nil {
			return err
		}
		if m > 0 {
			break
		}
		if empty == 100 {
			return io.ErrNoProgress
		}
	}
	// Cut an over-long unfinished line at the cap and drop the rest of it
	// as it arrives, so memory stays bounded whatever the input.
	ls := s.pos
	if i := bytes.LastIndexByte(s.buf[s.pos:s.n], '\n'); i >= 0 {
		ls = s.pos + i + 1
	}
	if !s.skipping && s.n-ls > s.opt.MaxLineBytes {
		s.n = ls + s.opt.MaxLineBytes
		s.skipping = true
		s.res.TruncatedLines++
	}
	return nil
}

// appendRead accepts m bytes just read at buf[n:].
func (s *scanner) appendRead(m int) {
	if !s.skipping {
		s.n += m
		return
	}
	i := bytes.IndexByte(s.buf[s.n:s.n+m], '\n')
	if i < 0 {
		return // still inside the over-long line: discard
	}
	copy(s.buf[s.n:], s.buf[s.n+i:s.n+m])
	s.n += m - i
	s.skipping = false
}

// compact moves the look-back tail and the unprocessed data to the front.
func (s *scanner) compact() {
	keep := s.pos - s.cfg.lookBack
	if keep <= 0 {
		return
	}
	if s.buf[keep-1] != '\n' {
		if i := bytes.IndexByte(s.buf[keep:s.pos], '\n'); i >= 0 {
			keep += i + 1
		} else {
			keep = s.pos
		}
	}
	copy(s.buf, s.buf[keep:s.n])
	s.n -= keep
	s.pos -= keep
	s.barrier = max(s.barrier-keep, 0)
	s.cntPos -= keep
	s.llPos -= keep
	for i := range s.next {
		s.next[i] -= keep
		s.lim[i] -= keep
	}
}

// process handles every complete line in the buffer (and the last,
// unterminated one when final).
func (s *scanner) process(final bool) {
	end := s.n
	if !final {
		i := bytes.LastIndexByte(s.buf[s.pos:s.n], '\n')
		if i < 0 {
			return
		}
		end = s.pos + i + 1
	}
	if s.untuned <= 0 && end-s.pos >= tuneSample/4 {
		sample := s.buf[s.pos:min(end, s.pos+tuneSample)]
		for i := range s.finders {
			s.finders[i].retune(sample)
		}
		s.untuned = tuneEvery
	}
	s.untuned -= end - s.pos
	for s.pos < end {
		if s.cur != nil {
			s.feed(end)
			continue
		}
		h := s.earliestHit(end)
		if h < 0 {
			s.pos = end
			break
		}
		s.hitLine(h, end)
	}
	s.countTo(end)
	s.detectLong(end)
	if final && s.cur != nil {
		s.closeTrace(nil)
	}
}

// earliestHit returns the position of the first needle match in
// [pos, end), or -1.
func (s *scanner) earliestHit(end int) int {
	best := -1
	for i := range s.finders {
		h := s.next[i]
		if h < s.pos {
			from := max(s.pos, s.lim[i]-len(s.finders[i].needle)+1)
			h = -1
			if from < end {
				if j := s.finders[i].index(s.buf[from:end]); j >= 0 {
					h = from + j
				}
			}
			s.next[i] = h
			if h >= 0 {
				s.lim[i] = h + len(s.finders[i].needle)
			} else {
				s.lim[i] = end
			}
		}
		if h >= 0 && (best < 0 || h < best) {
			best = h
		}
	}
	return best
}

// lineEnd returns the end of the line starting at p (its '\n' or end) and
// the start of the next line.
func (s *scanner) lineEnd(p, end int) (le, next int) {
	if i := bytes.IndexByte(s.buf[p:end], '\n'); i >= 0 {
		return p + i, p + i + 1
	}
	return end, end
}

// raw returns the line buf[ls:le] without '\r', cut to MaxLineBytes.
func (s *scanner) raw(ls, le int) []byte {
	if le-ls > s.opt.MaxLineBytes {
		le = ls + s.opt.MaxLineBytes
	}
	if le > ls && s.buf[le-1] == '\r' {
		le--
	}
	return s.buf[ls:le]
}

// prevLine returns the start of the line before the one starting at p,
// not going before lo (a line start).
func (s *scanner) prevLine(p, lo int) (int, bool) {
	if p <= lo {
		return 0, false
	}
	return lo + bytes.LastIndexByte(s.buf[lo:p-1], '\n') + 1, true
}

// lineNo returns the 1-based number of the line starting at p.
func (s *scanner) lineNo(p int) int64 {
	if p < s.cntPos {
		return s.nl - int64(bytes.Count(s.buf[p:s.cntPos], []byte{'\n'})) + 1
	}
	s.countTo(p)
	return s.nl + 1
}

func (s *scanner) countTo(p int) {
	if p > s.cntPos {
		s.nl += int64(bytes.Count(s.buf[s.cntPos:p], []byte{'\n'}))
		s.cntPos = p
	}
}

// detectLong counts lines longer than MaxLineBytes in [llPos, end)
// without visiting every line: if the window of MaxLineBytes+1 bytes from
// a line start holds a newline, no line starting before that newline is
// too long, so the search jumps to just after the window's last newline.
func (s *scanner) detectLong(end int) {
	p, m := s.llPos, s.opt.MaxLineBytes
	for end-p > m {
		if j := bytes.LastIndexByte(s.buf[p:p+m+1], '\n'); j >= 0 {
			p += j + 1
			continue
		}
		s.res.TruncatedLines++
		k := bytes.IndexByte(s.buf[p+m+1:end], '\n')
		if k < 0 {
			p = end
			break
		}
		p += m + 1 + k + 1
	}
	s.llPos = end
}

// extra calls OnLine when the line holds one of the extra needles.
func (s *scanner) extra(no int64, raw []byte) {
	if s.opt.OnLine == nil {
		return
	}
	for _, f := range s.finders[len(traceNeedles):] {
		if bytes.Contains(raw, f.needle) {
			s.opt.OnLine(no, raw)
			return
		}
	}
}

// hitLine handles the line holding the needle match at h.
func (s *scanner) hitLine(h, end int) {
	ls := s.pos
	if i := bytes.LastIndexByte(s.buf[s.pos:h], '\n'); i >= 0 {
		ls = s.pos + i + 1
	}
	le, next := s.lineEnd(ls, end)
	raw := s.raw(ls, le)
	c := StripPrefix(raw)
	no := s.lineNo(ls)
	s.extra(no, raw)
	s.pos = next
	leak := isLeakLine(c)
	if !leak && !isOOMLine(c) {
		return
	}
	if t := bytes.TrimLeft(c, " \t"); len(t) > 0 && t[0] == '{' {
		// A JSON line is read only through its fields: its raw text has
		// the trace's lines run together with escapes.
		if jl, ok := parseJSONLine(t); ok {
			var when time.Time
			for _, tr := range jsonTraces(jl, no, raw, s.opt.MaxTraceLines) {
				if tr.Time.IsZero() {
					if when.IsZero() {
						when, _ = s.context(ls, raw, c)
					}
					tr.Time = when
				}
				s.addTrace(tr)
			}
		}
		s.barrier = next
		return
	}
	lo := s.barrier
	k := headBack(c, leak, func(k int) ([]byte, bool) {
		p := ls
		for ; k > 0; k-- {
			var ok bool
			if p, ok = s.prevLine(p, lo); !ok {
				return nil, false
			}
		}
		pe, _ := s.lineEnd(p, ls)
		return StripPrefix(s.raw(p, pe)), true
	}, s.opt.MaxTraceLines)
	head := ls
	for i := 0; i < k; i++ {
		head, _ = s.prevLine(head, lo)
	}
	he, _ := s.lineEnd(head, end)
	headRaw := s.raw(head, he)
	s.curTime, s.curThread = s.context(head, headRaw, StripPrefix(headRaw))
	s.cur = newAssembler(leak, s.opt.MaxTraceLines, true)
	for p := head; p <= ls; {
		pe, pn := s.lineEnd(p, end)
		r := s.raw(p, pe)
		s.cur.add(s.lineNo(p), r, StripPrefix(r))
		p = pn
	}
}

// context returns the time and the logger thread for a trace whose head
// line starts at head: the head's own timestamp, else the nearest earlier
// timestamped line's; the thread of the logger line just before a head
// that is not itself a logger line.
func (s *scanner) context(head int, raw, c []byte) (time.Time, string) {
	t, ok := ParseTimestamp(raw)
	thread := ""
	_, headIsLogger := ParseTimestamp(c)
	p := head
	for k := 0; k < s.opt.MaxTraceLines && (!ok || (k == 0 && !headIsLogger)); k++ {
		q, more := s.prevLine(p, 0)
		if !more {
			break
		}
		pr := s.raw(q, p-1)
		if k == 0 && !headIsLogger {
			thread = loggerThread(StripPrefix(pr))
		}
		if !ok {
			t, ok = ParseTimestamp(pr)
		}
		p = q
	}
	return t, thread
}

// feed passes lines to the open trace until it ends or end is reached.
func (s *scanner) feed(end int) {
	for s.pos < end {
		le, next := s.lineEnd(s.pos, end)
		raw := s.raw(s.pos, le)
		c := StripPrefix(raw)
		no := s.lineNo(s.pos)
		if !s.cur.add(no, raw, c) {
			s.closeTrace(c)
			return
		}
		s.extra(no, raw)
		s.pos = next
	}
}

// closeTrace finishes the open trace; next is the stripped line that ended
// it (nil at the end of the log).
func (s *scanner) closeTrace(next []byte) {
	a := s.cur
	s.cur = nil
	s.barrier = s.pos
	if next != nil && a.mentionOnly() && isOOMLine(next) {
		// "... nested exception is java.lang.OutOfMemoryError: ..." right
		// before the trace itself: one error, reported once.
		return
	}
	t, ok := a.finish()
	if !ok {
		return
	}
	t.Time = s.curTime
	if t.Thread == "" {
		t.Thread = s.curThread
	}
	s.addTrace(t)
}

func (s *scanner) addTrace(t Trace) {
	if len(s.res.Traces) >= s.opt.MaxTraces {
		s.res.Dropped++
		return
	}
	s.res.Traces = append(s.res.Traces, t)
}
