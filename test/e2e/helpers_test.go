package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/realserver"
	"github.com/oombot/oombot/internal/slackserver"
	"github.com/oombot/oombot/test/e2e/harness"
)

const (
	alertsChannel = "C0ALERTS01"
	webhookSecret = "wh-e2e-5b1d9c7a"
	// reportButton is in every full report (the Re-run button's action).
	reportButton = "oom_rerun"
)

// bundleDir is a recorded incident, relative to the repository root.
func bundleDir(rel string) string { return filepath.Join(repoRoot(), rel) }

// uniqueName is prefix plus a random suffix: tests share one API server,
// so every namespace is new.
func uniqueName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// incident loads a bundle under a fresh namespace.
func (e *sharedEnv) incident(t *testing.T, rel string, o harness.IncidentOptions) *harness.Incident {
	t.Helper()
	if o.Namespace == "" {
		o.Namespace = uniqueName(filepath.Base(rel))
	}
	inc, err := e.cp.LoadIncident(ctxFor(t, time.Minute), bundleDir(rel), o)
	if err != nil {
		t.Fatalf("load incident %s: %v", rel, err)
	}
	return inc
}

// prometheus starts Debian's Prometheus holding the incidents' metrics.
func prometheus(t *testing.T, incs ...*harness.Incident) *realserver.Prom {
	t.Helper()
	var o realserver.PromOptions
	for _, inc := range incs {
		o.Series = append(o.Series, inc.Series...)
	}
	return realserver.Prometheus(t, o)
}

// botSetup says how a bot is run.
type botSetup struct {
	// prometheus is the cluster's Prometheus URL ("" for none).
	prometheus string
	// rbac overrides the deploy/ RBAC (a rule removed).
	rbac *harness.RBAC
	// namespace and sa are the bot's own; empty: a fresh namespace, "oombot".
	namespace, sa string
	// sourceTimeout and overall are timeouts.source and .overall
	// (default 5s, 40s).
	sourceTimeout, overall string
	// extra is more config YAML.
	extra string
	// postgres is a DSN: the store is PostgreSQL (else memory).
	postgres string
	// env adds environment variables.
	env map[string]string
	// name tells bots apart in logs (default "bot").
	name string
	// noSocketWait: do not wait for a Socket Mode connection (a follower
	// under leader election never opens one).
	noSocketWait bool
}

// startBot runs `bot serve` as its own process: its kubeconfig carries a
// token of its own ServiceAccount, bound to the RBAC of deploy/ (or
// s.rbac); Slack is srv; alerts arrive by Alertmanager's webhook and in
// alertsChannel.
func (e *sharedEnv) startBot(t *testing.T, srv *slackserver.Server, s botSetup) *runningBot {
	t.Helper()
	ctx := ctxFor(t, 2*time.Minute)
	if s.namespace == "" {
		s.namespace = uniqueName("oombot")
		if err := e.cp.CreateNamespace(ctx, s.namespace, nil); err != nil {
			t.Fatal(err)
		}
	}
	if s.sa == "" {
		s.sa = "oombot"
	}
	if s.rbac == nil {
		s.rbac = e.rbac
	}
	if s.sourceTimeout == "" {
		s.sourceTimeout = "5s"
	}
	if s.overall == "" {
		s.overall = "40s"
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := e.cp.BotKubeconfig(ctx, s.namespace, s.sa, s.rbac, kubeconfig); err != nil {
		t.Fatal(err)
	}
	prom := ""
	if s.prometheus != "" {
		prom = "\n    prometheus: " + s.prometheus
	}
	store := "memory"
	if s.postgres != "" {
		store = "postgres"
	}
	cfg := fmt.Sprintf(`slack:
  mode: socket
  apiURL: %s
channels:
  - id: %s
    watch: true
    namespaces: ["*"]
clusters:
  - name: e2e
    kubeconfig: %s%s
timeouts: {source: %s, overall: %s}
metricsListen: 127.0.0.1:0
webhooks: {channel: %s}
store: {driver: %s}
%s`, srv.URL(), alertsChannel, kubeconfig, prom, s.sourceTimeout, s.overall, alertsChannel, store, s.extra)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	envv := map[string]string{
		"SLACK_BOT_TOKEN": srv.BotToken, "SLACK_APP_TOKEN": srv.AppToken, "OOMBOT_WEBHOOK_SECRET": webhookSecret,
		"HOME": dir, "PATH": os.Getenv("PATH"), "POD_NAMESPACE": s.namespace,
	}
	if s.postgres != "" {
		envv["OOMBOT_POSTGRES_DSN"] = s.postgres
	}
	for k, v := range s.env {
		envv[k] = v
	}
	connects := srv.Connects()
	bot, err := harness.StartBot(ctx, harness.BotOptions{Bin: e.bot, Config: path, Env: envv, Name: s.name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bot.Stop(20 * time.Second)
		// Faults are reported as warnings and in the report; an ERROR
		// line means the bot itself misbehaved.
		for _, l := range bot.Errors() {
			t.Errorf("%s logged an error: %s", bot.Name, l)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", bot.Name, tailString(bot.Output(), 12000))
		}
	})
	if !s.noSocketWait {
		waitSlack(t, srv, bot.Name+" connected over Socket Mode", func(s *slackserver.Server) bool { return s.Connects() > connects })
	}
	return &runningBot{Bot: bot, namespace: s.namespace, sa: s.sa}
}

// runningBot is a bot process and the ServiceAccount it runs as.
type runningBot struct {
	*harness.Bot
	namespace, sa string
}

// user is the bot's username in the API server's audit log.
func (b *runningBot) user() string { return harness.ServiceAccountUser(b.namespace, b.sa) }

// alertmanager starts Debian's Alertmanager with a webhook receiver per
// bot (all bots get every alert, as with one receiver per replica's
// Service endpoint being the same Service in production).
func alertmanager(t *testing.T, bots ...*runningBot) *realserver.AM {
	t.Helper()
	var urls []string
	for _, b := range bots {
		urls = append(urls, "http://"+b.Addr+"/webhooks/alertmanager")
	}
	return realserver.Alertmanager(t, realserver.AMOptions{Config: realserver.WebhookConfig(webhookSecret, urls...)})
}

// fire posts the incident's alert to Alertmanager, fired a minute ago.
func fire(t *testing.T, am *realserver.AM, inc *harness.Incident) {
	t.Helper()
	am.PostAlerts(t, realserver.Alert{Labels: inc.AlertLabels(), StartsAt: time.Now().Add(-time.Minute).Truncate(time.Second),
		Annotations: map[string]string{"summary": "Container killed by the OOM killer."}})
}

// newSlack starts the Slack wire-protocol server; it outlives the bots
// (cleanups run in reverse order).
func newSlack(t *testing.T) *slackserver.Server {
	srv := slackserver.New(slackserver.Options{})
	t.Cleanup(srv.Close)
	return srv
}

func waitSlack(t *testing.T, srv *slackserver.Server, what string, cond func(*slackserver.Server) bool) {
	t.Helper()
	waitSlackFor(t, srv, 90*time.Second, what, cond)
}

func waitSlackFor(t *testing.T, srv *slackserver.Server, d time.Duration, what string, cond func(*slackserver.Server) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := srv.WaitFor(ctx, cond); err != nil {
		for _, m := range srv.Messages(alertsChannel) {
			t.Logf("in %s: ts=%s thread=%s bot=%s text=%q blocks=%.400s", alertsChannel, m.TS, m.ThreadTS, m.BotID, tailString(m.Text, 200), blocksJSON(m))
		}
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// thread is an alert message the bot posted and what it posted in its
// thread.
type thread struct {
	parent  slackserver.Message
	reports []slackserver.Message // full reports (with buttons)
	others  []slackserver.Message // other replies (notes, duplicates)
	files   []slackserver.File
}

// alertThread finds the bot's post of the webhook alert for a workload in
// namespace ns ("ns/workload" in its text) and its replies.
func alertThread(srv *slackserver.Server, ns string) (thread, bool) {
	for _, m := range srv.Messages(alertsChannel) {
		if m.ThreadTS == "" && m.BotID == srv.BotID && strings.Contains(m.Text, ns+"/") && !isReport(m) {
			return threadOf(srv, m), true
		}
	}
	return thread{}, false
}

func threadOf(srv *slackserver.Server, parent slackserver.Message) thread {
	th := thread{parent: parent}
	for _, m := range srv.Thread(alertsChannel, parent.TS) {
		if m.TS == parent.TS || m.BotID != srv.BotID || len(m.Files) > 0 {
			continue
		}
		if isReport(m) {
			th.reports = append(th.reports, m)
		} else {
			th.others = append(th.others, m)
		}
	}
	for _, f := range srv.Files() {
		if f.Channel == alertsChannel && f.ThreadTS == parent.TS && f.Completed {
			th.files = append(th.files, f)
		}
	}
	return th
}

func isReport(m slackserver.Message) bool { return strings.Contains(blocksJSON(m), reportButton) }

// waitReport waits until the alert for the incident has a report and a
// chart in its thread (or just a report when chart is false).
func waitReport(t *testing.T, srv *slackserver.Server, inc *harness.Incident, chart bool) thread {
	t.Helper()
	var th thread
	waitSlack(t, srv, "report for "+inc.Namespace+"/"+inc.Pod, func(s *slackserver.Server) bool {
		var ok bool
		th, ok = alertThread(s, inc.Namespace)
		return ok && len(th.reports) > 0 && (!chart || len(th.files) > 0)
	})
	return th
}

func blocksJSON(m slackserver.Message) string {
	b, _ := json.Marshal(m.Blocks)
	return string(b)
}

// reportText is everything a reader sees of a report: text and blocks.
func reportText(m slackserver.Message) string { return m.Text + "\n" + blocksJSON(m) }

// sourcesLine is the report's "Sources: …" context line.
func sourcesLine(m slackserver.Message) string {
	for _, b := range m.Blocks {
		if b["block_id"] != "oom_sources" {
			continue
		}
		if els, ok := b["elements"].([]any); ok && len(els) > 0 {
			if e, ok := els[0].(map[string]any); ok {
				s, _ := e["text"].(string)
				return s
			}
		}
	}
	return ""
}

func assertContains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q\n%s", what, w, tailString(text, 3000))
		}
	}
}

func assertNotContains(t *testing.T, what, text string, bad ...string) {
	t.Helper()
	for _, w := range bad {
		if strings.Contains(text, w) {
			t.Errorf("%s contains %q", what, w)
		}
	}
}

func assertChart(t *testing.T, th thread, pod string) {
	t.Helper()
	if len(th.files) != 1 {
		t.Fatalf("%d files in the thread, want the chart only", len(th.files))
	}
	f := th.files[0]
	if !bytes.HasPrefix(f.Data, []byte("\x89PNG\r\n\x1a\n")) || len(f.Data) < 10_000 {
		t.Errorf("chart is not a PNG (%d bytes, %q)", len(f.Data), f.Name)
	}
	if !strings.Contains(f.Name, pod) {
		t.Errorf("chart name %q does not name the pod", f.Name)
	}
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
