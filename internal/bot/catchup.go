package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/fleet"
)

// Posted is a top-level message read back from a channel's history.
type Posted struct {
	chat.Inbound
	// Replied is true when the bot has posted in the message's thread.
	Replied bool
}

// Historian reads a channel's top-level messages posted after oldest,
// oldest first, leaving out the bot's own (Slack: conversations.history).
type Historian interface {
	History(ctx context.Context, channel string, oldest time.Time) ([]Posted, error)
}

// HistorianFunc adapts a function to Historian.
type HistorianFunc func(ctx context.Context, channel string, oldest time.Time) ([]Posted, error)

// History implements Historian.
func (f HistorianFunc) History(ctx context.Context, channel string, oldest time.Time) ([]Posted, error) {
	return f(ctx, channel, oldest)
}

// CatchUpOptions say which messages a catch-up reads and what it may do.
type CatchUpOptions struct {
	// Since: older messages are not read.
	Since time.Time
	// Resume also answers alerts that a replica received but never
	// answered (it died mid-triage). That replica's triages must all have
	// ended first, or the alert could be answered twice: run a resuming
	// catch-up no sooner than the triage timeout after taking over, with
	// Before set to the takeover time.
	Resume bool
	// Before, with Resume, limits resuming to messages posted before it:
	// later ones were delivered to this replica, which answers them itself.
	Before time.Time
}

// CatchUpResult counts what a catch-up did.
type CatchUpResult struct {
	// Read is the number of messages read; Answered were alerts nobody
	// had seen (now handled as if just delivered); Resumed were alerts
	// seen but left unanswered; Skipped were alerts already handled.
	Read, Answered, Resumed, Skipped int
}

// CatchUp reads the watched channels' recent history and handles each
// alert no replica has answered, as if Slack had just delivered it. It
// covers what Socket Mode loses in a failover: alerts posted while no
// replica was connected, and alerts whose delivery went to a leader that
// died before answering. Dedup makes it safe to run while live events
// arrive: a message is handled under the same channel+ts key, whichever
// path sees it first. It returns once every alert is handed to a triage
// (the triages run in the background); a channel that cannot be read is
// reported and the others still caught up.
func (b *Bot) CatchUp(ctx context.Context, h Historian, o CatchUpOptions) (CatchUpResult, error) {
	var ids []string
	for id, ch := range b.channels {
		if ch.Watch {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var res CatchUpResult
	var errs []error
	for _, id := range ids {
		posts, err := h.History(ctx, id, o.Since)
		if err != nil {
			errs = append(errs, fmt.Errorf("catch up %s: %w", id, err))
			continue
		}
		for _, p := range posts {
			res.Read++
			b.catchUpOne(ctx, b.channels[id], p, o, &res)
		}
	}
	if res.Answered+res.Resumed > 0 || len(errs) > 0 {
		b.log.Info("caught up on missed alerts", "since", o.Since, "resume", o.Resume, "read", res.Read,
			"answered", res.Answered, "resumed", res.Resumed, "skipped", res.Skipped, "errors", len(errs))
	}
	return res, errors.Join(errs...)
}

func (b *Bot) catchUpOne(ctx context.Context, ch config.Channel, p Posted, o CatchUpOptions, res *CatchUpResult) {
	in := p.Inbound
	if in.ThreadTS != "" && in.ThreadTS != in.TS {
		return
	}
	a, ok := b.o.Parser.Parse(in.Message)
	if !ok {
		return
	}
	if p.Replied {
		res.Skipped++
		return
	}
	thread := chat.Ref{Channel: ch.ID, TS: in.Thread()}
	// The same key as HandleMessage's channel+ts key, so a live delivery
	// and the catch-up of one message dedupe against each other. (There
	// is no event id to add: the message was read, not delivered.)
	if b.firstDelivery(ctx, "msg:"+ch.ID+"/"+in.TS) {
		res.Answered++
		b.log.Info("answering an alert missed while disconnected", "channel", ch.ID, "ts", in.TS, "alert", a.Title)
		b.onAlert(ctx, ch, a, thread)
		return
	}
	// Seen by some replica, yet unanswered.
	if !o.Resume || a.State == alert.StateResolved || !postedBefore(in.TS, o.Before) {
		// A resolved alert is answered in its firing alert's thread, not
		// its own, so "no reply here" says nothing about it.
		res.Skipped++
		return
	}
	// Once only, whichever replica leads when the question comes up.
	if !b.firstDelivery(ctx, "resume:"+ch.ID+"/"+in.TS) {
		res.Skipped++
		return
	}
	res.Resumed++
	b.log.Warn("answering an alert a replica received but never answered", "channel", ch.ID, "ts", in.TS, "alert", a.Title)
	b.resume(ctx, ch, a, thread)
}

// resume handles an alert whose first handling was cut short. It is
// onAlert, except that the workload claim may already be held by this very
// thread: the replica that died claimed it for this alert, so the triage
// is still owed here.
func (b *Bot) resume(ctx context.Context, ch config.Channel, a alert.Alert, thread chat.Ref) {
	if a.Namespace == "" || (a.Pod == "" && a.Workload == "") || !ch.Allows(a.Namespace) {
		// These are answered with a note and claim nothing.
		b.onAlert(ctx, ch, a, thread)
		return
	}
	cluster := a.Cluster
	if cluster == "" {
		cluster = ch.Cluster
	}
	claimed, first, err := b.o.Store.ClaimWorkload(ctx, dedupKey(cluster, a), thread, b.now(), b.o.DedupWindow)
	if err != nil || (!claimed && (first.Channel != thread.Channel || first.TS != thread.TS)) {
		// Another thread has the workload's triage (onAlert says so), or
		// the store failed (onAlert triages anyway).
		b.onAlert(ctx, ch, a, thread)
		return
	}
	if a.Fingerprint != "" {
		if err := b.o.Store.PutAlertThread(ctx, a.Fingerprint, thread, b.now()); err != nil {
			b.log.Warn("remember alert thread", "err", err)
		}
	}
	b.m.alerts.WithLabelValues(a.Source, "triaged").Inc()
	to := chat.Target{Channel: thread.Channel, ThreadTS: thread.TS}
	req := fleet.Request{Cluster: cluster, Namespace: a.Namespace, Pod: a.Pod, Workload: a.Workload, Container: a.Container, Alert: a.Title}
	if !b.spawn(func(ctx context.Context) { b.triage(ctx, "alert", req, to, to, "") }) {
		b.log.Warn("shutting down: resumed alert not triaged", "channel", thread.Channel, "ts", thread.TS)
	}
}

// postedBefore reports whether a Slack ts ("1732365600.000100") is before
// t; true when t is zero.
func postedBefore(ts string, t time.Time) bool {
	if t.IsZero() {
		return true
	}
	at, ok := TSTime(ts)
	return ok && at.Before(t)
}

// TSTime converts a Slack message ts ("1732365600.000100": seconds and
// microseconds) to a time.
func TSTime(ts string) (time.Time, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var us int64
	if frac != "" {
		frac = (frac + "000000")[:6]
		if us, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, false
		}
	}
	return time.Unix(s, us*1000), true
}
