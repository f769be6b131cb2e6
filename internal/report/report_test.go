package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/playbooks"
)

func evidenceWith(kind string, term evidence.Termination, ooms ...evidence.OOMError) *evidence.Evidence {
	return &evidence.Evidence{
		Target:     evidence.Target{Namespace: "shop", Pod: "p", Container: "app"},
		Kill:       evidence.Kill{Kind: kind},
		Containers: []evidence.Container{{Name: "app", LastTermination: term, RestartCount: 3}},
		Restarts:   evidence.Restarts{Total: 3},
		OOMErrors:  ooms,
	}
}

func TestVerdict(t *testing.T) {
	heap := evidence.OOMError{Container: "app", Message: "java.lang.OutOfMemoryError: Java heap space", Time: time.Unix(100, 0)}
	oomKilled := evidence.Termination{State: "terminated", Reason: "OOMKilled", ExitCode: 137}
	exit3 := evidence.Termination{State: "terminated", Reason: "Error", ExitCode: 3}
	match := playbooks.Result{ID: "image-decode-bomb", Matched: true, Confidence: 0.9,
		Fired: []playbooks.FiredSignal{{Name: "s", Items: []playbooks.Cited{{ID: "oom/app/1"}}}}}
	weaker := playbooks.Result{ID: "heap-undersized", Matched: true, Confidence: 0.6}
	notMatched := playbooks.Result{ID: "lock-growth", Confidence: 0.2, Why: "required signal x did not fire"}
	cases := []struct {
		name    string
		ev      *evidence.Evidence
		results []playbooks.Result
		want    string
	}{
		{"both, matched", evidenceWith(evidence.KillBoth, oomKilled, heap), []playbooks.Result{weaker, match, notMatched},
			"OOMKilled by the container limit (exit 137) after a JVM OutOfMemoryError (Java heap space) — likely cause: image-decode-bomb (confidence 0.90)"},
		{"container only, nothing matched", evidenceWith(evidence.KillContainerOOM, oomKilled), []playbooks.Result{notMatched},
			"OOMKilled by the container limit (exit 137), no JVM OutOfMemoryError — no playbook matched; facts below"},
		{"jvm only", evidenceWith(evidence.KillJVMOOM, exit3, heap), nil,
			"JVM OutOfMemoryError (Java heap space), container exited 3 — no playbook matched; facts below"},
		{"other", evidenceWith(evidence.KillOther, evidence.Termination{State: "terminated", Reason: "Error", ExitCode: 1}), nil,
			"Container terminated: Error (exit 1), no OOM found — no playbook matched; facts below"},
		{"none", evidenceWith(evidence.KillNone, evidence.Termination{}), nil, "No OOM kill found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Build(c.ev, c.results, nil)
			if !strings.HasPrefix(r.Verdict, c.want) {
				t.Errorf("verdict = %q\nwant      %q", r.Verdict, c.want)
			}
		})
	}
}

func TestBuildRanksAndSplits(t *testing.T) {
	ev := evidenceWith(evidence.KillBoth, evidence.Termination{State: "terminated", Reason: "OOMKilled", ExitCode: 137})
	r := Build(ev, []playbooks.Result{
		{ID: "b", Matched: true, Confidence: 0.6},
		{ID: "a", Matched: true, Confidence: 0.95, Fired: []playbooks.FiredSignal{{Name: "sig", Weight: 0.5,
			Items: []playbooks.Cited{{ID: "oom/app/1", Summary: "s", Cites: []evidence.Citation{{Source: "logs/app.previous.log", Ref: "line 3"}}}}}}},
		{ID: "c", Confidence: 0.1, Why: "nothing to cite"},
	}, []SourceStatus{{Name: "kubernetes/pod", Status: "ok", Duration: 1500 * time.Microsecond}})
	if len(r.Matches) != 2 || r.Matches[0].ID != "a" || r.Matches[1].ID != "b" {
		t.Fatalf("matches = %+v", r.Matches)
	}
	if got := r.Matches[0].Signals[0].Evidence[0].Cites[0].Ref; got != "line 3" {
		t.Errorf("citation lost: %q", got)
	}
	if len(r.Considered) != 1 || r.Considered[0].Why != "nothing to cite" {
		t.Errorf("considered = %+v", r.Considered)
	}
	if r.Termination.Reason != "OOMKilled" || r.Termination.ExitCode != 137 || r.Facts.Restarts != 3 {
		t.Errorf("termination %+v facts %+v", r.Termination, r.Facts)
	}
	js, err := r.Sources[0].MarshalJSON()
	if err != nil || !strings.Contains(string(js), `"durationMs":1.5`) {
		t.Errorf("source json = %s, %v", js, err)
	}
}

// A source status survives a JSON round trip (stored reports are JSON),
// to the microsecond its JSON keeps.
func TestSourceStatusJSONRoundTrip(t *testing.T) {
	for _, in := range []SourceStatus{
		{Name: "prometheus", Status: "failed", Error: "timed out after 2s", Duration: 10240 * time.Microsecond},
		{Name: "kubernetes/pod", Status: "ok", Duration: 3*time.Second + 1*time.Microsecond},
		{Name: "playbooks", Status: "skipped"},
	} {
		data, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out SourceStatus
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if out != in {
			t.Errorf("round trip of %s: got %+v, want %+v", data, out, in)
		}
	}
}
