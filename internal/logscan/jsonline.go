package logscan

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type jsonNumber = json.Number

// Field names JSON encoders use. Order matters: the first field holding a
// trace wins, so a stack field is preferred over a message that merely
// repeats the exception's header.
var (
	jsonStackKeys  = []string{"stack_trace", "exception", "error.stack", "error.stack_trace", "stack", "message", "msg", "log"}
	jsonTimeKeys   = []string{"@timestamp", "timestamp", "time", "ts"}
	jsonThreadKeys = []string{"thread_name", "thread", "threadName", "thread.name", "process.thread.name"}
)

// jsonLine is what a JSON log line offers a trace.
type jsonLine struct {
	stack  string
	time   time.Time
	thread string
}

// parseJSONLine extracts the trace-carrying field, the time and the thread
// of a JSON log line (logstash-logback-encoder, log4j2 JsonTemplateLayout,
// ECS, zap...). A line cut short by the length cap is no longer valid JSON;
// its fields are then read leniently from the text. ok is false when no
// field holds an OOM or LEAK.
func parseJSONLine(c []byte) (jsonLine, bool) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(c))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return lenientJSONLine(c)
	}
	var jl jsonLine
	for _, k := range jsonStackKeys {
		if s, ok := findTraceText(lookup(m, k)); ok {
			jl.stack = s
			break
		}
	}
	if jl.stack == "" {
		s, ok := findTraceText(m)
		if !ok {
			return jl, false
		}
		jl.stack = s
	}
	for _, k := range jsonTimeKeys {
		if t, ok := parseTimeValue(lookup(m, k)); ok {
			jl.time = t
			break
		}
	}
	for _, k := range jsonThreadKeys {
		if s, ok := lookup(m, k).(string); ok && s != "" {
			jl.thread = s
			break
		}
	}
	return jl, true
}

// lookup reads key from m, as a flat key first ("error.stack") and then as
// a path through nested objects ({"error":{"stack":...}}).
func lookup(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	var cur any = m
	for _, part := range strings.Split(key, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = obj[part]; !ok {
			return nil
		}
	}
	return cur
}

// findTraceText returns the first string in v (searching objects in key
// order and arrays in order) that holds an OOM or LEAK.
func findTraceText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		if hasTraceMarker([]byte(x)) {
			return x, true
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if s, ok := findTraceText(x[k]); ok {
				return s, true
			}
		}
	case []any:
		for _, e := range x {
			if s, ok := findTraceText(e); ok {
				return s, true
			}
		}
	}
	return "", false
}

func hasTraceMarker(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n")) {
		if isOOMLine(l) || isLeakLine(l) {
			return true
		}
	}
	return false
}

// lenientJSONLine reads "key":"value" pairs from broken JSON, decoding each
// string up to its closing quote or the end of the text.
func lenientJSONLine(c []byte) (jsonLine, bool) {
	var jl jsonLine
	for _, k := range jsonStackKeys {
		if s, ok := lenientString(c, k); ok && hasTraceMarker([]byte(s)) {
			jl.stack = s
			break
		}
	}
	if jl.stack == "" {
		return jl, false
	}
	for _, k := range jsonTimeKeys {
		v, ok := lenientString(c, k)
		if !ok {
			continue
		}
		if t, ok := parseTimeValue(v); ok {
			jl.time = t
			break
		}
	}
	for _, k := range jsonThreadKeys {
		if s, ok := lenientString(c, k); ok && s != "" {
			jl.thread = s
			break
		}
	}
	return jl, true
}

// lenientString finds "<last part of key>": and returns its value: a
// string (unescaped, possibly cut off) or a bare number.
func lenientString(c []byte, key string) (string, bool) {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	pat := []byte(strconv.Quote(key))
	for from := 0; ; {
		i := bytes.Index(c[from:], pat)
		if i < 0 {
			return "", false
		}
		p := from + i + len(pat)
		from = p
		for p < len(c) && (c[p] == ' ' || c[p] == '\t') {
			p++
		}
		if p >= len(c) || c[p] != ':' {
			continue
		}
		p++
		for p < len(c) && (c[p] == ' ' || c[p] == '\t') {
			p++
		}
		if p < len(c) && c[p] == '"' {
			return unescapeJSON(c[p+1:]), true
		}
		e := p
		for e < len(c) && (isDigit(c[e]) || c[e] == '.' || c[e] == 'e' || c[e] == 'E' || c[e] == '+' || c[e] == '-') {
			e++
		}
		if e > p {
			return string(c[p:e]), true
		}
	}
}

// unescapeJSON decodes a JSON string body up to its closing quote or the
// end of b, tolerating bad escapes.
func unescapeJSON(b []byte) string {
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			return out.String()
		case c != '\\':
			out.WriteByte(c)
		case i+1 >= len(b):
			return out.String()
		default:
			i++
			switch b[i] {
			case 'n':
				out.WriteByte('\n')
			case 't':
				out.WriteByte('\t')
			case 'r':
				out.WriteByte('\r')
			case 'b':
				out.WriteByte('\b')
			case 'f':
				out.WriteByte('\f')
			case 'u':
				if i+4 < len(b) {
					if v, err := strconv.ParseUint(string(b[i+1:i+5]), 16, 32); err == nil {
						out.WriteRune(rune(v))
						i += 4
						continue
					}
				}
				out.WriteRune(utf8.RuneError)
			default: // '"', '\\', '/' and anything unknown stand for themselves
				out.WriteByte(b[i])
			}
		}
	}
	return out.String()
}

// jsonTraces assembles every trace in the stack text of one JSON log line.
// Their Lines are the single raw line; time and thread come from the JSON
// fields when present.
func jsonTraces(jl jsonLine, no int64, raw []byte, maxLines int) []Trace {
	lines := strings.Split(jl.stack, "\n")
	var out []Trace
	lo := 0
	for i := 0; i < len(lines); i++ {
		c := []byte(strings.TrimRight(lines[i], "\r"))
		leak := isLeakLine(c)
		if !leak && !isOOMLine(c) {
			continue
		}
		k := headBack(c, leak, func(k int) ([]byte, bool) {
			if i-k < lo {
				return nil, false
			}
			return []byte(lines[i-k]), true
		}, maxLines)
		a := newAssembler(leak, maxLines, false)
		j := i - k
		for ; j < len(lines); j++ {
			if !a.add(no, nil, []byte(strings.TrimRight(lines[j], "\r"))) {
				break
			}
		}
		if t, ok := a.finish(); ok && !(a.mentionOnly() && j < len(lines) && isOOMLine([]byte(lines[j]))) {
			t.Lines = []Line{{No: no, Text: string(raw)}}
			if t.Thread == "" {
				t.Thread = jl.thread
			}
			t.Time = jl.time
			out = append(out, t)
		}
		lo = j
		i = j - 1
	}
	return out
}

// headBack returns how many lines before the hit line belong to its trace:
// from a "Caused by:" or "Suppressed:" line it walks back over frames and
// headers to the outermost exception's header. prev(k) returns the
// stripped k-th line before the hit, or false when there is none to look
// at. The trace head is at most max-1 lines back.
func headBack(hit []byte, leak bool, prev func(k int) ([]byte, bool), max int) int {
	if leak || !isContinuation(classify(hit)) {
		return 0
	}
	k := 0
	for k+1 < max {
		c, ok := prev(k + 1)
		if !ok {
			break
		}
		if isContinuation(classify(c)) {
			k++
			continue
		}
		if exceptionLike(c) {
			k++
		}
		break
	}
	return k
}
