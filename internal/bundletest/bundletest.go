// Package bundletest runs the real engine over recorded incident bundles
// in tests, exactly as `bot triage --bundle` does: the bundle's fake
// clientset and Prometheus replay, and the shipped playbooks. Tests across
// the tree share it so each one asserts on the same path users run.
package bundletest

import (
	"context"
	"testing"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/triage"
)

// Engine loads the bundle in dir and returns its engine, with the shipped
// playbooks, for tests that change a source before running it.
func Engine(t testing.TB, dir string) (*triage.Engine, *bundle.Bundle) {
	t.Helper()
	b, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := factory.BundleEngine(b)
	if err != nil {
		t.Fatal(err)
	}
	set, warnings, err := factory.Playbooks("")
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Fatalf("shipped playbooks rejected: %v", warnings)
	}
	e.Playbooks = set
	return e, b
}

// Triage runs the bundle in dir and returns its report, with source
// durations zeroed so rendered output is stable.
func Triage(t testing.TB, dir string) *report.Report {
	t.Helper()
	e, b := Engine(t, dir)
	rep, err := e.Run(context.Background(), factory.BundleRequest(b))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rep.Sources {
		rep.Sources[i].Duration = 0
	}
	return rep
}
