// Package explain implements `bot playbooks explain`: evaluate one playbook
// on one bundle and show every signal's and veto's value, so an author sees
// why it matched or not.
package explain

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/cmd/playbooks/cli"
	"github.com/oombot/oombot/internal/cmd/playbooks/replay"
	"github.com/oombot/oombot/internal/playbooks"
)

// Usage is the verb's help text.
const Usage = `Usage:
  bot playbooks explain ID --bundle DIR [--playbooks DIR|FILE] [-o text|json]

Triage the bundle as 'bot triage --bundle' does and show, for playbook ID,
each signal (weight, required, CEL expression, the evidence items it returned
or its error, fired or not), each excludeWhen entry the same way, then the
confidence against the threshold and the verdict.

--playbooks defaults to the built-in set.
`

// Options are the parsed flags.
type Options struct {
	ID        string
	Bundle    string
	Playbooks string
	Output    string
}

// Run parses args and explains.
func Run(ctx context.Context, io factory.IOStreams, args []string) error {
	var o Options
	fs := cli.NewFlagSet("explain")
	fs.StringVar(&o.Bundle, "bundle", "", "incident bundle directory (required)")
	fs.StringVar(&o.Playbooks, "playbooks", "", "playbook directory or file (default: the built-in set)")
	fs.StringVarP(&o.Output, "output", "o", "text", "output format: text or json")
	if err := cli.Parse(fs, args, Usage); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return &cli.UsageError{Msg: "need exactly one playbook id\n\n" + Usage}
	case o.Bundle == "":
		return &cli.UsageError{Msg: "need --bundle DIR\n\n" + Usage}
	case o.Output != "text" && o.Output != "json":
		return &cli.UsageError{Msg: fmt.Sprintf("unknown output format %q: use text or json", o.Output)}
	}
	o.ID = fs.Arg(0)
	return run(ctx, io, o)
}

func loadSet(path string) (*playbooks.Set, error) {
	if path == "" {
		set, _, err := factory.Playbooks("")
		return set, err
	}
	set, err := playbooks.LoadPaths(path)
	if err != nil {
		// An author explaining a playbook wants to know it is broken,
		// not a verdict from the half that loaded.
		return nil, fmt.Errorf("loading playbooks (run bot playbooks lint):\n%w", err)
	}
	return set, nil
}

func run(ctx context.Context, io factory.IOStreams, o Options) error {
	set, err := loadSet(o.Playbooks)
	if err != nil {
		return err
	}
	if _, ok := set.Playbook(o.ID); !ok {
		return &cli.UsageError{Msg: fmt.Sprintf("no playbook %q (have: %s)", o.ID, strings.Join(set.IDs(), ", "))}
	}
	out, err := replay.Bundle(ctx, o.Bundle, set, nil)
	if err != nil {
		return err
	}
	x, err := set.Explain(ctx, out.Evidence, o.ID)
	if err != nil {
		return err
	}
	if o.Output == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
		return nil
	}
	return writeText(io.Out, o, x)
}

func writeText(w io.Writer, o Options, x playbooks.Explanation) error {
	r := x.Result
	p := &printer{w: w}
	p.f("%s — %s\n", r.ID, r.Title)
	p.f("playbook: %s\nbundle:   %s\n", x.Source, o.Bundle)
	p.f("\nsignals:\n")
	for _, s := range x.Signals {
		req := ""
		if s.Required {
			req = ", required"
		}
		p.f("\n  %s %s (weight %.2f%s)\n", mark(s), s.Name, s.Weight, req)
		p.outcome(s)
	}
	if len(x.Vetoes) > 0 {
		p.f("\nexcludeWhen:\n")
		for _, v := range x.Vetoes {
			p.f("\n  %s %s (veto)\n", mark(v), v.Name)
			p.outcome(v)
		}
	}
	verdict := "no match"
	if r.Matched {
		verdict = "MATCH"
	}
	p.f("\nconfidence %.2f, threshold %.2f: %s: %s\n", r.Confidence, r.Threshold, verdict, r.Why)
	for _, e := range r.Errors {
		p.f("error: %s\n", e)
	}
	return p.err
}

func mark(e playbooks.ExprOutcome) string {
	switch {
	case e.Error != "":
		return "[error]"
	case e.Fired:
		return "[fired]"
	default:
		return "[ -- ]"
	}
}

// printer keeps the first write error so the layout code stays readable.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) outcome(e playbooks.ExprOutcome) {
	p.f("      %s\n", e.Description)
	p.f("      expr:  %s\n", indent(e.Expr, "             "))
	switch {
	case e.Error != "":
		p.f("      error: %s\n", e.Error)
	case len(e.Items) == 0:
		p.f("      value: []\n")
	default:
		p.f("      value: %d item(s)\n", len(e.Items))
		for _, it := range e.Items {
			p.f("        - %s: %s\n", it.ID, it.Summary)
		}
	}
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}
