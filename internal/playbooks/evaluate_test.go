package playbooks

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/evidence"
)

// mustPlaybook builds a playbook from a header and signal/veto YAML.
func mustPlaybook(t testing.TB, id string, threshold float64, body string) *Playbook {
	t.Helper()
	src := fmt.Sprintf("apiVersion: oombot/v1\nkind: Playbook\nid: %s\ntitle: %s\nsummary: Test playbook.\nthreshold: %v\n%s", id, id, threshold, body)
	pb, err := Parse(id+".yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse %s: %v", id, err)
	}
	return pb
}

func mustSet(t testing.TB, pbs ...*Playbook) *Set {
	t.Helper()
	s, err := NewSet(pbs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// engineEvidence has one cited item of several kinds.
func engineEvidence() *evidence.Evidence {
	c := func(text string) []evidence.Citation { return []evidence.Citation{{Source: "test", Text: text}} }
	return &evidence.Evidence{
		Kill:      evidence.Kill{Kind: evidence.KillContainerOOM, ContainerOOMKilled: true, Explanation: "kernel OOM kill", Cites: c("OOMKilled")},
		Restarts:  evidence.Restarts{Total: 5, Cites: c("restartCount: 5")},
		OOMErrors: []evidence.OOMError{{ID: "oom/1", Kind: "heap", Message: "java.lang.OutOfMemoryError: Java heap space", Frames: []string{"a.B.c(B.java:1)"}, Count: 1, Cites: c("OOM")}},
		Leaks:     []evidence.LeakRecord{{ID: "leak/1", Message: "LEAK", Cites: c("LEAK")}},
		Trends: []evidence.Trend{
			{ID: "trend/heap", Signal: "jvm_heap_used", Shape: "leak", Cites: c("heap")},
			{ID: "trend/uncited", Signal: "jvm_threads_live", Shape: "step"},
		},
		Events: []evidence.Event{{ID: "event/1", Reason: "OOMKilling", Cites: c("event")}},
	}
}

const threeSignals = `signals:
  - name: heap-oom
    description: heap OOM
    weight: 0.5
    expr: ev.oomErrors.filter(e, e.kind == 'heap')
  - name: metaspace-oom
    description: metaspace OOM
    weight: 0.3
    expr: ev.oomErrors.filter(e, e.kind == 'metaspace')
  - name: leak-records
    description: Netty leaks
    weight: 0.2
    expr: ev.leaks
`

func TestEvaluateVerdicts(t *testing.T) {
	tests := []struct {
		name       string
		threshold  float64
		body       string
		ev         func() *evidence.Evidence
		matched    bool
		confidence float64
		why        string
		fired      string // comma-separated fired signal names
		missed     string
		vetoed     string
		errs       int
	}{
		{
			name: "confidence is fired weight over total weight", threshold: 0.6, body: threeSignals,
			matched: true, confidence: 0.7, why: "confidence 0.70 ≥ threshold 0.60: heap-oom, leak-records",
			fired: "heap-oom,leak-records", missed: "metaspace-oom",
		},
		{
			name: "confidence below threshold", threshold: 0.8, body: threeSignals,
			confidence: 0.7, why: "confidence 0.70 below threshold 0.80",
			fired: "heap-oom,leak-records", missed: "metaspace-oom",
		},
		{
			name: "confidence rounds to two decimals", threshold: 0.3,
			body: `signals:
  - {name: a, description: a, weight: 1, expr: ev.leaks}
  - {name: b, description: b, weight: 1, expr: "ev.leaks.filter(l, false)"}
  - {name: c, description: c, weight: 1, expr: "ev.leaks.filter(l, false)"}
`,
			matched: true, confidence: 0.33, why: "confidence 0.33", fired: "a", missed: "b,c",
		},
		{
			name: "threshold equal to confidence matches", threshold: 0.7, body: threeSignals,
			matched: true, confidence: 0.7, why: "≥ threshold 0.70", fired: "heap-oom,leak-records", missed: "metaspace-oom",
		},
		{
			name: "a required signal that did not fire prevents a match", threshold: 0.5,
			body:       strings.Replace(threeSignals, "weight: 0.3\n", "weight: 0.3\n    required: true\n", 1),
			confidence: 0.7, why: "required signal metaspace-oom did not fire",
			fired: "heap-oom,leak-records", missed: "metaspace-oom",
		},
		{
			name: "a veto that fires excludes the playbook and cites why", threshold: 0.5,
			body: threeSignals + `excludeWhen:
  - name: kernel-kill
    description: the kernel killed it
    expr: "[ev.kill].filter(k, k.containerOOMKilled)"
  - name: never
    description: never fires
    expr: ev.kernelKills
`,
			confidence: 0.7, why: "excluded: kernel-kill: kernel OOM kill",
			fired: "heap-oom,leak-records", missed: "metaspace-oom", vetoed: "kernel-kill",
		},
		{
			name: "nothing fired", threshold: 0.5, body: threeSignals,
			ev:  func() *evidence.Evidence { return &evidence.Evidence{} },
			why: "no signal fired", missed: "heap-oom,metaspace-oom,leak-records",
		},
		{
			name: "abstains when the fired evidence cites nothing", threshold: 0.5,
			body: `signals:
  - name: threads-step
    description: thread count stepped up
    weight: 1
    expr: ev.trends.filter(t, t.shape == 'step')
`,
			confidence: 1, why: "nothing to cite", fired: "threads-step",
		},
		{
			name: "a signal failing at runtime is recorded and does not fire; the rest still count", threshold: 0.5,
			body: `signals:
  - name: broken
    description: indexes past the end of the frames
    weight: 0.5
    expr: ev.oomErrors.filter(e, e.frames[5] == 'x')
  - name: leaks
    description: leaks
    weight: 0.5
    expr: ev.leaks
`,
			matched: true, confidence: 0.5, why: "confidence 0.50", fired: "leaks", missed: "broken", errs: 1,
		},
		{
			name: "a veto failing at runtime makes the playbook abstain", threshold: 0.5,
			body: threeSignals + `excludeWhen:
  - name: broken-veto
    description: fails
    expr: ev.oomErrors.filter(e, e.frames[9] == 'x')
`,
			confidence: 0.7, why: "excludeWhen broken-veto could not be evaluated",
			fired: "heap-oom,leak-records", missed: "metaspace-oom", errs: 1,
		},
		{
			name: "an expression over its cost limit fails without stopping the playbook", threshold: 0.5,
			body: `signals:
  - name: expensive
    description: loops ten billion times
    weight: 0.5
    expr: ev.leaks.filter(l, lists.range(100000).all(i, lists.range(100000).all(j, i + j >= 0)))
  - name: leaks
    description: leaks
    weight: 0.5
    expr: ev.leaks
`,
			matched: true, confidence: 0.5, why: "confidence 0.50", fired: "leaks", missed: "expensive", errs: 1,
		},
		{
			name: "items are deduplicated by evidence id", threshold: 0.5,
			body: `signals:
  - name: twice
    description: the same OOM twice
    weight: 1
    expr: ev.oomErrors + ev.oomErrors
`,
			matched: true, confidence: 1, why: "confidence 1.00", fired: "twice",
		},
		{
			name: "singletons: restarts", threshold: 0.5,
			body: `signals:
  - name: restarting
    description: restarts
    weight: 1
    expr: "[ev.restarts].filter(r, r.total > 3)"
`,
			matched: true, confidence: 1, why: "restarting", fired: "restarting",
		},
		{
			name: "nil evidence is empty evidence", threshold: 0.5, body: threeSignals,
			ev:  func() *evidence.Evidence { return nil },
			why: "no signal fired", missed: "heap-oom,metaspace-oom,leak-records",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb := mustPlaybook(t, "p", tt.threshold, tt.body)
			ev := engineEvidence()
			if tt.ev != nil {
				ev = tt.ev()
			}
			rs := mustSet(t, pb).Evaluate(context.Background(), ev)
			if len(rs) != 1 {
				t.Fatalf("%d results", len(rs))
			}
			r := rs[0]
			names := func(fs []FiredSignal) string {
				var n []string
				for _, f := range fs {
					n = append(n, f.Name)
				}
				return strings.Join(n, ",")
			}
			var missed []string
			for _, m := range r.Missed {
				missed = append(missed, m.Name)
			}
			if r.Matched != tt.matched || r.Confidence != tt.confidence || !strings.Contains(r.Why, tt.why) {
				t.Errorf("matched=%v confidence=%v why=%q; want %v, %v, %q", r.Matched, r.Confidence, r.Why, tt.matched, tt.confidence, tt.why)
			}
			if got := names(r.Fired); got != tt.fired {
				t.Errorf("fired %q, want %q", got, tt.fired)
			}
			if got := strings.Join(missed, ","); got != tt.missed {
				t.Errorf("missed %q, want %q", got, tt.missed)
			}
			if got := names(r.Vetoed); got != tt.vetoed {
				t.Errorf("vetoed %q, want %q", got, tt.vetoed)
			}
			if len(r.Errors) != tt.errs {
				t.Errorf("errors %v, want %d", r.Errors, tt.errs)
			}
			for _, f := range append(r.Fired, r.Vetoed...) {
				if len(f.Items) == 0 {
					t.Errorf("%s fired without items", f.Name)
				}
				seen := map[string]bool{}
				for _, it := range f.Items {
					if seen[it.ID] {
						t.Errorf("%s: item %s cited twice", f.Name, it.ID)
					}
					seen[it.ID] = true
				}
			}
		})
	}
}

func TestEvaluateRuntimeErrorMessages(t *testing.T) {
	pb := mustPlaybook(t, "p", 0.5, `signals:
  - name: expensive
    description: too costly
    weight: 1
    expr: ev.leaks.filter(l, lists.range(100000).all(i, lists.range(100000).all(j, i + j >= 0)))
  - name: broken
    description: out of range
    weight: 1
    expr: ev.oomErrors.filter(e, e.frames[5] == 'x')
`)
	r := mustSet(t, pb).Evaluate(context.Background(), engineEvidence())[0]
	joined := strings.Join(r.Errors, "\n")
	for _, want := range []string{"signal expensive: operation cancelled: actual cost limit exceeded", "signal broken: index out of bounds"} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors lack %q:\n%s", want, joined)
		}
	}
}

func TestEvaluateTimeoutIsPerPlaybookAndReported(t *testing.T) {
	slow := mustPlaybook(t, "slow", 0.5, `signals:
  - name: slow
    description: a long loop under the cost limit
    weight: 1
    expr: ev.leaks.filter(l, lists.range(1000).all(i, lists.range(1000).all(j, i + j >= 0)))
  - name: after
    description: evaluated after the deadline
    weight: 1
    expr: ev.leaks
`)
	fast := mustPlaybook(t, "fast", 0.5, "signals:\n  - {name: leaks, description: leaks, weight: 1, expr: ev.leaks}\n")
	set := mustSet(t, slow, fast).WithTimeout(time.Millisecond)
	rs := set.Evaluate(context.Background(), engineEvidence())
	s, f := resultFor(t, rs, "slow"), resultFor(t, rs, "fast")
	if s.Matched || len(s.Errors) != 2 || !strings.Contains(strings.Join(s.Errors, "\n"), "deadline exceeded") {
		t.Errorf("slow: matched=%v errors=%v", s.Matched, s.Errors)
	}
	// The fast playbook gets its own millisecond and is unaffected.
	if !f.Matched || len(f.Errors) != 0 {
		t.Errorf("fast: matched=%v errors=%v why=%s", f.Matched, f.Errors, f.Why)
	}
	// A cancelled parent context stops everything, without panicking.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range mustSet(t, slow, fast).Evaluate(ctx, engineEvidence()) {
		if r.Matched || len(r.Errors) == 0 {
			t.Errorf("%s after cancel: matched=%v errors=%v", r.ID, r.Matched, r.Errors)
		}
	}
}

func TestEvaluateRanking(t *testing.T) {
	sig := func(weight float64, expr string) string {
		return fmt.Sprintf("  - {name: s%v, description: d, weight: %v, expr: %q}\n", weight*10, weight, expr)
	}
	high := mustPlaybook(t, "high", 0.5, "signals:\n"+sig(0.9, "ev.leaks")+sig(0.1, "ev.kernelKills"))
	low := mustPlaybook(t, "low", 0.5, "signals:\n"+sig(0.6, "ev.leaks")+sig(0.4, "ev.kernelKills"))
	near := mustPlaybook(t, "near", 0.9, "signals:\n"+sig(0.8, "ev.leaks")+sig(0.2, "ev.kernelKills"))
	none := mustPlaybook(t, "none", 0.5, "signals:\n"+sig(1, "ev.kernelKills"))
	tie := mustPlaybook(t, "a-tie", 0.9, "signals:\n"+sig(0.8, "ev.leaks")+sig(0.2, "ev.kernelKills"))
	rs := mustSet(t, none, low, near, high, tie).Evaluate(context.Background(), engineEvidence())
	var order []string
	for _, r := range rs {
		order = append(order, fmt.Sprintf("%s:%v:%.2f", r.ID, r.Matched, r.Confidence))
	}
	want := "high:true:0.90,low:true:0.60,a-tie:false:0.80,near:false:0.80,none:false:0.00"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("order\n got %s\nwant %s", got, want)
	}
}

func TestNextStepsRendering(t *testing.T) {
	const sigs = `signals:
  - name: heap-oom
    description: heap OOM
    weight: 1
    expr: ev.oomErrors
`
	tests := []struct {
		name      string
		nextSteps string
		want      string
		wantErr   string
	}{
		{
			name:      "templates see fired signals, items and evidence",
			nextSteps: `{{ with index .Signals "heap-oom" }}{{ with first .Items }}{{ .Item.Message }} ({{ .ID }}){{ end }}{{ end }}; {{ .Evidence.Kill.Kind }}; {{ bytes 1572864 }}; {{ pct 0.834 }}`,
			want:      "java.lang.OutOfMemoryError: Java heap space (oom/1); container-oom-killer; 1.5MiB; 83%",
		},
		{
			name:      "a signal that did not fire is absent",
			nextSteps: `{{ with index .Signals "nope" }}fired{{ else }}absent{{ end }}`,
			want:      "absent",
		},
		{
			name:      "target is nil without containers",
			nextSteps: `{{ with target .Evidence }}{{ .Name }}{{ else }}no container{{ end }}`,
			want:      "no container",
		},
		{
			name:      "an execution error keeps the raw text and reports it",
			nextSteps: `{{ index .Evidence.OOMErrors 7 }}`,
			want:      `{{ index .Evidence.OOMErrors 7 }}`,
			wantErr:   "nextSteps: template: nextSteps:1:3: executing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb := mustPlaybook(t, "p", 0.5, sigs+"nextSteps: '"+strings.ReplaceAll(tt.nextSteps, "'", "''")+"'\n")
			r := mustSet(t, pb).Evaluate(context.Background(), engineEvidence())[0]
			if r.NextSteps != tt.want {
				t.Errorf("NextSteps = %q, want %q", r.NextSteps, tt.want)
			}
			if got := strings.Join(r.Errors, "\n"); (tt.wantErr == "") != (got == "") || !strings.Contains(got, tt.wantErr) {
				t.Errorf("errors %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func TestResultCarriesPlaybookText(t *testing.T) {
	pb := mustPlaybook(t, "p", 0.5, threeSignals+"references:\n  - {title: Docs, url: 'https://example.com/docs'}\n")
	r := mustSet(t, pb).Evaluate(context.Background(), engineEvidence())[0]
	if r.ID != "p" || r.Title != "p" || r.Summary != "Test playbook." || r.Threshold != 0.5 ||
		len(r.References) != 1 || r.References[0].URL != "https://example.com/docs" {
		t.Errorf("result = %+v", r)
	}
	for _, f := range r.Fired {
		if f.Description == "" || f.Weight == 0 {
			t.Errorf("fired signal lacks description or weight: %+v", f)
		}
	}
}
