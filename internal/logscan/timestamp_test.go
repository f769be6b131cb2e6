package logscan

import (
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		line string
		want string // RFC 3339 in UTC; "" means not a timestamp
	}{
		{"2026-03-14T02:11:05.123Z stdout F x", "2026-03-14T02:11:05.123Z"},
		{"2026-03-14T02:11:05.123456789Z", "2026-03-14T02:11:05.123456789Z"},
		{"2026-03-14T02:11:05Z", "2026-03-14T02:11:05Z"},
		{"2026-03-14T03:11:05.123+01:00 INFO", "2026-03-14T02:11:05.123Z"},
		{"2026-03-13T21:11:05-0500", "2026-03-14T02:11:05Z"},
		{"2026-03-14T07:41:05+0530 x", "2026-03-14T02:11:05Z"},
		{"2026-03-14T04:11:05+02 x", "2026-03-14T02:11:05Z"},
		{"2026-03-14 02:11:05.123 ERROR [main]", "2026-03-14T02:11:05.123Z"},
		{"2026-03-14 02:11:05,123 ERROR", "2026-03-14T02:11:05.123Z"},
		{"2026-03-14 02:11:05 - x", "2026-03-14T02:11:05Z"},
		{"2026-03-14T02:11:05.1234567891234Z", "2026-03-14T02:11:05.123456789Z"},
		{"[2026-03-14T02:11:05.123+0000][info][gc] GC(1)", "2026-03-14T02:11:05.123Z"},
		{"[2026-03-14 02:11:05,123] ERROR", "2026-03-14T02:11:05.123Z"},
		{"[0.123s][info][gc] GC(1)", ""},
		{"[2026-03-14T02:11:05.123+0000", ""},
		{"2026-02-30 02:11:05", ""},
		{"2026-13-01 02:11:05", ""},
		{"2026-03-14 24:00:00", ""},
		{"2026-03-14T02:11:05.123+25:00", ""},
		{"2026-03-14", ""},
		{"02:11:05.123 [main] ERROR", ""},
		{"Mar 14, 2026 2:11:05 AM", ""},
		{"", ""},
		{"2026-03-14X02:11:05", ""},
		{"20a6-03-14 02:11:05", ""},
	}
	for _, tc := range tests {
		got, ok := ParseTimestamp([]byte(tc.line))
		if tc.want == "" {
			if ok {
				t.Errorf("ParseTimestamp(%q) = %v, want no timestamp", tc.line, got)
			}
			continue
		}
		want, err := time.Parse(time.RFC3339Nano, tc.want)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v in UTC", tc.line, got, ok, want)
		}
	}
}

func TestStripPrefix(t *testing.T) {
	tests := []struct{ line, want string }{
		{"2026-03-14T02:11:05.123456789Z stderr F \tat a.B.c(B.java:1)", "\tat a.B.c(B.java:1)"},
		{"2026-03-14T02:11:05.123456789Z stdout P partial", "partial"},
		{"2026-03-14T02:11:05.123456789Z stdout F", ""},
		{"2026-03-14T02:11:05.123456789Z java.lang.OutOfMemoryError: x", "java.lang.OutOfMemoryError: x"},
		{"2026-03-14T02:11:05.123+01:00 \tat x", "\tat x"},
		// The application's own timestamps are content.
		{"2026-03-14 02:11:05.123 ERROR x", "2026-03-14 02:11:05.123 ERROR x"},
		{"2026-03-14T02:11:05.123 ERROR x", "2026-03-14T02:11:05.123 ERROR x"},
		{"[2026-03-14T02:11:05.123+0000][info][gc] x", "[2026-03-14T02:11:05.123+0000][info][gc] x"},
		{"\tat x", "\tat x"},
		{"2026-03-14T02:11:05Zx", "2026-03-14T02:11:05Zx"},
	}
	for _, tc := range tests {
		if got := string(StripPrefix([]byte(tc.line))); got != tc.want {
			t.Errorf("StripPrefix(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestLoggerThread(t *testing.T) {
	tests := []struct{ line, want string }{
		{"2026-03-14 02:11:05.123 ERROR [http-nio-8080-exec-3] c.e.Handler - request failed", "http-nio-8080-exec-3"},
		{"2026-03-14 02:11:05.123 ERROR 1 --- [nio-8080-exec-3] o.a.c.c.C.[.[.[/].[dispatcherServlet] : Servlet [x]", "nio-8080-exec-3"},
		{"2026-03-14 02:11:05.123  INFO 1 --- [           main] c.e.App : started", "main"},
		{"2026-03-14 02:11:05,123 [ERROR] [RMI TCP Connection(2)-127.0.0.1] c.e.A - x", "RMI TCP Connection(2)-127.0.0.1"},
		// The bracket is inside the message, not before it.
		{"2026-03-14 02:11:05.123 SEVERE c.e.Ingest - failed [batch 7]", ""},
		{"[2026-03-14T02:11:05.123+0000][info][gc] GC(1)", ""},
		{"java.lang.OutOfMemoryError: [x]", ""},
	}
	for _, tc := range tests {
		if got := loggerThread([]byte(tc.line)); got != tc.want {
			t.Errorf("loggerThread(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestParseTimeValue(t *testing.T) {
	want := time.Date(2026, 3, 14, 2, 11, 5, 123000000, time.UTC)
	for _, v := range []any{"2026-03-14T02:11:05.123Z", jsonNumber("1773454265123"), jsonNumber("1773454265.123"),
		jsonNumber("1773454265123000"), jsonNumber("1773454265123000000"), "1773454265123"} {
		got, ok := parseTimeValue(v)
		if !ok || got.Sub(want).Abs() > time.Microsecond {
			t.Errorf("parseTimeValue(%#v) = %v, %v; want %v", v, got, ok, want)
		}
	}
	for _, v := range []any{"soon", jsonNumber("12"), jsonNumber("-1773454265"), true, nil, "NaN"} {
		if got, ok := parseTimeValue(v); ok {
			t.Errorf("parseTimeValue(%#v) = %v, want none", v, got)
		}
	}
}
