package serve

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/chat"
	slackchat "github.com/oombot/oombot/internal/chat/slack"
	"github.com/oombot/oombot/internal/slackserver"
)

// TestHistory reads a channel back through the real slack-go client
// (conversations.history, conversations.replies) as a catch-up does: top-level
// messages after oldest, oldest first, across pages; the bot's own posts
// and hidden subtypes left out; Replied set when the bot posted in the
// thread, whether reply_users says so or only the thread does; a rate
// limit waited out.
func TestHistory(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c, err := slackchat.NewClient(ctx, srv.BotToken, slackchat.ClientOptions{APIURL: srv.URL(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	alert := fixture(t, "alertmanager-firing-oomkilled")
	old := srv.AddMessage(alertsChannel, alert)
	time.Sleep(20 * time.Millisecond)
	oldest := time.Now()

	var want []string
	for range 230 { // more than one page of 200
		want = append(want, srv.AddMessage(alertsChannel, alert).TS)
	}
	answered := srv.AddMessage(alertsChannel, alert)
	want = append(want, answered.TS)
	// The bot's reply in the thread: reply_users names it.
	if _, err := c.Post(ctx, chat.Target{Channel: alertsChannel, ThreadTS: answered.TS}, chat.Message{Text: "report"}); err != nil {
		t.Fatal(err)
	}
	humanOnly := srv.AddMessage(alertsChannel, alert)
	want = append(want, humanOnly.TS)
	srv.AddMessage(alertsChannel, slackserver.Message{User: "U0SRE00001", Text: "looking", ThreadTS: humanOnly.TS})
	srv.AddMessage(alertsChannel, slackserver.Message{User: "U0SRE00001", SubType: "channel_join", Text: "joined"})
	if _, err := c.Post(ctx, chat.Target{Channel: alertsChannel}, chat.Message{Text: "the bot's own top-level post"}); err != nil {
		t.Fatal(err)
	}
	srv.FailNext("conversations.history", 1, 429, time.Second)

	got, err := c.History(ctx, alertsChannel, oldest)
	if err != nil {
		t.Fatal(err)
	}
	var ts []string
	replied := map[string]bool{}
	for _, m := range got {
		ts = append(ts, m.TS)
		replied[m.TS] = m.Replied
		if m.Channel != alertsChannel || m.EventID != "" || m.Message.Username == "" && m.User == "" {
			t.Errorf("message %s: %+v", m.TS, m.Inbound)
		}
	}
	if !slices.Equal(ts, want) {
		t.Fatalf("history: %d messages (first %v), want %d oldest first without %s, the join and the bot's post",
			len(ts), ts[:min(3, len(ts))], len(want), old.TS)
	}
	if !replied[answered.TS] || replied[humanOnly.TS] || replied[want[0]] {
		t.Errorf("replied: answered %v, human-only %v, untouched %v", replied[answered.TS], replied[humanOnly.TS], replied[want[0]])
	}
	if n := len(srv.Calls("conversations.replies")); n != 1 {
		t.Errorf("%d conversations.replies calls, want 1 (the thread reply_users does not settle)", n)
	}
	if n := len(srv.Calls("conversations.history")); n != 3 {
		t.Errorf("%d conversations.history calls, want 3 (a 429, then two pages)", n)
	}
}
