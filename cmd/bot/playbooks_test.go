package main

import (
	"strings"
	"testing"
)

// TestPlaybooksExitCodes: lint's exit status is what CI keys on: 0 clean,
// 1 when a playbook has an error, 2 for a command-line mistake.
func TestPlaybooksExitCodes(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"shipped playbooks lint clean", []string{"playbooks", "lint", "../../playbooks"}, 0, "", "lint: ok"},
		{"a broken playbook fails lint", []string{"playbooks", "lint", "../../internal/playbooks/testdata/invalid-threshold.yaml"}, 1,
			"invalid-threshold.yaml:8:12: error: threshold must be in (0, 1], got 1.5", "error: lint: 1 error, 0 warnings"},
		{"no verb", []string{"playbooks"}, 2, "", "need a verb"},
		{"unknown verb", []string{"playbooks", "frobnicate"}, 2, "", `unknown verb "frobnicate"`},
		{"verb help", []string{"playbooks", "explain", "--help"}, 0, "bot playbooks explain ID --bundle DIR", ""},
		{"help", []string{"playbooks", "help"}, 0, "bot playbooks new ID", ""},
		{"top-level usage names it", []string{"help"}, 0, "bot playbooks lint|test|explain|new", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, stderr)
			}
		})
	}
}
