package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/cmd/factory"
)

// Every command, including a failed live triage, must leave no goroutine
// behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), factory.IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return code, out.String(), errb.String()
}

func TestTriageBundleText(t *testing.T) {
	code, out, stderr := runCLI("triage", "--bundle", "../../examples/incidents/image-decode-bomb")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	first := strings.SplitN(out, "\n", 2)[0]
	if !strings.HasPrefix(first, "OOMKilled by the container limit (exit 137)") || !strings.Contains(first, "likely cause: image-decode-bomb") {
		t.Errorf("verdict line = %q", first)
	}
}

func TestTriageBundleJSON(t *testing.T) {
	code, out, stderr := runCLI("triage", "--bundle", "../../examples/incidents/order-lock-leak", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Target  struct{ Namespace, Pod string }
		Matches []struct {
			ID         string
			Confidence float64
			Signals    []struct{ Name string }
		}
		Sources []struct{ Name, Status string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(r.Matches) == 0 || r.Matches[0].ID != "lock-growth" || len(r.Matches[0].Signals) == 0 {
		t.Errorf("matches = %+v", r.Matches)
	}
	if len(r.Sources) == 0 {
		t.Error("no sources in JSON")
	}
}

func TestErrorsAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	// Port 1 on loopback: nothing listens, so the API is unreachable.
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: shop}}]
current-context: x
`), 0o600)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "Usage"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"no pod", []string{"triage"}, 2, "need exactly one pod name"},
		{"both", []string{"triage", "p", "--bundle", "x"}, 2, "not both"},
		{"bad output", []string{"triage", "--bundle", "x", "-o", "yaml"}, 2, `unknown output format "yaml"`},
		{"bad flag", []string{"triage", "--frob"}, 2, "unknown flag: --frob"},
		{"missing bundle", []string{"triage", "--bundle", filepath.Join(dir, "nope")}, 1, "no such file or directory"},
		{"unreachable API", []string{"triage", "checkout-1", "--kubeconfig", kubeconfig, "--timeout", "5s"}, 1, "Kubernetes API unreachable"},
		{"collect needs -o", []string{"collect", "p"}, 2, "need one pod name and -o DIR"},
		{"bad playbooks dir", []string{"triage", "--bundle", "../../examples/incidents/image-decode-bomb", "--playbooks", filepath.Join(dir, "none")}, 1, "loading playbooks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := runCLI(c.args...)
			if code != c.code || !strings.Contains(stderr+out, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
			if c.code == 1 && strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("runtime errors must be one line, got %q", stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"triage", "--help"}, {"collect", "-h"}} {
		code, out, _ := runCLI(args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d, out %q", args, code, out)
		}
	}
}
