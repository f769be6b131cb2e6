package slackserver

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// socketClient runs slack-go's Socket Mode client against srv until the
// test ends.
type socketClient struct {
	smc *socketmode.Client
}

func startSocket(t *testing.T, srv *Server, opts ...socketmode.Option) *socketClient {
	t.Helper()
	opts = append([]socketmode.Option{socketmode.OptionPingInterval(time.Hour)}, opts...)
	smc := socketmode.New(client(srv, srv.BotToken), opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = smc.RunContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &socketClient{smc: smc}
}

// next returns the next event of type typ, skipping connection events.
func (c *socketClient) next(t *testing.T, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case evt := <-c.smc.Events:
			if evt.Type == typ {
				return evt
			}
		case <-timeout:
			t.Fatalf("no %s event within 5s", typ)
		}
	}
}

func TestSocketEventsAPIAndAck(t *testing.T) {
	srv := newServer(t, Options{})
	// Pushed before any connection: queued, delivered after hello.
	alert, env, err := srv.PushMessage("C1", Message{BotID: "BALERT", SubType: "bot_message", Username: "alertmanager",
		Attachments: []map[string]any{{"title": "[FIRING:1] KubePodOOMKilled (payments api-7d4f)"}}})
	if err != nil {
		t.Fatal(err)
	}
	sc := startSocket(t, srv)
	hello := sc.next(t, socketmode.EventTypeHello)
	if hello.Request.NumConnections != 1 || hello.Request.ConnectionInfo.AppID != srv.AppID {
		t.Errorf("hello = %+v", hello.Request)
	}
	evt := sc.next(t, socketmode.EventTypeEventsAPI)
	if evt.Request.EnvelopeID != env || evt.Request.RetryAttempt != 0 || evt.Request.AcceptsResponsePayload {
		t.Errorf("envelope = %+v", evt.Request)
	}
	outer := evt.Data.(slackevents.EventsAPIEvent)
	msg, isMsg := outer.InnerEvent.Data.(*slackevents.MessageEvent)
	if outer.TeamID != srv.TeamID || !isMsg || msg.TimeStamp != alert.TS || msg.Channel != "C1" || msg.BotID != "BALERT" ||
		msg.SubType != "bot_message" || msg.Message.Attachments[0].Title != "[FIRING:1] KubePodOOMKilled (payments api-7d4f)" {
		t.Fatalf("event = %+v inner %+v", outer, outer.InnerEvent.Data)
	}
	if got := srv.Pending(); len(got) != 1 {
		t.Errorf("pending before ack = %v", got)
	}
	sc.smc.Ack(*evt.Request)
	ack, err := srv.WaitAck(ctxT(t), env)
	if err != nil || ack.Payload != nil {
		t.Fatalf("ack = %+v, %v", ack, err)
	}
	if got := srv.Pending(); len(got) != 0 {
		t.Errorf("pending after ack = %v", got)
	}
}

func TestSocketSlashCommandAndInteractive(t *testing.T) {
	srv := newServer(t, Options{})
	sc := startSocket(t, srv)
	sc.next(t, socketmode.EventTypeHello)

	fields := srv.SlashCommandFields(SlashCommand{Command: "/oom", Text: "triage api-7d4f", ChannelID: "C1", UserID: "U7"})
	env, err := srv.Push(SlashCommands, fields)
	if err != nil {
		t.Fatal(err)
	}
	evt := sc.next(t, socketmode.EventTypeSlashCommand)
	cmd := evt.Data.(slack.SlashCommand)
	if cmd.Command != "/oom" || cmd.Text != "triage api-7d4f" || cmd.ChannelID != "C1" || cmd.UserID != "U7" ||
		cmd.ResponseURL == "" || cmd.TeamID != srv.TeamID || !evt.Request.AcceptsResponsePayload {
		t.Fatalf("command = %+v (accepts %v)", cmd, evt.Request.AcceptsResponsePayload)
	}
	sc.smc.Ack(*evt.Request, map[string]any{"response_type": "ephemeral", "text": "Triaging api-7d4f…"})
	ack, err := srv.WaitAck(ctxT(t), env)
	var reply map[string]any
	if err != nil || json.Unmarshal(ack.Payload, &reply) != nil || reply["text"] != "Triaging api-7d4f…" {
		t.Fatalf("ack = %s, %v", ack.Payload, err)
	}

	parent := srv.AddMessage("C1", Message{User: "U1", Text: "alert"})
	_, ts, err := client(srv, srv.BotToken).PostMessageContext(ctxT(t), "C1", slack.MsgOptionText("report", false), slack.MsgOptionTS(parent.TS))
	if err != nil {
		t.Fatal(err)
	}
	payload := srv.BlockActionsPayload(BlockAction{ActionID: "rerun", BlockID: "actions", Value: "tri-1", ChannelID: "C1", MessageTS: ts, UserID: "U7"})
	env, err = srv.Push(Interactive, payload)
	if err != nil {
		t.Fatal(err)
	}
	evt = sc.next(t, socketmode.EventTypeInteractive)
	cb := evt.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) != 1 ||
		cb.ActionCallback.BlockActions[0].ActionID != "rerun" || cb.ActionCallback.BlockActions[0].Value != "tri-1" ||
		cb.Container.MessageTs != ts || cb.Container.ThreadTs != parent.TS || cb.Message.ThreadTimestamp != parent.TS ||
		cb.Channel.ID != "C1" || cb.User.ID != "U7" || cb.ResponseURL == "" {
		t.Fatalf("interaction = %+v", cb)
	}
	sc.smc.Ack(*evt.Request)
	if _, err := srv.WaitAck(ctxT(t), env); err != nil {
		t.Fatal(err)
	}
}

func TestSocketDisconnectRedeliversUnacked(t *testing.T) {
	srv := newServer(t, Options{})
	sc := startSocket(t, srv)
	sc.next(t, socketmode.EventTypeHello)

	_, env, err := srv.PushMessage("C1", Message{User: "U1", Text: "OOMKilled"})
	if err != nil {
		t.Fatal(err)
	}
	first := sc.next(t, socketmode.EventTypeEventsAPI)
	if first.Request.EnvelopeID != env || first.Request.RetryAttempt != 0 {
		t.Fatalf("first delivery = %+v", first.Request)
	}
	// Not acked. Slack rotates the connection: the client reconnects and
	// gets the event again, marked as a retry.
	// slack-go handles the disconnect message itself (no event) and
	// reconnects.
	srv.Disconnect("refresh_requested")
	sc.next(t, socketmode.EventTypeHello)
	again := sc.next(t, socketmode.EventTypeEventsAPI)
	if again.Request.EnvelopeID != env || again.Request.RetryAttempt != 1 || again.Request.RetryReason != "timeout" {
		t.Fatalf("redelivery = %+v", again.Request)
	}
	if srv.Connects() != 2 || len(srv.Calls("apps.connections.open")) != 2 {
		t.Errorf("connects = %d, opens = %d", srv.Connects(), len(srv.Calls("apps.connections.open")))
	}
	sc.smc.Ack(*again.Request)
	if _, err := srv.WaitAck(ctxT(t), env); err != nil {
		t.Fatal(err)
	}

	// A late ack simulated on the same connection counts as another retry.
	_, env2, _ := srv.PushMessage("C1", Message{User: "U1", Text: "GC overhead"})
	sc.next(t, socketmode.EventTypeEventsAPI)
	if n := srv.RedeliverUnacked(); n != 1 {
		t.Fatalf("redelivered %d", n)
	}
	late := sc.next(t, socketmode.EventTypeEventsAPI)
	if late.Request.EnvelopeID != env2 || late.Request.RetryAttempt != 1 {
		t.Errorf("late redelivery = %+v", late.Request)
	}

	// Pushed while the connection is being replaced: delivered after the
	// reconnect, first attempt.
	sc.smc.Ack(*late.Request)
	if _, err := srv.WaitAck(ctxT(t), env2); err != nil {
		t.Fatal(err)
	}
	srv.Disconnect("refresh_requested")
	id3, err := srv.PushEnvelope(Envelope{Type: EventsAPI, Payload: srv.EventCallback(map[string]any{"type": "app_mention",
		"user": "U7", "text": "<@" + srv.BotUserID + "> triage", "ts": "1.000001", "channel": "C1", "event_ts": "1.000001"})})
	if err != nil {
		t.Fatal(err)
	}
	evt := sc.next(t, socketmode.EventTypeEventsAPI)
	if evt.Request.EnvelopeID != id3 || evt.Request.RetryAttempt != 0 {
		t.Errorf("queued envelope = %+v", evt.Request)
	}
	if _, isMention := evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.AppMentionEvent); !isMention {
		t.Errorf("inner = %T", evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data)
	}
}

func TestSocketServerPingsKeepConnectionAlive(t *testing.T) {
	srv := newServer(t, Options{PingInterval: 20 * time.Millisecond})
	// slack-go drops a connection that sees no ping within its interval.
	sc := startSocket(t, srv, socketmode.OptionPingInterval(150*time.Millisecond))
	sc.next(t, socketmode.EventTypeHello)
	time.Sleep(500 * time.Millisecond)
	if n := srv.Connects(); n != 1 {
		t.Errorf("connects = %d: the client dropped a pinged connection", n)
	}
}

func TestPushRejectsBadInput(t *testing.T) {
	srv := newServer(t, Options{})
	if _, err := srv.Push("hello", map[string]any{}); err == nil {
		t.Error("unknown envelope type accepted")
	}
	if _, err := srv.Push(EventsAPI, json.RawMessage("{not json")); err == nil {
		t.Error("invalid JSON accepted")
	}
	if _, err := srv.Push(EventsAPI, func() {}); err == nil {
		t.Error("unencodable payload accepted")
	}
	if len(srv.Pending()) != 0 {
		t.Error("a rejected push was queued")
	}
}

func TestCloseEndsOpenConnections(t *testing.T) {
	srv := New(Options{})
	sc := startSocket(t, srv)
	sc.next(t, socketmode.EventTypeHello)
	srv.Close() // must not hang with a live websocket; goleak checks the rest
	srv.Close()
	if err := srv.WaitFor(context.Background(), func(*Server) bool { return false }); err != ErrClosed {
		t.Errorf("WaitFor after Close = %v", err)
	}
}
