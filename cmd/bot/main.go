// Command bot is oombot: it turns an OOMKilled or JVM GC alert into a
// diagnosis that cites its evidence.
//
//	bot triage --bundle examples/incidents/image-decode-bomb
//	bot triage POD -n NAMESPACE [-o json]
//	bot collect POD -n NAMESPACE -o DIR
//	bot playbooks lint|test|explain|new
//	bot serve --config config.yaml
//	bot history --config config.yaml WORKLOAD | --stats
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/oombot/oombot/internal/cmd/collect"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/cmd/history"
	"github.com/oombot/oombot/internal/cmd/playbooks"
	"github.com/oombot/oombot/internal/cmd/playbooks/cli"
	"github.com/oombot/oombot/internal/cmd/serve"
	"github.com/oombot/oombot/internal/cmd/triage"
)

const usage = `oombot: a diagnosis for every OOMKilled pod, with the evidence that shows it.

Usage:
  bot triage   triage a pod (live cluster or --bundle DIR)
  bot collect  record an incident bundle from a live cluster
  bot playbooks lint|test|explain|new
               write and check playbooks
  bot serve    run the Slack bot (--config FILE)
  bot history  a workload's past triages, or how users judged each playbook (--stats)
  bot help     show this help

Run 'bot <command> --help' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, factory.System(), os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, io factory.IOStreams, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(io.Err, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "triage":
		if wantsHelp(args[1:]) {
			fmt.Fprint(io.Out, triage.Usage)
			return 0
		}
		err = triage.Run(ctx, io, args[1:])
	case "collect":
		if wantsHelp(args[1:]) {
			fmt.Fprint(io.Out, collect.Usage)
			return 0
		}
		err = collect.Run(ctx, io, args[1:])
	case "playbooks":
		err = playbooks.Run(ctx, io, args[1:])
	case "serve":
		if wantsHelp(args[1:]) {
			fmt.Fprint(io.Out, serve.Usage)
			return 0
		}
		err = serve.Run(ctx, io, args[1:])
	case "history":
		if wantsHelp(args[1:]) {
			fmt.Fprint(io.Out, history.Usage)
			return 0
		}
		err = history.Run(ctx, io, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(io.Out, usage)
		return 0
	default:
		fmt.Fprintf(io.Err, "unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == nil {
		return 0
	}
	fmt.Fprintln(io.Err, "error:", err)
	var ue *triage.UsageError
	var ce *collect.UsageError
	var pe *cli.UsageError
	var se *serve.UsageError
	var he *history.UsageError
	if errors.As(err, &ue) || errors.As(err, &ce) || errors.As(err, &pe) || errors.As(err, &se) || errors.As(err, &he) {
		return 2
	}
	return 1
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			return true
		}
	}
	return false
}
