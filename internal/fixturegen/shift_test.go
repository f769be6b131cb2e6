package main

import (
	"testing"
	"time"
)

func TestShifterText(t *testing.T) {
	// From 2026-11-23T10:46:52Z to 2026-03-14T02:00:00Z.
	off := time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC).Sub(time.Date(2026, 11, 23, 10, 46, 52, 0, time.UTC))
	sh := Shifter{Offset: off}
	tests := []struct {
		name, in, want string
	}{
		{"app log millis Z", "2026-11-23T10:46:52.123Z  INFO [main] c.e.App - Started",
			"2026-03-14T02:00:00.123Z  INFO [main] c.e.App - Started"},
		{"gc log numeric zone", "[2026-11-23T10:47:01.005+0000][9.012s][info][gc] GC(3) Pause Young",
			"[2026-03-14T02:00:09.005+0000][9.012s][info][gc] GC(3) Pause Young"},
		{"non-UTC zone keeps its zone", "2026-11-23T11:46:52.5+01:00",
			"2026-03-14T03:00:00.5+01:00"},
		{"space separator no fraction", "at 2026-11-23 10:46:53 done", "at 2026-03-14 02:00:01 done"},
		{"comma fraction", "2026-11-23 10:46:52,999 WARN", "2026-03-14 02:00:00,999 WARN"},
		{"dmesg -T padded day", "[Mon Nov 23 10:46:52 2026] Memory cgroup out of memory: Killed process 6019 (java)",
			"[Sat Mar 14 02:00:00 2026] Memory cgroup out of memory: Killed process 6019 (java)"},
		{"crosses midnight backwards", "2026-11-23T10:46:51.999Z", "2026-03-14T01:59:59.999Z"},
		{"version-like text untouched", "OpenJDK 17.0.15+6-Debian-1deb12u1 build 2025-04-15", "OpenJDK 17.0.15+6-Debian-1deb12u1 build 2025-04-15"},
		{"impossible date untouched", "2026-13-40T99:00:00Z", "2026-13-40T99:00:00Z"},
		{"two stamps in one line", "from 2026-11-23T10:46:52Z to 2026-11-23T10:47:52Z",
			"from 2026-03-14T02:00:00Z to 2026-03-14T02:01:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sh.Text(tc.in); got != tc.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestShifterDmesgSingleDigitDay(t *testing.T) {
	sh := Shifter{Offset: -24 * time.Hour}
	in := "[Tue Mar  3 09:00:00 2026] oom-kill:constraint=CONSTRAINT_MEMCG"
	want := "[Mon Mar  2 09:00:00 2026] oom-kill:constraint=CONSTRAINT_MEMCG"
	if got := sh.Text(in); got != want {
		t.Errorf("got %q want %q", got, want)
	}
}
