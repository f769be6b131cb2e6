package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/cmd/playbooks/cli"
)

// The triage behind explain gathers concurrently; nothing may outlive it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const bundles = "../../../../testdata/bundles/"

func runExplain(args ...string) (string, error) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), factory.IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return out.String(), err
}

// TestExplainVetoedPlaybook: on the lock leak, heap-undersized has most of
// its signals but is vetoed by the climbing floor; the output shows each
// signal's weight, expression and items, the vetoes, and the verdict.
func TestExplainVetoedPlaybook(t *testing.T) {
	out, err := runExplain("heap-undersized", "--bundle", bundles+"lock-growth")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []string{
		"heap-undersized — Heap too small for the working set",
		"playbook: heap-undersized.yaml:",
		"signals:",
		"[fired] heap-oom (weight 0.35)",
		"expr:  ev.oomErrors.filter(e, e.kind in ['heap', 'gc-overhead'])",
		"value: 1 item(s)",
		"- oom/app/1: java.lang.OutOfMemoryError: Java heap space",
		"[ -- ] high-flat-floor (weight 0.30)",
		"value: []",
		"[fired] frequent-full-gcs (weight 0.10)",
		"excludeWhen:",
		"[fired] old-gen-floor-climbing (veto)",
		"- trend/jvm_old_gen_used: jvm_old_gen_used: leak",
		"[fired] gc-floor-climbing (veto)",
		"confidence 0.70, threshold 0.55: no match: excluded: old-gen-floor-climbing",
	}
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q (in order):\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
}

func TestExplainMatchJSON(t *testing.T) {
	out, err := runExplain("image-decode-bomb", "--bundle", bundles+"image-decode-bomb", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var x struct {
		Signals []struct {
			Name  string
			Fired bool
			Items []struct{ ID, Summary string }
		}
		Result struct {
			Matched    bool
			Confidence float64
		}
	}
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !x.Result.Matched || x.Result.Confidence != 0.8 || len(x.Signals) != 5 {
		t.Fatalf("explanation = %+v", x)
	}
	if s := x.Signals[0]; s.Name != "heap-oom-in-image-decoder" || !s.Fired || len(s.Items) == 0 || s.Items[0].ID == "" || s.Items[0].Summary == "" {
		t.Errorf("first signal = %+v", s)
	}
}

func TestExplainRuntimeError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(`apiVersion: oombot/v1
kind: Playbook
id: x
title: T
summary: S
threshold: 0.5
signals:
  - {name: far-frame, description: d, weight: 1, expr: "ev.oomErrors.filter(e, e.frames[100000] == 'x')"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runExplain("x", "--bundle", bundles+"image-decode-bomb", "--playbooks", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"[error] far-frame (weight 1.00)", "error: index out of bounds", "no match: no signal fired", "error: signal far-frame: index out of bounds"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestExplainErrors(t *testing.T) {
	var ue *cli.UsageError
	for _, args := range [][]string{
		{"heap-undersized"},                           // no bundle
		{"--bundle", bundles + "healthy"},             // no id
		{"nope", "--bundle", bundles + "healthy"},     // unknown id
		{"lock-growth", "--bundle", "x", "-o", "xml"}, // bad format
	} {
		if _, err := runExplain(args...); !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	_, err := runExplain("nope", "--bundle", bundles+"healthy")
	if err == nil || !strings.Contains(err.Error(), `no playbook "nope" (have: classloader-leak, heap-undersized,`) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := runExplain("lock-growth", "--bundle", t.TempDir()); err == nil || !strings.Contains(err.Error(), "loading bundle") {
		t.Errorf("missing bundle: %v", err)
	}
}
