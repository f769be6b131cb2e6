package leakcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/redact"
)

const bundleDir = "../../testdata/bundles/image-decode-bomb"

// recorder captures Errorf calls so AssertClean's failures can be asserted.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestPlantedAreUniqueAndCovered(t *testing.T) {
	seen := map[string]bool{}
	kinds := map[string]bool{}
	for _, s := range Planted {
		if len(s.Value) < fragmentLen {
			t.Errorf("%s secret %q is shorter than a fragment", s.Kind, s.Value)
		}
		if seen[s.Value] {
			t.Errorf("duplicate planted value %q", s.Value)
		}
		seen[s.Value] = true
		kinds[s.Kind] = true
	}
	// Every kind the redactor reports for credentials is planted.
	for _, k := range []string{"password", "url-password", "bearer", "basic", "api-key", "client-secret",
		"aws-access-key-id", "aws-secret-key", "slack-token", "github-token", "jwt", "private-key",
		"google-api-key", "email", "token", "credentials"} {
		if !kinds[k] {
			t.Errorf("no planted secret of kind %s", k)
		}
	}
}

// The fixtures hold no planted value nor any fragment of one, so a hit in
// a report built from a planted bundle can only be a leak.
func TestPlantedAbsentFromFixtures(t *testing.T) {
	for _, root := range []string{"../../testdata/bundles", "../../examples/incidents"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			AssertClean(t, p, data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAssertCleanCatches(t *testing.T) {
	cases := []struct {
		name  string
		data  string
		fails int
	}{
		{"clean", "password=[REDACTED:password] Authorization: Bearer [REDACTED:bearer]", 0},
		{"whole value", "x " + dbPassword.Value + " y", 1},
		{"clipped value", "jdbc:postgresql://app:" + jdbcPassword.Value[:9] + "…", 1},
		{"fragment in the middle", "key " + googleKey.Value[10:20], 1},
		{"two secrets", slackToken.Value + " " + awsKeyID.Value, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			AssertClean(r, "payload", []byte(tc.data))
			// A fragment may be shared by several planted values (the
			// common "pl4nted" stem), so more failures than secrets is fine;
			// fewer is not.
			if tc.fails == 0 && len(r.errs) > 0 || len(r.errs) < tc.fails {
				t.Errorf("got %d failures %q, want %d", len(r.errs), r.errs, tc.fails)
			}
			for _, e := range r.errs {
				if !strings.HasPrefix(e, "payload leaks") {
					t.Errorf("failure does not name where: %q", e)
				}
			}
		})
	}
}

func TestPlantBundle(t *testing.T) {
	dir := PlantBundle(t, bundleDir)
	var all strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		all.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Planted {
		if !strings.Contains(all.String(), s.Value) {
			t.Errorf("%s secret %q was not planted", s.Kind, s.Value)
		}
	}
	// The planted bundle is still a valid bundle with the same target.
	b, err := bundle.Load(dir)
	if err != nil {
		t.Fatalf("planted bundle does not load: %v", err)
	}
	if len(b.Warnings) > 0 {
		t.Errorf("planted bundle has warnings: %v", b.Warnings)
	}
	orig, err := bundle.Load(bundleDir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Target != orig.Manifest.Target {
		t.Errorf("target changed: %+v vs %+v", b.Manifest.Target, orig.Manifest.Target)
	}
	if !strings.Contains(b.Manifest.Alert, pemBody.Value) || !strings.HasPrefix(b.Manifest.Alert, orig.Manifest.Alert) {
		t.Errorf("alert not extended as planned:\n%s", b.Manifest.Alert)
	}
	// The exception message inside the trace carries a secret.
	log, err := os.ReadFile(filepath.Join(dir, "logs", "gateway.previous.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "javax.imageio.IIOException: Caught exception during read: fetching https://uploader:"+urlPassword.Value) {
		t.Errorf("no secret planted in the trace's exception message")
	}
	// The source is untouched.
	src, err := os.ReadFile(filepath.Join(bundleDir, "logs", "gateway.previous.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(src), "pl4nted") {
		t.Fatal("PlantBundle modified its source")
	}
}

// The redactor masks every planted secret as it appears in the planted
// files: redact and leakcheck agree on what a secret is. pod.yaml is left
// out: in YAML an env value sits on its own line ("value: …") away from its
// name, and the evidence cites env vars as NAME=value instead (checked
// end to end in internal/triage).
func TestRedactorCleansPlantedFiles(t *testing.T) {
	dir := PlantBundle(t, bundleDir)
	r := redact.New(redact.Default())
	for _, f := range []string{"bundle.yaml", "events.yaml", "logs/gateway.previous.log"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if f != "bundle.yaml" {
			// Log lines and YAML entries are cited one line at a time;
			// only the alert is redacted as one multi-line string.
			lines := strings.Split(text, "\n")
			for i := range lines {
				lines[i] = r.String(lines[i])
			}
			text = strings.Join(lines, "\n")
		} else {
			text = r.String(text)
		}
		AssertClean(t, "redacted "+f, []byte(text))
	}
}
