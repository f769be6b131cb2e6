package playbooks

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLintShippedIsClean: the shipped playbooks carry no error and no
// warning, so any new lint finding on them is a regression someone sees.
func TestLintShippedIsClean(t *testing.T) {
	if probs := Lint("../../playbooks"); len(probs) > 0 {
		for _, p := range probs {
			t.Error(p)
		}
	}
}

// TestLintInvalidFixtures: every loader fixture is a lint error at the
// position the loader reports.
func TestLintInvalidFixtures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "invalid-*.yaml"))
	if len(files) < 20 {
		t.Fatalf("fixtures missing: %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			probs := Lint(f)
			if !HasErrors(probs) {
				t.Fatalf("no error: %v", probs)
			}
			for _, want := range fixtureHeader(t, data, "expect") {
				found := false
				for _, p := range probs {
					if p.Severity != SeverityError {
						continue
					}
					// Lint prints the severity after the position.
					got := (&LoadError{File: filepath.Base(p.File), Line: p.Line, Col: p.Col, Msg: p.Msg}).Error()
					found = found || strings.Contains(got, want)
					if !strings.HasPrefix(p.String(), f+":") || !strings.Contains(p.String(), ": error: ") {
						t.Errorf("format: %q", p)
					}
				}
				if !found {
					t.Errorf("no problem %q in %v", want, probs)
				}
			}
		})
	}
}

// pbHead is a valid playbook up to its signals.
const pbHead = `apiVersion: oombot/v1
kind: Playbook
id: %s
title: T
summary: S
`

func writePlaybook(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLintChecks(t *testing.T) {
	bundles, err := filepath.Abs("../../testdata/bundles")
	if err != nil {
		t.Fatal(err)
	}
	healthy := filepath.Join(bundles, "healthy")
	oneSignal := `threshold: 0.5
signals:
  - name: heap-oom
    description: d
    weight: 1
    expr: ev.oomErrors.filter(e, e.kind == 'heap')
`
	withTest := "tests:\n  - bundle: " + healthy + "\n    expect: match\n"
	tests := []struct {
		name     string
		body     string // after pbHead with id "x"
		severity string
		want     string // "line:col: message fragment"
	}{
		{
			name:     "template field that does not exist",
			body:     oneSignal + "nextSteps: |\n  {{ with target .Evidence }}\n  {{ .JVM.MaxHeap }}\n  {{ end }}\n" + withTest,
			severity: SeverityError, want: "14:10: nextSteps: evidence.JVMFlags has no field or method MaxHeap",
		},
		{
			name:     "template uses a CEL (json) name",
			body:     oneSignal + "nextSteps: |\n  {{ range .Evidence.oomErrors }}x{{ end }}\n" + withTest,
			severity: SeverityError, want: "13:21: nextSteps: evidence.Evidence has no field or method oomErrors (did you mean OOMErrors?",
		},
		{
			name:     "template indexes a signal the playbook does not have",
			body:     oneSignal + "nextSteps: |\n  {{ with index .Signals \"heap-oomm\" }}{{ end }}\n" + withTest,
			severity: SeverityError, want: `13:26: nextSteps: no signal named "heap-oomm" in this playbook`,
		},
		{
			name:     "template reads a field no evidence item has",
			body:     oneSignal + "nextSteps: |\n  {{ with index .Signals \"heap-oom\" }}{{ range .Items }}\n  {{ .Item.ClassNmae }}\n  {{ end }}{{ end }}\n" + withTest,
			severity: SeverityError, want: "14:11: nextSteps: no evidence item type has a field or method ClassNmae",
		},
		{
			name:     "template through variables and first",
			body:     oneSignal + "nextSteps: |\n  {{ $s := index .Signals \"heap-oom\" }}{{ with $s }}{{ with first .Items }}{{ .Item.Frames }}{{ .Summry }}{{ end }}{{ end }}\n" + withTest,
			severity: SeverityError, want: "13:97: nextSteps: playbooks.Cited has no field or method Summry",
		},
		{
			name:     "test bundle that does not exist",
			body:     oneSignal + "tests:\n  - bundle: ../no-such-bundle\n    expect: match\n",
			severity: SeverityError, want: "13:13: tests[0]: bundle ../no-such-bundle not found",
		},
		{
			name:     "test bundle that is not a bundle",
			body:     oneSignal + "tests:\n  - bundle: " + bundles + "\n    expect: match\n",
			severity: SeverityError, want: "13:13: tests[0]: " + bundles + " is not an incident bundle: it has no bundle.yaml",
		},
		{
			name:     "test names an unknown signal",
			body:     oneSignal + withTest + "    signals: [heap-oom, nope]\n",
			severity: SeverityError, want: `15:25: tests[0]: no signal named "nope"`,
		},
		{
			name:     "bundle tested twice",
			body:     oneSignal + withTest + "  - bundle: " + healthy + "/\n    expect: no-match\n",
			severity: SeverityError, want: "15:13: tests[1]: bundle " + healthy + "/ is already tested by tests[0]",
		},
		{
			name:     "minConfidence below threshold",
			body:     oneSignal + withTest + "    minConfidence: 0.3\n",
			severity: SeverityWarning, want: "15:20: tests[0]: minConfidence 0.30 is below the threshold 0.50",
		},
		{
			name: "no tests",
			body: oneSignal, severity: SeverityWarning, want: "3:5: no tests",
		},
		{
			name:     "no match test",
			body:     oneSignal + "tests:\n  - bundle: " + healthy + "\n    expect: no-match\n",
			severity: SeverityWarning, want: "13:3: no test expects a match",
		},
		{
			name: "one optional signal decides alone",
			body: "threshold: 0.5\nsignals:\n" +
				"  - {name: a, description: d, weight: 0.6, expr: \"ev.oomErrors\"}\n" +
				"  - {name: b, description: d, weight: 0.4, expr: \"ev.leaks\"}\n" + withTest,
			severity: SeverityWarning, want: "8:39: signal a alone reaches the threshold (0.60 ≥ 0.50)",
		},
		{
			name: "required signals exceed the threshold",
			body: "threshold: 0.5\nsignals:\n" +
				"  - {name: a, description: d, weight: 0.7, required: true, expr: \"ev.oomErrors\"}\n" +
				"  - {name: b, description: d, weight: 0.3, expr: \"ev.leaks\"}\n" + withTest,
			severity: SeverityWarning, want: "6:12: the required signals alone exceed the threshold (0.70 > 0.50)",
		},
		{
			name: "threshold needs every signal",
			body: "threshold: 0.95\nsignals:\n" +
				"  - {name: a, description: d, weight: 0.5, expr: \"ev.oomErrors\"}\n" +
				"  - {name: b, description: d, weight: 0.5, expr: \"ev.leaks\"}\n" + withTest,
			severity: SeverityWarning, want: "6:12: threshold 0.95 needs every signal to fire: without a (the lightest) confidence is 0.50",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := writePlaybook(t, dir, "x.yaml", strings.Replace(pbHead, "%s", "x", 1)+tt.body)
			probs := Lint(f)
			want := f + ":" + tt.want
			var found *Problem
			for i, p := range probs {
				if strings.HasPrefix(p.File+":"+itoa(p.Line)+":"+itoa(p.Col)+": "+p.Msg, want) {
					found = &probs[i]
				}
			}
			if found == nil {
				t.Fatalf("want %s %q, got:\n%v", tt.severity, want, probs)
			}
			if found.Severity != tt.severity {
				t.Errorf("severity %s, want %s", found.Severity, tt.severity)
			}
			if HasErrors(probs) != (tt.severity == SeverityError) {
				t.Errorf("HasErrors = %v with %v", HasErrors(probs), probs)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestLintDuplicateIDAcrossPaths(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	body := strings.Replace(pbHead, "%s", "same", 1) + "threshold: 0.5\nsignals:\n  - {name: a, description: d, weight: 1, expr: \"ev.oomErrors\"}\n"
	writePlaybook(t, a, "one.yaml", body)
	fb := writePlaybook(t, b, "two.yaml", body)
	probs := Lint(a, b)
	if !HasErrors(probs) {
		t.Fatalf("no error: %v", probs)
	}
	want := fb + `:3:5: error: duplicate playbook id "same": already defined at ` + filepath.Join(a, "one.yaml") + ":3:5"
	found := false
	for _, p := range probs {
		found = found || strings.HasPrefix(p.String(), want)
	}
	if !found {
		t.Errorf("want %q in %v", want, probs)
	}
}

func TestLintMissingPath(t *testing.T) {
	probs := Lint(filepath.Join(t.TempDir(), "nope"))
	if len(probs) != 1 || !HasErrors(probs) || !strings.Contains(probs[0].String(), "nope: error: cannot read: no such file or directory") {
		t.Errorf("got %v", probs)
	}
}

func TestValidID(t *testing.T) {
	for id, ok := range map[string]bool{"image-bomb": true, "a1": true, "": false, "Bad": false, "a_b": false, "../x": false, strings.Repeat("a", 64): false} {
		if err := ValidID(id); (err == nil) != ok {
			t.Errorf("ValidID(%q) = %v", id, err)
		}
	}
}
