// Package kernlog reads kernel OOM-killer records out of kernel logs.
//
// The kernel reports one OOM kill as a burst of lines: "<task> invoked
// oom-killer", a stack, the memory cgroup's usage and limit, a task table, an
// "oom-kill:" summary and finally "Killed process <pid> (<name>) ...". Parse
// folds each burst into one Kill. It accepts the output of plain `dmesg`
// (seconds since boot), `dmesg -T`, `dmesg --time-format=iso`, `journalctl -k`
// (short, short-precise and short-iso) and syslog files with RFC 3339 stamps.
package kernlog

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

// Kill is one process the kernel OOM killer ended, with what the surrounding
// lines of the same burst said about the memory cgroup.
type Kill struct {
	// LineNo is the 1-based line of the "Killed process" line; Line is its text.
	LineNo int
	Line   string
	// Time is when the kernel logged the kill; zero when the log carries only
	// seconds since boot and no boot time was given, or no timestamp at all.
	Time    time.Time
	PID     int
	Process string
	// AnonRSSBytes, FileRSSBytes and ShmemRSSBytes are the victim's resident
	// memory at the time of the kill.
	AnonRSSBytes, FileRSSBytes, ShmemRSSBytes int64
	// MemcgLimitBytes is the limit from the "memory: usage ..., limit ..."
	// line of the same burst; 0 when the burst did not state it.
	MemcgLimitBytes int64
	// Constraint is the oom-kill constraint, e.g. CONSTRAINT_MEMCG for a
	// container limit or CONSTRAINT_NONE for a node-wide OOM; empty when
	// unknown.
	Constraint string
	// Cgroup is the victim's memory cgroup (task_memcg, or the older "Task in
	// ... killed" path); empty when unknown.
	Cgroup string
}

// maxLine bounds how much of one line is kept. Kernel lines are at most a
// few hundred bytes; anything longer is not an OOM record and is truncated
// rather than allowed to grow memory without bound.
const maxLine = 64 << 10

// burst accumulates what the lines of one OOM-kill burst said before the
// "Killed process" line closes it.
type burst struct {
	limit      int64
	constraint string
	cgroup     string
	pid        int // pid named by the oom-kill: line, 0 if none
}

var (
	// "Killed process 4242 (java) total-vm:..., anon-rss:...kB, ..." is the
	// closing line in every kernel since 2.6; the counters vary by version,
	// so they are read separately.
	killedRe = regexp.MustCompile(`Killed process (\d+) \((.*?)\)`)
	rssRe    = regexp.MustCompile(`\b(anon|file|shmem)-rss:(\d+)kB`)
	// "memory: usage 65536kB, limit 65536kB, failcnt 3537" (cgroup v1 and v2).
	usageRe = regexp.MustCompile(`^memory: usage \d+kB, limit (\d+)kB`)
	// Pre-4.19 kernels: "Task in /kubepods/x killed as a result of limit of /kubepods".
	taskInRe = regexp.MustCompile(`^Task in (\S+) killed as a result of limit of (\S+)`)
	// Stamps: "[ 5921.696630] " from dmesg and printk-in-syslog.
	rawStampRe = regexp.MustCompile(`^\[\s*(\d+)\.(\d+)\]\s?`)
	// "[Mon Nov 23 10:47:13 2026] " from dmesg -T.
	humanStampRe = regexp.MustCompile(`^\[([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})\]\s?`)
	// "2026-11-23T10:47:13,696384+00:00 " (dmesg --time-format=iso) and
	// "2026-11-23T10:47:13+0000 " / "2026-11-23T10:47:13.696384+00:00 "
	// (journalctl -o short-iso, rsyslog).
	isoStampRe = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})\s`)
	// "Nov 23 10:47:13 " or "Nov 23 10:47:13.696384 " (journalctl -k short/short-precise, syslog).
	syslogStampRe = regexp.MustCompile(`^([A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2})(?:\.(\d+))?\s`)
	// "vm kernel: " after a journal/syslog stamp.
	hostKernelRe = regexp.MustCompile(`^\S+ kernel: `)
)

// Parse reads a kernel log and returns every OOM kill in it, in log order.
// bootTime converts `dmesg` seconds-since-boot stamps to wall-clock time and
// supplies the year that journalctl's short format leaves out; pass the zero
// time when unknown (those Times then stay zero). Malformed kill records are
// reported as errors naming their line and skipped; reading stops at the
// first I/O error or when ctx is done.
func Parse(ctx context.Context, r io.Reader, bootTime time.Time) ([]Kill, []error) {
	var (
		kills []Kill
		errs  []error
		cur   burst
		no    int
	)
	br := bufio.NewReaderSize(r, 16<<10)
	for {
		if no%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return kills, append(errs, fmt.Errorf("reading kernel log: %w", err))
			}
		}
		raw, err := readLine(br)
		if len(raw) > 0 || err == nil {
			no++
			line := strings.TrimRight(string(raw), "\r\n")
			ts, msg := splitStamp(line, bootTime)
			switch {
			case strings.Contains(msg, " invoked oom-killer:"):
				// A new burst: forget anything a previous, incomplete one left.
				cur = burst{}
			case strings.HasPrefix(msg, "memory: usage "):
				if m := usageRe.FindStringSubmatch(msg); m != nil {
					if kb, perr := strconv.ParseInt(m[1], 10, 64); perr == nil && kb <= math.MaxInt64/1024 {
						cur.limit = kb * 1024
					}
				}
			case strings.HasPrefix(msg, "oom-kill:"):
				parseOOMKill(msg, &cur)
			case strings.HasPrefix(msg, "Task in "):
				if m := taskInRe.FindStringSubmatch(msg); m != nil {
					cur.cgroup = m[1]
					cur.constraint = "CONSTRAINT_MEMCG"
				}
			case strings.Contains(msg, "out of memory: Kill process "):
				// Pre-5.x kernels announce the victim first ("Memory cgroup
				// out of memory: Kill process 42 (java) score 1000 or
				// sacrifice child") and log "Killed process" bare.
				if strings.HasPrefix(msg, "Memory cgroup") && cur.constraint == "" {
					cur.constraint = "CONSTRAINT_MEMCG"
				}
			case strings.Contains(msg, "Killed process "):
				k, kerr := parseKilled(msg, cur)
				if kerr != nil {
					errs = append(errs, fmt.Errorf("line %d: %w", no, kerr))
				} else {
					k.LineNo, k.Line, k.Time = no, line, ts
					kills = append(kills, k)
				}
				cur = burst{}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				errs = append(errs, fmt.Errorf("reading kernel log after line %d: %w", no, err))
			}
			return kills, errs
		}
	}
}

// readLine returns the next line (without its newline), keeping at most
// maxLine bytes of it and discarding the rest.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(out) < maxLine {
			room := maxLine - len(out)
			if len(chunk) > room {
				chunk = chunk[:room]
			}
			out = append(out, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(out, "\n"), err
	}
}

// parseOOMKill reads "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),
// cpuset=...,oom_memcg=...,task_memcg=...,task=java,pid=4242,uid=1000".
func parseOOMKill(msg string, b *burst) {
	for _, kv := range strings.Split(strings.TrimPrefix(msg, "oom-kill:"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch k {
		case "constraint":
			b.constraint = v
		case "task_memcg":
			b.cgroup = v
		case "oom_memcg":
			if b.cgroup == "" {
				b.cgroup = v
			}
		case "pid":
			if n, err := strconv.Atoi(v); err == nil {
				b.pid = n
			}
		}
	}
}

// parseKilled reads the closing "Killed process" line and merges what the
// burst said, as long as the burst was about the same pid.
func parseKilled(msg string, b burst) (Kill, error) {
	m := killedRe.FindStringSubmatch(msg)
	if m == nil {
		return Kill{}, fmt.Errorf("malformed kill record %q", truncate(msg, 120))
	}
	pid, err := strconv.Atoi(m[1])
	if err != nil {
		return Kill{}, fmt.Errorf("kill record pid %q: %w", m[1], err)
	}
	k := Kill{PID: pid, Process: m[2]}
	for _, rm := range rssRe.FindAllStringSubmatch(msg, -1) {
		kb, err := strconv.ParseInt(rm[2], 10, 64)
		if err == nil && kb > math.MaxInt64/1024 {
			err = strconv.ErrRange
		}
		if err != nil {
			return Kill{}, fmt.Errorf("kill record %s-rss %q: %w", rm[1], rm[2], err)
		}
		switch rm[1] {
		case "anon":
			k.AnonRSSBytes = kb * 1024
		case "file":
			k.FileRSSBytes = kb * 1024
		case "shmem":
			k.ShmemRSSBytes = kb * 1024
		}
	}
	// A burst whose oom-kill: line named another pid belongs to a different
	// kill (lines of concurrent OOMs can interleave); do not borrow from it.
	if b.pid == 0 || b.pid == pid {
		k.MemcgLimitBytes, k.Constraint, k.Cgroup = b.limit, b.constraint, b.cgroup
	}
	if k.Constraint == "" && strings.Contains(msg, "Memory cgroup out of memory") {
		k.Constraint = "CONSTRAINT_MEMCG"
	}
	return k, nil
}

// splitStamp removes the timestamp (and a "host kernel:" tag) from a line
// and returns the time it states, zero when unknown.
func splitStamp(line string, boot time.Time) (time.Time, string) {
	var ts time.Time
	rest := line
	switch {
	case rawStampRe.MatchString(rest):
		// Handled below together with printk stamps inside syslog lines.
	case humanStampRe.MatchString(rest):
		m := humanStampRe.FindStringSubmatch(rest)
		// dmesg -T prints the host's local time without a zone; Kubernetes
		// nodes run in UTC, so UTC is the least surprising reading.
		if t, err := time.Parse("Mon Jan _2 15:04:05 2006", m[1]); err == nil {
			ts = t
		}
		rest = rest[len(m[0]):]
	case isoStampRe.MatchString(rest):
		m := isoStampRe.FindStringSubmatch(rest)
		zone := m[3]
		if zone != "Z" && !strings.Contains(zone, ":") {
			zone = zone[:3] + ":" + zone[3:]
		}
		text := m[1]
		if m[2] != "" {
			text += "." + m[2]
		}
		if t, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", text+zone); err == nil {
			ts = t
		}
		rest = hostKernelRe.ReplaceAllString(rest[len(m[0]):], "")
	case syslogStampRe.MatchString(rest):
		m := syslogStampRe.FindStringSubmatch(rest)
		text := m[1]
		if m[2] != "" {
			text += "." + m[2]
		}
		if !boot.IsZero() {
			if t, err := time.Parse("Jan _2 15:04:05.999999999", text); err == nil {
				ts = withYear(t, boot)
			}
		}
		rest = hostKernelRe.ReplaceAllString(rest[len(m[0]):], "")
	}
	// A printk stamp: the whole stamp for plain dmesg, or a second stamp
	// inside a syslog line, which only matters when the line had no other.
	if m := rawStampRe.FindStringSubmatch(rest); m != nil {
		if ts.IsZero() && !boot.IsZero() {
			sec, err1 := strconv.ParseInt(m[1], 10, 64)
			frac, err2 := strconv.ParseFloat("0."+m[2], 64)
			// Over a century of uptime is not a stamp but noise.
			if err1 == nil && err2 == nil && sec < 100*365*24*3600 {
				ts = boot.Add(time.Duration(sec)*time.Second + time.Duration(frac*float64(time.Second)))
			}
		}
		rest = rest[len(m[0]):]
	}
	return ts, rest
}

// withYear puts a year-less syslog time into the boot year, or the next one
// when that would place it before the boot: a log line cannot predate the boot
// that wrote it, so December boot + January line means the year rolled over.
func withYear(t, boot time.Time) time.Time {
	boot = boot.UTC()
	y := time.Date(boot.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if y.Before(boot.Add(-24 * time.Hour)) {
		y = y.AddDate(1, 0, 0)
	}
	return y
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
