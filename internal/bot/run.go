package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/fleet"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/store"
	"github.com/oombot/oombot/internal/triage"
)

// triage runs one triage and posts what it found at to: the report first,
// then the chart in its thread, then the narrative. A failed triage posts
// the error, and what to do about it, at fail (for a slash command: only to
// the requester). Returns the report (nil on failure).
func (b *Bot) triage(ctx context.Context, trigger string, req fleet.Request, to, fail chat.Target, notice string) *report.Report {
	start := b.now()
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		b.post(ctx, fail, chat.Message{Text: "Triage of `" + req.Namespace + "/" + orWorkload(req) + "` was cancelled before it started: the bot is shutting down.", Ephemeral: fail.User != ""})
		return nil
	}
	id := newID()
	req.ID = id
	rep, err := b.o.Triager.Triage(ctx, req)
	<-b.sem
	log := b.log.With("triage", id, "trigger", trigger, "namespace", req.Namespace, "pod", req.Pod, "workload", req.Workload)
	if err != nil {
		b.m.triages.WithLabelValues(trigger, "error", "none").Inc()
		log.Warn("triage failed", "err", err)
		b.post(ctx, fail, chat.Message{Text: failureText(req, err), Ephemeral: fail.User != ""})
		return nil
	}
	top := store.TopPlaybook(rep)
	verdict := "diagnosed"
	if top == "none" {
		verdict = "no_match"
	}
	b.m.triages.WithLabelValues(trigger, verdict, top).Inc()
	b.m.observeSources(rep.Sources)
	rec := store.Triage{ID: id, Cluster: rep.Target.Cluster, Namespace: req.Namespace, Pod: rep.Target.Pod,
		Workload: req.Workload, Container: req.Container, Alert: req.Alert,
		Thread: chat.Ref{Channel: to.Channel, TS: to.ThreadTS}, Report: rep, At: start}
	// Read the workload's history before this triage joins it.
	msg := chat.Message{Report: rep, TriageID: id, Notice: notice}
	if prev := b.history(ctx, rec, log); prev != nil {
		msg.See = &prev.Thread
	}
	// Remember the triage before its buttons exist, so a click can never
	// arrive for a triage the store doesn't know yet.
	if err := b.o.Store.PutTriage(ctx, rec); err != nil {
		log.Warn("remember triage", "err", err)
	}
	ref, ok := b.post(ctx, to, msg)
	if !ok && fail.ResponseURL != "" {
		// The bot may not be a member of the channel; the command's
		// response URL still reaches it.
		ref, ok = b.post(ctx, chat.Target{ResponseURL: fail.ResponseURL, Channel: fail.Channel}, msg)
	}
	b.m.duration.Observe(b.now().Sub(start).Seconds())
	log.Info("report posted", "verdict", rep.Verdict, "top", top, "seconds", b.now().Sub(start).Seconds())
	if !ok {
		return rep
	}
	thread := chat.Target{Channel: ref.Channel, ThreadTS: to.ThreadTS}
	if thread.ThreadTS == "" {
		thread.ThreadTS = ref.TS
	}
	if thread.Channel == "" {
		thread.Channel = to.Channel
	}
	if rec.Thread.TS != thread.ThreadTS || rec.Thread.Channel != thread.Channel {
		rec.Thread = chat.Ref{Channel: thread.Channel, TS: thread.ThreadTS}
		if err := b.o.Store.PutTriage(ctx, rec); err != nil {
			log.Warn("remember triage", "err", err)
		}
	}
	if b.o.Chart != nil && !rep.Chart.Empty() && thread.Channel != "" {
		png, err := b.o.Chart(rep.Chart)
		if err != nil {
			log.Warn("chart", "err", err)
		} else {
			b.upload(ctx, thread, chat.File{Name: "memory-" + rep.Target.Pod + ".png", Title: "Memory of " + rep.Target.Pod, Type: "png", Data: png})
		}
	}
	if b.o.Narrator != nil && thread.Channel != "" {
		// The report is already posted: a slow or failing model can only
		// add a follow-up, never delay or change it.
		n, err := b.o.Narrator.Narrate(ctx, rep)
		switch {
		case err != nil:
			log.Info("narrative dropped", "err", err)
		case n != nil && (len(n.Statements) > 0 || len(n.Hypotheses) > 0):
			b.post(ctx, thread, chat.Message{Narrative: n, TriageID: id})
		}
	}
	return rep
}

func orWorkload(req fleet.Request) string {
	if req.Pod != "" {
		return req.Pod
	}
	return req.Workload
}

// failureText says what went wrong in words an on-call can act on.
func failureText(req fleet.Request, err error) string {
	target := "`" + req.Namespace + "/" + orWorkload(req) + "`"
	var pe *triage.PodError
	var uc *fleet.UnknownClusterError
	var np *fleet.NoPodError
	switch {
	case errors.As(err, &uc):
		return fmt.Sprintf("Can't triage %s: cluster `%s` is not configured here (configured: %s).", target, uc.Name, strings.Join(uc.Known, ", "))
	case errors.As(err, &np):
		return fmt.Sprintf("Can't triage workload %s: %s.", target, np.Why)
	case errors.As(err, &pe):
		return fmt.Sprintf("Can't triage %s: %v", target, pe.Err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("Triage of %s timed out before the pod could be read: %v", target, err)
	}
	return fmt.Sprintf("Triage of %s failed: %v", target, err)
}

// post posts m, logging and counting a failure; ok is false on failure.
func (b *Bot) post(ctx context.Context, to chat.Target, m chat.Message) (chat.Ref, bool) {
	ref, err := b.o.Platform.Post(ctx, to, m)
	if err != nil {
		b.m.posts.WithLabelValues("post").Inc()
		b.log.Error("post failed", "channel", to.Channel, "thread", to.ThreadTS, "err", err)
		return ref, false
	}
	return ref, true
}

func (b *Bot) upload(ctx context.Context, to chat.Target, f chat.File) {
	if err := b.o.Platform.Upload(ctx, to, f); err != nil {
		b.m.posts.WithLabelValues("upload").Inc()
		b.log.Error("upload failed", "channel", to.Channel, "file", f.Name, "err", err)
	}
}

// historyWindow is how far back a report looks for the workload's earlier
// triages: "3 times this week" is what an on-call SRE asks.
const historyWindow = 7 * 24 * time.Hour

// history fills rec.Report.History from the store and returns the most
// recent earlier triage of the same workload (nil when there is none). A
// store that fails costs the history line, never the report.
func (b *Bot) history(ctx context.Context, rec store.Triage, log *slog.Logger) *store.Triage {
	since := rec.At.Add(-historyWindow)
	prev, err := b.o.Store.History(ctx, store.HistoryQuery{Cluster: rec.Cluster, Namespace: rec.Namespace,
		Workload: rec.WorkloadKey(), Since: since, Limit: 100})
	if err != nil {
		log.Warn("read workload history", "err", err)
		return nil
	}
	var earlier []store.Triage
	for _, t := range prev {
		if t.ID != rec.ID {
			earlier = append(earlier, t)
		}
	}
	if len(earlier) == 0 {
		return nil
	}
	last := earlier[0]
	h := &report.History{Count: len(earlier), Since: since, LastAt: last.At, LastPlaybook: store.TopPlaybook(last.Report)}
	if last.Report != nil {
		h.LastVerdict = last.Report.Verdict
	}
	rec.Report.History = h
	if last.Thread.Channel == "" || last.Thread.TS == "" {
		return nil
	}
	return &last
}
