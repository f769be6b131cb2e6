package bot_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/bot"
	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/chart"
	"github.com/oombot/oombot/internal/chat"
	slackchat "github.com/oombot/oombot/internal/chat/slack"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/fleet"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/slackserver"
	"github.com/oombot/oombot/internal/sources/kube"
	"github.com/oombot/oombot/internal/sources/prometheus"
	"github.com/oombot/oombot/internal/triage"
)

const channel = "C0STORM001"

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// clock records when each pod's last source answered.
type clock struct {
	mu   sync.Mutex
	done map[string]time.Time
}

func (c *clock) mark(pod string) {
	c.mu.Lock()
	if now := time.Now(); now.After(c.done[pod]) {
		c.done[pod] = now
	}
	c.mu.Unlock()
}

func (c *clock) at(pod string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done[pod]
}

// slowCluster serves every pod name from the recorded incident, each call
// answering after delay: 50 workloads' worth of real evidence through the
// real engine, with sources as slow as the benchmark says.
type slowCluster struct {
	inner triage.Cluster
	real  string
	delay time.Duration
	clk   *clock
}

func (s *slowCluster) wait(ctx context.Context, pod string) error {
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		s.clk.mark(pod)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *slowCluster) Pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	if err := s.wait(ctx, name); err != nil {
		return nil, err
	}
	p, err := s.inner.Pod(ctx, ns, s.real)
	if err != nil {
		return nil, err
	}
	p = p.DeepCopy()
	p.Name = name
	return p, nil
}

func (s *slowCluster) orig(p *corev1.Pod) *corev1.Pod {
	c := p.DeepCopy()
	c.Name = s.real
	return c
}

func (s *slowCluster) Events(ctx context.Context, p *corev1.Pod) ([]corev1.Event, error) {
	defer s.wait(ctx, p.Name) //nolint:errcheck // the delay is the point
	return s.inner.Events(ctx, s.orig(p))
}

func (s *slowCluster) Workload(ctx context.Context, p *corev1.Pod) (*kube.Workload, error) {
	defer s.wait(ctx, p.Name) //nolint:errcheck
	return s.inner.Workload(ctx, s.orig(p))
}

func (s *slowCluster) Logs(ctx context.Context, ns, pod, container string, previous bool) (io.ReadCloser, error) {
	defer s.wait(ctx, pod) //nolint:errcheck
	return s.inner.Logs(ctx, ns, s.real, container, previous)
}

type slowMetrics struct {
	triage.Metrics
	cl *slowCluster
}

func (m slowMetrics) Range(ctx context.Context, sig string, t prometheus.Target, start, end time.Time) ([]prometheus.Series, error) {
	pod := t.Pod
	t.Pod = m.cl.real
	defer m.cl.wait(ctx, pod) //nolint:errcheck
	return m.Metrics.Range(ctx, sig, t, start, end)
}

// suffix spells n in the alphabet Kubernetes uses for generated names, so
// the alert parser takes the name for a real pod's.
func suffix(n, width int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	out := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		out[i] = alphabet[n%len(alphabet)]
		n /= len(alphabet)
	}
	return string(out)
}

// bundleBot starts a bot on Socket Mode against srv, with one cluster,
// "prod", replaying the image-decode-bomb incident through the real engine
// and the shipped playbooks, watching channel for namespace edge. tune may
// change the engine and the options before the bot starts. It returns once
// the socket is connected; stop ends the socket and waits for the triages
// in flight.
func bundleBot(tb testing.TB, srv *slackserver.Server, tune func(*bundle.Bundle, *triage.Engine, *bot.Options)) (bt *bot.Bot, stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := bundle.Load(filepath.Join(repoRoot(), "examples/incidents/image-decode-bomb"))
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := factory.BundleEngine(b)
	if err != nil {
		tb.Fatal(err)
	}
	if eng.Playbooks, _, err = factory.Playbooks(""); err != nil {
		tb.Fatal(err)
	}
	client, err := slackchat.NewClient(ctx, srv.BotToken, slackchat.ClientOptions{APIURL: srv.URL(), AppToken: srv.AppToken, HTTPClient: srv.Client()})
	if err != nil {
		tb.Fatal(err)
	}
	parser, err := alert.NewParser(alert.DefaultRules())
	if err != nil {
		tb.Fatal(err)
	}
	o := bot.Options{Platform: chat.Queued(client, chat.QueueOptions{}), Parser: parser,
		Channels: []config.Channel{{ID: channel, Watch: true, Namespaces: []string{"edge"}}}}
	if tune != nil {
		tune(b, eng, &o)
	}
	if o.Triager, err = fleet.New("prod", &fleet.Member{Name: "prod", Engine: eng, FiredAt: b.Manifest.FiredAt}); err != nil {
		tb.Fatal(err)
	}
	if bt, err = bot.New(o); err != nil {
		tb.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- client.RunSocket(ctx, bt, slackchat.SocketOptions{}) }()
	stop = func() {
		cancel()
		<-runErr
		_ = bt.Shutdown(context.Background())
	}
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := srv.WaitFor(wctx, func(s *slackserver.Server) bool { return s.Connections() > 0 }); err != nil {
		stop()
		tb.Fatal(err)
	}
	return bt, stop
}

// stormResult is what one storm measured.
type stormResult struct {
	alerts, answered, reports, charts int
	// afterSources is, per fresh alert, the time from its slowest source
	// answering to its report arriving at Slack.
	afterSources []time.Duration
	elapsed      time.Duration
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// storm posts alerts for workloads (each alert a different pod of its
// workload) through Socket Mode to a bot whose sources answer after delay.
func storm(tb testing.TB, alerts, workloads int, delay time.Duration) stormResult {
	tb.Helper()
	srv := slackserver.New(slackserver.Options{})
	defer srv.Close()
	clk := &clock{done: map[string]time.Time{}}
	_, stop := bundleBot(tb, srv, func(b *bundle.Bundle, eng *triage.Engine, o *bot.Options) {
		sc := &slowCluster{inner: eng.Cluster, real: b.Manifest.Target.Pod, delay: delay, clk: clk}
		eng.Cluster, eng.Metrics = sc, []triage.Metrics{slowMetrics{Metrics: eng.Metrics[0], cl: sc}}
		o.Chart = func(c *report.Chart) ([]byte, error) { return chart.PNG(c, chart.Options{}) }
	})
	defer stop()
	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer wcancel()

	type posted struct {
		ts, pod string
		at      time.Time
	}
	var msgs []posted
	start := time.Now()
	for i := range alerts {
		w := i % workloads
		pod := fmt.Sprintf("svc-%s-6bqn5pfqmq-%s", suffix(w, 2), suffix(i, 5))
		m := srv.AddMessage(channel, slackserver.Message{SubType: "bot_message", BotID: "B0ALERTMGR", Username: "Alertmanager",
			Attachments: []map[string]any{{"title": "[FIRING:1] KubePodOOMKilled edge " + pod + " (prod gateway)", "color": "danger",
				"fallback": "[FIRING:1] KubePodOOMKilled edge " + pod}}})
		if _, err := srv.Push(slackserver.EventsAPI, srv.EventCallback(srv.MessageEvent(m))); err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, posted{ts: m.TS, pod: pod, at: time.Now()})
	}
	err := srv.WaitFor(wctx, func(s *slackserver.Server) bool {
		n := 0
		for _, m := range s.Messages(channel) {
			if m.ThreadTS != "" && m.ThreadTS != m.TS && m.BotID == s.BotID && len(m.Files) == 0 {
				n++
			}
		}
		return n >= alerts
	})
	res := stormResult{alerts: alerts, elapsed: time.Since(start)}
	// Charts are uploaded after reports; wait for them too (bounded).
	_ = srv.WaitFor(wctx, func(s *slackserver.Server) bool { return len(s.Files()) >= workloads })
	replyAt := map[string][]slackserver.Message{}
	for _, m := range srv.Messages(channel) {
		if m.ThreadTS != "" && m.ThreadTS != m.TS && m.BotID == srv.BotID && len(m.Files) == 0 {
			replyAt[m.ThreadTS] = append(replyAt[m.ThreadTS], m)
		}
	}
	arrival := map[string]time.Time{}
	for _, c := range srv.Calls("chat.postMessage") {
		if c.Status == 200 && c.Error == "" && strings.Contains(string(c.Params.Get("blocks")), "oom_rerun") {
			arrival[c.Params.Get("thread_ts")] = c.At
		}
	}
	for _, p := range msgs {
		rs := replyAt[p.ts]
		if len(rs) > 0 {
			res.answered++
		}
		for _, r := range rs {
			if strings.Contains(fmt.Sprint(r.Blocks), "oom_rerun") {
				res.reports++
				if at, ok := arrival[p.ts]; ok {
					res.afterSources = append(res.afterSources, at.Sub(clk.at(p.pod)))
				}
			}
		}
	}
	res.charts = len(srv.Files())
	if err != nil {
		tb.Errorf("not every alert answered: %v (%d/%d)", err, res.answered, alerts)
	}
	return res
}

// TestAlertStorm: 1,000 alerts for 50 workloads, as fast as the socket
// takes them (the 60 s of the requirement compressed): exactly 50 triages,
// every alert answered in its own thread, nothing dropped, and each fresh
// report posted within 1 s of its slowest source answering.
func TestAlertStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("storm takes a few seconds")
	}
	r := storm(t, 1000, 50, 200*time.Millisecond)
	if r.answered != 1000 {
		t.Errorf("%d of 1000 alerts answered", r.answered)
	}
	if r.reports != 50 {
		t.Errorf("%d triage reports, want exactly 50 (one per workload)", r.reports)
	}
	if r.charts != 50 {
		t.Errorf("%d charts, want 50", r.charts)
	}
	p50, p95 := percentile(r.afterSources, 0.5), percentile(r.afterSources, 0.95)
	t.Logf("storm: 1000 alerts / 50 workloads answered in %s; report after slowest source p50 %s p95 %s (n=%d)",
		r.elapsed.Round(time.Millisecond), p50.Round(time.Millisecond), p95.Round(time.Millisecond), len(r.afterSources))
	if len(r.afterSources) != 50 || (p95 > time.Second && !raceEnabled) {
		t.Errorf("fresh-alert latency after sources: p95 %s over %d reports, want ≤ 1s over 50", p95, len(r.afterSources))
	}
}

// BenchmarkAlertStorm reports the storm's latencies; compare with
// BenchmarkPostOnly (the same number of thread replies posted straight
// through the Slack client) for the bot's overhead ratio.
func BenchmarkAlertStorm(b *testing.B) {
	for b.Loop() {
		r := storm(b, 1000, 50, 200*time.Millisecond)
		b.ReportMetric(float64(percentile(r.afterSources, 0.5).Milliseconds()), "p50-ms-after-sources")
		b.ReportMetric(float64(percentile(r.afterSources, 0.95).Milliseconds()), "p95-ms-after-sources")
		b.ReportMetric(r.elapsed.Seconds(), "storm-s")
	}
}

func BenchmarkPostOnly(b *testing.B) {
	srv := slackserver.New(slackserver.Options{})
	defer srv.Close()
	ctx := context.Background()
	client, err := slackchat.NewClient(ctx, srv.BotToken, slackchat.ClientOptions{APIURL: srv.URL(), HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	parent := srv.AddMessage(channel, slackserver.Message{Text: "alert"})
	for b.Loop() {
		start := time.Now()
		for range 1000 {
			if _, err := client.Post(ctx, chat.Target{Channel: channel, ThreadTS: parent.TS}, chat.Message{Text: "Already triaged"}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "storm-s")
	}
}
