package main

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Shifter moves every timestamp in a text by one constant offset, keeping
// each timestamp's own layout (separator, fraction digits, zone style), so a
// run made today reads as if it happened at the scenario's fixed date.
type Shifter struct {
	Offset time.Duration
}

// isoRE matches ISO-8601 date-times as the JVM and the fixture programs print
// them: 2026-03-14T02:10:00.123Z, 2026-03-14T02:10:00.123+0000, 2026-03-14 02:10:00,123.
var isoRE = regexp.MustCompile(`\b(\d{4})-(\d{2})-(\d{2})([T ])(\d{2}):(\d{2}):(\d{2})(?:([.,])(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?`)

// dmesgRE matches dmesg -T stamps: [Mon Nov 23 10:46:52 2026], day space-padded.
var dmesgRE = regexp.MustCompile(`\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})\]`)

// Text shifts every ISO-8601 and dmesg -T timestamp in s.
func (sh Shifter) Text(s string) string {
	s = isoRE.ReplaceAllStringFunc(s, sh.iso)
	return dmesgRE.ReplaceAllStringFunc(s, sh.dmesg)
}

// Time shifts one instant.
func (sh Shifter) Time(t time.Time) time.Time { return t.Add(sh.Offset).UTC() }

// UnixMilli shifts a Unix millisecond timestamp.
func (sh Shifter) UnixMilli(ms int64) int64 { return ms + sh.Offset.Milliseconds() }

func (sh Shifter) iso(m string) string {
	g := isoRE.FindStringSubmatch(m)
	num := func(i int) int { n, _ := strconv.Atoi(g[i]); return n }
	var ns int
	if g[9] != "" {
		frac := g[9] + strings.Repeat("0", 9-len(g[9]))
		ns, _ = strconv.Atoi(frac)
	}
	loc := time.UTC
	zone := g[10]
	if zone != "" && zone != "Z" {
		z := strings.ReplaceAll(zone, ":", "")
		h, _ := strconv.Atoi(z[1:3])
		mi, _ := strconv.Atoi(z[3:5])
		off := h*3600 + mi*60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone(zone, off)
	}
	if num(2) < 1 || num(2) > 12 || num(3) < 1 || num(3) > 31 || num(5) > 23 || num(6) > 59 || num(7) > 60 {
		return m // not a timestamp after all (e.g. a version string)
	}
	t := time.Date(num(1), time.Month(num(2)), num(3), num(5), num(6), num(7), ns, loc).Add(sh.Offset).In(loc)
	var b strings.Builder
	b.WriteString(t.Format("2006-01-02"))
	b.WriteString(g[4])
	b.WriteString(t.Format("15:04:05"))
	if g[9] != "" {
		b.WriteString(g[8])
		frac := strconv.Itoa(1_000_000_000 + t.Nanosecond())[1:]
		b.WriteString(frac[:len(g[9])])
	}
	b.WriteString(zone)
	return b.String()
}

func (sh Shifter) dmesg(m string) string {
	t, err := time.Parse("Mon Jan _2 15:04:05 2006", m[1:len(m)-1])
	if err != nil {
		return m
	}
	return "[" + t.Add(sh.Offset).Format("Mon Jan _2 15:04:05 2006") + "]"
}
