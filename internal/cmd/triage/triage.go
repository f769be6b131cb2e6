// Package triage implements `bot triage`: triage a pod on a live cluster or
// a recorded incident bundle, and print the report.
package triage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/narrative"
	"github.com/oombot/oombot/internal/render"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/triage"
)

// Usage is the command's help text.
const Usage = `Usage:
  bot triage --bundle DIR [-o text|json]
  bot triage POD [-n NAMESPACE] [-c CONTAINER] [--context NAME] [--kubeconfig FILE]
             [--prometheus URL] [--since 6h] [--fired-at RFC3339] [-o text|json]

Triage an OOMKilled or OutOfMemoryError pod: gather its termination, restarts,
limits and JVM flags, logs, events, rollout history and memory trends, match
the evidence against playbooks and print a diagnosis that cites its evidence.

With --bundle, no cluster and no credentials are needed: the bundle is replayed
through the same sources as a live cluster.

Narrative (optional, off by default):
  --narrative                  add a plain-language explanation written by an
                               OpenAI-compatible model (OpenAI, Azure OpenAI, vLLM, Ollama)
  --llm-base-url URL           API root including /v1 (default $OOMBOT_LLM_BASE_URL)
  --llm-model NAME             model name (default $OOMBOT_LLM_MODEL)
  --llm-anonymize              replace pod, namespace, workload, cluster and image names
                               with aliases before sending
The API key is read from $OPENAI_API_KEY only. Secrets are redacted before
anything is sent. The report is printed first and is never changed by the
narrative: in text mode the narrative follows it in its own section; with
-o json the report is one JSON document and the narrative, when it arrives
within its timeout (20s), a second one ({"schema":"oombot.narrative/v1",
"narrative":...}; read both with e.g. jq -s). A narrative failure prints one
"narrative unavailable: ..." line to stderr and does not change the exit code.
`

// Options are the parsed flags.
type Options struct {
	Bundle     string
	Pod        string
	Namespace  string
	Container  string
	Context    string
	Kubeconfig string
	Prometheus string
	Playbooks  string
	Output     string
	Since      time.Duration
	FiredAt    string
	Timeout    time.Duration
	Verbose    bool
	// Narrative enables the LLM narrative; the LLM* fields configure it.
	Narrative    bool
	LLMBaseURL   string
	LLMModel     string
	LLMAnonymize bool
}

// Run parses args and triages. The returned error is what to print; the
// exit code is 2 for usage errors, 1 otherwise.
func Run(ctx context.Context, io factory.IOStreams, args []string) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	return run(ctx, io, o)
}

// UsageError marks a command-line mistake (exit status 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func parse(args []string) (Options, error) {
	var o Options
	fs := pflag.NewFlagSet("triage", pflag.ContinueOnError)
	fs.SetOutput(discard{})
	fs.StringVar(&o.Bundle, "bundle", "", "triage a recorded incident bundle directory instead of a live cluster")
	fs.StringVarP(&o.Namespace, "namespace", "n", "", "namespace of the pod (default: the kubeconfig context's)")
	fs.StringVarP(&o.Container, "container", "c", "", "container to focus on (default: the OOMKilled one)")
	fs.StringVar(&o.Context, "context", "", "kubeconfig context")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "path to a kubeconfig file")
	fs.StringVar(&o.Prometheus, "prometheus", "", "Prometheus base URL for memory trends")
	fs.StringVar(&o.Playbooks, "playbooks", "", "directory of playbooks (default: the built-in set)")
	fs.StringVarP(&o.Output, "output", "o", "text", "output format: text or json")
	fs.DurationVar(&o.Since, "since", 6*time.Hour, "how far before the alert to read metrics")
	fs.StringVar(&o.FiredAt, "fired-at", "", "when the alert fired (RFC3339; default now, or the bundle's firedAt)")
	fs.DurationVar(&o.Timeout, "timeout", 60*time.Second, "overall deadline")
	fs.BoolVarP(&o.Verbose, "verbose", "v", false, "show every trend, event and playbook considered")
	fs.BoolVar(&o.Narrative, "narrative", false, "add an LLM narrative explaining the evidence (off by default)")
	fs.StringVar(&o.LLMBaseURL, "llm-base-url", os.Getenv("OOMBOT_LLM_BASE_URL"), "OpenAI-compatible API root including /v1")
	fs.StringVar(&o.LLMModel, "llm-model", os.Getenv("OOMBOT_LLM_MODEL"), "LLM model name")
	fs.BoolVar(&o.LLMAnonymize, "llm-anonymize", false, "send aliases instead of pod, namespace, workload, cluster and image names")
	if err := fs.Parse(args); err != nil {
		return o, &UsageError{Msg: err.Error() + "\n\n" + Usage}
	}
	rest := fs.Args()
	switch {
	case o.Bundle != "" && len(rest) > 0:
		return o, &UsageError{Msg: "give either --bundle DIR or a pod name, not both\n\n" + Usage}
	case o.Bundle == "" && len(rest) != 1:
		return o, &UsageError{Msg: "need exactly one pod name (or --bundle DIR)\n\n" + Usage}
	}
	if len(rest) == 1 {
		o.Pod = rest[0]
	}
	if o.Output != "text" && o.Output != "json" {
		return o, &UsageError{Msg: fmt.Sprintf("unknown output format %q: use text or json", o.Output)}
	}
	return o, nil
}

func run(ctx context.Context, io factory.IOStreams, o Options) error {
	set, warnings, err := factory.Playbooks(o.Playbooks)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(io.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, w := range warnings {
		logger.Warn(w)
	}
	var narrator *narrative.Narrator
	if o.Narrative {
		// A misconfigured narrative is a narrative failure like any other:
		// the triage still runs and exits as it would without it.
		narrator, err = narrative.New(narrative.Config{BaseURL: o.LLMBaseURL, Model: o.LLMModel, Anonymize: o.LLMAnonymize},
			narrative.WithLogger(logger), narrative.WithPlaybooks(set))
		if err != nil {
			narrativeFailed(io, err)
		}
	}

	var (
		engine *triage.Engine
		req    triage.Request
	)
	if o.Bundle != "" {
		b, err := bundle.Load(o.Bundle)
		if err != nil {
			return err
		}
		engine, err = factory.BundleEngine(b)
		if err != nil {
			return err
		}
		req = factory.BundleRequest(b)
		if o.Container != "" {
			req.Container = o.Container
		}
	} else {
		client, ns, ctxName, err := factory.Cluster(factory.KubeOptions{Kubeconfig: o.Kubeconfig, Context: o.Context, Namespace: o.Namespace})
		if err != nil {
			return err
		}
		engine, err = factory.LiveEngine(client, o.Prometheus)
		if err != nil {
			return err
		}
		req = triage.Request{Cluster: ctxName, Namespace: ns, Pod: o.Pod, Container: o.Container}
	}
	if o.FiredAt != "" {
		t, err := time.Parse(time.RFC3339, o.FiredAt)
		if err != nil {
			return &UsageError{Msg: fmt.Sprintf("--fired-at %q: want RFC3339, e.g. 2026-03-14T02:17:00Z", o.FiredAt)}
		}
		req.FiredAt = t
	}
	req.Lookback = o.Since
	engine.Playbooks = set
	engine.Logger = logger
	engine.Warnings = append(engine.Warnings, warnings...)
	engine.Timeouts.Overall = o.Timeout

	rep, err := engine.Run(ctx, req)
	if err != nil {
		var pe *triage.PodError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	if narrator == nil {
		if o.Output == "json" {
			return render.JSON(io.Out, rep)
		}
		return render.Text(io.Out, rep, render.TextOptions{Verbose: o.Verbose})
	}
	return withNarrative(ctx, io, o, rep, narrator)
}

// withNarrative prints the report and then its narrative. The report is
// printed (and flushed) while the model is still writing, so a slow or
// failing endpoint never delays or changes the diagnosis; in JSON mode the
// narrative is a second document after the report's.
func withNarrative(ctx context.Context, io factory.IOStreams, o Options, rep *report.Report, n *narrative.Narrator) error {
	type result struct {
		n   *narrative.Narrative
		err error
	}
	done := make(chan result, 1)
	go func() {
		nar, err := n.Narrate(ctx, rep)
		done <- result{nar, err}
	}()
	var err error
	if o.Output == "json" {
		err = render.JSON(io.Out, rep)
	} else {
		err = render.Text(io.Out, rep, render.TextOptions{Verbose: o.Verbose})
	}
	if err != nil {
		<-done
		return err
	}
	if f, ok := io.Out.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			<-done
			return err
		}
	}
	res := <-done
	if res.err != nil {
		narrativeFailed(io, res.err)
		return nil
	}
	if o.Output == "json" {
		return render.NarrativeJSON(io.Out, res.n)
	}
	if _, err := fmt.Fprintln(io.Out); err != nil {
		return err
	}
	return render.Narrative(io.Out, res.n)
}

// narrativeFailed prints the single stderr line a narrative failure gets.
func narrativeFailed(io factory.IOStreams, err error) {
	msg := strings.TrimPrefix(err.Error(), "narrative: ")
	msg = strings.Join(strings.Fields(msg), " ") // one line, whatever the error held
	fmt.Fprintln(io.Err, "narrative unavailable: "+msg)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
