package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/cmd/playbooks/cli"
)

// Bundles are triaged concurrently; none may outlive the command.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runTest(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), factory.IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return out.String(), err
}

func bundle(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("../../../../testdata/bundles", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestShippedPlaybooks is what CI relies on: every shipped playbook's
// tests: pass through the real triage path, and no shipped playbook fires
// on an incident its tests do not list.
func TestShippedPlaybooks(t *testing.T) {
	out, err := runTest(t, "../../../../playbooks")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("failures reported:\n%s", out)
	}
	// Count the repository's bundles rather than hard-coding them, so adding
	// an incident does not break this test.
	n := countBundles(t, "../../../../testdata/bundles") + countBundles(t, "../../../../examples/incidents")
	if want := fmt.Sprintf("false-positive sweep: 6 playbooks × %d bundles: no unexpected match", n); !strings.Contains(out, want) {
		t.Errorf("sweep did not cover the %d repository bundles (want %q):\n%s", n, want, out)
	}
	// Every playbook has a match test and a no-match test on healthy.
	for _, id := range []string{"classloader-leak", "heap-undersized", "image-decode-bomb", "lock-growth", "native-memory-over-limit", "netty-buffer-leak"} {
		var match, healthy bool
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) < 4 || f[0] != id {
				continue
			}
			match = match || (f[2] == "match" && strings.HasSuffix(l, " ok"))
			healthy = healthy || (strings.HasSuffix(f[1], "healthy") && f[2] == "no-match")
		}
		if !match || !healthy {
			t.Errorf("%s: match test %v, healthy no-match test %v", id, match, healthy)
		}
	}
}

func writePlaybook(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(`apiVersion: oombot/v1
kind: Playbook
id: x
title: T
summary: S
`+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFailures(t *testing.T) {
	heapOOM := `threshold: 0.5
signals:
  - {name: heap-oom, description: d, weight: 1, expr: "ev.oomErrors.filter(e, e.kind == 'heap')"}
`
	// Every container is cited, so this playbook matches any bundle.
	anything := `threshold: 0.5
signals:
  - {name: any-container, description: d, weight: 1, expr: "ev.containers"}
`
	tests := []struct {
		name  string
		body  string
		sweep []string
		want  []string // fragments of the output, in order
	}{
		{
			name:  "expected a match that does not happen",
			body:  heapOOM + "tests:\n  - {bundle: " + bundle(t, "healthy") + ", expect: match}\n",
			sweep: []string{bundle(t, "healthy")},
			want:  []string{"x", "healthy", "match", "no-match", "0.00", "FAIL: did not match: no signal fired"},
		},
		{
			name:  "a match below minConfidence and without the expected signal",
			body:  heapOOM + "tests:\n  - {bundle: " + bundle(t, "heap-undersized") + ", expect: match, minConfidence: 1, signals: [heap-oom, gc-thrash]}\n",
			sweep: []string{bundle(t, "heap-undersized")},
			want:  []string{"heap-undersized", "match ≥ 1.00", "match", "1.00", "FAIL: signal gc-thrash did not fire (fired: heap-oom)"},
		},
		{
			name:  "expected no match",
			body:  heapOOM + "tests:\n  - {bundle: " + bundle(t, "heap-undersized") + ", expect: no-match}\n",
			sweep: []string{bundle(t, "heap-undersized")},
			want:  []string{"heap-undersized", "no-match", "match", "1.00", "FAIL: matched: confidence 1.00"},
		},
		{
			name: "fires on an unrelated incident",
			body: anything + "tests:\n  - {bundle: " + bundle(t, "healthy") + ", expect: match}\n",
			// The directory form: every bundle in it.
			sweep: []string{filepath.Dir(bundle(t, "healthy"))},
			want: []string{"healthy", "match", "ok", fmt.Sprintf("false-positive sweep: 1 playbooks × %d bundles: %d failures",
				countBundles(t, filepath.Dir(bundle(t, "healthy"))), countBundles(t, filepath.Dir(bundle(t, "healthy")))-1),
				"x", "classloader-leak", "1.00", "FAIL: fires on an unrelated incident"},
		},
		{
			name:  "a test bundle that cannot be loaded",
			body:  heapOOM + "tests:\n  - {bundle: no-such-bundle, expect: no-match}\n",
			sweep: []string{bundle(t, "healthy")},
			want:  []string{"no-such-bundle", "no-match", "-", "FAIL: loading bundle"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{writePlaybook(t, tt.body)}
			for _, s := range tt.sweep {
				args = append(args, "--bundles", s)
			}
			out, err := runTest(t, args...)
			var fe *cli.FailedError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a failure\n%s", err, out)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestUsage(t *testing.T) {
	dir := writePlaybook(t, "threshold: 0.5\nsignals:\n  - {name: a, description: d, weight: 1, expr: \"ev.oomErrors\"}\n")
	for _, args := range [][]string{{"--bundles", t.TempDir(), dir}, {}, {"--nope"}} {
		_, err := runTest(t, args...)
		var ue *cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	// A playbook that does not load fails before any triage.
	bad := writePlaybook(t, "threshold: 2\n")
	out, err := runTest(t, bad, "--bundles", bundle(t, "healthy"))
	var fe *cli.FailedError
	if !errors.As(err, &fe) || !strings.Contains(out, "threshold must be in (0, 1]") {
		t.Errorf("err = %v\n%s", err, out)
	}
}

// countBundles counts the directories under dir that hold a bundle.yaml.
func countBundles(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*", "bundle.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}
