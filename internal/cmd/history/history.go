// Package history implements `bot history`: what the bot remembers about a
// workload's triages, and how users judged each playbook's diagnoses, read
// from the store the bot's config names.
package history

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/store"
	"github.com/oombot/oombot/internal/store/sqlstore"
)

// Usage is the command's help text.
const Usage = `Usage:
  bot history --config FILE [--cluster NAME] [-n NAMESPACE] [--since 168h] [--limit 50] [--json] WORKLOAD
  bot history --config FILE --stats [--since 720h] [--json]

Show what the bot remembers. With a WORKLOAD (Deployment or StatefulSet
name, or a pod name when the owner was unknown): its triages, newest first,
with the top match, how users judged it and the thread. With --stats: for
each playbook, how many triages had it as top match and how users judged
them (precision = helpful / (helpful + wrong)).

It reads the store of the bot's config (store.driver sqlite or postgres; the
PostgreSQL DSN comes from OOMBOT_POSTGRES_DSN) and never writes to it.
`

// UsageError marks a command-line mistake (exit status 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

type options struct {
	Config, Cluster, Namespace string
	Since                      time.Duration
	Limit                      int
	JSON, Stats                bool
}

// Default windows: a week of one workload's incidents; a month of
// judgements, enough to say whether a playbook is trusted.
const (
	defaultHistorySince = 7 * 24 * time.Hour
	defaultStatsSince   = 30 * 24 * time.Hour
)

// Run parses args and prints the history or the stats.
func Run(ctx context.Context, io factory.IOStreams, args []string) error {
	return run(ctx, io, args, os.Getenv, time.Now())
}

// run is Run with the environment and clock injected.
func run(ctx context.Context, streams factory.IOStreams, args []string, getenv func(string) string, now time.Time) error {
	var o options
	fs := pflag.NewFlagSet("history", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Config, "config", "", "the bot's config file (required)")
	fs.StringVar(&o.Cluster, "cluster", "", "only triages in this cluster")
	fs.StringVarP(&o.Namespace, "namespace", "n", "", "only triages in this namespace")
	fs.DurationVar(&o.Since, "since", 0, "how far back to look (default 168h, with --stats 720h; 0: everything kept)")
	fs.IntVar(&o.Limit, "limit", 50, "at most this many triages")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
	fs.BoolVar(&o.Stats, "stats", false, "per-playbook feedback instead of one workload's triages")
	if err := fs.Parse(args); err != nil {
		return &UsageError{Msg: err.Error() + "\n\n" + Usage}
	}
	switch {
	case o.Config == "":
		return &UsageError{Msg: "--config FILE is required\n\n" + Usage}
	case o.Stats && fs.NArg() != 0:
		return &UsageError{Msg: "--stats covers every workload: drop " + strings.Join(fs.Args(), " ") + "\n\n" + Usage}
	case o.Stats && (o.Cluster != "" || o.Namespace != ""):
		return &UsageError{Msg: "--stats covers every cluster and namespace: drop --cluster and -n\n\n" + Usage}
	case !o.Stats && fs.NArg() != 1:
		return &UsageError{Msg: "need one workload name (or --stats)\n\n" + Usage}
	case o.Since < 0:
		return &UsageError{Msg: "--since must not be negative\n\n" + Usage}
	case o.Limit <= 0:
		return &UsageError{Msg: "--limit must be positive\n\n" + Usage}
	}
	if !fs.Changed("since") {
		o.Since = defaultHistorySince
		if o.Stats {
			o.Since = defaultStatsSince
		}
	}
	var since time.Time
	if o.Since > 0 {
		since = now.Add(-o.Since)
	}
	cfg, err := config.Load(o.Config, getenv)
	if err != nil {
		return err
	}
	// The memory driver is sqlstore.ErrMemory: it keeps nothing to show.
	s, err := sqlstore.OpenPersistent(ctx, cfg.Store, sqlstore.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	if o.Stats {
		return stats(ctx, streams.Out, s, since, o.JSON)
	}
	return history(ctx, streams.Out, s, store.HistoryQuery{Cluster: o.Cluster, Namespace: o.Namespace, Workload: fs.Arg(0), Since: since, Limit: o.Limit}, o.JSON)
}

// entry is one triage as printed.
type entry struct {
	ID          string    `json:"id"`
	At          time.Time `json:"at"`
	Cluster     string    `json:"cluster"`
	Namespace   string    `json:"namespace"`
	Pod         string    `json:"pod"`
	Workload    string    `json:"workload"`
	Verdict     string    `json:"verdict"`
	TopPlaybook string    `json:"topPlaybook"`
	// Confidence is the top match's; 0 when nothing matched.
	Confidence float64  `json:"confidence"`
	Thread     thread   `json:"thread"`
	Feedback   feedback `json:"feedback"`
}

type thread struct {
	Channel   string `json:"channel"`
	TS        string `json:"ts"`
	Permalink string `json:"permalink,omitempty"`
}

type feedback struct {
	Helpful int `json:"helpful"`
	Wrong   int `json:"wrong"`
}

func history(ctx context.Context, w io.Writer, s *sqlstore.Store, q store.HistoryQuery, asJSON bool) error {
	ts, err := s.History(ctx, q)
	if err != nil {
		return err
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	counts, err := s.FeedbackCounts(ctx, ids)
	if err != nil {
		return err
	}
	entries := make([]entry, 0, len(ts))
	for _, t := range ts {
		e := entry{ID: t.ID, At: t.At.UTC(), Cluster: t.Cluster, Namespace: t.Namespace, Pod: t.Pod, Workload: t.WorkloadKey(),
			TopPlaybook: store.TopPlaybook(t.Report), Thread: thread{Channel: t.Thread.Channel, TS: t.Thread.TS, Permalink: t.Thread.Permalink},
			Feedback: feedback{Helpful: counts[t.ID].Helpful, Wrong: counts[t.ID].Wrong}}
		if t.Report != nil {
			e.Verdict = t.Report.Verdict
			if len(t.Report.Matches) > 0 {
				e.Confidence = t.Report.Matches[0].Confidence
			}
		}
		entries = append(entries, e)
	}
	if asJSON {
		return writeJSON(w, entries)
	}
	scope := ""
	if q.Cluster != "" {
		scope += ", cluster " + q.Cluster
	}
	if q.Namespace != "" {
		scope += ", namespace " + q.Namespace
	}
	if len(entries) == 0 {
		_, err := fmt.Fprintf(w, "No triages of %s%s %s.\n", q.Workload, scope, sinceText(q.Since))
		return err
	}
	fmt.Fprintf(w, "Triages of %s%s %s, newest first: %d\n\n", q.Workload, scope, sinceText(q.Since), len(entries))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tCLUSTER/NAMESPACE/POD\tVERDICT\tTOP MATCH\tFEEDBACK\tTHREAD")
	for _, e := range entries {
		top := e.TopPlaybook
		if e.Confidence > 0 {
			top += fmt.Sprintf(" (%.2f)", e.Confidence)
		}
		fmt.Fprintf(tw, "%s\t%s/%s/%s\t%s\t%s\t%s\t%s\n", e.At.Format(timeFormat), dash(e.Cluster), dash(e.Namespace), dash(e.Pod),
			dash(clip(e.Verdict, 60)), top, feedbackText(e.Feedback), threadText(e.Thread))
	}
	return tw.Flush()
}

// stat is one playbook's line as printed.
type stat struct {
	Playbook string `json:"playbook"`
	Triages  int    `json:"triages"`
	Judged   int    `json:"judged"`
	Helpful  int    `json:"helpful"`
	Wrong    int    `json:"wrong"`
	// Precision is null when nobody judged.
	Precision *float64 `json:"precision"`
}

func stats(ctx context.Context, w io.Writer, s *sqlstore.Store, since time.Time, asJSON bool) error {
	ps, err := s.FeedbackStats(ctx, since)
	if err != nil {
		return err
	}
	out := make([]stat, 0, len(ps))
	for _, p := range ps {
		st := stat{Playbook: p.Playbook, Triages: p.Triages, Judged: p.Judged, Helpful: p.Helpful, Wrong: p.Wrong}
		if pr := p.Precision(); pr >= 0 {
			st.Precision = &pr
		}
		out = append(out, st)
	}
	if asJSON {
		return writeJSON(w, out)
	}
	if len(out) == 0 {
		_, err := fmt.Fprintf(w, "No triages %s.\n", sinceText(since))
		return err
	}
	fmt.Fprintf(w, "How users judged each playbook's diagnoses, triages %s\n", sinceText(since))
	fmt.Fprintf(w, "(a triage counts for its top match; precision = helpful / (helpful + wrong))\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAYBOOK\tTRIAGES\tJUDGED\tHELPFUL\tWRONG\tPRECISION")
	for _, st := range out {
		pr := "–"
		if st.Precision != nil {
			pr = fmt.Sprintf("%.0f%%", *st.Precision*100)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", st.Playbook, st.Triages, st.Judged, st.Helpful, st.Wrong, pr)
	}
	return tw.Flush()
}

// timeFormat is UTC to the minute: replicas and readers may sit in
// different zones, and Slack shows its own local times.
const timeFormat = "2006-01-02 15:04 MST"

func sinceText(since time.Time) string {
	if since.IsZero() {
		return "(all kept)"
	}
	return "since " + since.UTC().Format(timeFormat)
}

func feedbackText(f feedback) string {
	if f.Helpful+f.Wrong == 0 {
		return "–"
	}
	return fmt.Sprintf("%d helpful, %d wrong", f.Helpful, f.Wrong)
}

func threadText(t thread) string {
	switch {
	case t.Permalink != "":
		return t.Permalink
	case t.Channel != "" && t.TS != "":
		return t.Channel + "/" + t.TS
	case t.Channel != "":
		return t.Channel
	}
	return "–"
}

// clip shortens s to n runes; the full text is in --json.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
