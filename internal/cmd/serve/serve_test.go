package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/slackserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	alertsChannel  = "C0ALERTS01"
	limitedChannel = "C0LIMITED1"
	// The demo cluster replays examples/incidents/image-decode-bomb.
	bundlePod = "api-gateway-6bqn5pfqmq-br6bl"
	bundleNS  = "edge"
)

func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// newServer starts a Slack server that outlives the bot (cleanups run in
// reverse order, so the bot stops first).
func newServer(t *testing.T) *slackserver.Server {
	srv := slackserver.New(slackserver.Options{})
	t.Cleanup(srv.Close)
	return srv
}

// running is a running `serve` against a slackserver.
type running struct {
	srv  *slackserver.Server
	done chan error
	stop context.CancelFunc
	addr string
}

type botOpts struct {
	mode    string // socket (default) or http
	extra   string // more YAML
	secret  string
	cluster string // cluster YAML override
	store   string // store YAML (default: memory)
	grace   time.Duration
}

func startBot(t *testing.T, srv *slackserver.Server, o botOpts) *running {
	t.Helper()
	return startBotEnv(t, srv, o, nil)
}

// startBotEnv is startBot with extra environment variables.
func startBotEnv(t *testing.T, srv *slackserver.Server, o botOpts, extraEnv map[string]string) *running {
	t.Helper()
	if o.mode == "" {
		o.mode = "socket"
	}
	if o.store == "" {
		o.store = "store: {driver: memory}\n"
	}
	cluster := o.cluster
	if cluster == "" {
		cluster = fmt.Sprintf("  - name: prod-eu-1\n    bundle: %s\n", filepath.Join(repoRoot(t), "examples/incidents/image-decode-bomb"))
	}
	cfg := fmt.Sprintf(`slack:
  mode: %s
  listen: 127.0.0.1:0
  apiURL: %s
channels:
  - id: %s
    watch: true
    namespaces: [edge, shop]
  - id: %s
    watch: true
    namespaces: [payments]
clusters:
%s
timeouts: {source: 2s, overall: 20s}
%s%s`, o.mode, srv.URL(), alertsChannel, limitedChannel, cluster, o.store, o.extra)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SLACK_BOT_TOKEN": srv.BotToken, "SLACK_APP_TOKEN": srv.AppToken, "SLACK_SIGNING_SECRET": o.secret}
	for k, v := range extraEnv {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &running{srv: srv, done: make(chan error, 1), stop: cancel}
	ready := make(chan string, 1)
	go func() {
		b.done <- Serve(ctx, Options{ConfigPath: path, Getenv: func(k string) string { return env[k] },
			Ready: func(addr string) { ready <- addr }, HTTPClient: srv.Client(), ShutdownGrace: o.grace,
			Logger: testLogger(t)})
	}()
	select {
	case b.addr = <-ready:
	case err := <-b.done:
		cancel()
		t.Fatalf("serve exited before ready: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("serve not ready")
	}
	if o.mode == "socket" {
		waitFor(t, srv, "socket connection", func(s *slackserver.Server) bool { return s.Connections() > 0 })
	}
	t.Cleanup(func() { b.shutdown(t) })
	return b
}

func (b *running) shutdown(t *testing.T) {
	b.stop()
	select {
	case err := <-b.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
		b.done <- nil // let a second call return
	case <-time.After(30 * time.Second):
		t.Error("serve did not stop")
	}
}

func waitFor(t *testing.T, srv *slackserver.Server, what string, cond func(*slackserver.Server) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// fixture loads an alert event from internal/chat/slack/testdata/events and
// points it at the demo bundle's pod (the fixtures name checkout in shop).
func fixture(t *testing.T, name string) slackserver.Message {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "internal/chat/slack/testdata/events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("checkout-7d9f8b6c5-x2x4q", bundlePod, "shop", bundleNS, "checkout", "api-gateway").Replace(string(data))
	var env struct {
		Event struct {
			Text        string           `json:"text"`
			SubType     string           `json:"subtype"`
			BotID       string           `json:"bot_id"`
			Username    string           `json:"username"`
			Attachments []map[string]any `json:"attachments"`
			Blocks      []map[string]any `json:"blocks"`
		} `json:"event"`
	}
	if err := json.Unmarshal([]byte(s), &env); err != nil {
		t.Fatal(err)
	}
	e := env.Event
	return slackserver.Message{Text: e.Text, SubType: e.SubType, BotID: e.BotID, Username: e.Username, Attachments: e.Attachments, Blocks: e.Blocks}
}

// replies are the bot's messages in a thread (the parent excluded).
func replies(srv *slackserver.Server, channel, ts string) []slackserver.Message {
	var out []slackserver.Message
	for _, m := range srv.Thread(channel, ts) {
		// File shares appear in the thread as messages of their own.
		if m.TS != ts && m.BotID == srv.BotID && len(m.Files) == 0 {
			out = append(out, m)
		}
	}
	return out
}

func blocksJSON(m slackserver.Message) string {
	b, _ := json.Marshal(m.Blocks)
	return string(b)
}

func filesIn(srv *slackserver.Server, channel, ts string) []slackserver.File {
	var out []slackserver.File
	for _, f := range srv.Files() {
		if f.Channel == channel && f.ThreadTS == ts && f.Completed {
			out = append(out, f)
		}
	}
	return out
}

// triageID reads the id carried by the report's buttons.
func triageID(t *testing.T, m slackserver.Message) string {
	t.Helper()
	for _, b := range m.Blocks {
		if b["type"] != "actions" {
			continue
		}
		for _, e := range b["elements"].([]any) {
			if v, ok := e.(map[string]any)["value"].(string); ok && v != "" {
				return v
			}
		}
	}
	t.Fatalf("no buttons in %s", blocksJSON(m))
	return ""
}

// TestAlertGetsThreadReply is the main path: an Alertmanager OOMKilled
// alert posted in a watched channel gets the diagnosis, with a chart, in its
// own thread.
func TestAlertGetsThreadReply(t *testing.T) {
	srv := newServer(t)
	startBot(t, srv, botOpts{})

	alert, env, err := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "report and chart in the alert's thread", func(s *slackserver.Server) bool {
		return len(replies(s, alertsChannel, alert.TS)) >= 1 && len(filesIn(s, alertsChannel, alert.TS)) >= 1
	})
	if _, err := srv.WaitAck(context.Background(), env); err != nil {
		t.Fatalf("event not acked: %v", err)
	}
	rs := replies(srv, alertsChannel, alert.TS)
	if len(rs) != 1 {
		for _, r := range rs {
			t.Logf("reply: %q %s", r.Text, blocksJSON(r)[:min(300, len(blocksJSON(r)))])
		}
		t.Fatalf("want exactly one reply, got %d", len(rs))
	}
	rep := rs[0]
	bj := blocksJSON(rep)
	for _, want := range []string{
		"image-decode-bomb",        // the matched playbook
		"OOMKilled",                // termination
		"137",                      // exit code
		"ImageIO",                  // the stack frame that fired it
		"bundle/kubernetes/events", // sources' status line
		"oom_rerun", "oom_feedback_helpful", "oom_feedback_wrong", "oom_raw_evidence",
	} {
		if !strings.Contains(bj, want) {
			t.Errorf("report blocks lack %q", want)
		}
	}
	if !strings.Contains(rep.Text, "image-decode-bomb") {
		t.Errorf("notification text lacks the verdict: %q", rep.Text)
	}
	// The verdict comes first.
	first, _ := json.Marshal(rep.Blocks[0])
	if !strings.Contains(string(first), "image-decode-bomb") && !strings.Contains(string(first), "OOMKilled") {
		t.Errorf("first block is not the verdict: %s", first)
	}
	f := filesIn(srv, alertsChannel, alert.TS)[0]
	if !bytes.HasPrefix(f.Data, []byte("\x89PNG\r\n\x1a\n")) || len(f.Data) < 10_000 {
		t.Errorf("chart is not a PNG (%d bytes, %q)", len(f.Data), f.Name)
	}
	if !strings.Contains(f.Name, bundlePod) {
		t.Errorf("chart name %q", f.Name)
	}
}

// TestRedeliveryDuplicateAndResolved: a redelivered event (same event_id,
// retry_attempt 1) gets no second reply; a second alert for the same
// workload inside the window gets a short reply linking the first thread;
// the RESOLVED message is posted in the firing alert's thread.
func TestRedeliveryDuplicateAndResolved(t *testing.T) {
	srv := newServer(t)
	startBot(t, srv, botOpts{})

	first := srv.AddMessage(alertsChannel, fixture(t, "datadog-triggered-oom"))
	payload := srv.EventCallback(srv.MessageEvent(first))
	if _, err := srv.Push(slackserver.EventsAPI, payload); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "first report", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, first.TS)) == 1 })
	// Slack redelivers the same event (as after a missed ack).
	redeliver(t, srv, payload)

	// The same monitor fires again for the same workload: a new message.
	second, _, err := srv.PushMessage(alertsChannel, fixture(t, "datadog-triggered-oom"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "duplicate notice", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, second.TS)) == 1 })
	dup := replies(srv, alertsChannel, second.TS)[0]
	if !strings.Contains(dup.Text, "Already triaged") || !strings.Contains(dup.Text, "/archives/"+alertsChannel+"/p"+strings.Replace(first.TS, ".", "", 1)) {
		t.Errorf("duplicate reply should link the first thread: %q", dup.Text)
	}
	if len(dup.Blocks) != 0 {
		t.Errorf("duplicate reply should be short, got blocks")
	}

	resolved, _, err := srv.PushMessage(alertsChannel, fixture(t, "datadog-recovered"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "resolved note in the first thread", func(s *slackserver.Server) bool {
		for _, m := range replies(s, alertsChannel, second.TS) {
			if strings.Contains(m.Text, "Resolved") {
				return true
			}
		}
		for _, m := range replies(s, alertsChannel, first.TS) {
			if strings.Contains(m.Text, "Resolved") {
				return true
			}
		}
		return false
	})
	if n := len(replies(srv, alertsChannel, resolved.TS)); n != 0 {
		t.Errorf("a resolved alert must not be triaged: %d replies in its own thread", n)
	}
	// Exactly one report in total.
	reports := 0
	for _, m := range srv.Messages(alertsChannel) {
		if m.BotID == srv.BotID && strings.Contains(blocksJSON(m), "oom_rerun") {
			reports++
		}
	}
	if reports != 1 {
		t.Errorf("%d reports posted, want 1", reports)
	}
}

// TestUnrelatedAndForbiddenAlerts: a CPU alert and a human message are
// ignored; an OOM alert for a namespace the channel may not triage gets a
// clear refusal.
func TestUnrelatedAndForbiddenAlerts(t *testing.T) {
	srv := newServer(t)
	startBot(t, srv, botOpts{})
	cpu, cpuEnv, _ := srv.PushMessage(alertsChannel, fixture(t, "datadog-cpu"))
	human, humanEnv, _ := srv.PushMessage(alertsChannel, fixture(t, "human-message"))
	forbidden, _, _ := srv.PushMessage(limitedChannel, fixture(t, "alertmanager-firing-oomkilled"))
	waitFor(t, srv, "refusal", func(s *slackserver.Server) bool { return len(replies(s, limitedChannel, forbidden.TS)) == 1 })
	if msg := replies(srv, limitedChannel, forbidden.TS)[0].Text; !strings.Contains(msg, "not allowed to triage namespace `edge`") {
		t.Errorf("refusal: %q", msg)
	}
	for _, env := range []string{cpuEnv, humanEnv} {
		if _, err := srv.WaitAck(context.Background(), env); err != nil {
			t.Fatal(err)
		}
	}
	if len(replies(srv, alertsChannel, cpu.TS))+len(replies(srv, alertsChannel, human.TS)) != 0 {
		t.Error("replied to a non-memory alert or a human")
	}
}

// TestSlashCommand: /oom triage acks at once (privately), then posts the
// report in the channel with the chart in its thread; a wrong pod name gets
// close matches, privately; /oom help explains usage.
func TestSlashCommand(t *testing.T) {
	srv := newServer(t)
	startBot(t, srv, botOpts{})

	fields := srv.SlashCommandFields(slackserver.SlashCommand{Command: "/oom", Text: "triage " + bundlePod + " -n edge", ChannelID: alertsChannel, UserID: "U0SRE00001"})
	env, err := srv.Push(slackserver.SlashCommands, fields)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := srv.WaitAck(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack.Payload), "Triaging") || !strings.Contains(string(ack.Payload), `"ephemeral"`) {
		t.Errorf("ack: %s", ack.Payload)
	}
	var report slackserver.Message
	waitFor(t, srv, "report in channel", func(s *slackserver.Server) bool {
		for _, m := range s.Messages(alertsChannel) {
			if m.BotID == s.BotID && m.ThreadTS == "" && strings.Contains(blocksJSON(m), "image-decode-bomb") {
				report = m
				return len(filesIn(s, alertsChannel, m.TS)) == 1
			}
		}
		return false
	})
	if !strings.Contains(blocksJSON(report), "Requested by") || !strings.Contains(blocksJSON(report), "U0SRE00001") {
		t.Errorf("report does not say who asked: %s", blocksJSON(report)[:400])
	}

	// A typo in the pod name: private error with close matches.
	bad := srv.SlashCommandFields(slackserver.SlashCommand{Command: "/oom", Text: "triage api-gateway-6bqn5pfqmq-br6b -n edge", ChannelID: alertsChannel, UserID: "U0SRE00001"})
	if _, err := srv.Push(slackserver.SlashCommands, bad); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "private error", func(s *slackserver.Server) bool { return len(s.ResponsePosts(bad["response_url"])) == 1 })
	post := srv.ResponsePosts(bad["response_url"])[0]
	pj, _ := json.Marshal(post)
	if !strings.Contains(string(pj), "did you mean") || !strings.Contains(string(pj), bundlePod) || !strings.Contains(string(pj), "ephemeral") {
		t.Errorf("wrong-pod reply: %s", pj)
	}

	for _, c := range []struct{ text, channel, want string }{
		{"help", alertsChannel, `/oom triage \u0026lt;pod\u0026gt;`},
		{"", alertsChannel, `/oom triage \u0026lt;pod\u0026gt;`},
		{"triage x -n payments", alertsChannel, "may not triage namespace `payments`"},
		{"triage x", alertsChannel, "Which namespace?"},
		{"triage x -n edge --bogus", alertsChannel, "unknown flag"},
		{"triage x -n edge", "C0UNKNOWN1", "not configured for this channel"},
	} {
		f := srv.SlashCommandFields(slackserver.SlashCommand{Command: "/oom", Text: c.text, ChannelID: c.channel, UserID: "U0SRE00001"})
		env, err := srv.Push(slackserver.SlashCommands, f)
		if err != nil {
			t.Fatal(err)
		}
		ack, err := srv.WaitAck(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(ack.Payload), c.want) {
			t.Errorf("/oom %s: ack %s lacks %q", c.text, ack.Payload, c.want)
		}
	}
}

// TestButtons: Show raw evidence uploads a snippet in the thread, Re-run
// posts a second report there, feedback is acknowledged privately.
func TestButtons(t *testing.T) {
	srv := newServer(t)
	startBot(t, srv, botOpts{})
	alert, _, _ := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	waitFor(t, srv, "report and chart", func(s *slackserver.Server) bool {
		return len(replies(s, alertsChannel, alert.TS)) == 1 && len(filesIn(s, alertsChannel, alert.TS)) == 1
	})
	rep := replies(srv, alertsChannel, alert.TS)[0]
	id := triageID(t, rep)

	click := func(action string) map[string]any {
		p := srv.BlockActionsPayload(slackserver.BlockAction{ActionID: action, Value: id, ChannelID: alertsChannel, MessageTS: rep.TS, UserID: "U0SRE00002"})
		env, err := srv.Push(slackserver.Interactive, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.WaitAck(context.Background(), env); err != nil {
			t.Fatal(err)
		}
		return p
	}
	click("oom_raw_evidence")
	waitFor(t, srv, "evidence snippet", func(s *slackserver.Server) bool {
		for _, f := range filesIn(s, alertsChannel, alert.TS) {
			if strings.HasPrefix(f.Name, "evidence-") {
				return true
			}
		}
		return false
	})
	for _, f := range filesIn(srv, alertsChannel, alert.TS) {
		if strings.HasPrefix(f.Name, "evidence-") {
			var ev map[string]any
			if err := json.Unmarshal(f.Data, &ev); err != nil || ev["oomErrors"] == nil {
				t.Errorf("evidence snippet is not the evidence JSON: %v", err)
			}
		}
	}
	click("oom_rerun")
	waitFor(t, srv, "re-run report", func(s *slackserver.Server) bool {
		for _, m := range replies(s, alertsChannel, alert.TS) {
			if strings.Contains(blocksJSON(m), "Re-run by") {
				return true
			}
		}
		return false
	})
	p := click("oom_feedback_wrong")
	ru := p["response_url"].(string)
	waitFor(t, srv, "feedback ack", func(s *slackserver.Server) bool { return len(s.ResponsePosts(ru)) == 1 })
	if pj, _ := json.Marshal(srv.ResponsePosts(ru)[0]); !strings.Contains(string(pj), "wrong") {
		t.Errorf("feedback reply: %s", pj)
	}
}

// TestRateLimitStorm: Slack answers 429 with Retry-After for a while; the
// report waits it out and arrives, nothing is dropped.
func TestRateLimitStorm(t *testing.T) {
	srv := newServer(t)
	b := startBot(t, srv, botOpts{extra: "metricsListen: 127.0.0.1:0\n"})
	srv.FailNext("chat.postMessage", 3, 429, time.Second)
	srv.FailNext("files.completeUploadExternal", 1, 429, time.Second)
	alert, _, _ := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	waitFor(t, srv, "report and chart despite 429s", func(s *slackserver.Server) bool {
		return len(replies(s, alertsChannel, alert.TS)) == 1 && len(filesIn(s, alertsChannel, alert.TS)) == 1
	})
	calls := srv.Calls("chat.postMessage")
	if len(calls) < 4 {
		t.Fatalf("%d postMessage calls, want 3 rejected + 1 accepted", len(calls))
	}
	// Retry-After was honoured: the accepted call came ≥ 3×1 s after the first.
	if gap := calls[len(calls)-1].At.Sub(calls[0].At); gap < 3*time.Second {
		t.Errorf("retries did not wait for Retry-After: %s", gap)
	}
	// Each rejected call is counted as a rate-limited Slack API error.
	resp, err := http.Get("http://" + b.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`oombot_slack_api_errors_total{method="chat.postMessage",reason="rate_limited"} 3`,
		`oombot_slack_api_errors_total{method="files.upload",reason="rate_limited"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// hangingServer accepts requests and never answers them (until the
// client gives up): a source that hangs.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); srv.Close() })
	return srv
}

// TestSourceTimeout: a Prometheus that never answers is reported as timed
// out in the report's sources line; the report still comes, in time.
func TestSourceTimeout(t *testing.T) {
	prom := hangingServer(t)
	srv := newServer(t)
	startBot(t, srv, botOpts{cluster: fmt.Sprintf("  - name: prod-eu-1\n    bundle: %s\n    prometheus: %s\n",
		filepath.Join(repoRoot(t), "examples/incidents/image-decode-bomb"), prom.URL)})
	start := time.Now()
	alert, _, _ := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	waitFor(t, srv, "partial report", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, alert.TS)) == 1 })
	took := time.Since(start)
	bj := blocksJSON(replies(srv, alertsChannel, alert.TS)[0])
	if !strings.Contains(bj, "timed out after 2s") {
		t.Errorf("report does not name the timed-out source: %s", bj)
	}
	// Still a diagnosis: the stack trace comes from the logs.
	if !strings.Contains(bj, "image-decode-bomb") {
		t.Errorf("no diagnosis without metrics")
	}
	if took > 2*time.Second+time.Second {
		t.Errorf("report took %s; the source deadline is 2s", took)
	}
}

// TestSocketReconnect: Slack asks the bot to reconnect; an alert posted
// while it is away is delivered on the new connection and answered once.
func TestSocketReconnect(t *testing.T) {
	srv := newServer(t)
	startBot(t, srv, botOpts{})
	connects := srv.Connects()
	srv.Disconnect("refresh_requested")
	alert, env, err := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "reconnect", func(s *slackserver.Server) bool { return s.Connects() > connects })
	if _, err := srv.WaitAck(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "reply after reconnect", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, alert.TS)) == 1 })
	// Unacked redelivery after another drop must not double-reply.
	srv.RedeliverUnacked()
	time.Sleep(300 * time.Millisecond)
	if n := len(replies(srv, alertsChannel, alert.TS)); n != 1 {
		t.Errorf("%d replies", n)
	}
}

// TestMissingAndBadTokens: serve refuses to start, naming what is missing
// or rejected.
func TestMissingAndBadTokens(t *testing.T) {
	srv := newServer(t)
	path := filepath.Join(t.TempDir(), "c.yaml")
	cfg := fmt.Sprintf("slack: {apiURL: %q}\nchannels: [{id: C1, namespaces: [x]}]\nclusters: [{name: a, bundle: %s}]\nstore: {driver: memory}\n",
		srv.URL(), filepath.Join(repoRoot(t), "examples/incidents/image-decode-bomb"))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{}, []string{"SLACK_BOT_TOKEN is not set", "SLACK_APP_TOKEN is not set"}},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-wrong", "SLACK_APP_TOKEN": "xapp-x"}, []string{"auth.test rejected SLACK_BOT_TOKEN", "invalid_auth"}},
	} {
		err := Serve(context.Background(), Options{ConfigPath: path, Getenv: func(k string) string { return c.env[k] }, HTTPClient: srv.Client()})
		if err == nil {
			t.Fatal("started")
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	}
}

// TestGracefulShutdown: SIGTERM (context cancel) while a report is being
// posted: serve waits for it, then returns.
func TestGracefulShutdown(t *testing.T) {
	srv := newServer(t)
	b := startBot(t, srv, botOpts{grace: 20 * time.Second})
	srv.Latency("chat.postMessage", 1500*time.Millisecond)
	alert, env, _ := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	// The ack comes once the triage has started; the post then takes 1.5 s.
	if _, err := srv.WaitAck(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	if n := len(replies(srv, alertsChannel, alert.TS)); n != 0 {
		t.Fatalf("reply already there (%d): the test would prove nothing", n)
	}
	b.shutdown(t)
	if n := len(replies(srv, alertsChannel, alert.TS)); n != 1 {
		t.Fatalf("in-flight report lost on shutdown: %d replies", n)
	}
}

// TestHTTPMode: Events API, slash commands and interactivity over signed
// HTTP. Unsigned, wrongly signed and stale requests get 401 and do nothing;
// Slack's retry of an event (X-Slack-Retry-Num, same event_id) is answered
// once.
func TestHTTPMode(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	srv := newServer(t)
	b := startBot(t, srv, botOpts{mode: "http", secret: secret})
	base := "http://" + b.addr
	ctx := context.Background()
	do := func(req *http.Request, err error) (int, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	alert := srv.AddMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	event := srv.EventCallback(srv.MessageEvent(alert))
	for name, sg := range map[string]slackserver.Signing{
		"wrong secret": {Secret: "not-the-secret"},
		"stale":        {Secret: secret, At: time.Now().Add(-6 * time.Minute)},
		"future":       {Secret: secret, At: time.Now().Add(6 * time.Minute)},
	} {
		if code, _ := do(slackserver.EventRequest(ctx, base+"/slack/events", sg, event)); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, code)
		}
	}
	unsigned, _ := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader("text=triage+x"))
	if code, _ := do(unsigned, nil); code != http.StatusUnauthorized {
		t.Errorf("unsigned command: %d", code)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(replies(srv, alertsChannel, alert.TS)); n != 0 {
		t.Fatalf("a rejected request was acted on: %d replies", n)
	}

	// URL verification handshake.
	if code, body := do(slackserver.EventRequest(ctx, base+"/slack/events", slackserver.Signing{Secret: secret},
		map[string]any{"type": "url_verification", "token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})); code != 200 || body != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification: %d %q", code, body)
	}

	// The signed event, then Slack's retry of it.
	if code, _ := do(slackserver.EventRequest(ctx, base+"/slack/events", slackserver.Signing{Secret: secret}, event)); code != 200 {
		t.Fatalf("signed event: %d", code)
	}
	if code, _ := do(slackserver.EventRequest(ctx, base+"/slack/events", slackserver.Signing{Secret: secret, RetryNum: 1}, event)); code != 200 {
		t.Fatalf("retried event: %d", code)
	}
	waitFor(t, srv, "reply over HTTP mode", func(s *slackserver.Server) bool {
		return len(replies(s, alertsChannel, alert.TS)) == 1 && len(filesIn(s, alertsChannel, alert.TS)) == 1
	})
	rep := replies(srv, alertsChannel, alert.TS)[0]

	// Slash command: the ack is the HTTP response.
	fields := srv.SlashCommandFields(slackserver.SlashCommand{Command: "/oom", Text: "help", ChannelID: alertsChannel, UserID: "U1"})
	if code, body := do(slackserver.CommandRequest(ctx, base+"/slack/commands", slackserver.Signing{Secret: secret}, fields)); code != 200 || !strings.Contains(body, "diagnoses OOMKilled") {
		t.Errorf("command: %d %s", code, body)
	}
	// A button click.
	p := srv.BlockActionsPayload(slackserver.BlockAction{ActionID: "oom_feedback_helpful", Value: triageID(t, rep), ChannelID: alertsChannel, MessageTS: rep.TS, UserID: "U1"})
	if code, _ := do(slackserver.InteractionRequest(ctx, base+"/slack/interactions", slackserver.Signing{Secret: secret}, p)); code != 200 {
		t.Errorf("interaction: %d", code)
	}
	ru := p["response_url"].(string)
	waitFor(t, srv, "feedback ack", func(s *slackserver.Server) bool { return len(s.ResponsePosts(ru)) == 1 })

	// Metrics on the same port count what happened.
	code, body := do(http.NewRequest(http.MethodGet, base+"/metrics", nil))
	for _, want := range []string{`oombot_alerts_total{outcome="triaged",source="alertmanager"} 1`, `oombot_alerts_total{outcome="redelivery",source="alertmanager"} 1`,
		`oombot_feedback_total{judgement="helpful",playbook="image-decode-bomb"} 1`, `oombot_triages_total{playbook="image-decode-bomb",trigger="alert",verdict="diagnosed"} 1`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestWorkloadOnlyAlert: an alert naming a deployment but no pod triages
// the deployment's most recently OOMKilled pod.
func TestWorkloadOnlyAlert(t *testing.T) {
	srv := newServer(t)
	startBot(t, srv, botOpts{})
	alert, _, _ := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-workload-only"))
	waitFor(t, srv, "report", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, alert.TS)) == 1 })
	bj := blocksJSON(replies(srv, alertsChannel, alert.TS)[0])
	if !strings.Contains(bj, bundlePod) || !strings.Contains(bj, "image-decode-bomb") {
		t.Errorf("workload alert did not triage the OOMKilled pod: %.600s", bj)
	}
}

// TestIncompleteAlert: an OOM alert without a namespace or pod says what is
// missing and how to fix the template, instead of guessing.
func TestIncompleteAlert(t *testing.T) {
	srv := newServer(t)
	startBot(t, srv, botOpts{})
	alert, _, _ := srv.PushMessage(alertsChannel, slackserver.Message{SubType: "bot_message", BotID: "B0ALERTMGR", Username: "Alertmanager",
		Attachments: []map[string]any{{"title": "[FIRING:1] ContainerOOMKilled", "text": "A container was OOMKilled (exit code 137).", "color": "danger"}}})
	waitFor(t, srv, "reply", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, alert.TS)) == 1 })
	msg := replies(srv, alertsChannel, alert.TS)[0].Text
	for _, want := range []string{"can't tell which pod", "namespace", "/oom triage"} {
		if !strings.Contains(msg, want) {
			t.Errorf("reply %q lacks %q", msg, want)
		}
	}
}

// redeliver pushes an event again as Slack does after a missed ack
// (retry_attempt 1) and waits until the bot has acknowledged it.
func redeliver(t *testing.T, srv *slackserver.Server, payload map[string]any) {
	t.Helper()
	id, err := srv.PushEnvelope(slackserver.Envelope{Type: slackserver.EventsAPI, Payload: payload, RetryAttempt: 1, RetryReason: "timeout"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitAck(context.Background(), id); err != nil {
		t.Fatal(err)
	}
}

// TestRestartRemembers: with the SQLite store on disk, a restarted bot
// still knows what it did: Slack's redelivery of an answered alert gets no
// second reply, a second alert for the workload links the first thread,
// the old report's buttons work, and the RESOLVED lands in the alert's
// remembered thread.
func TestRestartRemembers(t *testing.T) {
	srv := newServer(t)
	db := filepath.Join(t.TempDir(), "state", "oombot.db")
	storeYAML := fmt.Sprintf("store: {driver: sqlite, path: %q}\n", db)
	first := startBot(t, srv, botOpts{store: storeYAML})

	alert := srv.AddMessage(alertsChannel, fixture(t, "datadog-triggered-oom"))
	payload := srv.EventCallback(srv.MessageEvent(alert))
	if _, err := srv.Push(slackserver.EventsAPI, payload); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "first report", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, alert.TS)) == 1 })
	rep := replies(srv, alertsChannel, alert.TS)[0]
	first.shutdown(t)
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("the store file: %v", err)
	}

	startBot(t, srv, botOpts{store: storeYAML})
	redeliver(t, srv, payload)
	second, _, err := srv.PushMessage(alertsChannel, fixture(t, "datadog-triggered-oom"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "duplicate notice after restart", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, second.TS)) == 1 })
	if dup := replies(srv, alertsChannel, second.TS)[0]; !strings.Contains(dup.Text, "Already triaged") {
		t.Errorf("after a restart the workload claim is forgotten: %q", dup.Text)
	}
	if n := len(replies(srv, alertsChannel, alert.TS)); n != 1 {
		t.Errorf("the redelivered alert got %d replies after a restart, want the 1 from before", n)
	}

	// The report's "Show raw evidence" button still finds its triage.
	p := srv.BlockActionsPayload(slackserver.BlockAction{ActionID: "oom_raw_evidence", Value: triageID(t, rep), ChannelID: alertsChannel, MessageTS: rep.TS, UserID: "U1"})
	if _, err := srv.Push(slackserver.Interactive, p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "evidence snippet from before the restart", func(s *slackserver.Server) bool { return len(filesIn(s, alertsChannel, alert.TS)) >= 2 })

	if _, _, err := srv.PushMessage(alertsChannel, fixture(t, "datadog-recovered")); err != nil {
		t.Fatal(err)
	}
	// The alert's thread is remembered by fingerprint across the restart;
	// the latest firing (the duplicate's message) holds it.
	waitFor(t, srv, "resolved note in the alert's remembered thread", func(s *slackserver.Server) bool {
		for _, m := range replies(s, alertsChannel, second.TS) {
			if strings.Contains(m.Text, "Resolved") {
				return true
			}
		}
		return false
	})
}
