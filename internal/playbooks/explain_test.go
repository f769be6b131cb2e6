package playbooks

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/evidence"
	v1 "github.com/oombot/oombot/internal/playbooks/v1"
)

// TestExplainAgreesWithEvaluate: Explain's verdict is Evaluate's, and its
// per-expression outcomes are what that verdict was computed from.
func TestExplainAgreesWithEvaluate(t *testing.T) {
	set := loadShipped(t)
	for _, tc := range []struct {
		id    string
		ev    func(testing.TB) evidence.Evidence
		fired []string
		vetos []string
	}{
		{"heap-undersized", lockGrowthEvidence, []string{"heap-oom", "full-gcs-reclaim-little", "frequent-full-gcs"}, []string{"old-gen-floor-climbing", "gc-floor-climbing"}},
		{"image-decode-bomb", imageBombEvidence, []string{"heap-oom-in-image-decoder", "heap-spike-before-failure", "live-heap-small", "old-gen-floor-steady"}, nil},
		{"lock-growth", healthyEvidence, nil, nil},
	} {
		t.Run(tc.id, func(t *testing.T) {
			ev := tc.ev(t)
			x, err := set.Explain(context.Background(), &ev, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			want := resultFor(t, set.Evaluate(context.Background(), &ev), tc.id)
			if !reflect.DeepEqual(x.Result, want) {
				t.Errorf("Explain result differs from Evaluate:\n%+v\n%+v", x.Result, want)
			}
			pb, _ := set.Playbook(tc.id)
			if len(x.Signals) != len(pb.Spec().Signals) || len(x.Vetoes) != len(pb.Spec().ExcludeWhen) {
				t.Fatalf("%d signals, %d vetoes", len(x.Signals), len(x.Vetoes))
			}
			var fired, vetoed []string
			for i, s := range x.Signals {
				spec := pb.Spec().Signals[i]
				if s.Name != spec.Name || s.Weight != spec.Weight || s.Required != spec.Required || s.Expr != strings.TrimSpace(spec.Expr) {
					t.Errorf("signal %d = %+v, spec %+v", i, s, spec)
				}
				if s.Fired != (len(s.Items) > 0) || s.Items == nil {
					t.Errorf("%s: fired=%v with items %v", s.Name, s.Fired, s.Items)
				}
				if s.Fired {
					fired = append(fired, s.Name)
				}
			}
			for _, v := range x.Vetoes {
				if v.Fired {
					vetoed = append(vetoed, v.Name)
				}
			}
			if !reflect.DeepEqual(fired, tc.fired) || !reflect.DeepEqual(vetoed, tc.vetos) {
				t.Errorf("fired %v vetoed %v; want %v %v", fired, vetoed, tc.fired, tc.vetos)
			}
			if !strings.HasPrefix(x.Source, tc.id+".yaml:") {
				t.Errorf("source %q", x.Source)
			}
		})
	}
}

func TestExplainShowsRuntimeErrors(t *testing.T) {
	pb, err := Parse("x.yaml", []byte(strings.Replace(pbHead, "%s", "x", 1)+`threshold: 0.5
signals:
  - name: tenth-frame
    description: d
    weight: 1
    expr: ev.oomErrors.filter(e, e.frames[10] == 'x')
`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet(pb)
	if err != nil {
		t.Fatal(err)
	}
	ev := evidence.Evidence{OOMErrors: []evidence.OOMError{{ID: "oom/1", Frames: []string{"a"}}}}
	x, err := set.Explain(context.Background(), &ev, "x")
	if err != nil {
		t.Fatal(err)
	}
	s := x.Signals[0]
	if s.Fired || !strings.Contains(s.Error, "index out of bounds") {
		t.Errorf("outcome %+v", s)
	}
	if _, err := set.Explain(context.Background(), &ev, "nope"); err == nil || !strings.Contains(err.Error(), `no playbook "nope" (have: x)`) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestCheckCase(t *testing.T) {
	matched := Result{ID: "p", Matched: true, Confidence: 0.8, Threshold: 0.6, Why: "confidence 0.80 ≥ threshold 0.60: a",
		Fired: []FiredSignal{{Name: "a"}, {Name: "b"}}}
	missed := Result{ID: "p", Confidence: 0.3, Threshold: 0.6, Why: "confidence 0.30 below threshold 0.60", Fired: []FiredSignal{{Name: "b"}}}
	tests := []struct {
		name   string
		test   v1.Test
		r      Result
		pass   bool
		got    string
		reason string
	}{
		{"match as expected", v1.Test{Expect: "match", MinConfidence: 0.8, Signals: []string{"a"}}, matched, true, "match", "confidence 0.80"},
		{"no-match as expected", v1.Test{Expect: "no-match"}, missed, true, "no-match", "below threshold"},
		{"expected a match", v1.Test{Expect: "match"}, missed, false, "no-match", "did not match: confidence 0.30 below threshold 0.60"},
		{"expected no match", v1.Test{Expect: "no-match"}, matched, false, "match", "matched: confidence 0.80"},
		{"confidence too low", v1.Test{Expect: "match", MinConfidence: 0.9}, matched, false, "match", "confidence 0.80 below minConfidence 0.90"},
		{"signal did not fire", v1.Test{Expect: "match", Signals: []string{"a", "c"}}, matched, false, "match", "signal c did not fire (fired: a, b)"},
		{"evaluation error", v1.Test{Expect: "no-match"}, Result{Errors: []string{"signal a: boom"}}, false, "no-match", "evaluation errors: signal a: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CheckCase(tt.test, tt.r)
			if c.Pass != tt.pass || c.Got != tt.got || !strings.Contains(c.Reason, tt.reason) {
				t.Errorf("got %+v; want pass=%v got=%s reason containing %q", c, tt.pass, tt.got, tt.reason)
			}
		})
	}
}

func TestLoadPathsAndTestBundle(t *testing.T) {
	dir := t.TempDir()
	body := strings.Replace(pbHead, "%s", "x", 1) + "threshold: 0.5\nsignals:\n  - {name: a, description: d, weight: 1, expr: \"ev.oomErrors\"}\ntests:\n  - {bundle: ../b, expect: match}\n"
	f := writePlaybook(t, dir, "x.yaml", body)
	writePlaybook(t, dir, "notes.txt", "not a playbook")
	for _, paths := range [][]string{{dir}, {f}, {f, dir}} {
		set, err := LoadPaths(paths...)
		if err != nil || len(set.Playbooks()) != 1 {
			t.Fatalf("LoadPaths(%v) = %v, %v", paths, set.IDs(), err)
		}
		pb := set.Playbooks()[0]
		if pb.File() != f {
			t.Errorf("File() = %q, want %q", pb.File(), f)
		}
		if got, want := pb.TestBundle(pb.Spec().Tests[0]), filepath.Join(filepath.Dir(dir), "b"); got != want {
			t.Errorf("TestBundle = %q, want %q", got, want)
		}
	}
	if _, err := LoadPaths(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no *.yaml or *.yml playbook files") {
		t.Errorf("empty dir: %v", err)
	}
}
