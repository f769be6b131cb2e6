package slack

import (
	"context"
	"log/slog"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/oombot/oombot/internal/chat"
)

// dispatcher turns Slack's inbound payloads into chat handler calls; both
// receivers (Socket Mode and HTTP) share it so they behave the same.
type dispatcher struct {
	h      chat.Handler
	self   Identity
	render func(chat.Message) (string, []slackapi.Block)
	log    *slog.Logger
}

// event handles an Events API callback.
func (d *dispatcher) event(ctx context.Context, outer slackevents.EventsAPIEvent, retry int) {
	cb, ok := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || outer.Type != slackevents.CallbackEvent {
		return
	}
	msg, ok := outer.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok {
		return
	}
	// Never answer ourselves: our replies arrive as message events too.
	if (d.self.BotID != "" && msg.BotID == d.self.BotID) || (d.self.UserID != "" && msg.User == d.self.UserID) {
		return
	}
	in, ok := InboundFromEvent(msg, cb.EventID, retry)
	if !ok {
		return
	}
	d.h.HandleMessage(ctx, in)
}

// command handles /oom and returns the acknowledgement body.
func (d *dispatcher) command(ctx context.Context, sc slackapi.SlashCommand) map[string]any {
	reply := d.h.HandleCommand(ctx, chat.Command{Channel: sc.ChannelID, User: sc.UserID, Command: sc.Command,
		Text: sc.Text, ResponseURL: sc.ResponseURL, TriggerID: sc.TriggerID})
	text, blocks := d.render(reply)
	body := map[string]any{"response_type": "ephemeral", "text": text}
	if !reply.Ephemeral {
		body["response_type"] = "in_channel"
	}
	if len(blocks) > 0 {
		body["blocks"] = blocks
	}
	return body
}

// interaction handles button clicks.
func (d *dispatcher) interaction(ctx context.Context, cb slackapi.InteractionCallback) {
	if cb.Type != slackapi.InteractionTypeBlockActions {
		return
	}
	thread := cb.Message.ThreadTimestamp
	if thread == "" {
		thread = cb.Message.Timestamp
	}
	for _, a := range cb.ActionCallback.BlockActions {
		if a == nil {
			continue
		}
		d.h.HandleAction(ctx, chat.Action{Channel: cb.Channel.ID, User: cb.User.ID, MessageTS: cb.Message.Timestamp,
			ThreadTS: thread, ActionID: a.ActionID, TriageID: a.Value, ResponseURL: cb.ResponseURL})
	}
}
