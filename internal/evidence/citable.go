package evidence

import (
	"fmt"
	"strings"
)

// Bytes formats a byte count the way SREs read memory: 1.5GiB, 512MiB.
func Bytes(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	const unit = 1024
	s := ""
	if n < unit {
		s = fmt.Sprintf("%dB", n)
	} else {
		div, exp := int64(unit), 0
		for m := n / unit; m >= unit && exp < 4; m /= unit {
			div *= unit
			exp++
		}
		s = fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTP"[exp])
		s = strings.Replace(s, ".0", "", 1)
	}
	if neg {
		return "-" + s
	}
	return s
}

func (c Container) EvidenceID() string    { return c.ID }
func (c Container) Citations() []Citation { return c.Cites }
func (c Container) Summary() string {
	t := c.LastTermination
	if t.Reason == "" {
		t = c.State
	}
	s := fmt.Sprintf("container %s: %s", c.Name, t.State)
	if t.Reason != "" {
		s += fmt.Sprintf(" (%s, exit %d)", t.Reason, t.ExitCode)
	}
	if c.MemoryLimitBytes > 0 {
		s += ", limit " + Bytes(c.MemoryLimitBytes)
	}
	// Playbooks cite the container for its budget too: say so when it matters.
	if c.IsJVM && c.Budget.OverLimit {
		s += fmt.Sprintf(", JVM budget %s exceeds it", Bytes(c.Budget.TotalBytes))
	}
	return s
}

func (e OOMError) EvidenceID() string    { return e.ID }
func (e OOMError) Citations() []Citation { return e.Cites }
func (e OOMError) Summary() string {
	s := e.Message
	if len(e.Frames) > 0 {
		s += " at " + e.Frames[0]
	}
	if e.Count > 1 {
		s += fmt.Sprintf(" (×%d)", e.Count)
	}
	return s
}

func (l LeakRecord) EvidenceID() string    { return l.ID }
func (l LeakRecord) Citations() []Citation { return l.Cites }
func (l LeakRecord) Summary() string {
	s := l.Message
	if l.Count > 1 {
		s += fmt.Sprintf(" (×%d)", l.Count)
	}
	return s
}

func (t Trend) EvidenceID() string    { return t.ID }
func (t Trend) Citations() []Citation { return t.Cites }
func (t Trend) Summary() string {
	val := func(v float64) string {
		if t.Unit == "bytes" {
			return Bytes(int64(v))
		}
		return fmt.Sprintf("%.4g", v)
	}
	s := fmt.Sprintf("%s: %s, %s → %s", t.Signal, t.Shape, val(t.FloorStart), val(t.FloorEnd))
	if t.GrowthPerHour != 0 && (t.Shape == ShapeLeak || t.Shape == ShapeStep) {
		s += fmt.Sprintf(", %s/h", val(t.GrowthPerHour))
	}
	if t.Ceiling > 0 {
		s += fmt.Sprintf(", peak %.0f%% of %s", 100*t.PeakFractionOfCeiling, val(t.Ceiling))
	}
	if t.HoursToExhaustion > 0 {
		s += ", exhausted in ~" + hours(t.HoursToExhaustion)
	}
	return s
}

func (g GCSummary) EvidenceID() string    { return g.ID }
func (g GCSummary) Citations() []Citation { return g.Cites }
func (g GCSummary) Summary() string {
	return fmt.Sprintf("GC (%s): %d collections, %d full, full GCs reclaim %.0f%% on average, post-GC floor %s → %s of %s",
		g.Collector, g.Collections, g.FullGCs, 100*g.AvgFullGCReclaimedFraction,
		Bytes(g.FloorStartBytes), Bytes(g.FloorEndBytes), Bytes(g.HeapCapacityBytes))
}

func (c ClassGrowth) EvidenceID() string    { return c.ID }
func (c ClassGrowth) Citations() []Citation { return c.Cites }
func (c ClassGrowth) Summary() string {
	return fmt.Sprintf("%+d %s instances (%d → %d, %s)", c.InstancesDelta, c.ClassName,
		c.InstancesStart, c.InstancesEnd, signedBytes(c.BytesDelta))
}

func signedBytes(n int64) string {
	if n >= 0 {
		return "+" + Bytes(n)
	}
	return Bytes(n)
}

func (d Deploy) EvidenceID() string    { return d.ID }
func (d Deploy) Citations() []Citation { return d.Cites }
func (d Deploy) Summary() string {
	s := fmt.Sprintf("%s %s revision %d", d.Kind, d.Name, d.Revision)
	if !d.Time.IsZero() {
		s += " at " + d.Time.UTC().Format("2006-01-02 15:04Z")
	}
	if len(d.Images) > 0 {
		s += " (" + strings.Join(d.Images, ", ") + ")"
	}
	return s
}

func (e Event) EvidenceID() string    { return e.ID }
func (e Event) Citations() []Citation { return e.Cites }
func (e Event) Summary() string {
	s := fmt.Sprintf("%s %s: %s", e.Type, e.Reason, e.Message)
	if e.Count > 1 {
		s += fmt.Sprintf(" (×%d)", e.Count)
	}
	return s
}

func (k KernelKill) EvidenceID() string    { return k.ID }
func (k KernelKill) Citations() []Citation { return k.Cites }
func (k KernelKill) Summary() string {
	return fmt.Sprintf("kernel memory-cgroup OOM killed %s (pid %d), anon-rss %s", k.Process, k.PID, Bytes(k.AnonRSSBytes))
}

// Kill and Restarts are singletons; they cite but are addressed by fixed IDs.

func (k Kill) EvidenceID() string    { return "kill" }
func (k Kill) Citations() []Citation { return k.Cites }
func (k Kill) Summary() string       { return k.Explanation }

func (r Restarts) EvidenceID() string    { return "restarts" }
func (r Restarts) Citations() []Citation { return r.Cites }
func (r Restarts) Summary() string {
	s := fmt.Sprintf("%d restarts, %d in the last 24h", r.Total, r.Last24h)
	if r.CrashLoopBackOff {
		s += ", CrashLoopBackOff"
	}
	return s
}

// Budget is addressed through its container.
func (b JVMBudget) Summary() string {
	return fmt.Sprintf("JVM budget %s (heap %s + metaspace %s + direct %s + %d threads×stack %s + code cache %s + other %s) vs limit %s",
		Bytes(b.TotalBytes), Bytes(b.HeapBytes), Bytes(b.MetaspaceBytes), Bytes(b.DirectBytes),
		b.Threads, Bytes(b.ThreadStacksBytes), Bytes(b.CodeCacheBytes), Bytes(b.OtherBytes), Bytes(b.LimitBytes))
}

// hours renders a forecast the way people say it: minutes under an hour,
// days beyond two.
func hours(h float64) string {
	switch {
	case h < 1.0/60:
		return "<1m"
	case h < 1:
		return fmt.Sprintf("%.0fm", h*60)
	case h < 48:
		return fmt.Sprintf("%.1fh", h)
	}
	return fmt.Sprintf("%.1fd", h/24)
}
