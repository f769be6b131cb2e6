package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/bot"
	slackchat "github.com/oombot/oombot/internal/chat/slack"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/leader"
	"github.com/oombot/oombot/internal/store"
	"github.com/oombot/oombot/internal/watch"
)

// probes answers /healthz and /readyz in Kubernetes' verbose format: one
// "[+]check ok" or "[-]check failed: why" line per check, then a verdict.
type probes struct {
	store      store.Store
	socketMode bool
	elector    *leader.Elector // nil without leader election
	// leading says whether this replica does the leader's work (always,
	// without leader election); set before the probes are served.
	leading     func() bool
	slackAuthed atomic.Bool
	socketUp    atomic.Bool
}

type check struct {
	name string
	err  error
}

// healthz is liveness: the process answers, and with leader election the
// elector is not stuck (a leader that cannot renew yet keeps leading must
// be restarted).
func (p *probes) healthz(w http.ResponseWriter, _ *http.Request) {
	checks := []check{{name: "ping"}}
	if p.elector != nil {
		checks = append(checks, check{"leaderElection", p.elector.Check()})
	}
	writeChecks(w, "healthz", checks)
}

// readyz is readiness: the store answers, Slack accepted the token, and a
// replica that leads in socket mode holds its connection. A follower is
// ready: it serves webhooks, HTTP-mode requests and metrics.
func (p *probes) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := []check{{"store", p.store.Ping(ctx)}}
	var slackErr error
	if !p.slackAuthed.Load() {
		slackErr = fmt.Errorf("auth.test not passed yet")
	}
	checks = append(checks, check{"slack", slackErr})
	if p.socketMode {
		var err error
		if p.leading() && !p.socketUp.Load() {
			err = fmt.Errorf("the socket mode connection is not up")
		}
		checks = append(checks, check{"socket", err})
	}
	if p.elector != nil {
		role := "follower"
		if p.elector.Leading() {
			role = "leader"
		}
		checks = append(checks, check{name: "role " + role})
	}
	writeChecks(w, "readyz", checks)
}

func writeChecks(w http.ResponseWriter, probe string, checks []check) {
	var b strings.Builder
	failed := false
	for _, c := range checks {
		if c.err != nil {
			failed = true
			fmt.Fprintf(&b, "[-]%s failed: %v\n", c.name, c.err)
		} else {
			fmt.Fprintf(&b, "[+]%s ok\n", c.name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if failed {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(&b, "%s check failed\n", probe)
	} else {
		fmt.Fprintf(&b, "%s check passed\n", probe)
	}
	_, _ = w.Write([]byte(b.String()))
}

// historian reads channels through the Slack client for catch-ups.
func historian(c *slackchat.Client) bot.Historian {
	return bot.HistorianFunc(func(ctx context.Context, channel string, oldest time.Time) ([]bot.Posted, error) {
		ms, err := c.History(ctx, channel, oldest)
		if err != nil {
			return nil, err
		}
		out := make([]bot.Posted, len(ms))
		for i, m := range ms {
			out[i] = bot.Posted{Inbound: m.Inbound, Replied: m.Replied}
		}
		return out, nil
	})
}

// catchUp runs a new leader's two catch-ups: at once, for alerts nobody
// received; after resumeAfter, for alerts the previous leader received
// but never answered (by then any triage it had in flight has ended).
func catchUp(ctx context.Context, b *bot.Bot, h bot.Historian, since, takeover time.Time, resumeAfter time.Duration, log *slog.Logger) {
	if _, err := b.CatchUp(ctx, h, bot.CatchUpOptions{Since: since}); err != nil && ctx.Err() == nil {
		log.Warn("catch-up after takeover", "err", err)
	}
	t := time.NewTimer(resumeAfter)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	if _, err := b.CatchUp(ctx, h, bot.CatchUpOptions{Since: since, Resume: true, Before: takeover}); err != nil && ctx.Err() == nil {
		log.Warn("resuming catch-up after takeover", "err", err)
	}
}

// prune forgets what the retention allows, hourly. Every replica may
// prune: deleting what is already gone is harmless.
func prune(ctx context.Context, st store.Store, retention time.Duration, log *slog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := st.Prune(ctx, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
				log.Warn("pruning the store", "err", err)
			}
		}
	}
}

// SourceWatcher is Alert.Source for kills the built-in watcher found.
const SourceWatcher = "watcher"

// killer turns the watcher's kills into alerts in watch.channel.
type killer struct {
	b       *bot.Bot
	st      store.Store
	channel config.Channel
	window  time.Duration
	log     *slog.Logger
	kills   *prometheus.CounterVec
}

// killKeyTTL is how long a kill is remembered across replicas: longer
// than any lookback a new leader's watcher replays.
const killKeyTTL = 24 * time.Hour

// onKill posts a kill in the watch channel and triages it in the post's
// thread, at most once per workload per dedup window. Unlike an alert,
// which someone posted and expects an answer to, the watcher decides
// itself what to post: a second kill of the same workload inside the
// window is left out entirely (no post, no "already triaged" note), so a
// crash-looping pod costs the channel one message per window.
func (k *killer) onKill(ctx context.Context, kill watch.Kill) {
	log := k.log.With("cluster", kill.Cluster, "namespace", kill.Namespace, "pod", kill.Pod, "container", kill.Container)
	if !k.channel.Allows(kill.Namespace) {
		k.kills.WithLabelValues(kill.Cluster, "refused").Inc()
		log.Debug("OOM kill in a namespace the watch channel may not triage")
		return
	}
	now := time.Now()
	// The kill's own key first: a new leader's watcher replays the
	// lookback, and what the old leader handled must not use up the
	// workload's window a second time.
	if first, err := k.st.FirstDelivery(ctx, "watch:kill:"+kill.Key(), now, killKeyTTL); err == nil && !first {
		k.kills.WithLabelValues(kill.Cluster, "duplicate").Inc()
		return
	} else if err != nil {
		log.Warn("dedup store failed; posting the kill anyway", "err", err)
	}
	target := kill.Workload
	if target == "" {
		target = "pod/" + kill.Pod
	}
	if first, err := k.st.FirstDelivery(ctx, "watch:workload:"+kill.Cluster+"/"+kill.Namespace+"/"+target, now, k.window); err == nil && !first {
		k.kills.WithLabelValues(kill.Cluster, "ratelimited").Inc()
		log.Info("OOM kill not posted: the workload was posted inside the dedup window", "workload", kill.Workload, "window", k.window)
		return
	}
	k.kills.WithLabelValues(kill.Cluster, "posted").Inc()
	log.Info("OOM kill seen by the watcher", "workload", kill.Workload, "exitCode", kill.ExitCode, "restarts", kill.RestartCount)
	k.b.HandleAlert(ctx, k.channel.ID, killAlert(kill), "watch:"+kill.Key())
}

// killAlert is the alert a kill stands for.
func killAlert(k watch.Kill) alert.Alert {
	return alert.Alert{Source: SourceWatcher, State: alert.StateFiring, Kind: alert.KindOOMKilled,
		Title:   fmt.Sprintf("OOMKilled: %s/%s (%s)", k.Namespace, k.Pod, k.Container),
		Cluster: k.Cluster, Namespace: k.Namespace, Pod: k.Pod, Workload: k.Workload, Container: k.Container,
		Fingerprint: "watch:" + k.Key()}
}

// buildWatchers makes one watcher per watched live cluster (nil when
// watch is off).
func buildWatchers(cfg *config.Config, live map[string]kubernetes.Interface, b *bot.Bot, st store.Store,
	window time.Duration, log *slog.Logger, reg prometheus.Registerer) ([]*watch.Watcher, error) {
	w := cfg.Watch
	if w == nil || !w.Enabled {
		return nil, nil
	}
	ch, ok := cfg.Channel(w.Channel)
	if !ok {
		return nil, fmt.Errorf("watch.channel: %q is not one of channels", w.Channel)
	}
	clusters := w.Clusters
	if len(clusters) == 0 {
		for _, c := range cfg.Clusters {
			if _, ok := live[c.Name]; ok {
				clusters = append(clusters, c.Name)
			}
		}
	}
	if len(clusters) == 0 {
		return nil, fmt.Errorf("watch: no live cluster to watch (bundles cannot be watched)")
	}
	// Without a list, watch what the channel may triage: kills elsewhere
	// would only be dropped, and a namespaced install may list no more.
	namespaces := w.Namespaces
	if len(namespaces) == 0 && !slices.Contains(ch.Namespaces, "*") {
		namespaces = ch.Namespaces
	}
	kills := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_watch_kills_total",
		Help: "OOMKilled containers the watcher saw, by cluster and outcome (posted, ratelimited, duplicate, refused)."},
		[]string{"cluster", "outcome"})
	if err := reg.Register(kills); err != nil {
		return nil, fmt.Errorf("watch metrics: %w", err)
	}
	k := &killer{b: b, st: st, channel: ch, window: window, log: log.With("watch", true), kills: kills}
	var out []*watch.Watcher
	for _, name := range clusters {
		client, ok := live[name]
		if !ok {
			return nil, fmt.Errorf("watch.clusters: %q is not a live cluster", name)
		}
		wt, err := watch.New(watch.Options{Client: client, Cluster: name, Namespaces: namespaces,
			Lookback: w.Lookback.D(watch.DefaultLookback), OnKill: k.onKill, Logger: log})
		if err != nil {
			return nil, err
		}
		out = append(out, wt)
	}
	return out, nil
}
