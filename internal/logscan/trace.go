package logscan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/evidence"
)

// KindLeak is the Trace.Kind of a Netty "LEAK: ByteBuf.release() was not
// called" record. OutOfMemoryError traces use the evidence.OOM* kinds.
const KindLeak = "leak"

// Line is one raw log line as read, for citation.
type Line struct {
	// No is the 1-based line number in the log.
	No int64
	// Text is the raw line including any runtime prefix, truncated to
	// Options.MaxLineBytes.
	Text string
}

// Trace is one OutOfMemoryError (or Netty OutOfDirectMemoryError) stack
// trace, or one Netty LEAK record, found in a log.
type Trace struct {
	// Kind is an evidence.OOM* constant, or KindLeak.
	Kind string
	// Exception is the error class as written, e.g. java.lang.OutOfMemoryError
	// or io.netty.util.internal.OutOfDirectMemoryError; empty for leaks.
	Exception string
	// Message is the OOM exception's header without "Caused by: ", e.g.
	// "java.lang.OutOfMemoryError: Java heap space"; for a leak, the LEAK
	// sentence.
	Message string
	// Thread is the thread named by `Exception in thread "x"`, a JSON thread
	// field, or the bracketed thread of the logger line; may be empty.
	Thread string
	// Time is the trace's own timestamp, else that of the nearest preceding
	// timestamped line; zero if none was found.
	Time time.Time
	// Frames are the frames of the OOM's own section (or of the LEAK
	// record), top first, without the leading tab and "at ".
	Frames []string
	// Chain lists every exception header in the trace, outermost first,
	// "Caused by:" and "Suppressed:" entries as written.
	Chain []string
	// Lines are the raw lines of the trace as found, at most
	// Options.MaxTraceLines. A trace read from one JSON log line has one Line.
	Lines []Line
}

// Signature is a stable key for folding identical traces: the kind, the
// message with its numbers normalised, and the first eight frames (with
// hidden-class addresses such as Lambda$1/0x00007f... normalised, since
// they change on every JVM start).
func (t Trace) Signature() string {
	h := sha256.New()
	h.Write([]byte(t.Kind))
	h.Write([]byte{0})
	h.Write([]byte(normaliseDigits(t.Message)))
	for i, f := range t.Frames {
		if i == 8 {
			break
		}
		h.Write([]byte{0})
		h.Write([]byte(normaliseHex(f)))
	}
	return t.Kind + ":" + hex.EncodeToString(h.Sum(nil)[:12])
}

// normaliseDigits replaces every run of digits with "N".
func normaliseDigits(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			b.WriteByte('N')
			for i+1 < len(s) && isDigit(s[i+1]) {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// normaliseHex replaces every 0x-prefixed hex number with "0xN".
func normaliseHex(s string) string {
	if !strings.Contains(s, "0x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '0' && i+2 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) {
			b.WriteString("0xN")
			i += 2
			for i+1 < len(s) && isHex(s[i+1]) {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }

// lineClass is what a stripped log line is, as far as traces go.
type lineClass int

const (
	classOther      lineClass = iota
	classFrame                // "\tat pkg.Class.method(File.java:12)"
	classElided               // "\t... 12 more", "\t... 3 common frames omitted", "[CIRCULAR REFERENCE..."
	classCause                // "Caused by: ..."
	classSuppressed           // "\tSuppressed: ..."
	classWrapped              // logback's root-cause-first "Wrapped by: ..."
)

// classify decides whether a stripped line continues a Java stack trace.
// Frames and elisions must be indented, as the JVM prints them, so that an
// unrelated message starting with "at " does not extend a trace.
func classify(c []byte) lineClass {
	t := bytes.TrimLeft(c, " \t")
	indented := len(t) < len(c)
	switch {
	case indented && bytes.HasPrefix(t, []byte("at ")):
		return classFrame
	case indented && bytes.HasPrefix(t, []byte("... ")) &&
		(bytes.HasSuffix(t, []byte(" more")) || bytes.Contains(t, []byte("omitted"))):
		return classElided
	case bytes.HasPrefix(t, []byte("Caused by: ")):
		return classCause
	case bytes.HasPrefix(t, []byte("Suppressed: ")):
		return classSuppressed
	case bytes.HasPrefix(t, []byte("Wrapped by: ")):
		return classWrapped
	case bytes.HasPrefix(t, []byte("[CIRCULAR REFERENCE")):
		return classElided
	}
	return classOther
}

func isContinuation(c lineClass) bool { return c != classOther }

var (
	oomNames    = [][]byte{[]byte("OutOfMemoryError"), []byte("OutOfDirectMemoryError")}
	leakMarker  = []byte("LEAK: ")
	leakRelease = []byte("release() was not called")
)

func isIdent(c byte) bool {
	return c == '_' || c == '$' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// oomToken finds the first real mention of an OutOfMemoryError class in c
// and returns where its (possibly qualified) class name starts and ends.
// A mention must stand alone as a class name ("-XX:+HeapDumpOnOutOfMemoryError"
// does not count) and be qualified ("java.lang.OutOfMemoryError") or
// followed by ':'; a frame line never counts.
func oomToken(c []byte) (start, end int, ok bool) {
	from := 0
	for from < len(c) {
		i, name := -1, []byte(nil)
		for _, n := range oomNames {
			if j := bytes.Index(c[from:], n); j >= 0 && (i < 0 || from+j < i) {
				i, name = from+j, n
			}
		}
		if i < 0 {
			return 0, 0, false
		}
		e := i + len(name)
		from = e
		if i > 0 && isIdent(c[i-1]) {
			continue
		}
		// "OutOfMemoryErrorHandler", "OutOfMemoryError.java",
		// "OutOfMemoryError.<init>" name something else; a full stop ends a
		// sentence only before a space or the end of the line.
		if e < len(c) && (isIdent(c[e]) || c[e] == '.' && e+1 < len(c) && c[e+1] != ' ') {
			continue
		}
		qualified := i > 0 && c[i-1] == '.'
		if !qualified && (e >= len(c) || c[e] != ':') {
			continue
		}
		s := i
		for s > 0 && (isIdent(c[s-1]) || c[s-1] == '.') {
			s--
		}
		return s, e, true
	}
	return 0, 0, false
}

// isOOMLine reports whether a stripped line mentions an OutOfMemoryError
// in a way that starts or belongs to a trace.
func isOOMLine(c []byte) bool {
	if classify(c) == classFrame {
		return false
	}
	_, _, ok := oomToken(c)
	return ok
}

// isLeakLine reports whether a stripped line is a Netty LEAK report.
func isLeakLine(c []byte) bool {
	i := bytes.Index(c, leakMarker)
	return i >= 0 && bytes.Contains(c[i:], leakRelease)
}

// exceptionLike reports whether a line can be the header of the exception
// whose frames follow it: it starts with a qualified class name followed
// by ':' or the end of the line, or is the JVM's "Exception in thread".
func exceptionLike(c []byte) bool {
	t := bytes.TrimSpace(c)
	if bytes.HasPrefix(t, []byte("Exception in thread \"")) {
		return true
	}
	i, dots := 0, 0
	for i < len(t) && (isIdent(t[i]) || t[i] == '.') {
		if t[i] == '.' {
			dots++
		}
		i++
	}
	if i == 0 || dots == 0 || t[i-1] == '.' || isDigit(t[0]) {
		return false
	}
	return i == len(t) || t[i] == ':'
}

// kindOf maps an OOM exception and its message to an evidence.OOM* kind.
func kindOf(exception, message string) string {
	if strings.HasSuffix(exception, "OutOfDirectMemoryError") {
		return evidence.OOMDirect
	}
	detail := strings.TrimPrefix(message, exception)
	lower := strings.ToLower(detail)
	switch {
	case strings.Contains(detail, "Java heap space"):
		return evidence.OOMHeap
	case strings.Contains(detail, "GC overhead limit exceeded"):
		return evidence.OOMGCOverhead
	case strings.Contains(detail, "Compressed class space"):
		return evidence.OOMCompressedCS
	case strings.Contains(detail, "Metaspace"):
		return evidence.OOMMetaspace
	case strings.Contains(lower, "direct buffer memory"):
		// JDK 8-16 say "Direct buffer memory"; JDK 17 says "Cannot reserve
		// N bytes of direct buffer memory (allocated: ..., limit: ...)".
		return evidence.OOMDirect
	case strings.Contains(lower, "native thread"):
		// "unable to create new native thread" (JDK 8) and "unable to create
		// native thread: possibly out of memory or process/resource limits
		// reached" (JDK 17).
		return evidence.OOMNativeThread
	case strings.Contains(detail, "Requested array size exceeds VM limit"):
		return evidence.OOMArraySize
	}
	return evidence.OOMOther
}

// section is one exception of a trace: the outermost one, a "Caused by:"
// or a "Suppressed:" block.
type section struct {
	header string
	// frameStart and frameEnd index assembler.frames.
	frameStart, frameEnd int
}

// assembler builds one Trace from its lines, fed in order. The first line
// fed is the trace's head.
type assembler struct {
	leak     bool
	maxLines int
	// keepLines is false for traces read from a JSON field: their Lines are
	// the one JSON line, set by the caller.
	keepLines bool

	lines    []Line
	consumed int
	sections []section
	frames   []string
	thread   string
	// headMention is true when the head is a logger line that merely
	// mentions the OOM (it may be followed by the real trace).
	headMention bool
}

func newAssembler(leak bool, maxLines int, keepLines bool) *assembler {
	return &assembler{leak: leak, maxLines: maxLines, keepLines: keepLines}
}

// add feeds the next line: raw as read (for Lines) and c stripped of
// runtime prefixes. It reports whether the line belongs to the trace; a
// line that does not is left for the caller. The first line always does.
func (a *assembler) add(no int64, raw, c []byte) bool {
	first := a.consumed == 0
	if !first && !a.continues(c) {
		return false
	}
	a.consumed++
	if a.consumed > a.maxLines {
		// Past the cap the trace is still followed to its end, so its
		// remaining lines are not mistaken for a new trace, but not kept.
		return true
	}
	if a.keepLines {
		a.lines = append(a.lines, Line{No: no, Text: string(raw)})
	}
	if a.leak {
		a.addLeak(c, first)
	} else {
		a.addJava(c, first)
	}
	return true
}

func (a *assembler) continues(c []byte) bool {
	if !a.leak {
		return isContinuation(classify(c))
	}
	t := bytes.TrimSpace(c)
	switch {
	case len(t) == 0:
		return false
	case len(t) < len(c) && (c[0] == ' ' || c[0] == '\t'):
		return true // a frame or a hint of an access record
	case bytes.HasPrefix(t, []byte("Recent access records:")), bytes.HasPrefix(t, []byte("Created at:")):
		return true
	case bytes.HasPrefix(t, []byte(": ")) && bytes.Contains(t, []byte("leak records")):
		return true // ": 3 leak records were discarded because ..."
	case t[0] == '#' && len(t) >= 3 && t[len(t)-1] == ':':
		_, ok := digits(t[1 : len(t)-1])
		return ok
	}
	return false
}

func (a *assembler) addLeak(c []byte, first bool) {
	t := bytes.TrimSpace(c)
	if first {
		i := bytes.Index(t, leakMarker)
		a.sections = append(a.sections, section{header: string(t[i:])})
		a.thread = loggerThread(c)
		return
	}
	if len(t) < len(c) && (c[0] == ' ' || c[0] == '\t') && !bytes.HasPrefix(t, []byte("Hint: ")) {
		a.frames = append(a.frames, string(t))
	}
}

func (a *assembler) addJava(c []byte, first bool) {
	t := bytes.TrimSpace(c)
	cls := classify(c)
	if first {
		header := t
		switch {
		case cls == classFrame || cls == classElided:
			// The trace's header was not found (cut off): an anonymous section.
			a.sections = append(a.sections, section{})
		case bytes.HasPrefix(t, []byte("Exception in thread \"")):
			rest := t[len("Exception in thread \""):]
			if q := bytes.IndexByte(rest, '"'); q >= 0 {
				a.thread = string(rest[:q])
				header = bytes.TrimSpace(rest[q+1:])
			}
		case cls == classOther && !exceptionLike(t):
			// A logger line carrying the exception ("... - failed:
			// java.lang.OutOfMemoryError: ..."): the header starts at the class.
			if s, _, ok := oomToken(t); ok {
				header = t[s:]
				a.headMention = s > 0
			}
			a.thread = loggerThread(c)
		}
		if cls != classFrame && cls != classElided {
			a.sections = append(a.sections, section{header: string(header)})
		}
	} else if cls == classCause || cls == classSuppressed || cls == classWrapped {
		a.closeSection()
		a.sections = append(a.sections, section{header: string(t), frameStart: len(a.frames)})
	}
	if cls == classFrame {
		a.frames = append(a.frames, string(bytes.TrimPrefix(t, []byte("at "))))
	}
}

func (a *assembler) closeSection() {
	if n := len(a.sections); n > 0 {
		a.sections[n-1].frameEnd = len(a.frames)
	}
}

// mentionOnly reports whether the trace is a single logger line that only
// mentions an OOM, which the caller drops when the real trace follows.
func (a *assembler) mentionOnly() bool { return !a.leak && a.headMention && a.consumed == 1 }

// finish returns the trace. ok is false when nothing in it names an OOM
// (which cannot happen for traces started at an OOM line).
func (a *assembler) finish() (Trace, bool) {
	a.closeSection()
	t := Trace{Lines: a.lines, Thread: a.thread}
	if a.leak {
		t.Kind = KindLeak
		t.Message = a.sections[0].header
		t.Frames = a.frames
		return t, t.Message != ""
	}
	for _, s := range a.sections {
		if s.header != "" {
			t.Chain = append(t.Chain, s.header)
		}
	}
	// The OOM's own section is the first whose exception is the OOM; when
	// none is (its "Caused by:" was cut off), the first that mentions one.
	pick, start := -1, 0
	for i, s := range a.sections {
		h := stripHeaderPrefix(s.header)
		if st, _, ok := oomToken([]byte(h)); ok && st == 0 {
			pick = i
			break
		}
	}
	if pick < 0 {
		for i, s := range a.sections {
			if _, _, ok := oomToken([]byte(s.header)); ok {
				pick = i
				break
			}
		}
	}
	if pick < 0 {
		return t, false
	}
	h := []byte(a.sections[pick].header)
	start, end, _ := oomToken(h)
	t.Exception = string(h[start:end])
	t.Message = strings.TrimSpace(string(h[start:]))
	t.Kind = kindOf(t.Exception, t.Message)
	if s := a.sections[pick]; s.frameEnd > s.frameStart {
		t.Frames = a.frames[s.frameStart:s.frameEnd:s.frameEnd]
	}
	return t, true
}

// stripHeaderPrefix removes "Caused by: ", "Suppressed: " or "Wrapped by: ".
func stripHeaderPrefix(h string) string {
	for _, p := range []string{"Caused by: ", "Suppressed: ", "Wrapped by: "} {
		if strings.HasPrefix(h, p) {
			return h[len(p):]
		}
	}
	return h
}
