package slackserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

func TestSignVerifiesWithSlackGo(t *testing.T) {
	body := []byte(`{"type":"event_callback"}`)
	now := time.Now()
	tests := []struct {
		name   string
		secret string
		at     time.Time
		body   []byte
		ok     bool
	}{
		{"valid", "s3cret", now, body, true},
		{"wrong secret", "other", now, body, false},
		{"tampered body", "s3cret", now, []byte(`{"type":"x"}`), false},
		{"stale", "s3cret", now.Add(-6 * time.Minute), body, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := Sign(tc.secret, tc.at, body)
			v, err := slack.NewSecretsVerifier(h, "s3cret")
			if err == nil {
				_, _ = v.Write(tc.body)
				err = v.Ensure()
			}
			if (err == nil) != tc.ok {
				t.Errorf("verify err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	// Known vector, computed independently with
	// printf 'v0:1531420618:hello' | openssl dgst -sha256 -hmac key
	h := Sign("key", time.Unix(1531420618, 0), []byte("hello"))
	if got, want := h.Get("X-Slack-Signature"), "v0=f319b162e8d5779115c9c7def4ba3320d122a771201a636b5c22dc4595269d5c"; got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
	if got := h.Get("X-Slack-Request-Timestamp"); got != "1531420618" {
		t.Errorf("timestamp = %s", got)
	}
}

// captured is what a fake bot endpoint saw.
type captured struct {
	header http.Header
	body   []byte
	form   map[string][]string
}

func captureHandler(got *captured) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.header = r.Header.Clone()
		got.body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(got.body))
		_ = r.ParseForm()
		got.form = r.PostForm
	})
}

func TestRequestBuilders(t *testing.T) {
	srv := newServer(t, Options{})
	ctx := ctxT(t)
	sg := Signing{Secret: "s3cret", RetryNum: 1}

	var got captured
	ev := srv.EventCallback(srv.MessageEvent(srv.AddMessage("C1", Message{User: "U1", Text: "OOMKilled"})))
	req, err := EventRequest(ctx, "http://bot/slack/events", sg, ev)
	if err != nil {
		t.Fatal(err)
	}
	captureHandler(&got).ServeHTTP(httptest.NewRecorder(), req)
	verify(t, got, "s3cret")
	if got.header.Get("X-Slack-Retry-Num") != "1" || got.header.Get("X-Slack-Retry-Reason") != "http_timeout" {
		t.Errorf("retry headers = %v", got.header)
	}
	outer, err := slackevents.ParseEvent(json.RawMessage(got.body), slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	if me, isMsg := outer.InnerEvent.Data.(*slackevents.MessageEvent); !isMsg || me.Text != "OOMKilled" || me.Channel != "C1" {
		t.Errorf("inner event = %+v", outer.InnerEvent.Data)
	}

	fields := srv.SlashCommandFields(SlashCommand{Command: "/oom", Text: "triage api-1", ChannelID: "C1", UserID: "U7"})
	req, err = CommandRequest(ctx, "http://bot/slack/commands", Signing{Secret: "s3cret"}, fields)
	if err != nil {
		t.Fatal(err)
	}
	captureHandler(&got).ServeHTTP(httptest.NewRecorder(), req)
	verify(t, got, "s3cret")
	req.Body = io.NopCloser(bytes.NewReader(got.body))
	cmd, err := slack.SlashCommandParse(req)
	if err != nil || cmd.Command != "/oom" || cmd.Text != "triage api-1" || cmd.ResponseURL != fields["response_url"] {
		t.Errorf("command = %+v, %v", cmd, err)
	}

	payload := srv.BlockActionsPayload(BlockAction{ActionID: "feedback_up", Value: "tri-9", ChannelID: "C1", MessageTS: "1.000001", UserID: "U7"})
	req, err = InteractionRequest(ctx, "http://bot/slack/interactions", Signing{Secret: "s3cret"}, payload)
	if err != nil {
		t.Fatal(err)
	}
	captureHandler(&got).ServeHTTP(httptest.NewRecorder(), req)
	verify(t, got, "s3cret")
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(got.form["payload"][0]), &cb); err != nil || cb.ActionCallback.BlockActions[0].ActionID != "feedback_up" {
		t.Errorf("interaction = %+v, %v", cb, err)
	}
}

func verify(t *testing.T, got captured, secret string) {
	t.Helper()
	v, err := slack.NewSecretsVerifier(got.header, secret)
	if err == nil {
		_, _ = v.Write(got.body)
		err = v.Ensure()
	}
	if err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}

func TestResponseURL(t *testing.T) {
	srv := newServer(t, Options{})
	ctx := ctxT(t)
	hc := srv.Client()
	post := func(u string, m *slack.WebhookMessage) error {
		return slack.PostWebhookCustomHTTPContext(ctx, u, hc, m)
	}

	fields := srv.SlashCommandFields(SlashCommand{Command: "/oom", Text: "triage api", ChannelID: "C1", UserID: "U7"})
	ru := fields["response_url"]
	if err := post(ru, &slack.WebhookMessage{Text: "working on it"}); err != nil {
		t.Fatal(err)
	}
	if err := post(ru, &slack.WebhookMessage{Text: "report", ResponseType: "in_channel"}); err != nil {
		t.Fatal(err)
	}
	if e := srv.Ephemerals("C1"); len(e) != 1 || e[0].EphemeralUser != "U7" || e[0].Text != "working on it" {
		t.Errorf("ephemerals = %+v (default response_type is ephemeral)", e)
	}
	if m := srv.Messages("C1"); len(m) != 1 || m[0].Text != "report" {
		t.Errorf("messages = %+v", m)
	}
	for range 3 {
		if err := post(ru, &slack.WebhookMessage{Text: "more"}); err != nil {
			t.Fatal(err)
		}
	}
	var sc slack.StatusCodeError
	if err := post(ru, &slack.WebhookMessage{Text: "sixth"}); !errors.As(err, &sc) || sc.Code != 404 {
		t.Errorf("sixth use: %v, want 404 (a response_url works five times)", err)
	}
	if p := srv.ResponsePosts(ru); len(p) != 5 || p[1].Body["response_type"] != "in_channel" {
		t.Errorf("posts = %+v", p)
	}

	// replace_original acts on the message the button was on.
	_, ts, err := client(srv, srv.BotToken).PostMessageContext(ctx, "C1", slack.MsgOptionText("old", false))
	if err != nil {
		t.Fatal(err)
	}
	p := srv.BlockActionsPayload(BlockAction{ActionID: "rerun", ChannelID: "C1", MessageTS: ts, UserID: "U7"})
	if err := post(p["response_url"].(string), &slack.WebhookMessage{Text: "new", ReplaceOriginal: true}); err != nil {
		t.Fatal(err)
	}
	if th := srv.Thread("C1", ts); len(th) != 1 || th[0].Text != "new" || th[0].Edits != 1 {
		t.Errorf("replaced = %+v", th)
	}

	srv.FailNext(MethodResponseURL, 1, http.StatusInternalServerError, 0)
	if err := post(srv.ResponseURL(), &slack.WebhookMessage{Text: "x"}); !errors.As(err, &sc) || sc.Code != 500 {
		t.Errorf("injected failure: %v", err)
	}
}
