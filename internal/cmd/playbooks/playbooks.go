// Package playbooks implements `bot playbooks`, the playbook authoring
// commands. Each verb lives in its own package (lint, test, explain, new)
// with its own flags and usage; this package only dispatches.
package playbooks

import (
	"context"
	"fmt"

	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/cmd/playbooks/cli"
	"github.com/oombot/oombot/internal/cmd/playbooks/explain"
	"github.com/oombot/oombot/internal/cmd/playbooks/lint"
	newcmd "github.com/oombot/oombot/internal/cmd/playbooks/new"
	"github.com/oombot/oombot/internal/cmd/playbooks/test"
)

// Usage is the command's help text.
const Usage = `Usage:
  bot playbooks lint [PATH...] [--format text|json]    check playbooks without running them
  bot playbooks test [PATH...] [--bundles DIR]...      run their tests: and the false-positive sweep
  bot playbooks explain ID --bundle DIR [--playbooks DIR]
                                                       show each signal's value on a bundle
  bot playbooks new ID [--bundle DIR] [--dir playbooks]
                                                       scaffold a playbook that passes lint

PATH is a playbook file or a directory of them (default: playbooks/).
Run 'bot playbooks <verb> --help' for a verb's flags.
`

type verb struct {
	usage string
	run   func(context.Context, factory.IOStreams, []string) error
}

var verbs = map[string]verb{
	"lint":    {lint.Usage, lint.Run},
	"test":    {test.Usage, test.Run},
	"explain": {explain.Usage, explain.Run},
	"new":     {newcmd.Usage, newcmd.Run},
}

// Run dispatches to a verb. Errors are a *cli.UsageError (exit status 2),
// a *cli.FailedError (problems found and printed; exit status 1) or any
// other error (exit status 1).
func Run(ctx context.Context, io factory.IOStreams, args []string) error {
	if len(args) == 0 {
		return &cli.UsageError{Msg: "need a verb\n\n" + Usage}
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(io.Out, Usage)
		return nil
	}
	v, ok := verbs[args[0]]
	if !ok {
		return &cli.UsageError{Msg: fmt.Sprintf("unknown verb %q\n\n%s", args[0], Usage)}
	}
	for _, a := range args[1:] {
		if a == "-h" || a == "--help" {
			fmt.Fprint(io.Out, v.usage)
			return nil
		}
	}
	return v.run(ctx, io, args[1:])
}
