package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	grace   time.Duration
}

func startBot(t *testing.T, srv *slackserver.Server, o botOpts) *running {
	t.Helper()
	if o.mode == "" {
		o.mode = "socket"
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
%s`, o.mode, srv.URL(), alertsChannel, limitedChannel, cluster, o.extra)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SLACK_BOT_TOKEN": srv.BotToken, "SLACK_APP_TOKEN": srv.AppToken, "SLACK_SIGNING_SECRET": o.secret}
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
