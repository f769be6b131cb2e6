package triage_test

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/bundletest"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/leakcheck"
	"github.com/oombot/oombot/internal/redact"
	"github.com/oombot/oombot/internal/render"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/triage"
)

// triageWith triages a bundle directory with a tweaked engine.
func triageWith(t *testing.T, dir string, tweak func(*triage.Engine)) *report.Report {
	t.Helper()
	e, b := bundletest.Engine(t, dir)
	if tweak != nil {
		tweak(e)
	}
	rep, err := e.Run(context.Background(), factory.BundleRequest(b))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Secrets planted everywhere a bundle can carry them (logs, a stack trace's
// exception message, events, env, JVM args, the alert) must not reach the
// text or JSON report, the diagnosis must not change, and the places that
// quoted them must show the redaction markers instead.
func TestPlantedSecretsAreRedacted(t *testing.T) {
	src := filepath.Join(repoRoot(t), "testdata/bundles/image-decode-bomb")
	clean := triageBundle(t, src)
	rep := triageBundle(t, leakcheck.PlantBundle(t, src))

	var text, js bytes.Buffer
	if err := render.Text(&text, rep, render.TextOptions{Verbose: true, HideDurations: true}); err != nil {
		t.Fatal(err)
	}
	if err := render.JSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	leakcheck.AssertClean(t, "text report", text.Bytes())
	leakcheck.AssertClean(t, "JSON report", js.Bytes())

	// Same diagnosis.
	if len(rep.Matches) == 0 || len(clean.Matches) == 0 || rep.Matches[0].ID != clean.Matches[0].ID {
		t.Fatalf("top match changed: clean %v, planted %v", ids(clean.Matches), ids(rep.Matches))
	}
	if rep.Termination.Killer != clean.Termination.Killer {
		t.Errorf("killer changed: %s → %s", clean.Termination.Killer, rep.Termination.Killer)
	}
	if rep.Verdict != clean.Verdict {
		t.Errorf("verdict changed:\n  clean   %s\n  planted %s", clean.Verdict, rep.Verdict)
	}

	// The markers are where the secrets were cited, so this test fails if
	// citation stops quoting those lines (and AssertClean passes vacuously).
	ev := rep.Evidence
	var focus *struct{ opts, cites []string }
	for _, c := range ev.Containers {
		if c.Name == ev.Target.Container {
			f := struct{ opts, cites []string }{opts: c.JVM.Options}
			for _, ci := range c.Cites {
				f.cites = append(f.cites, ci.Text)
			}
			focus = &f
		}
	}
	if focus == nil {
		t.Fatal("focus container missing from evidence")
	}
	wantIn := func(where string, list []string, marker string) {
		t.Helper()
		if !slices.ContainsFunc(list, func(s string) bool { return strings.Contains(s, marker) }) {
			t.Errorf("%s: no %q in %q", where, marker, list)
		}
	}
	wantIn("JVM options", focus.opts, "-Djavax.net.ssl.keyStorePassword=[REDACTED:password]")
	wantIn("JVM options", focus.opts, "-Dspring.datasource.url=jdbc:postgresql://app:[REDACTED:url-password]@db.internal:5432/app")
	wantIn("container citations", focus.cites, "JAVA_TOOL_OPTIONS=-Xms64m -Xmx768m -Djavax.net.ssl.keyStorePassword=[REDACTED:password]")
	wantIn("container citations", focus.cites, "jdbc:postgresql://app:[REDACTED:url-password]@")
	if len(ev.OOMErrors) == 0 {
		t.Fatal("no OOM error in evidence")
	}
	wantIn("OOM exception chain", ev.OOMErrors[0].Chain,
		"javax.imageio.IIOException: Caught exception during read: fetching https://uploader:[REDACTED:url-password]@img.example.com")
	var eventCites []string
	for _, e := range ev.Events {
		eventCites = append(eventCites, e.Message)
		for _, c := range e.Cites {
			eventCites = append(eventCites, c.Text)
		}
	}
	for _, m := range []string{"[REDACTED:email]", "[REDACTED:slack-token]", "credentials=[REDACTED:credentials]"} {
		wantIn("events", eventCites, m)
	}
	for _, m := range []string{"[REDACTED:private-key]", "runbook_token = Bearer [REDACTED:bearer]", "[REDACTED:github-token]",
		"[REDACTED:google-api-key]", "[REDACTED:aws-access-key-id] [REDACTED:aws-secret-key]"} {
		wantIn("alert", []string{rep.Alert}, m)
	}
	// The rendered forms carry them too.
	for _, m := range []string{"fetching https://uploader:[REDACTED:url-password]@", "[REDACTED:email]"} {
		if !strings.Contains(text.String(), m) {
			t.Errorf("text report lacks %q", m)
		}
	}
	if !strings.Contains(js.String(), "keyStorePassword=[REDACTED:password]") {
		t.Errorf("JSON report lacks the redacted keystore password")
	}
}

// A clean bundle is not touched: the report is byte-identical whether or
// not anything was redacted (the goldens rely on this as well).
func TestRedactionLeavesCleanBundleAlone(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata/bundles/image-decode-bomb")
	if got := triageBundle(t, dir); strings.Contains(mustJSON(t, got), "[REDACTED:") {
		t.Error("clean bundle report contains redaction markers")
	}
}

// Engine.Redactor replaces the default one.
func TestEngineRedactorOption(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata/bundles/image-decode-bomb")
	r := redact.New(redact.Options{Extra: []*regexp.Regexp{regexp.MustCompile(`IIOException`), regexp.MustCompile(`KubePodOOMKilled`)}})
	rep := triageWith(t, dir, func(e *triage.Engine) { e.Redactor = r })
	if len(rep.Evidence.OOMErrors) == 0 || !slices.ContainsFunc(rep.Evidence.OOMErrors[0].Chain, func(s string) bool {
		return strings.Contains(s, "javax.imageio.[REDACTED:custom]")
	}) {
		t.Errorf("custom redactor not applied to the evidence")
	}
	if !strings.Contains(rep.Alert, "[REDACTED:custom]") || strings.Contains(rep.Alert, "KubePodOOMKilled") {
		t.Errorf("custom redactor not applied to the alert: %q", rep.Alert)
	}
}

func ids(ms []report.Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func mustJSON(t *testing.T, r *report.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := render.JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
