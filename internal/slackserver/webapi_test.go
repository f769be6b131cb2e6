package slackserver

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newServer starts a server closed at the end of the test.
func newServer(t *testing.T, o Options) *Server {
	t.Helper()
	srv := New(o)
	t.Cleanup(srv.Close)
	return srv
}

// client is the real slack-go client pointed at srv.
func client(srv *Server, token string) *slack.Client {
	return slack.New(token, slack.OptionAPIURL(srv.URL()), slack.OptionAppLevelToken(srv.AppToken),
		slack.OptionHTTPClient(srv.Client()))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestAuth(t *testing.T) {
	srv := newServer(t, Options{TeamID: "T42", BotUserID: "U42", BotID: "B42"})
	tests := []struct {
		name, token, wantErr string
	}{
		{"bot token", srv.BotToken, ""},
		{"missing", "", "not_authed"},
		{"unknown", "xoxb-nope", "invalid_auth"},
		{"app token on a bot method", srv.AppToken, "not_allowed_token_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client(srv, tc.token).AuthTestContext(ctxT(t))
			if got := slackErr(err); got != tc.wantErr {
				t.Fatalf("err = %q, want %q", got, tc.wantErr)
			}
			if tc.wantErr == "" && (resp.TeamID != "T42" || resp.UserID != "U42" || resp.BotID != "B42" ||
				resp.URL != "https://oombot-test.slack.com/") {
				t.Errorf("auth.test = %+v", resp)
			}
		})
	}
	calls := srv.Calls("auth.test")
	if len(calls) != len(tests) || calls[0].Token != srv.BotToken || calls[1].Error != "not_authed" {
		t.Errorf("calls = %+v", calls)
	}
}

func TestConnectionsOpenNeedsAppToken(t *testing.T) {
	srv := newServer(t, Options{})
	api := slack.New(srv.BotToken, slack.OptionAPIURL(srv.URL()), slack.OptionAppLevelToken(srv.BotToken),
		slack.OptionHTTPClient(srv.Client()))
	if _, _, err := api.StartSocketModeContext(ctxT(t)); slackErr(err) != "not_allowed_token_type" {
		t.Fatalf("bot token: err = %v", err)
	}
	_, u, err := client(srv, srv.BotToken).StartSocketModeContext(ctxT(t))
	if err != nil || !strings.HasPrefix(u, "ws://127.0.0.1:") || !strings.Contains(u, "ticket=") {
		t.Fatalf("app token: url %q, err %v", u, err)
	}
}

func TestPostThreadUpdateAndRead(t *testing.T) {
	srv := newServer(t, Options{})
	api := client(srv, srv.BotToken)
	ctx := ctxT(t)
	alert := srv.AddMessage("C1", Message{BotID: "BALERT", SubType: "bot_message", Username: "alertmanager",
		Attachments: []map[string]any{{"title": "[FIRING:1] KubePodOOMKilled payments"}}})

	blocks := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*Verdict:* heap leak", false, false), nil, nil)}
	ch, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("triage", false),
		slack.MsgOptionBlocks(blocks...), slack.MsgOptionTS(alert.TS))
	if err != nil || ch != "C1" || ts <= alert.TS {
		t.Fatalf("post: ch %q ts %q (alert %q) err %v", ch, ts, alert.TS, err)
	}
	// A reply addressed to another reply lands in the parent's thread.
	_, ts2, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("second", false), slack.MsgOptionTS(ts))
	if err != nil || ts2 <= ts {
		t.Fatalf("second reply: ts %q err %v", ts2, err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("triage (updated)", false)); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", alert.TS, slack.MsgOptionText("x", false)); slackErr(err) != "cant_update_message" {
		t.Errorf("updating someone else's message: %v", err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", "1.000001", slack.MsgOptionText("x", false)); slackErr(err) != "message_not_found" {
		t.Errorf("updating unknown ts: %v", err)
	}

	thread := srv.Thread("C1", alert.TS)
	if len(thread) != 3 || thread[1].TS != ts || thread[2].ThreadTS != alert.TS {
		t.Fatalf("thread = %+v", thread)
	}
	reply := thread[1]
	if reply.Text != "triage (updated)" || reply.Edits != 1 || reply.User != srv.BotUserID || reply.BotID != srv.BotID {
		t.Errorf("reply = %+v", reply)
	}
	if txt, _ := reply.Blocks[0]["text"].(map[string]any)["text"].(string); txt != "*Verdict:* heap leak" {
		t.Errorf("reply block text = %q (update without blocks must keep them)", txt)
	}

	msgs, _, _, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: alert.TS})
	if err != nil || len(msgs) != 3 || msgs[0].ReplyCount != 2 || msgs[0].Attachments[0].Title != "[FIRING:1] KubePodOOMKilled payments" ||
		msgs[1].Text != "triage (updated)" || msgs[1].ThreadTimestamp != alert.TS || len(msgs[1].Blocks.BlockSet) != 1 {
		t.Fatalf("replies = %+v, err %v", msgs, err)
	}
	hist, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C1"})
	if err != nil || len(hist.Messages) != 1 || hist.Messages[0].Timestamp != alert.TS || hist.Messages[0].LatestReply != ts2 {
		t.Fatalf("history = %+v, err %v", hist, err)
	}

	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: ts})
	want := "https://oombot-test.slack.com/archives/C1/p" + strings.Replace(ts, ".", "", 1) + "?thread_ts=" + alert.TS + "&cid=C1"
	if err != nil || link != want {
		t.Errorf("permalink = %q, %v; want %q", link, err, want)
	}

	ets, err := api.PostEphemeralContext(ctx, "C1", "U7", slack.MsgOptionText("only you", false))
	if err != nil || ets == "" {
		t.Fatalf("ephemeral: %q %v", ets, err)
	}
	if e := srv.Ephemerals("C1"); len(e) != 1 || e[0].EphemeralUser != "U7" || e[0].Text != "only you" {
		t.Errorf("ephemerals = %+v", e)
	}
	if n := len(srv.Messages("C1")); n != 3 {
		t.Errorf("ephemeral leaked into Messages: %d messages", n)
	}
}

func TestPostErrors(t *testing.T) {
	srv := newServer(t, Options{Channels: []string{"C1"}})
	api := client(srv, srv.BotToken)
	long := strings.Repeat("x", 3001)
	tests := []struct {
		name    string
		channel string
		opts    []slack.MsgOption
		want    string
	}{
		{"unknown channel", "C9", []slack.MsgOption{slack.MsgOptionText("hi", false)}, "channel_not_found"},
		{"no content", "C1", nil, "no_text"},
		{"unknown thread", "C1", []slack.MsgOption{slack.MsgOptionText("hi", false), slack.MsgOptionTS("1.000001")}, "thread_not_found"},
		{"section too long", "C1", []slack.MsgOption{slack.MsgOptionBlocks(
			slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", long, false, false), nil, nil))}, "invalid_blocks"},
		{"text too long", "C1", []slack.MsgOption{slack.MsgOptionText(strings.Repeat("x", 40001), false)}, "msg_too_long"},
		{"ok", "C1", []slack.MsgOption{slack.MsgOptionText("hi", false)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := api.PostMessageContext(ctxT(t), tc.channel, tc.opts...)
			if got := slackErr(err); got != tc.want {
				t.Errorf("err = %q, want %q", got, tc.want)
			}
		})
	}
	// invalid_blocks says where, as Slack does, so a renderer bug is easy to find.
	_, _, err := api.PostMessageContext(ctxT(t), "C1", slack.MsgOptionBlocks(slack.NewDividerBlock(),
		slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", long, false, false), nil, nil)))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || len(se.ResponseMetadata.Messages) != 1 ||
		se.ResponseMetadata.Messages[0] != "[ERROR] must be between 1 and 3000 characters [json-pointer:/blocks/1/text/text]" {
		t.Errorf("invalid_blocks detail = %+v", se)
	}
	if n := len(srv.Messages("")); n != 1 {
		t.Errorf("stored %d messages, want only the valid one", n)
	}
}

func TestHistoryPaging(t *testing.T) {
	srv := newServer(t, Options{})
	api := client(srv, srv.BotToken)
	for range 5 {
		srv.AddMessage("C1", Message{User: "U1", Text: "m"})
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		h, err := api.GetConversationHistoryContext(ctxT(t), &slack.GetConversationHistoryParameters{ChannelID: "C1", Limit: 2, Cursor: cursor})
		if err != nil || pages > 5 {
			t.Fatalf("history page %d: %v", pages, err)
		}
		for _, m := range h.Messages {
			got = append(got, m.Timestamp)
		}
		if !h.HasMore {
			break
		}
		cursor = h.ResponseMetaData.NextCursor
	}
	all := srv.Messages("C1")
	if len(got) != 5 || got[0] != all[4].TS || got[4] != all[0].TS {
		t.Errorf("paged history = %v, want newest first of %d", got, len(all))
	}
}

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestUploadFile(t *testing.T) {
	srv := newServer(t, Options{})
	api := client(srv, srv.BotToken)
	ctx := ctxT(t)
	_, parent, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("alert", false))
	if err != nil {
		t.Fatal(err)
	}
	data := testPNG(t)
	sum, err := api.UploadFileContext(ctx, slack.UploadFileParameters{Filename: "memory.png", Title: "Memory",
		FileSize: len(data), Reader: bytes.NewReader(data), Channel: "C1", ThreadTimestamp: parent})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	files := srv.Files()
	if len(files) != 1 {
		t.Fatalf("files = %+v", files)
	}
	f := files[0]
	if f.ID != sum.ID || f.Name != "memory.png" || f.Title != "Memory" || f.Channel != "C1" || f.ThreadTS != parent ||
		!bytes.Equal(f.Data, data) {
		t.Errorf("file = %+v (summary %+v)", f, sum)
	}
	if _, err := png.Decode(bytes.NewReader(f.Data)); err != nil {
		t.Errorf("stored bytes are not the PNG: %v", err)
	}
	thread := srv.Thread("C1", parent)
	if len(thread) != 2 || len(thread[1].Files) != 1 || thread[1].Files[0] != f.ID {
		t.Errorf("thread = %+v, want a file share reply", thread)
	}
	for _, m := range []string{"files.getUploadURLExternal", MethodUpload, "files.completeUploadExternal"} {
		if c := srv.Calls(m); len(c) != 1 || c[0].Status != 200 {
			t.Errorf("%s calls = %+v", m, c)
		}
	}

	// A declared size that does not match the bytes fails loudly.
	_, err = api.UploadFileContext(ctx, slack.UploadFileParameters{Filename: "x.png", FileSize: len(data) + 1,
		Reader: bytes.NewReader(data), Channel: "C1"})
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 400 {
		t.Errorf("size mismatch: err = %v, want HTTP 400", err)
	}
	if n := len(srv.Files()); n != 1 {
		t.Errorf("a failed upload was completed: %d files", n)
	}
}
