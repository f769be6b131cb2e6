// Package test implements `bot playbooks test`: run every playbook's tests:
// cases through the real triage path, then sweep every playbook over every
// known incident bundle for matches nobody expected.
package test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/cmd/playbooks/cli"
	"github.com/oombot/oombot/internal/cmd/playbooks/replay"
	"github.com/oombot/oombot/internal/playbooks"
	v1 "github.com/oombot/oombot/internal/playbooks/v1"
)

// Usage is the verb's help text.
const Usage = `Usage:
  bot playbooks test [PATH...] [--bundles DIR]...

Run each playbook's tests: cases (default: playbooks/). Every bundle is
triaged exactly as 'bot triage --bundle' does, once, and every playbook is
evaluated on its evidence. A case passes when the playbook matches (or not)
as expected, with at least minConfidence and with the listed signals fired.

Then the false-positive sweep: every playbook against every bundle under the
repository's testdata/bundles/ and examples/incidents/ (or the --bundles
directories: a bundle, or a directory of bundles). A match on a bundle the
playbook's tests do not list is a failure: it fires on an unrelated incident.

Exits 1 when any case or the sweep fails.
`

// SweepDirs are the directories, relative to the repository root, whose
// bundles the false-positive sweep uses by default.
var SweepDirs = []string{"testdata/bundles", "examples/incidents"}

// Options are the parsed flags.
type Options struct {
	Paths   []string
	Bundles []string
}

// Run parses args and runs the tests.
func Run(ctx context.Context, io factory.IOStreams, args []string) error {
	var o Options
	fs := cli.NewFlagSet("test")
	fs.StringArrayVar(&o.Bundles, "bundles", nil, "bundle, or directory of bundles, for the false-positive sweep (repeatable; default: the repository's testdata/bundles and examples/incidents)")
	if err := cli.Parse(fs, args, Usage); err != nil {
		return err
	}
	paths, err := cli.Paths(fs.Args(), Usage)
	if err != nil {
		return err
	}
	o.Paths = paths
	return run(ctx, io, o)
}

// triaged is one bundle's triage, shared by every case and the sweep.
type triaged struct {
	name string // as shown: relative to the working directory when possible
	out  replay.Outcome
	err  error
}

func run(ctx context.Context, io factory.IOStreams, o Options) error {
	set, err := playbooks.LoadPaths(o.Paths...)
	if err != nil {
		fmt.Fprintln(io.Out, err)
		return &cli.FailedError{Msg: "test: playbooks do not load (run bot playbooks lint)"}
	}
	sweep, err := sweepBundles(o)
	if err != nil {
		return err
	}

	// Every bundle once, keyed by absolute path: tests name them relative
	// to their playbook, the sweep relative to the repository.
	bundles := map[string]*triaged{}
	var order []string
	add := func(dir string) string {
		key := absPath(dir)
		if _, ok := bundles[key]; !ok {
			bundles[key] = &triaged{name: displayPath(key)}
			order = append(order, key)
		}
		return key
	}
	for _, pb := range set.Playbooks() {
		for _, t := range pb.Spec().Tests {
			add(pb.TestBundle(t))
		}
	}
	for _, dir := range sweep {
		add(dir)
	}
	triageAll(ctx, set, bundles, order)

	failed := 0
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAYBOOK\tBUNDLE\tEXPECTED\tGOT\tCONFIDENCE\tRESULT")
	cases := 0
	for _, pb := range set.Playbooks() {
		for _, t := range pb.Spec().Tests {
			cases++
			b := bundles[absPath(pb.TestBundle(t))]
			expected := t.Expect
			if t.MinConfidence > 0 {
				expected += fmt.Sprintf(" ≥ %.2f", t.MinConfidence)
			}
			if b.err != nil {
				failed++
				fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\tFAIL: %v\n", pb.ID(), b.name, expected, b.err)
				continue
			}
			r, _ := b.out.Result(pb.ID())
			c := playbooks.CheckCase(t, r)
			result := "ok"
			if !c.Pass {
				failed++
				result = "FAIL: " + c.Reason
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\n", pb.ID(), b.name, expected, c.Got, r.Confidence, result)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}

	unexpected := sweepFailures(set, bundles, order)
	fmt.Fprintf(io.Out, "\nfalse-positive sweep: %d playbooks × %d bundles: ", len(set.Playbooks()), len(order))
	if len(unexpected) == 0 {
		fmt.Fprintln(io.Out, "no unexpected match")
	} else {
		fmt.Fprintf(io.Out, "%d failures\n", len(unexpected))
		tw = tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PLAYBOOK\tBUNDLE\tCONFIDENCE\tRESULT")
		for _, u := range unexpected {
			fmt.Fprintln(tw, u)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("writing results: %w", err)
		}
	}
	if failed > 0 || len(unexpected) > 0 {
		return &cli.FailedError{Msg: fmt.Sprintf("test: %d of %d cases failed, %d sweep failures", failed, cases, len(unexpected))}
	}
	fmt.Fprintf(io.Out, "ok: %d cases passed\n", cases)
	return nil
}

// sweepFailures lists, as table rows, every match of a playbook on a bundle
// its tests do not list, and every bundle that could not be triaged.
func sweepFailures(set *playbooks.Set, bundles map[string]*triaged, order []string) []string {
	var rows []string
	for _, key := range order {
		b := bundles[key]
		if b.err != nil {
			rows = append(rows, fmt.Sprintf("-\t%s\t-\tFAIL: %v", b.name, b.err))
			continue
		}
		for _, pb := range set.Playbooks() {
			r, ok := b.out.Result(pb.ID())
			if !ok || !r.Matched || listed(pb, key) {
				continue
			}
			rows = append(rows, fmt.Sprintf("%s\t%s\t%.2f\tFAIL: fires on an unrelated incident (%s); if it should match, add the bundle to its tests", pb.ID(), b.name, r.Confidence, r.Why))
		}
	}
	return rows
}

// listed reports whether the playbook's tests name the bundle at key. A
// bundle listed with expect: no-match that matches already fails its case.
func listed(pb *playbooks.Playbook, key string) bool {
	return slices.ContainsFunc(pb.Spec().Tests, func(t v1.Test) bool { return absPath(pb.TestBundle(t)) == key })
}

// triageAll triages the bundles concurrently, at most one per CPU: each
// triage is CPU-bound (parsing logs, GC logs and metrics).
func triageAll(ctx context.Context, set *playbooks.Set, bundles map[string]*triaged, order []string) {
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for _, key := range order {
		b := bundles[key]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			b.out, b.err = replay.Bundle(ctx, key, set, nil)
		}()
	}
	wg.Wait()
}

// sweepBundles lists the bundle directories of the sweep.
func sweepBundles(o Options) ([]string, error) {
	roots := o.Bundles
	if len(roots) == 0 {
		repo := cli.RepoRoot(o.Paths[0])
		if repo == "" {
			return nil, &cli.UsageError{Msg: "cannot find the repository root (go.mod) above " + o.Paths[0] + ": give --bundles DIR for the false-positive sweep\n\n" + Usage}
		}
		for _, d := range SweepDirs {
			if fi, err := os.Stat(filepath.Join(repo, d)); err == nil && fi.IsDir() {
				roots = append(roots, filepath.Join(repo, d))
			}
		}
	}
	var dirs []string
	for _, root := range roots {
		if isBundle(root) {
			dirs = append(dirs, root)
			continue
		}
		entries, err := os.ReadDir(root)
		if err != nil {
			return nil, &cli.UsageError{Msg: fmt.Sprintf("--bundles %s: %v", root, err)}
		}
		n := 0
		for _, e := range entries {
			if d := filepath.Join(root, e.Name()); e.IsDir() && isBundle(d) {
				dirs = append(dirs, d)
				n++
			}
		}
		if n == 0 {
			return nil, &cli.UsageError{Msg: fmt.Sprintf("--bundles %s: neither a bundle nor a directory of bundles (no bundle.yaml)", root)}
		}
	}
	slices.SortFunc(dirs, func(a, b string) int { return cmp.Compare(a, b) })
	return dirs, nil
}

func isBundle(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "bundle.yaml"))
	return err == nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// displayPath shows a bundle relative to the working directory when it is
// below it, as a user would type it.
func displayPath(abs string) string {
	wd, err := os.Getwd()
	if err != nil {
		return abs
	}
	if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return abs
}
