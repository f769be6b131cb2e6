package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/fleet"
)

// HandleMessage answers alert messages in watched channels. It returns at
// once; the triage runs in the background.
func (b *Bot) HandleMessage(ctx context.Context, in chat.Inbound) {
	ch, ok := b.channels[in.Channel]
	if !ok || !ch.Watch {
		return
	}
	// Alerts are top-level messages; replies in threads (ours included)
	// are conversation, not alerts.
	if in.ThreadTS != "" && in.ThreadTS != in.TS {
		return
	}
	a, ok := b.o.Parser.Parse(in.Message)
	if !ok {
		return
	}
	if !b.firstDelivery(ctx, deliveryKey("event:", in.EventID), "msg:"+in.Channel+"/"+in.TS) {
		b.log.Info("redelivered alert ignored", "channel", in.Channel, "ts", in.TS, "event", in.EventID, "retry", in.Retry)
		b.m.alerts.WithLabelValues(a.Source, "redelivery").Inc()
		return
	}
	b.onAlert(ctx, ch, a, chat.Ref{Channel: in.Channel, TS: in.Thread()})
}

// HandleAlert answers an alert that arrived by webhook (Alertmanager,
// Datadog) rather than as a chat message: a firing alert gets a message of
// its own in channel, and the triage in that message's thread; a resolved
// one is noted in its firing alert's thread. deliveryID dedupes the
// sender's retries. It returns at once.
func (b *Bot) HandleAlert(ctx context.Context, channel string, a alert.Alert, deliveryID string) {
	ch, ok := b.channels[channel]
	if !ok {
		b.log.Warn("webhook alert for an unconfigured channel", "channel", channel, "alert", a.Title)
		return
	}
	if deliveryID != "" && !b.firstDelivery(ctx, "webhook:"+deliveryID) {
		b.m.alerts.WithLabelValues(a.Source, "redelivery").Inc()
		return
	}
	if a.State == "resolved" {
		b.m.alerts.WithLabelValues(a.Source, "resolved").Inc()
		b.spawn(func(ctx context.Context) { b.resolved(ctx, a, chat.Ref{}) })
		return
	}
	b.spawn(func(ctx context.Context) {
		ref, ok := b.post(ctx, chat.Target{Channel: channel}, chat.Message{Text: webhookTitle(a)})
		if !ok {
			return
		}
		if ref.Channel == "" {
			ref.Channel = channel
		}
		b.onAlert(ctx, ch, a, ref)
	})
}

func webhookTitle(a alert.Alert) string {
	src := map[string]string{alert.SourceAlertmanager: "Alertmanager", alert.SourceDatadog: "Datadog"}[a.Source]
	if src == "" {
		src = a.Source
	}
	t := "🔥 " + a.Title
	if target := targetName(a); a.Namespace != "" && !strings.Contains(a.Title, target) {
		t += " — `" + target + "`"
	}
	return t + " (from " + src + ")"
}

// onAlert handles a recognised alert whose thread is known.
func (b *Bot) onAlert(ctx context.Context, ch config.Channel, a alert.Alert, thread chat.Ref) {
	log := b.log.With("channel", thread.Channel, "ts", thread.TS, "alert", a.Title, "fingerprint", a.Fingerprint)

	if a.State == "resolved" {
		b.m.alerts.WithLabelValues(a.Source, "resolved").Inc()
		b.spawn(func(ctx context.Context) { b.resolved(ctx, a, thread) })
		return
	}
	if a.Fingerprint != "" {
		if err := b.o.Store.PutAlertThread(ctx, a.Fingerprint, thread, b.now()); err != nil {
			log.Warn("remember alert thread", "err", err)
		}
	}
	to := chat.Target{Channel: thread.Channel, ThreadTS: thread.TS}
	if a.Namespace == "" || (a.Pod == "" && a.Workload == "") {
		b.m.alerts.WithLabelValues(a.Source, "incomplete").Inc()
		b.spawn(func(ctx context.Context) {
			b.post(ctx, to, chat.Message{Text: incompleteText(a)})
		})
		return
	}
	if !ch.Allows(a.Namespace) {
		b.m.alerts.WithLabelValues(a.Source, "refused").Inc()
		b.spawn(func(ctx context.Context) {
			b.post(ctx, to, chat.Message{Text: fmt.Sprintf("This channel is not allowed to triage namespace `%s` (allowed: %s). Ask an admin to add it to this channel's `namespaces` in the oombot config.",
				a.Namespace, strings.Join(ch.Namespaces, ", "))})
		})
		return
	}
	cluster := a.Cluster
	if cluster == "" {
		cluster = ch.Cluster
	}
	key := dedupKey(cluster, a)
	claimed, first, err := b.o.Store.ClaimWorkload(ctx, key, thread, b.now(), b.o.DedupWindow)
	if err != nil {
		log.Warn("dedup claim failed; triaging anyway", "err", err)
		claimed = true
	}
	if !claimed {
		b.m.alerts.WithLabelValues(a.Source, "duplicate").Inc()
		log.Info("workload already triaged in window", "key", key, "thread", first.TS)
		b.spawn(func(ctx context.Context) {
			b.post(ctx, to, chat.Message{See: &first,
				Text: fmt.Sprintf("Already triaged `%s` in the last %s: see the first thread.", targetName(a), b.o.DedupWindow)})
		})
		return
	}
	b.m.alerts.WithLabelValues(a.Source, "triaged").Inc()
	req := fleet.Request{Cluster: cluster, Namespace: a.Namespace, Pod: a.Pod, Workload: a.Workload, Container: a.Container, Alert: a.Title}
	if !b.spawn(func(ctx context.Context) { b.triage(ctx, "alert", req, to, to, "") }) {
		log.Warn("shutting down: alert not triaged")
	}
}

// dedupKey is one key per workload (or pod, when the workload is unknown):
// from the alert's target, never from anything generated.
func dedupKey(cluster string, a alert.Alert) string {
	if a.Workload != "" {
		return "workload:" + cluster + "/" + a.Namespace + "/" + a.Workload
	}
	return "pod:" + cluster + "/" + a.Namespace + "/" + a.Pod
}

func targetName(a alert.Alert) string {
	if a.Workload != "" {
		return a.Namespace + "/" + a.Workload
	}
	return a.Namespace + "/" + a.Pod
}

func (b *Bot) resolved(ctx context.Context, a alert.Alert, at chat.Ref) {
	th, ok, err := b.o.Store.AlertThread(ctx, a.Fingerprint)
	if err != nil || !ok || a.Fingerprint == "" {
		// Without the firing thread there is nothing to close; a resolved
		// alert is no reason to triage.
		b.log.Info("resolved alert without a known thread", "fingerprint", a.Fingerprint, "err", err)
		return
	}
	msg := chat.Message{Text: "✅ Resolved: " + a.Title}
	if at.TS != "" {
		msg.See = &at
	}
	b.post(ctx, chat.Target{Channel: th.Channel, ThreadTS: th.TS}, msg)
}

func incompleteText(a alert.Alert) string {
	missing := strings.Join(a.Missing, ", ")
	if missing == "" {
		missing = "namespace and pod"
	}
	return fmt.Sprintf("This looks like a memory alert (%s), but I can't tell which pod it is about: %s not found in the message. "+
		"Add them to the alert (Alertmanager: labels `namespace` and `pod` in the title or text; Datadog: tags `kube_namespace` and `pod_name`), "+
		"or run `/oom triage <pod> -n <namespace>`.", a.Title, missing)
}
