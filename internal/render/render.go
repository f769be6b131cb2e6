// Package render prints a triage report: as text for a terminal (verdict
// first, then facts, then the evidence each match cites, then next steps)
// or as JSON (the stable schema of report.Report).
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/report"
)

// JSON writes the report as indented JSON.
func JSON(w io.Writer, r *report.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("render json: %w", err)
	}
	return nil
}

// EvidenceJSON returns the report's raw evidence as indented JSON, for the
// "Show raw evidence" snippet. It never fails: an evidence value JSON cannot
// hold (a NaN from a broken series) yields a JSON error document.
func EvidenceJSON(rep *report.Report) []byte {
	var ev *evidence.Evidence
	if rep != nil {
		ev = rep.Evidence
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		msg, _ := json.Marshal(map[string]string{"error": "evidence could not be encoded: " + err.Error()})
		return append(msg, '\n')
	}
	return b.Bytes()
}

// TextOptions tune the terminal rendering.
type TextOptions struct {
	// Verbose also lists every trend, event and non-matching playbook.
	Verbose bool
	// HideDurations omits source timings (golden files).
	HideDurations bool
}

// maxCitesPerItem bounds how many raw lines are shown per evidence item.
const maxCitesPerItem = 4

// Text writes the report for a terminal.
func Text(w io.Writer, r *report.Report, opt TextOptions) error {
	p := &printer{w: w}
	ev := r.Evidence
	p.line(r.Verdict)
	p.blank()

	target := fmt.Sprintf("%s/%s", r.Target.Namespace, r.Target.Pod)
	if r.Target.Container != "" {
		target += " container " + r.Target.Container
	}
	if r.Target.WorkloadKind != "" {
		target += fmt.Sprintf(" (%s %s)", r.Target.WorkloadKind, r.Target.WorkloadName)
	}
	if r.Target.Cluster != "" {
		target += " in cluster " + r.Target.Cluster
	}
	p.line("Target:   " + target)
	alert := "fired " + ts(r.FiredAt)
	if r.Alert != "" {
		alert += ": " + firstLine(r.Alert)
	}
	p.line("Alert:    " + alert)
	if h := r.History; h != nil && h.Count > 0 {
		p.line("History:  " + HistoryLine(h))
	}
	p.blank()

	p.line("Termination")
	t := r.Termination
	if t.State != "" {
		s := t.State
		if t.Reason != "" {
			s = fmt.Sprintf("%s, exit %d — %s", t.Reason, t.ExitCode, t.ExitMeaning)
		}
		if !t.FinishedAt.IsZero() {
			s += "; finished " + ts(t.FinishedAt)
		}
		p.line("  " + s)
	}
	p.wrap("  ", t.Explanation)
	p.blank()

	p.line("Facts")
	f := r.Facts
	var facts bytes.Buffer
	tw := tabwriter.NewWriter(&facts, 0, 0, 2, ' ', 0)
	restarts := fmt.Sprintf("%d", f.Restarts)
	if f.Restarts > 0 {
		// The per-day rate comes from the pod's age; the 24h count only from
		// kill times that were recorded (events expire after about an hour).
		restarts += fmt.Sprintf(" (%.1f/day over the pod's life; %d recorded in the last 24h)", f.RestartsPerHour*24, f.RestartsLast24h)
	}
	if f.CrashLoopBackOff {
		restarts += ", CrashLoopBackOff"
	}
	fmt.Fprintf(tw, "  Restarts\t%s\n", restarts)
	if f.MemoryLimitBytes > 0 {
		fmt.Fprintf(tw, "  Memory limit\t%s\n", evidence.Bytes(f.MemoryLimitBytes))
	} else {
		fmt.Fprintf(tw, "  Memory limit\tnone set\n")
	}
	if f.IsJVM && f.JVMBudgetBytes > 0 {
		over := "within the limit"
		if f.BudgetOverLimit {
			over = "OVER the limit"
		}
		fmt.Fprintf(tw, "  JVM budget\t%s, %s\n", strings.TrimPrefix(f.BudgetSummary, "JVM budget "), over)
	}
	if f.OOMErrors > 0 {
		s := fmt.Sprintf("%d distinct trace(s)", f.OOMErrors)
		if !f.FirstOOM.IsZero() {
			s += ", first at " + ts(f.FirstOOM)
		}
		fmt.Fprintf(tw, "  OutOfMemoryError\t%s\n", s)
	} else {
		fmt.Fprintf(tw, "  OutOfMemoryError\tnone in the logs read\n")
	}
	if f.LastDeploy != "" {
		s := f.LastDeploy
		if f.LastDeployBeforeOOM {
			s += " — last deploy before the first OOM"
		}
		fmt.Fprintf(tw, "  Last deploy\t%s\n", s)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	p.lines(facts.String())
	p.blank()

	if len(r.Matches) == 0 {
		p.line("Diagnosis: no playbook matched. The facts and evidence below are all that can be said with citations.")
		p.blank()
	}
	for i, m := range r.Matches {
		if i == 0 {
			p.line(fmt.Sprintf("Likely cause: %s (%s), confidence %.2f", m.Title, m.ID, m.Confidence))
		} else {
			p.line(fmt.Sprintf("Also matched: %s (%s), confidence %.2f", m.Title, m.ID, m.Confidence))
		}
		p.wrap("  ", m.Summary)
		p.line("  Evidence:")
		for _, s := range m.Signals {
			p.line(fmt.Sprintf("  ✓ %s (weight %.2f): %s", s.Name, s.Weight, s.Description))
			for _, it := range s.Evidence {
				p.line("      " + it.Summary)
				for k, c := range it.Cites {
					if k == maxCitesPerItem {
						p.line(fmt.Sprintf("        … %d more", len(it.Cites)-k))
						break
					}
					p.line("        " + citation(c))
				}
			}
		}
		if strings.TrimSpace(m.NextSteps) != "" {
			p.line("  Next steps:")
			for _, l := range strings.Split(strings.TrimRight(m.NextSteps, "\n"), "\n") {
				p.line("    " + l)
			}
		}
		if len(m.References) > 0 {
			p.line("  References:")
			for _, ref := range m.References {
				p.line(fmt.Sprintf("    - %s: %s", ref.Title, ref.URL))
			}
		}
		p.blank()
	}

	if len(r.Considered) > 0 {
		p.line("Not matched")
		for _, c := range r.Considered {
			s := fmt.Sprintf("  %s (%.2f): %s", c.ID, c.Confidence, c.Why)
			if len(c.Errors) > 0 {
				s += " [errors: " + strings.Join(c.Errors, "; ") + "]"
			}
			p.line(s)
		}
		p.blank()
	}

	if ev != nil {
		p.section("Stack traces", len(ev.OOMErrors)+len(ev.Leaks), func() {
			for _, o := range ev.OOMErrors {
				p.line("  " + ts(o.Time) + " " + o.Summary())
				for _, c := range o.Chain {
					if c != o.Message {
						p.line("    in chain: " + c)
					}
				}
				p.line("    " + citationRef(o.Cites))
			}
			for _, l := range ev.Leaks {
				p.line("  " + ts(l.Time) + " " + l.Summary())
				p.line("    " + citationRef(l.Cites))
			}
		})
		p.section("Memory trends", len(ev.Trends), func() {
			for _, t := range ev.Trends {
				line := "  " + t.Summary()
				// Live triages may read a signal from several sources; say
				// which one was analysed (a replayed bundle has only one).
				if t.From != "" && !strings.HasPrefix(t.From, "bundle/") {
					line += " [from " + t.From + "]"
				}
				p.line(line)
			}
		})
		p.section("GC", len(ev.GC), func() {
			for _, g := range ev.GC {
				p.line("  " + g.Summary())
			}
		})
		p.section("Class histogram growth", len(ev.ClassGrowth), func() {
			n := len(ev.ClassGrowth)
			if !opt.Verbose && n > 5 {
				n = 5
			}
			for _, c := range ev.ClassGrowth[:n] {
				span := ""
				if !c.From.IsZero() && !c.To.IsZero() {
					span = " in " + c.To.Sub(c.From).Round(time.Second).String()
				}
				p.line("  " + c.Summary() + span)
			}
		})
		p.section("Kernel OOM kills", len(ev.KernelKills), func() {
			for _, k := range ev.KernelKills {
				p.line("  " + ts(k.Time) + " " + k.Summary())
			}
		})
		p.section("Deploys", len(ev.Deploys), func() {
			for _, d := range ev.Deploys {
				s := "  " + d.Summary()
				if d.BeforeFirstOOM {
					s += " ← last before the first OOM"
				}
				p.line(s)
			}
		})
		p.section("Events", len(ev.Events), func() {
			evs := ev.Events
			if !opt.Verbose && len(evs) > 10 {
				evs = evs[len(evs)-10:]
			}
			for _, e := range evs {
				p.line("  " + ts(e.LastTime) + " " + e.Summary())
			}
		})
	}

	p.line("Sources")
	var sources bytes.Buffer
	tw = tabwriter.NewWriter(&sources, 0, 0, 2, ' ', 0)
	srcs := append([]report.SourceStatus(nil), r.Sources...)
	sort.SliceStable(srcs, func(i, j int) bool { return srcs[i].Name < srcs[j].Name })
	for _, s := range srcs {
		d := ""
		if !opt.HideDurations && s.Status != "skipped" {
			d = s.Duration.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.Name, s.Status, d, s.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	p.lines(sources.String())
	if len(r.Warnings) > 0 {
		p.blank()
		p.line("Warnings")
		for _, wmsg := range r.Warnings {
			p.line("  - " + wmsg)
		}
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(s string) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintln(p.w, strings.TrimRight(s, " "))
}

func (p *printer) blank() { p.line("") }

// lines prints pre-formatted text (a flushed tabwriter) line by line, so
// trailing padding is trimmed like every other line.
func (p *printer) lines(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		p.line(l)
	}
}

func (p *printer) section(title string, n int, body func()) {
	if n == 0 {
		return
	}
	p.line(title)
	body()
	p.blank()
}

// wrap prints text wrapped at 100 columns with a prefix.
func (p *printer) wrap(prefix, text string) {
	const width = 100
	for _, para := range strings.Split(strings.TrimSpace(text), "\n") {
		words := strings.Fields(para)
		cur := prefix
		for _, w := range words {
			if len(cur)+len(w)+1 > width && strings.TrimSpace(cur) != "" {
				p.line(cur)
				cur = prefix
			}
			if strings.TrimSpace(cur) != "" {
				cur += " "
			}
			cur += w
		}
		if strings.TrimSpace(cur) != "" {
			p.line(cur)
		}
	}
}

func citation(c evidence.Citation) string {
	loc := c.Source
	if c.Ref != "" {
		loc += " " + c.Ref
	}
	if !c.Time.IsZero() {
		loc += " @ " + ts(c.Time)
	}
	return "[" + loc + "] " + strings.TrimSpace(c.Text)
}

func citationRef(cs []evidence.Citation) string {
	if len(cs) == 0 {
		return ""
	}
	c := cs[0]
	if c.Ref != "" {
		return "(" + c.Source + " " + c.Ref + ")"
	}
	return "(" + c.Source + ")"
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "(time unknown)"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// HistoryLine says how often the workload was triaged before and how the
// last triage ended, e.g. "triaged 3 times since 2026-11-16 …; last …".
func HistoryLine(h *report.History) string {
	times := "once"
	if h.Count > 1 {
		times = fmt.Sprintf("%d times", h.Count)
	}
	s := fmt.Sprintf("triaged %s before since %s; last %s", times, ts(h.Since), ts(h.LastAt))
	if h.LastPlaybook != "" && h.LastPlaybook != "none" {
		s += " (" + h.LastPlaybook + ")"
	}
	if v := firstLine(h.LastVerdict); v != "" {
		s += ": " + v
	}
	return s
}
