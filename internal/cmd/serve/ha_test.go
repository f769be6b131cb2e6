package serve

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/leader"
	"github.com/oombot/oombot/internal/leader/leasetest"
	"github.com/oombot/oombot/internal/realserver"
	"github.com/oombot/oombot/internal/slackserver"
	"github.com/oombot/oombot/internal/store"
)

const (
	watchChannel = "C0WATCH001"
	leaseCluster = "lease-1"
	// fastLease is for tests that are not about timing; the production
	// defaults (10s/7s/2s) are used where takeover time is the point.
	fastLease = "leaseDuration: 2s\n  renewDeadline: 1s\n  retryPeriod: 250ms\n"
)

// haOpts describe one replica of an HA pair.
type haOpts struct {
	id    string
	lease *leasetest.Clientset
	// dsn is a real PostgreSQL database shared by the replicas; openStore,
	// when set, replaces it (the config still says postgres).
	dsn       string
	openStore func(context.Context, config.Store) (store.Store, error)
	// kube are more live clusters: name → client.
	kube map[string]kubernetes.Interface
	// prom, when set, is the demo cluster's Prometheus (a slow one makes
	// triages that are in flight long enough to be cut off).
	prom      string
	timings   string // leaderElection timing YAML (default: production defaults)
	extra     string
	keepLease bool
	resume    time.Duration
	grace     time.Duration
}

// startReplica starts `serve` with leader election; it returns once the
// replica listens (it may be leader or follower by then).
func startReplica(t *testing.T, srv *slackserver.Server, o haOpts) *running {
	t.Helper()
	clusters := fmt.Sprintf("  - name: prod-eu-1\n    bundle: %s\n", filepath.Join(repoRoot(t), "examples/incidents/image-decode-bomb"))
	if o.prom != "" {
		clusters += fmt.Sprintf("    prometheus: %s\n", o.prom)
	}
	clusters += fmt.Sprintf("  - name: %s\n    kubeconfig: unused-injected\n", leaseCluster)
	kube := map[string]kubernetes.Interface{leaseCluster: o.lease}
	for name, c := range o.kube {
		clusters += fmt.Sprintf("  - name: %s\n    kubeconfig: unused-injected\n", name)
		kube[name] = c
	}
	cfg := fmt.Sprintf(`slack:
  mode: socket
  apiURL: %s
metricsListen: 127.0.0.1:0
channels:
  - id: %s
    watch: true
    namespaces: [edge, shop]
  - id: %s
    namespaces: [edge]
clusters:
%sdefaultCluster: prod-eu-1
timeouts: {source: 2s, overall: 20s}
store: {driver: postgres}
leaderElection:
  enabled: true
  cluster: %s
  namespace: oombot
  identity: %s
  %s
%s`, srv.URL(), alertsChannel, watchChannel, clusters, leaseCluster, o.id, o.timings, o.extra)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := o.dsn
	if dsn == "" {
		dsn = "postgres://injected"
	}
	env := map[string]string{"SLACK_BOT_TOKEN": srv.BotToken, "SLACK_APP_TOKEN": srv.AppToken, "OOMBOT_POSTGRES_DSN": dsn}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, done: make(chan error, 1), stop: cancel}
	ready := make(chan string, 1)
	log := testLogger(t).With("replica", o.id)
	go func() {
		r.done <- Serve(ctx, Options{ConfigPath: path, Getenv: func(k string) string { return env[k] },
			Ready: func(addr string) { ready <- addr }, HTTPClient: srv.Client(), ShutdownGrace: o.grace,
			Logger: log, OpenStore: o.openStore, KeepLeaseOnExit: o.keepLease, ResumeAfter: o.resume,
			KubeClient: func(k config.Cluster) (kubernetes.Interface, error) {
				if c, ok := kube[k.Name]; ok {
					return c, nil
				}
				return nil, fmt.Errorf("no client for %s", k.Name)
			}})
	}()
	select {
	case r.addr = <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("replica %s exited before ready: %v", o.id, err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("replica %s not ready", o.id)
	}
	t.Cleanup(func() { r.shutdown(t) })
	return r
}

// probe GETs one of a replica's endpoints.
func probe(t *testing.T, r *running, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + r.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func isLeader(t *testing.T, r *running) bool {
	_, body := probe(t, r, PathReadyz)
	return strings.Contains(body, "role leader")
}

// pollUntil polls cond every 20ms for up to limit.
func pollUntil(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// botRepliesPerThread counts the bot's replies (files aside) under each
// top-level message in channel that is not the bot's own.
func botRepliesPerThread(srv *slackserver.Server, channel string) map[string]int {
	out := map[string]int{}
	msgs := srv.Messages(channel)
	for _, m := range msgs {
		if m.ThreadTS == "" && m.BotID != srv.BotID {
			out[m.TS] = 0
		}
	}
	for _, m := range msgs {
		if _, ok := out[m.ThreadTS]; ok && m.BotID == srv.BotID && len(m.Files) == 0 {
			out[m.ThreadTS]++
		}
	}
	return out
}

// TestHAOneConnectionOneReply: two replicas, one Lease: only the leader
// opens a Socket Mode connection; an alert is answered once; the same
// webhook delivered to both replicas (a retry that lands on the other pod)
// is posted and triaged once, thanks to the shared PostgreSQL store.
func TestHAOneConnectionOneReply(t *testing.T) {
	pg := realserver.Postgres(t)
	srv := newServer(t)
	lease := leasetest.NewClientset()
	dsn := pg.NewDatabase(t)
	webhooks := "webhooks: {channel: " + alertsChannel + "}\n"
	a := startReplica(t, srv, haOpts{id: "a", lease: lease, dsn: dsn, timings: fastLease, extra: webhooks})
	waitFor(t, srv, "a connection", func(s *slackserver.Server) bool { return s.Connections() == 1 })
	b := startReplica(t, srv, haOpts{id: "b", lease: lease, dsn: dsn, timings: fastLease, extra: webhooks})
	pollUntil(t, "b ready as follower", 10*time.Second, func() bool {
		code, body := probe(t, b, PathReadyz)
		return code == http.StatusOK && strings.Contains(body, "role follower")
	})
	if !isLeader(t, a) {
		t.Fatal("a holds the connection but does not say it leads")
	}
	// Several renewals later, still one connection, ever.
	time.Sleep(time.Second)
	if n, c := srv.Connections(), srv.Connects(); n != 1 || c != 1 {
		t.Fatalf("%d open connections, %d ever opened; want 1 and 1", n, c)
	}

	alert, env, err := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "reply", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, alert.TS)) == 1 })
	if _, err := srv.WaitAck(context.Background(), env); err != nil {
		t.Fatal(err)
	}

	// One Alertmanager notification, delivered to each replica.
	payload := fmt.Sprintf(`{"version":"4","status":"firing","receiver":"oombot","groupLabels":{},"commonLabels":{},"alerts":[
{"status":"firing","labels":{"alertname":"KubePodOOMKilled","namespace":"shop","pod":"cart-7d9f8b6c5-x2x4q","container":"app"},
"annotations":{},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","fingerprint":"f00dfeed"}]}`, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
	for _, r := range []*running{a, b} {
		resp, err := http.Post("http://"+r.addr+PathAlertmanager, "application/json", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("webhook: %d", resp.StatusCode)
		}
	}
	var parent slackserver.Message
	waitFor(t, srv, "webhook alert and its reply", func(s *slackserver.Server) bool {
		for _, m := range s.Messages(alertsChannel) {
			if m.ThreadTS == "" && strings.Contains(m.Text, "KubePodOOMKilled") {
				parent = m
				return len(replies(s, alertsChannel, m.TS)) >= 1
			}
		}
		return false
	})
	time.Sleep(500 * time.Millisecond)
	posts := 0
	for _, m := range srv.Messages(alertsChannel) {
		if m.ThreadTS == "" && strings.Contains(m.Text, "KubePodOOMKilled") {
			posts++
		}
	}
	if posts != 1 || len(replies(srv, alertsChannel, parent.TS)) != 1 {
		t.Errorf("webhook delivered to both replicas: %d posts, %d replies; want 1 and 1", posts, len(replies(srv, alertsChannel, parent.TS)))
	}
}

// TestHACrashTakeoverMidStorm: alerts keep arriving while the leader dies
// without releasing the Lease, in the middle of a triage (its Prometheus
// is slow, so the first alert's triage is in flight: acked, claimed, not
// answered). With the production timings the follower connects within
// 15 s; every alert (delivered before, during or after the gap, or never
// delivered at all and only in the channel's history) ends up with exactly
// one reply, the cut-off one included.
func TestHACrashTakeoverMidStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("takes the production lease timings (about 20 s)")
	}
	prom := hangingServer(t)
	pg := realserver.Postgres(t)
	srv := newServer(t)
	lease := leasetest.NewClientset()
	dsn := pg.NewDatabase(t)
	a := startReplica(t, srv, haOpts{id: "a", lease: lease, dsn: dsn, prom: prom.URL, keepLease: true, grace: 10 * time.Millisecond})
	waitFor(t, srv, "a connected", func(s *slackserver.Server) bool { return s.Connections() == 1 })
	b := startReplica(t, srv, haOpts{id: "b", lease: lease, dsn: dsn, prom: prom.URL, resume: 3 * time.Second})
	pollUntil(t, "b follows", 10*time.Second, func() bool {
		_, body := probe(t, b, PathReadyz)
		return strings.Contains(body, "role follower")
	})

	// The first alert: a receives it, acks it and starts its triage,
	// which waits for Prometheus (2 s source timeout).
	cutOff, env, err := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitAck(context.Background(), env); err != nil {
		t.Fatal(err)
	}

	// The storm: an alert every 300 ms. Every fourth is never delivered
	// as an event (Slack gave up on it): only the channel history has it.
	var (
		mu        sync.Mutex
		all       = []string{cutOff.TS}
		historic  int
		stopStorm = make(chan struct{})
		stormDone = make(chan struct{})
		duringGap atomic.Int32
		gap       atomic.Bool
	)
	go func() {
		defer close(stormDone)
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopStorm:
				return
			case <-tick.C:
			}
			msg := fixture(t, "alertmanager-firing-oomkilled")
			mu.Lock()
			if i%4 == 3 {
				all = append(all, srv.AddMessage(alertsChannel, msg).TS)
				historic++
			} else if m, _, err := srv.PushMessage(alertsChannel, msg); err == nil {
				all = append(all, m.TS)
			}
			mu.Unlock()
			if gap.Load() {
				duringGap.Add(1)
			}
		}
	}()
	time.Sleep(700 * time.Millisecond)
	connects := srv.Connects()
	crashAt := time.Now()
	gap.Store(true)
	a.shutdown(t) // KeepLeaseOnExit + 10ms grace: a crash, as far as the Lease and in-flight work go
	if n := len(replies(srv, alertsChannel, cutOff.TS)); n != 0 {
		t.Fatalf("the first alert was answered before the crash (%d replies): the test proves nothing", n)
	}
	if h := leaseHolder(t, lease); h != "a" {
		t.Fatalf("a crashed leader's Lease should still name it, got %q", h)
	}
	waitFor(t, srv, "b connects", func(s *slackserver.Server) bool { return s.Connects() > connects && s.Connections() == 1 })
	gap.Store(false)
	takeover := time.Since(crashAt)
	bound := leader.TakeoverBound(leader.DefaultLeaseDuration, leader.DefaultRetryPeriod)
	t.Logf("takeover after a crash: %s (bound with the default timings %s)", takeover.Round(time.Millisecond), bound)
	if takeover > 15*time.Second || takeover > bound+time.Second {
		t.Errorf("takeover took %s, want ≤ 15s (bound %s)", takeover, bound)
	}
	if !isLeader(t, b) {
		t.Error("b connected but does not say it leads")
	}
	time.Sleep(2 * time.Second)
	close(stopStorm)
	<-stormDone
	if duringGap.Load() == 0 {
		t.Fatal("no alert arrived while nobody was connected: the test proves nothing")
	}

	mu.Lock()
	t.Logf("%d alerts (%d only in history, %d while nobody was connected)", len(all), historic, duringGap.Load())
	mu.Unlock()
	waitFor(t, srv, "a reply to every alert", func(s *slackserver.Server) bool {
		per := botRepliesPerThread(s, alertsChannel)
		mu.Lock()
		defer mu.Unlock()
		for _, ts := range all {
			if per[ts] == 0 {
				return false
			}
		}
		return true
	})
	// Slack retries whatever is unacked; nothing may add a second reply.
	srv.RedeliverUnacked()
	time.Sleep(2 * time.Second)
	per := botRepliesPerThread(srv, alertsChannel)
	for _, ts := range all {
		if per[ts] != 1 {
			t.Errorf("alert %s has %d replies, want exactly 1", ts, per[ts])
		}
	}
	// The cut-off alert got its triage after all (the others in the
	// window point to its thread).
	if rs := replies(srv, alertsChannel, cutOff.TS); len(rs) != 1 || !strings.Contains(blocksJSON(rs[0]), "oom_rerun") {
		t.Errorf("the alert whose triage was cut off has no report: %+v", rs)
	}
}

func leaseHolder(t *testing.T, cs *leasetest.Clientset) string {
	t.Helper()
	l, err := cs.CoordinationV1().Leases("oombot").Get(context.Background(), "oombot", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// TestHAGracefulHandover: a leader that shuts down cleanly releases the
// Lease; the follower connects within about one retry period (production
// timings), and an alert posted just after is answered once.
func TestHAGracefulHandover(t *testing.T) {
	pg := realserver.Postgres(t)
	srv := newServer(t)
	lease := leasetest.NewClientset()
	dsn := pg.NewDatabase(t)
	a := startReplica(t, srv, haOpts{id: "a", lease: lease, dsn: dsn})
	waitFor(t, srv, "a connected", func(s *slackserver.Server) bool { return s.Connections() == 1 })
	b := startReplica(t, srv, haOpts{id: "b", lease: lease, dsn: dsn})
	pollUntil(t, "b follows", 10*time.Second, func() bool {
		_, body := probe(t, b, PathReadyz)
		return strings.Contains(body, "role follower")
	})
	connects := srv.Connects()
	stop := time.Now()
	a.shutdown(t)
	released := time.Since(stop)
	if h := leaseHolder(t, lease); h != "" && h != "b" {
		t.Errorf("Lease still held by %q after a clean shutdown", h)
	}
	waitFor(t, srv, "b connects", func(s *slackserver.Server) bool { return s.Connects() > connects && s.Connections() == 1 })
	took := time.Since(stop)
	t.Logf("graceful handover: a stopped in %s, b connected %s after the stop began", released.Round(time.Millisecond), took.Round(time.Millisecond))
	// The follower retries every RetryPeriod, jittered up to 2.2×.
	if limit := released + leader.DefaultRetryPeriod*22/10 + time.Second; took > limit {
		t.Errorf("handover took %s, want ≲ one retry period after the release (%s)", took, limit)
	}
	alert, _, _ := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	waitFor(t, srv, "reply", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, alert.TS)) == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := len(replies(srv, alertsChannel, alert.TS)); n != 1 {
		t.Errorf("%d replies", n)
	}
}

// flakyStore is a memory store whose Ping can be made to fail.
type flakyStore struct {
	*store.Memory
	down atomic.Pointer[error]
}

func (f *flakyStore) Ping(ctx context.Context) error {
	if err := f.down.Load(); err != nil {
		return *err
	}
	return f.Memory.Ping(ctx)
}

// TestHAProbes: /readyz says why a replica is not ready: a leader not
// connected yet, a store that does not answer; a follower is ready.
// /healthz passes on both.
func TestHAProbes(t *testing.T) {
	srv := newServer(t)
	lease := leasetest.NewClientset()
	shared := &flakyStore{Memory: store.NewMemory()}
	open := func(context.Context, config.Store) (store.Store, error) { return shared, nil }
	// The leader's connection takes a while to open.
	srv.Latency("apps.connections.open", 3*time.Second)
	a := startReplica(t, srv, haOpts{id: "a", lease: lease, openStore: open, timings: fastLease})
	pollUntil(t, "a leads", 10*time.Second, func() bool { return isLeader(t, a) })
	code, body := probe(t, a, PathReadyz)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "[-]socket failed") || !strings.Contains(body, "[+]store ok") {
		t.Errorf("leader before connecting: %d\n%s", code, body)
	}
	b := startReplica(t, srv, haOpts{id: "b", lease: lease, openStore: open, timings: fastLease})
	pollUntil(t, "b ready as follower", 10*time.Second, func() bool {
		code, body := probe(t, b, PathReadyz)
		return code == http.StatusOK && strings.Contains(body, "role follower")
	})
	waitFor(t, srv, "a connected", func(s *slackserver.Server) bool { return s.Connections() == 1 })
	pollUntil(t, "a ready", 5*time.Second, func() bool { code, _ := probe(t, a, PathReadyz); return code == http.StatusOK })

	down := fmt.Errorf("dial tcp 10.0.0.7:5432: connect: connection refused")
	shared.down.Store(&down)
	for _, r := range []*running{a, b} {
		code, body := probe(t, r, PathReadyz)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "[-]store failed: dial tcp 10.0.0.7:5432") {
			t.Errorf("store down: %d\n%s", code, body)
		}
		// Liveness does not depend on the store: restarting would not help.
		if code, body := probe(t, r, PathHealthz); code != http.StatusOK || !strings.Contains(body, "[+]leaderElection ok") {
			t.Errorf("healthz with the store down: %d\n%s", code, body)
		}
	}
	shared.down.Store(nil)
	for _, r := range []*running{a, b} {
		if code, body := probe(t, r, PathReadyz); code != http.StatusOK {
			t.Errorf("store back: %d\n%s", code, body)
		}
	}
}

// TestProbesSingleReplica: without leader election the only replica is
// ready once connected, and says nothing of roles.
func TestProbesSingleReplica(t *testing.T) {
	srv := newServer(t)
	r := startBot(t, srv, botOpts{extra: "metricsListen: 127.0.0.1:0\n"})
	pollUntil(t, "ready", 5*time.Second, func() bool { code, _ := probe(t, r, PathReadyz); return code == http.StatusOK })
	code, body := probe(t, r, PathReadyz)
	if code != http.StatusOK || !strings.Contains(body, "[+]socket ok") || !strings.Contains(body, "[+]store ok") || strings.Contains(body, "role") {
		t.Errorf("readyz: %d\n%s", code, body)
	}
	if code, body := probe(t, r, PathHealthz); code != http.StatusOK || strings.Contains(body, "leaderElection") {
		t.Errorf("healthz: %d\n%s", code, body)
	}
}

// killPod records an OOM kill of the bundle pod's container in the fake
// cluster, as the kubelet would: last state terminated, restart count up.
func killPod(t *testing.T, cs kubernetes.Interface, at time.Time) {
	t.Helper()
	ctx := context.Background()
	p, err := cs.CoreV1().Pods(bundleNS).Get(ctx, bundlePod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := &p.Status.ContainerStatuses[0]
	st.RestartCount++
	st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137,
		StartedAt: metav1.NewTime(at.Add(-time.Minute)), FinishedAt: metav1.NewTime(at)}
	if _, err := cs.CoreV1().Pods(bundleNS).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// watchPosts are the bot's top-level posts in the watch channel.
func watchPosts(s *slackserver.Server) []slackserver.Message {
	var out []slackserver.Message
	for _, m := range s.Messages(watchChannel) {
		if m.ThreadTS == "" && m.BotID == s.BotID {
			out = append(out, m)
		}
	}
	return out
}

// TestHAWatcher: the built-in watcher, end to end, with two replicas on
// one cluster (a fake API server holding the recorded incident's pod). The
// pod's recorded kill is older than the lookback: nothing is posted. A new
// OOM kill is posted in watch.channel with its triage in the thread, once;
// four more kills of the same workload inside the dedup window post
// nothing; when the leadership changes hands, the new leader's watcher
// replays the lookback and posts nothing again.
func TestHAWatcher(t *testing.T) {
	pg := realserver.Postgres(t)
	srv := newServer(t)
	lease := leasetest.NewClientset()
	dsn := pg.NewDatabase(t)
	bnd, err := bundle.Load(filepath.Join(repoRoot(t), "examples/incidents/image-decode-bomb"))
	if err != nil {
		t.Fatal(err)
	}
	cluster := bnd.Clientset()
	o := haOpts{lease: lease, dsn: dsn, timings: fastLease, kube: map[string]kubernetes.Interface{"live-1": cluster},
		extra: "watch: {enabled: true, channel: " + watchChannel + ", clusters: [live-1]}\n"}
	o.id = "a"
	a := startReplica(t, srv, o)
	waitFor(t, srv, "a connected", func(s *slackserver.Server) bool { return s.Connections() == 1 })
	o.id = "b"
	b := startReplica(t, srv, o)
	pollUntil(t, "b follows", 10*time.Second, func() bool {
		_, body := probe(t, b, PathReadyz)
		return strings.Contains(body, "role follower")
	})
	time.Sleep(500 * time.Millisecond) // the watcher has listed the pod and its old kill
	if n := len(watchPosts(srv)); n != 0 {
		t.Fatalf("%d posts for a kill older than the lookback", n)
	}

	start := time.Now().Truncate(time.Second)
	killPod(t, cluster, start)
	var post slackserver.Message
	waitFor(t, srv, "kill posted with its triage", func(s *slackserver.Server) bool {
		ps := watchPosts(s)
		if len(ps) == 0 {
			return false
		}
		post = ps[0]
		return len(replies(s, watchChannel, post.TS)) >= 1
	})
	if !strings.Contains(post.Text, "OOMKilled: "+bundleNS+"/"+bundlePod+" (gateway)") || !strings.Contains(post.Text, "watcher") {
		t.Errorf("watch post: %q", post.Text)
	}
	rep := replies(srv, watchChannel, post.TS)[0]
	if !strings.Contains(blocksJSON(rep), "oom_rerun") {
		t.Errorf("the kill's thread has no report: %q", rep.Text)
	}
	t.Logf("watch post %q; report %q", post.Text, rep.Text)

	// A crash loop: four more kills inside the dedup window.
	for i := 1; i <= 4; i++ {
		killPod(t, cluster, start.Add(time.Duration(i)*time.Second))
	}
	pollUntil(t, "kills rate-limited", 10*time.Second, func() bool {
		_, body := probe(t, a, "/metrics")
		return strings.Contains(body, `oombot_watch_kills_total{cluster="live-1",outcome="ratelimited"} 4`)
	})

	// The leadership moves; b's watcher lists the pod with its latest kill.
	a.shutdown(t)
	pollUntil(t, "b leads", 10*time.Second, func() bool { return isLeader(t, b) })
	pollUntil(t, "b's watcher saw the replayed kill", 10*time.Second, func() bool {
		_, body := probe(t, b, "/metrics")
		return strings.Contains(body, `oombot_watch_kills_total{cluster="live-1",outcome="duplicate"} 1`)
	})
	time.Sleep(300 * time.Millisecond)
	if ps := watchPosts(srv); len(ps) != 1 {
		t.Errorf("%d watch posts, want 1", len(ps))
	}
	if n := len(replies(srv, watchChannel, post.TS)); n != 1 {
		t.Errorf("%d replies in the kill's thread, want 1", n)
	}
}
