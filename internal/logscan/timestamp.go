package logscan

import (
	"bytes"
	"math"
	"strconv"
	"time"
)

// ParseTimestamp reads the timestamp a log line starts with. It accepts
//
//   - RFC 3339 / RFC 3339 Nano: 2026-03-14T02:11:05.123Z, ...+01:00
//   - logger style with a space and '.' or ',' before the fraction:
//     2026-03-14 02:11:05.123, 2026-03-14 02:11:05,123
//   - JVM unified logging decorations: [2026-03-14T02:11:05.123+0000]
//
// The zone may be Z, ±hh:mm, ±hhmm or ±hh; without one the time is taken
// as UTC (container logs rarely run in another zone, and guessing the
// machine's zone would make results depend on where oombot runs). For a
// CRI or kubectl --timestamps line the runtime's prefix is what is read.
// The result is always in UTC.
func ParseTimestamp(line []byte) (time.Time, bool) {
	if len(line) > 0 && line[0] == '[' {
		t, n, ok := parseTS(line[1:])
		if !ok || n+1 >= len(line) || line[n+1] != ']' {
			return time.Time{}, false
		}
		return t, true
	}
	t, _, ok := parseTS(line)
	return t, ok
}

// parseTS parses a timestamp at the start of b and returns it with the
// number of bytes it used.
func parseTS(b []byte) (time.Time, int, bool) {
	// YYYY-MM-DD?HH:MM:SS is 19 bytes.
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 ||
		hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, 0, false
	}
	n := 19
	nsec := 0
	if n < len(b) && (b[n] == '.' || b[n] == ',') && n+1 < len(b) && isDigit(b[n+1]) {
		n++
		scale := 100000000
		for ; n < len(b) && isDigit(b[n]); n++ {
			// Digits past nanoseconds are read and ignored.
			if scale > 0 {
				nsec += int(b[n]-'0') * scale
				scale /= 10
			}
		}
	}
	offset := 0
	if n < len(b) {
		switch c := b[n]; {
		case c == 'Z':
			n++
		case (c == '+' || c == '-') && n+2 < len(b) && isDigit(b[n+1]) && isDigit(b[n+2]):
			hh, _ := digits(b[n+1 : n+3])
			m := 3
			mm := 0
			switch {
			case n+5 < len(b) && b[n+3] == ':' && isDigit(b[n+4]) && isDigit(b[n+5]):
				mm, _ = digits(b[n+4 : n+6])
				m = 6
			case n+4 < len(b) && isDigit(b[n+3]) && isDigit(b[n+4]):
				mm, _ = digits(b[n+3 : n+5])
				m = 5
			}
			if hh > 23 || mm > 59 {
				return time.Time{}, 0, false
			}
			offset = hh*3600 + mm*60
			if c == '-' {
				offset = -offset
			}
			n += m
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	// time.Date normalises 31 February to March; a log line never means that.
	if t.Day() != day && sec < 60 {
		return time.Time{}, 0, false
	}
	return t.Add(-time.Duration(offset) * time.Second), n, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// StripPrefix removes what the container runtime or kubectl put in front
// of an application's log line, so the rest can be parsed:
//
//	2026-03-14T02:11:05.123456789Z stderr F <line>   (CRI / containerd log files)
//	2026-03-14T02:11:05.123456789Z <line>            (kubectl logs --timestamps)
//
// A timestamp that is part of the application's own format (a space
// between date and time, or no zone) is left alone. The result aliases
// line.
func StripPrefix(line []byte) []byte {
	if len(line) < 20 || line[10] != 'T' {
		return line
	}
	_, n, ok := parseTS(line)
	if !ok || n >= len(line) || line[n] != ' ' || !hasZone(line[:n]) {
		return line
	}
	rest := line[n+1:]
	if len(rest) >= 9 && (bytes.HasPrefix(rest, []byte("stdout ")) || bytes.HasPrefix(rest, []byte("stderr "))) &&
		(rest[7] == 'F' || rest[7] == 'P') && rest[8] == ' ' {
		return rest[9:]
	}
	if len(rest) == 8 && (rest[7] == 'F' || rest[7] == 'P') {
		return rest[8:] // an empty CRI line
	}
	return rest
}

// hasZone reports whether a parsed timestamp ends in an explicit zone.
func hasZone(ts []byte) bool {
	c := ts[len(ts)-1]
	if c == 'Z' {
		return true
	}
	// ...+01:00 / +0100 / +01: a sign within the last six bytes after the seconds.
	return len(ts) > 19 && bytes.ContainsAny(ts[19:], "+-")
}

// parseTimeValue interprets a JSON timestamp field: a string in a format
// ParseTimestamp knows, or epoch seconds / milliseconds / microseconds /
// nanoseconds as a number or numeric string (zap writes "ts":1.7e9).
func parseTimeValue(v any) (time.Time, bool) {
	var s string
	switch x := v.(type) {
	case string:
		if t, ok := ParseTimestamp([]byte(x)); ok {
			return t, true
		}
		s = x
	case jsonNumber:
		s = string(x)
	default:
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return time.Time{}, false
	}
	switch {
	case f > 1e17:
		return time.Unix(0, int64(f)).UTC(), true
	case f > 1e14:
		return time.UnixMicro(int64(f)).UTC(), true
	case f > 1e11:
		return time.UnixMilli(int64(f)).UTC(), true
	case f > 1e8:
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	}
	return time.Time{}, false
}

// levels are log level words that appear in brackets but are not threads.
var levels = map[string]bool{
	"TRACE": true, "DEBUG": true, "INFO": true, "WARN": true, "WARNING": true, "ERROR": true,
	"FATAL": true, "SEVERE": true, "FINE": true, "trace": true, "debug": true, "info": true,
	"warn": true, "warning": true, "error": true,
}

// loggerThread returns the thread name from a logger line such as
// "2026-03-14 02:11:05.123 ERROR [http-nio-8080-exec-3] c.e.Handler - ..."
// or Spring Boot's "... ERROR 1 --- [nio-8080-exec-3] c.e.Handler : ...":
// the first bracketed word after the leading timestamp and before the
// message separator. Lines without a leading timestamp (including JVM
// unified logging, whose brackets hold levels and tags) yield "".
func loggerThread(content []byte) string {
	_, n, ok := parseTS(content)
	if !ok {
		return ""
	}
	rest := content[n:]
	if end := messageStart(rest); end >= 0 {
		rest = rest[:end]
	}
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '[')
		if i < 0 {
			return ""
		}
		j := bytes.IndexByte(rest[i:], ']')
		if j < 0 {
			return ""
		}
		inner := string(bytes.TrimSpace(rest[i+1 : i+j]))
		rest = rest[i+j+1:]
		if inner == "" || levels[inner] {
			continue
		}
		if _, ok := ParseTimestamp([]byte(inner)); ok {
			continue
		}
		return inner
	}
	return ""
}

// messageStart finds where a logger line's message begins (" - " or
// " : "), so brackets inside the message are not taken for a thread.
func messageStart(b []byte) int {
	i := bytes.Index(b, []byte(" - "))
	if j := bytes.Index(b, []byte(" : ")); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	return i
}
