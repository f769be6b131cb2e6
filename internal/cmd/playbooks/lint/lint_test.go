package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/cmd/playbooks/cli"
)

const (
	shipped  = "../../../../playbooks"
	fixtures = "../../../playbooks/testdata"
)

func runLint(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), factory.IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return out.String(), errb.String(), err
}

// lineRE is the one-problem-per-line shape editors and CI annotators parse.
var lineRE = regexp.MustCompile(`^[^:\s]+\.yaml:\d+(:\d+)?: (error|warning): \S.*$`)

func TestLint(t *testing.T) {
	dir := t.TempDir()
	warnOnly := filepath.Join(dir, "warn.yaml")
	if err := os.WriteFile(warnOnly, []byte(`apiVersion: oombot/v1
kind: Playbook
id: warn
title: T
summary: S
threshold: 0.5
signals:
  - {name: a, description: d, weight: 1, expr: "ev.oomErrors"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		failed bool
		lines  []string // each must appear as a whole output line
	}{
		{name: "shipped playbooks are clean", args: []string{shipped}},
		{
			name: "broken template and unknown field", failed: true,
			args: []string{fixtures + "/invalid-template.yaml", fixtures + "/invalid-unknown-field.yaml"},
			lines: []string{
				fixtures + `/invalid-template.yaml:16:3: error: nextSteps: template: unexpected "}" in operand`,
				fixtures + `/invalid-unknown-field.yaml:8:1: error: playbook: unknown field "treshold" (known fields: apiVersion, excludeWhen, id, kind, nextSteps, references, signals, summary, tests, threshold, title)`,
			},
		},
		{
			name: "CEL that does not type-check", failed: true,
			args:  []string{fixtures + "/invalid-cel-undefined-field.yaml"},
			lines: []string{fixtures + `/invalid-cel-undefined-field.yaml:15:10: error: signal heap-oom: undefined field 'knd'`},
		},
		{
			name:  "warnings alone do not fail",
			args:  []string{warnOnly},
			lines: []string{warnOnly + ":3:5: warning: no tests: add a tests: entry with expect: match on an incident bundle, so `bot playbooks test` checks the playbook"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := runLint(tt.args...)
			var fe *cli.FailedError
			if tt.failed != errors.As(err, &fe) || (!tt.failed && err != nil) {
				t.Fatalf("err = %v, want failed=%v\n%s", err, tt.failed, out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if out == "" {
				lines = nil
			}
			for _, l := range lines {
				if !lineRE.MatchString(l) {
					t.Errorf("line not file:line:col: severity: message: %q", l)
				}
			}
			for _, want := range tt.lines {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("missing line %q in:\n%s", want, out)
				}
			}
			if len(tt.lines) == 0 && out != "" {
				t.Errorf("unexpected output:\n%s", out)
			}
			if !tt.failed && !strings.HasPrefix(stderr, "lint: ok") {
				t.Errorf("stderr %q", stderr)
			}
		})
	}
}

func TestLintJSON(t *testing.T) {
	out, _, err := runLint("--format", "json", fixtures+"/invalid-weight-zero.yaml")
	var fe *cli.FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v", err)
	}
	var got struct {
		Problems []struct {
			File, Severity, Message string
			Line, Col               int
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(got.Problems) != 1 || got.Problems[0].Line != 12 || got.Problems[0].Col != 13 || got.Problems[0].Severity != "error" ||
		!strings.Contains(got.Problems[0].Message, "weight must be a number > 0") {
		t.Errorf("problems = %+v", got.Problems)
	}
	out, _, err = runLint("--format", "json", shipped)
	if err != nil || !strings.Contains(out, `"problems": []`) {
		t.Errorf("clean JSON: %v %s", err, out)
	}
}

func TestLintUsage(t *testing.T) {
	for _, args := range [][]string{{"--format", "xml", shipped}, {"--nope"}, {}} {
		_, _, err := runLint(args...)
		var ue *cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}
