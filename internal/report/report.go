// Package report turns evidence and playbook results into a triage report:
// a verdict line, key facts, ranked matches with the evidence that fired
// them, next steps and the status of every source. The JSON form of Report
// is a stable, machine-readable schema (`triage -o json`).
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/playbooks"
)

// SchemaVersion identifies the JSON schema of Report.
const SchemaVersion = "oombot.report/v1"

// Report is the outcome of one triage.
type Report struct {
	Schema  string          `json:"schema"`
	Target  evidence.Target `json:"target"`
	FiredAt time.Time       `json:"firedAt"`
	Alert   string          `json:"alert,omitempty"`
	// Verdict is the one line a reader sees first.
	Verdict     string      `json:"verdict"`
	Termination Termination `json:"termination"`
	Facts       Facts       `json:"facts"`
	// Matches are the playbooks that matched, best first.
	Matches []Match `json:"matches"`
	// Considered are the playbooks that did not match, with why.
	Considered []Considered       `json:"considered"`
	Sources    []SourceStatus     `json:"sources"`
	Warnings   []string           `json:"warnings"`
	Evidence   *evidence.Evidence `json:"evidence"`
	// History is what the bot remembers of this workload's earlier
	// triages; nil when it has no history store or none are remembered.
	History *History `json:"history,omitempty"`
	// Chart holds the memory series for renderers that draw them; nil when
	// no metrics were read.
	Chart *Chart `json:"-"`
}

// History summarises a workload's earlier triages: a workload that keeps
// coming back is a different problem from a first OOM.
type History struct {
	// Count is how many earlier triages of the workload since Since.
	Count int       `json:"count"`
	Since time.Time `json:"since"`
	// LastAt, LastVerdict and LastPlaybook describe the most recent one
	// (LastPlaybook is "none" when nothing matched then).
	LastAt       time.Time `json:"lastAt"`
	LastVerdict  string    `json:"lastVerdict"`
	LastPlaybook string    `json:"lastPlaybook"`
}

// Termination is the focus container's end, and who caused it.
type Termination struct {
	Container   string    `json:"container"`
	State       string    `json:"state"`
	Reason      string    `json:"reason"`
	ExitCode    int       `json:"exitCode"`
	ExitMeaning string    `json:"exitMeaning"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`
	// Killer is an evidence.Kill* kind.
	Killer      string `json:"killer"`
	Explanation string `json:"explanation"`
}

// Facts are the numbers an SRE asks for first.
type Facts struct {
	Restarts         int     `json:"restarts"`
	RestartsLast24h  int     `json:"restartsLast24h"`
	RestartsPerHour  float64 `json:"restartsPerHour"`
	CrashLoopBackOff bool    `json:"crashLoopBackOff"`
	MemoryLimitBytes int64   `json:"memoryLimitBytes"`
	IsJVM            bool    `json:"isJVM"`
	MaxHeapBytes     int64   `json:"maxHeapBytes"`
	JVMBudgetBytes   int64   `json:"jvmBudgetBytes"`
	BudgetOverLimit  bool    `json:"budgetOverLimit"`
	BudgetSummary    string  `json:"budgetSummary,omitempty"`
	// OOMErrors counts distinct OutOfMemoryError traces; FirstOOM is the earliest.
	OOMErrors  int       `json:"oomErrors"`
	FirstOOM   time.Time `json:"firstOOM,omitzero"`
	LastDeploy string    `json:"lastDeploy,omitempty"`
	// LastDeployBeforeOOM is true when that deploy preceded the first OOM.
	LastDeployBeforeOOM bool `json:"lastDeployBeforeOOM"`
}

// Match is a playbook that matched.
type Match struct {
	ID         string      `json:"id"`
	Title      string      `json:"title"`
	Summary    string      `json:"summary"`
	Confidence float64     `json:"confidence"`
	Signals    []Signal    `json:"signals"`
	NextSteps  string      `json:"nextSteps"`
	References []Reference `json:"references"`
}

// Signal is one fired signal and the evidence that fired it.
type Signal struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Weight      float64 `json:"weight"`
	Evidence    []Cited `json:"evidence"`
}

// Cited is one evidence item a signal returned.
type Cited struct {
	ID      string              `json:"id"`
	Summary string              `json:"summary"`
	Cites   []evidence.Citation `json:"cites"`
}

// Reference is a link a playbook recommends.
type Reference struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Considered is a playbook that did not match.
type Considered struct {
	ID         string   `json:"id"`
	Confidence float64  `json:"confidence"`
	Why        string   `json:"why"`
	Errors     []string `json:"errors,omitempty"`
}

// SourceStatus says how one source fared.
type SourceStatus struct {
	Name string `json:"name"`
	// Status is ok, partial, failed or skipped.
	Status   string        `json:"status"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"durationMs"`
}

// MarshalJSON writes Duration as milliseconds.
func (s SourceStatus) MarshalJSON() ([]byte, error) {
	return json.Marshal(sourceStatusJSON{s.Name, s.Status, s.Error, float64(s.Duration.Microseconds()) / 1000})
}

// UnmarshalJSON reads what MarshalJSON writes, so a stored report (the
// history store keeps reports as JSON) reads back whole.
func (s *SourceStatus) UnmarshalJSON(data []byte) error {
	var p sourceStatusJSON
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*s = SourceStatus{Name: p.Name, Status: p.Status, Error: p.Error,
		Duration: time.Duration(math.Round(p.Duration * float64(time.Millisecond)))}
	return nil
}

type sourceStatusJSON struct {
	Name     string  `json:"name"`
	Status   string  `json:"status"`
	Error    string  `json:"error,omitempty"`
	Duration float64 `json:"durationMs"`
}

// Build assembles the report.
func Build(ev *evidence.Evidence, results []playbooks.Result, sources []SourceStatus) *Report {
	ev.Normalize()
	r := &Report{
		Schema:     SchemaVersion,
		Target:     ev.Target,
		FiredAt:    ev.FiredAt,
		Evidence:   ev,
		Sources:    sources,
		Warnings:   ev.Warnings,
		Matches:    []Match{},
		Considered: []Considered{},
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	for _, res := range results {
		if !res.Matched {
			r.Considered = append(r.Considered, Considered{ID: res.ID, Confidence: res.Confidence, Why: res.Why, Errors: res.Errors})
			continue
		}
		m := Match{ID: res.ID, Title: res.Title, Summary: res.Summary, Confidence: res.Confidence, NextSteps: res.NextSteps, References: []Reference{}}
		for _, f := range res.Fired {
			s := Signal{Name: f.Name, Description: f.Description, Weight: f.Weight, Evidence: []Cited{}}
			for _, it := range f.Items {
				s.Evidence = append(s.Evidence, Cited{ID: it.ID, Summary: it.Summary, Cites: it.Cites})
			}
			m.Signals = append(m.Signals, s)
		}
		for _, ref := range res.References {
			m.References = append(m.References, Reference{Title: ref.Title, URL: ref.URL})
		}
		r.Matches = append(r.Matches, m)
	}
	sort.SliceStable(r.Matches, func(i, j int) bool { return r.Matches[i].Confidence > r.Matches[j].Confidence })
	r.Termination = termination(ev)
	r.Facts = facts(ev)
	r.Verdict = verdict(r)
	return r
}

func focus(ev *evidence.Evidence) *evidence.Container {
	for i := range ev.Containers {
		if ev.Containers[i].Name == ev.Target.Container {
			return &ev.Containers[i]
		}
	}
	return nil
}

func termination(ev *evidence.Evidence) Termination {
	t := Termination{Container: ev.Target.Container, Killer: ev.Kill.Kind, Explanation: ev.Kill.Explanation}
	c := focus(ev)
	if c == nil {
		return t
	}
	s := c.State
	if s.State != "terminated" && c.LastTermination.State == "terminated" {
		s = c.LastTermination
	}
	t.State, t.Reason, t.ExitCode, t.ExitMeaning, t.FinishedAt = s.State, s.Reason, s.ExitCode, s.ExitMeaning, s.FinishedAt
	return t
}

func facts(ev *evidence.Evidence) Facts {
	f := Facts{
		Restarts: ev.Restarts.Total, RestartsLast24h: ev.Restarts.Last24h, RestartsPerHour: ev.Restarts.PerHour,
		CrashLoopBackOff: ev.Restarts.CrashLoopBackOff, OOMErrors: len(ev.OOMErrors),
	}
	if c := focus(ev); c != nil {
		f.MemoryLimitBytes = c.MemoryLimitBytes
		f.IsJVM = c.IsJVM
		if c.IsJVM {
			f.MaxHeapBytes = c.Budget.HeapBytes
			f.JVMBudgetBytes = c.Budget.TotalBytes
			f.BudgetOverLimit = c.Budget.OverLimit
			if c.Budget.TotalBytes > 0 {
				f.BudgetSummary = c.Budget.Summary()
			}
		}
	}
	for _, o := range ev.OOMErrors {
		if !o.Time.IsZero() && (f.FirstOOM.IsZero() || o.Time.Before(f.FirstOOM)) {
			f.FirstOOM = o.Time
		}
	}
	if n := len(ev.Deploys); n > 0 {
		d := ev.Deploys[n-1]
		f.LastDeploy = d.Summary()
		for _, dd := range ev.Deploys {
			if dd.BeforeFirstOOM {
				f.LastDeploy, f.LastDeployBeforeOOM = dd.Summary(), true
			}
		}
	}
	return f
}

// verdict composes the first line: who killed it, then the likely cause.
func verdict(r *Report) string {
	ev := r.Evidence
	t := r.Termination
	var head string
	oomMsg := ""
	for _, o := range ev.OOMErrors {
		if o.Container == ev.Target.Container {
			oomMsg = shortOOM(o.Message)
			break
		}
	}
	switch ev.Kill.Kind {
	case evidence.KillBoth:
		head = fmt.Sprintf("OOMKilled by the container limit (exit %d) after a JVM OutOfMemoryError (%s)", exitCode(t), oomMsg)
	case evidence.KillContainerOOM:
		head = fmt.Sprintf("OOMKilled by the container limit (exit %d), no JVM OutOfMemoryError", exitCode(t))
	case evidence.KillJVMOOM:
		head = fmt.Sprintf("JVM OutOfMemoryError (%s)", oomMsg)
		if t.State == "terminated" {
			head += fmt.Sprintf(", container exited %d", t.ExitCode)
		}
	case evidence.KillOther:
		head = fmt.Sprintf("Container terminated: %s (exit %d), no OOM found", t.Reason, t.ExitCode)
	default:
		head = "No OOM kill found"
		if t.State != "" {
			head += fmt.Sprintf(" (container %s, %d restarts)", t.State, r.Facts.Restarts)
		}
	}
	if len(r.Matches) == 0 {
		return head + " — no playbook matched; facts below"
	}
	m := r.Matches[0]
	return fmt.Sprintf("%s — likely cause: %s (confidence %.2f)", head, m.ID, m.Confidence)
}

func exitCode(t Termination) int {
	if t.ExitCode == 0 {
		return 137
	}
	return t.ExitCode
}

// shortOOM reduces "java.lang.OutOfMemoryError: Java heap space" to "Java heap space".
func shortOOM(msg string) string {
	if i := strings.Index(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}
