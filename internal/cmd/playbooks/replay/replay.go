// Package replay triages a recorded incident bundle exactly as
// `bot triage --bundle` does, keeping what the report leaves out: the
// evidence as the playbooks saw it and every playbook's result, matched or
// not. The playbook verbs test and explain build on it so that what they
// check is what a user's triage would say.
package replay

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/playbooks"
	"github.com/oombot/oombot/internal/report"
)

// Outcome is one bundle's triage.
type Outcome struct {
	// Evidence is what the playbooks were evaluated on.
	Evidence *evidence.Evidence
	// Results holds every playbook's verdict, as Set.Evaluate orders them.
	Results []playbooks.Result
	Report  *report.Report
}

// Result returns the result of playbook id, if it was evaluated.
func (o Outcome) Result(id string) (playbooks.Result, bool) {
	for _, r := range o.Results {
		if r.ID == id {
			return r, true
		}
	}
	return playbooks.Result{}, false
}

// Bundle loads the bundle in dir and triages it with set.
func Bundle(ctx context.Context, dir string, set *playbooks.Set, logger *slog.Logger) (Outcome, error) {
	b, err := bundle.Load(dir)
	if err != nil {
		return Outcome{}, fmt.Errorf("loading bundle %s: %w", dir, err)
	}
	engine, err := factory.BundleEngine(b)
	if err != nil {
		return Outcome{}, fmt.Errorf("replaying bundle %s: %w", dir, err)
	}
	rec := &recorder{set: set}
	engine.Playbooks = rec
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	engine.Logger = logger
	rep, err := engine.Run(ctx, factory.BundleRequest(b))
	if err != nil {
		return Outcome{}, fmt.Errorf("triaging bundle %s: %w", dir, err)
	}
	if rec.ev == nil {
		return Outcome{}, fmt.Errorf("triaging bundle %s: the playbooks were not evaluated", dir)
	}
	return Outcome{Evidence: rec.ev, Results: rec.results, Report: rep}, nil
}

// recorder is the engine's matcher: it evaluates the set and keeps the
// evidence and results. The engine calls it once, after gathering, from
// the goroutine running the triage.
type recorder struct {
	set     *playbooks.Set
	ev      *evidence.Evidence
	results []playbooks.Result
}

func (r *recorder) Evaluate(ctx context.Context, ev *evidence.Evidence) []playbooks.Result {
	r.ev = ev
	r.results = r.set.Evaluate(ctx, ev)
	return r.results
}
