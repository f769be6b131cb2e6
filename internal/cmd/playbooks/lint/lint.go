// Package lint implements `bot playbooks lint`: load playbooks strictly and
// report every problem a reviewer should see, one per line.
package lint

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/cmd/playbooks/cli"
	"github.com/oombot/oombot/internal/playbooks"
)

// Usage is the verb's help text.
const Usage = `Usage:
  bot playbooks lint [PATH...] [--format text|json]

Check playbook files (or directories of them; default playbooks/) without
running them: the format (unknown fields, types, required values), CEL that
must compile and type-check against the evidence model, duplicate ids,
weights against the threshold, every field the nextSteps template reads, and
the tests: entries and their bundles.

Prints one problem per line as file:line:col: severity: message. Exits 1 when
any problem is an error; warnings alone exit 0.
`

// Options are the parsed flags.
type Options struct {
	Paths  []string
	Format string
}

// Run parses args and lints.
func Run(ctx context.Context, io factory.IOStreams, args []string) error {
	var o Options
	fs := cli.NewFlagSet("lint")
	fs.StringVar(&o.Format, "format", "text", "output format: text or json")
	if err := cli.Parse(fs, args, Usage); err != nil {
		return err
	}
	if o.Format != "text" && o.Format != "json" {
		return &cli.UsageError{Msg: fmt.Sprintf("unknown format %q: use text or json", o.Format)}
	}
	paths, err := cli.Paths(fs.Args(), Usage)
	if err != nil {
		return err
	}
	o.Paths = paths
	return run(ctx, io, o)
}

func run(_ context.Context, io factory.IOStreams, o Options) error {
	probs := playbooks.Lint(o.Paths...)
	if o.Format == "json" {
		if probs == nil {
			probs = []playbooks.Problem{}
		}
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Problems []playbooks.Problem `json:"problems"`
		}{probs}); err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
	} else {
		for _, p := range probs {
			fmt.Fprintln(io.Out, p)
		}
	}
	errs, warns := 0, 0
	for _, p := range probs {
		if p.Severity == playbooks.SeverityError {
			errs++
		} else {
			warns++
		}
	}
	if errs > 0 {
		return &cli.FailedError{Msg: fmt.Sprintf("lint: %s, %s", plural(errs, "error"), plural(warns, "warning"))}
	}
	if o.Format == "text" {
		fmt.Fprintf(io.Err, "lint: ok (%s)\n", plural(warns, "warning"))
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
