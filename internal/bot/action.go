package bot

import (
	"context"

	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/fleet"
	"github.com/oombot/oombot/internal/render"
	"github.com/oombot/oombot/internal/store"
)

// HandleAction handles the buttons under a report.
func (b *Bot) HandleAction(ctx context.Context, a chat.Action) {
	t, ok, err := b.o.Store.GetTriage(ctx, a.TriageID)
	private := chat.Target{Channel: a.Channel, User: a.User, ResponseURL: a.ResponseURL}
	if err != nil || !ok {
		b.log.Info("action for an unknown triage", "action", a.ActionID, "triage", a.TriageID, "err", err)
		b.spawn(func(ctx context.Context) {
			b.post(ctx, private, chat.Message{Ephemeral: true,
				Text: "I no longer remember that triage (the bot restarted or it is too old). Run `/oom triage <pod>` again."})
		})
		return
	}
	thread := chat.Target{Channel: t.Thread.Channel, ThreadTS: t.Thread.TS}
	top := store.TopPlaybook(t.Report)
	log := b.log.With("triage", t.ID, "user", a.User, "action", a.ActionID, "playbook", top)
	switch a.ActionID {
	case chat.ActionRerun:
		req := fleet.Request{Cluster: t.Cluster, Namespace: t.Namespace, Pod: t.Pod, Container: t.Container, Alert: t.Alert}
		log.Info("re-run requested")
		b.spawn(func(ctx context.Context) {
			b.triage(ctx, "rerun", req, thread, private, "Re-run by <@"+a.User+">")
		})
	case chat.ActionHelpful, chat.ActionWrong:
		judgement := store.Helpful
		if a.ActionID == chat.ActionWrong {
			judgement = store.Wrong
		}
		b.m.feedback.WithLabelValues(top, judgement).Inc()
		verdict := ""
		if t.Report != nil {
			verdict = t.Report.Verdict
		}
		log.Info("feedback", "judgement", judgement, "verdict", verdict)
		if err := b.o.Store.PutFeedback(ctx, store.Feedback{TriageID: t.ID, User: a.User, Judgement: judgement, Playbook: top, At: b.now()}); err != nil {
			log.Warn("remember feedback", "err", err)
		}
		b.spawn(func(ctx context.Context) {
			b.post(ctx, private, chat.Message{Ephemeral: true, Text: "Thanks, recorded your feedback (" + judgement + ") on `" + top + "`."})
		})
	case chat.ActionEvidence:
		if t.Report == nil || t.Report.Evidence == nil {
			// A store keeps a report without its evidence when the evidence
			// is too large to keep; say so rather than upload "null".
			b.spawn(func(ctx context.Context) {
				b.post(ctx, private, chat.Message{Ephemeral: true,
					Text: "The raw evidence of this triage was too large to keep. Press Re-run triage to gather it again."})
			})
			return
		}
		b.spawn(func(ctx context.Context) {
			b.upload(ctx, thread, chat.File{Name: "evidence-" + t.ID + ".json", Title: "Raw evidence for " + t.Pod, Type: "text", Data: render.EvidenceJSON(t.Report)})
		})
	default:
		log.Info("unknown action ignored")
	}
}
