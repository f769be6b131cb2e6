package slack

import (
	"context"
	"errors"
	"log/slog"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/oombot/oombot/internal/chat"
)

// SocketOptions configure the Socket Mode receiver.
type SocketOptions struct {
	// PingInterval is how long without a ping from Slack counts as a dead
	// connection (slack-go's default when zero).
	PingInterval time.Duration
	Logger       *slog.Logger
	// OnConnected, when set, is told each time the connection comes up
	// (true) or goes down (false), for readiness probes.
	OnConnected func(up bool)
}

// RunSocket receives events, commands and interactions over Socket Mode
// until ctx ends, reconnecting when Slack asks (disconnect/refresh) or the
// connection drops. Each envelope is handled, then acknowledged: an event
// lost with a dropped connection is redelivered by Slack, and the handler
// dedupes redeliveries.
func (c *Client) RunSocket(ctx context.Context, h chat.Handler, o SocketOptions) error {
	if c.appToken == "" {
		return errors.New("slack: socket mode needs an app-level token (SLACK_APP_TOKEN, xapp-…)")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var smOpts []socketmode.Option
	if o.PingInterval > 0 {
		smOpts = append(smOpts, socketmode.OptionPingInterval(o.PingInterval))
	}
	smc := socketmode.New(c.api, smOpts...)
	d := &dispatcher{h: h, self: c.id, render: c.render, log: log}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- smc.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			<-errc
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt := <-smc.Events:
			c.socketEvent(ctx, smc, d, evt, log, o.OnConnected)
		}
	}
}

func (c *Client) socketEvent(ctx context.Context, smc *socketmode.Client, d *dispatcher, evt socketmode.Event, log *slog.Logger, onConnected func(bool)) {
	if onConnected == nil {
		onConnected = func(bool) {}
	}
	ack := func(payload any) {
		if evt.Request == nil {
			return
		}
		var err error
		if payload != nil {
			err = smc.AckCtx(ctx, evt.Request.EnvelopeID, payload)
		} else {
			err = smc.AckCtx(ctx, evt.Request.EnvelopeID, nil)
		}
		if err != nil {
			log.Warn("socket mode ack failed", "envelope", evt.Request.EnvelopeID, "err", err)
		}
	}
	switch evt.Type {
	case socketmode.EventTypeConnecting, socketmode.EventTypeHello:
	case socketmode.EventTypeConnected:
		log.Info("slack socket mode connected")
		onConnected(true)
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		log.Warn("slack socket mode error", "type", evt.Type, "data", evt.Data)
		onConnected(false)
	case socketmode.EventTypeDisconnect:
		log.Info("slack asked to reconnect")
		onConnected(false)
	case socketmode.EventTypeErrorBadMessage:
		// A payload slack-go could not parse (e.g. a block type it does not
		// know). Ack it so Slack does not redeliver it forever; say so.
		log.Warn("unparseable slack payload dropped", "data", evt.Data)
		ack(nil)
	case socketmode.EventTypeEventsAPI:
		outer, ok := evt.Data.(slackevents.EventsAPIEvent)
		retry := 0
		if evt.Request != nil {
			retry = evt.Request.RetryAttempt
		}
		if ok {
			d.event(ctx, outer, retry)
		}
		ack(nil)
	case socketmode.EventTypeSlashCommand:
		sc, ok := evt.Data.(slackapi.SlashCommand)
		if !ok {
			ack(nil)
			return
		}
		ack(d.command(ctx, sc))
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slackapi.InteractionCallback)
		if ok {
			d.interaction(ctx, cb)
		}
		ack(nil)
	default:
		if evt.Request != nil {
			ack(nil)
		}
	}
}
