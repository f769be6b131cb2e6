// Package serve implements `bot serve`: the Slack bot. It loads the config,
// opens the store, checks the tokens with Slack (auth.test), connects by
// Socket Mode or serves HTTP endpoints, and on SIGTERM stops receiving,
// lets the triages in flight post their reports, then exits.
//
// With leaderElection, 2+ replicas share the work: Slack spreads Socket
// Mode events over every open connection rather than copying them, so only
// the Lease holder connects (and runs the watcher); the others serve
// /metrics, /healthz, /readyz, webhooks and HTTP-mode requests, which the
// shared store's dedup keys make exactly-once whichever replica gets them.
// A new leader catches up on the watched channels' recent history, so an
// alert posted while nobody was connected is still answered, once.
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/bot"
	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/chart"
	"github.com/oombot/oombot/internal/chat"
	slackchat "github.com/oombot/oombot/internal/chat/slack"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/fleet"
	"github.com/oombot/oombot/internal/leader"
	"github.com/oombot/oombot/internal/narrative"
	"github.com/oombot/oombot/internal/playbooks"
	"github.com/oombot/oombot/internal/report"
	promsrc "github.com/oombot/oombot/internal/sources/prometheus"
	"github.com/oombot/oombot/internal/store"
	"github.com/oombot/oombot/internal/store/sqlstore"
	"github.com/oombot/oombot/internal/triage"
	"github.com/oombot/oombot/internal/webhook"
)

// Usage is `bot serve --help`.
const Usage = `Usage: bot serve --config FILE

Runs the Slack bot. Tokens come from the environment:
  SLACK_BOT_TOKEN       Bot User OAuth Token (xoxb-…), always
  SLACK_APP_TOKEN       App-Level Token (xapp-…, connections:write), socket mode
  SLACK_SIGNING_SECRET  Signing Secret, HTTP mode
  OPENAI_API_KEY        only when llm: is configured

See README "Connect to Slack" and deploy/slack-app-manifest.yaml.
`

// Webhook endpoints, served beside /metrics.
const (
	PathAlertmanager = "/webhooks/alertmanager"
	PathDatadog      = "/webhooks/datadog"
)

// Probe endpoints, served beside /metrics.
const (
	PathHealthz = "/healthz"
	PathReadyz  = "/readyz"
)

// UsageError is a command-line mistake (exit code 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Options are serve's inputs; tests inject Getenv, Ready and a short
// ShutdownGrace.
type Options struct {
	ConfigPath string
	Getenv     func(string) string
	Logger     *slog.Logger
	// Ready, when set, is called once the bot is about to receive: about
	// to connect (socket mode, without leader election), listening (HTTP
	// mode), or about to stand for the Lease (leader election), with the
	// HTTP address if any.
	Ready func(addr string)
	// ShutdownGrace bounds how long in-flight triages may finish (30s).
	ShutdownGrace time.Duration
	// SocketPingInterval overrides slack-go's dead-connection timeout.
	SocketPingInterval time.Duration
	// HTTPClient is used for Slack's Web API (tests pass their server's).
	HTTPClient *http.Client
	// OpenStore opens the configured store (default sqlstore.Open).
	OpenStore func(ctx context.Context, c config.Store) (store.Store, error)
	// KubeClient connects to a live cluster (default: its kubeconfig and
	// context, or in-cluster). Tests pass fake clientsets.
	KubeClient func(c config.Cluster) (kubernetes.Interface, error)
	// KeepLeaseOnExit leaves the Lease held when ctx ends, as a crash
	// would: tests use it to kill a leader without a handover.
	KeepLeaseOnExit bool
	// ResumeAfter is how long a new leader waits before answering alerts
	// its predecessor received but never answered (default: the triage
	// timeout plus 15s, so that a deposed leader's triages have ended).
	ResumeAfter time.Duration
}

// Run parses args and serves until ctx ends.
func Run(ctx context.Context, io factory.IOStreams, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Err)
	path := fs.String("config", "", "config file (YAML)")
	if err := fs.Parse(args); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	if *path == "" || fs.NArg() > 0 {
		return &UsageError{Msg: "serve needs --config FILE (see README \"Connect to Slack\")"}
	}
	log := slog.New(slog.NewJSONHandler(io.Err, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return Serve(ctx, Options{ConfigPath: *path, Logger: log})
}

// Serve runs the bot with o until ctx ends.
func Serve(ctx context.Context, o Options) error {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 30 * time.Second
	}
	if o.OpenStore == nil {
		o.OpenStore = func(ctx context.Context, c config.Store) (store.Store, error) {
			return sqlstore.Open(ctx, c, sqlstore.Options{Logger: log})
		}
	}
	if o.KubeClient == nil {
		o.KubeClient = func(k config.Cluster) (kubernetes.Interface, error) {
			c, _, _, err := factory.Cluster(factory.KubeOptions{Kubeconfig: k.Kubeconfig, Context: k.Context})
			return c, err
		}
	}
	cfg, err := config.Load(o.ConfigPath, o.Getenv)
	if err != nil {
		return err
	}
	if err := cfg.CheckSecrets(); err != nil {
		return fmt.Errorf("slack credentials:\n%w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var bg sync.WaitGroup
	bgCtx, bgCancel := context.WithCancel(context.Background())
	defer func() { bgCancel(); bg.Wait() }()

	matcher, set, err := loadPlaybooks(cfg, log, reg)
	if err != nil {
		return err
	}
	if r, ok := matcher.(*playbooks.Reloader); ok {
		bg.Add(1)
		go func() { defer bg.Done(); _ = r.Run(bgCtx) }()
	}
	fl, live, err := buildFleet(cfg, matcher, o, log)
	if err != nil {
		return err
	}
	actx, acancel := context.WithTimeout(ctx, 15*time.Second)
	client, err := slackchat.NewClient(actx, cfg.Slack.BotToken, slackchat.ClientOptions{APIURL: cfg.Slack.APIURL, AppToken: cfg.Slack.AppToken, HTTPClient: o.HTTPClient})
	acancel()
	if err != nil {
		return err
	}
	id := client.Identity()
	log.Info("connected to slack", "team", id.TeamID, "botUser", id.UserID, "mode", cfg.Slack.Mode)

	// After auth.test: a wrong token fails fast, before a database is
	// created or migrated.
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := o.OpenStore(sctx, cfg.Store)
	scancel()
	if err != nil {
		return fmt.Errorf("store (%s): %w", cfg.Store.Driver, err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Warn("closing the store", "err", err)
		}
	}()
	bg.Add(1)
	go func() { defer bg.Done(); prune(bgCtx, st, cfg.Store.Retention.D(720*time.Hour), log) }()

	rules := alert.DefaultRules()
	if cfg.Alerts != nil {
		rules = *cfg.Alerts
	}
	parser, err := alert.NewParser(rules)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	var narrator bot.Narrator
	if cfg.LLM != nil {
		n, err := narrative.New(narrative.Config{BaseURL: cfg.LLM.BaseURL, Model: cfg.LLM.Model, Azure: cfg.LLM.Azure,
			Anonymize: cfg.LLM.Anonymize, Timeout: cfg.LLM.Timeout.D(0), MaxCompletionTokens: cfg.LLM.MaxTokens},
			narrative.WithLogger(log), narrative.WithRegisterer(reg), narrative.WithPlaybooks(set), narrative.WithGetenv(o.Getenv),
			narrative.WithHTTPClient(o.HTTPClient))
		if err != nil {
			return fmt.Errorf("llm: %w", err)
		}
		narrator = n
	}
	// Every failed Slack call that is retried; oombot_chat_errors_total
	// counts those that still failed after the retries.
	slackErrors := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_slack_api_errors_total",
		Help: "Slack Web API calls that failed and were retried, by method and reason (rate_limited: a 429 with Retry-After; transient: 5xx or network)."},
		[]string{"method", "reason"})
	reg.MustRegister(slackErrors)
	platform := chat.Queued(client, chat.QueueOptions{OnRetry: func(op string, attempt int, wait time.Duration, err error) {
		method, reason := op, "transient"
		if ce := (*chat.Error)(nil); errors.As(err, &ce) {
			if ce.Op != "" {
				method = ce.Op // the Web API method, e.g. chat.postMessage
			}
			if ce.RetryAfter > 0 {
				reason = "rate_limited"
			}
		}
		slackErrors.WithLabelValues(method, reason).Inc()
		log.Warn("slack call retried", "op", op, "attempt", attempt, "wait", wait, "err", err)
	}})
	dedupWindow := cfg.DedupWindow.D(15 * time.Minute)
	triageTimeout := cfg.Timeouts.Overall.D(30*time.Second) + 30*time.Second
	b, err := bot.New(bot.Options{Platform: platform, Triager: fl, Parser: parser, Channels: cfg.Channels, Store: st,
		DedupWindow: dedupWindow, Workers: cfg.Workers, Logger: log, Registerer: reg,
		Chart: func(c *report.Chart) ([]byte, error) { return chart.PNG(c, chart.Options{}) }, Narrator: narrator,
		TriageTimeout: triageTimeout})
	if err != nil {
		return err
	}

	socketMode := cfg.Slack.Mode == config.ModeSocket
	probes := &probes{store: st, socketMode: socketMode}
	probes.slackAuthed.Store(true) // NewClient's auth.test passed
	var el *leader.Elector
	leCfg := cfg.LeaderElection
	if leCfg != nil && leCfg.Enabled {
		lc, ok := live[leCfg.Cluster]
		if !ok {
			return fmt.Errorf("leaderElection.cluster: %q is not a live cluster", leCfg.Cluster)
		}
		el, err = leader.New(leader.Options{Client: lc, Namespace: leCfg.Namespace, Name: leCfg.LeaseName, Identity: leCfg.Identity,
			LeaseDuration: leCfg.LeaseDuration.D(0), RenewDeadline: leCfg.RenewDeadline.D(0), RetryPeriod: leCfg.RetryPeriod.D(0),
			KeepOnCancel: o.KeepLeaseOnExit, Logger: log, Registerer: reg})
		if err != nil {
			return err
		}
		probes.elector, probes.leading = el, el.Leading
	} else {
		probes.leading = func() bool { return true }
	}
	watchers, err := buildWatchers(cfg, live, b, st, dedupWindow, log, reg)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc(PathHealthz, probes.healthz)
	mux.HandleFunc(PathReadyz, probes.readyz)
	if w := cfg.Webhooks; w != nil {
		onAlert := func(ctx context.Context, a alert.Alert) {
			b.HandleAlert(ctx, w.Channel, a, webhook.DeliveryID(ctx))
		}
		wo := webhook.Options{Secret: w.Secret, Rules: rules, Logger: log}
		am, err := webhook.Alertmanager(wo, onAlert)
		if err != nil {
			return fmt.Errorf("webhooks: %w", err)
		}
		dd, err := webhook.Datadog(wo, onAlert)
		if err != nil {
			return fmt.Errorf("webhooks: %w", err)
		}
		mux.Handle(PathAlertmanager, am)
		mux.Handle(PathDatadog, dd)
	}
	listen := cfg.MetricsListen
	if cfg.Slack.Mode == config.ModeHTTP {
		listen = cfg.Slack.Listen
		mux.Handle("/slack/", client.HTTPHandler(b, slackchat.HTTPOptions{SigningSecret: cfg.Slack.SigningSecret, Logger: log}))
	}
	var srv *http.Server
	addr := ""
	if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("listen %s: %w", listen, err)
		}
		addr = ln.Addr().String()
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		bg.Add(1)
		go func() {
			defer bg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "err", err)
			}
		}()
		log.Info("listening", "addr", addr)
	}

	// lead is what only one replica does: hold the Socket Mode connection
	// (catching up on what nobody received first) and watch pods. Without
	// leader election the only replica leads from start to end.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var (
		runErrMu sync.Mutex
		runErr   error
	)
	fail := func(err error) {
		runErrMu.Lock()
		if runErr == nil {
			runErr = err
		}
		runErrMu.Unlock()
		stopRun()
	}
	resumeAfter := o.ResumeAfter
	if resumeAfter <= 0 {
		resumeAfter = triageTimeout + 15*time.Second
	}
	lead := func(ctx context.Context) {
		var wg sync.WaitGroup
		defer wg.Wait()
		for _, w := range watchers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := w.Run(ctx); err != nil {
					log.Error("watcher stopped", "err", err)
				}
			}()
		}
		if !socketMode {
			<-ctx.Done()
			return
		}
		if el != nil {
			// Events sent to the previous leader's connection, or sent
			// while nobody was connected, may be lost: read back what the
			// Lease's expiry (twice, for a failed takeover) and a minute
			// of slack could have swallowed.
			takeover := time.Now()
			since := takeover.Add(-2*leCfg.LeaseDuration.D(leader.DefaultLeaseDuration) - time.Minute)
			wg.Add(1)
			go func() { defer wg.Done(); catchUp(ctx, b, historian(client), since, takeover, resumeAfter, log) }()
		}
		defer probes.socketUp.Store(false)
		err := client.RunSocket(ctx, b, slackchat.SocketOptions{PingInterval: o.SocketPingInterval, Logger: log,
			OnConnected: probes.socketUp.Store})
		if err != nil && ctx.Err() == nil {
			fail(err)
		}
	}

	if o.Ready != nil {
		o.Ready(addr)
	}
	if el != nil {
		if err := el.Run(runCtx, lead); err != nil {
			fail(err)
		}
	} else {
		lead(runCtx)
	}
	// Stop receiving first, then let the triages in flight post.
	if srv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		scancel()
	}
	gctx, gcancel := context.WithTimeout(context.Background(), o.ShutdownGrace)
	defer gcancel()
	log.Info("shutting down: finishing in-flight triages")
	if err := b.Shutdown(gctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	runErrMu.Lock()
	defer runErrMu.Unlock()
	return runErr
}

func loadPlaybooks(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (triage.Matcher, *playbooks.Set, error) {
	if cfg.Playbooks.Dir == "" {
		set, warnings, err := factory.Playbooks("")
		for _, w := range warnings {
			log.Warn(w)
		}
		return set, set, err
	}
	r, err := playbooks.NewReloader(cfg.Playbooks.Dir, playbooks.ReloaderOptions{Interval: cfg.Playbooks.ReloadInterval.D(0), Logger: log, Registerer: reg})
	if err != nil {
		return nil, nil, fmt.Errorf("playbooks: %w", err)
	}
	return r, r.Current(), nil
}

// buildFleet builds the clusters; live maps each live (non-bundle)
// cluster to its client, for leader election and the watcher.
func buildFleet(cfg *config.Config, m triage.Matcher, o Options, log *slog.Logger) (*fleet.Fleet, map[string]kubernetes.Interface, error) {
	to := triage.Timeouts{Source: cfg.Timeouts.Source.D(5 * time.Second), Logs: cfg.Timeouts.Source.D(5 * time.Second),
		Overall: cfg.Timeouts.Overall.D(30 * time.Second)}
	var members []*fleet.Member
	live := map[string]kubernetes.Interface{}
	for _, k := range cfg.Clusters {
		var (
			e   *triage.Engine
			mem = &fleet.Member{Name: k.Name}
		)
		if k.Bundle != "" {
			b, err := bundle.Load(k.Bundle)
			if err != nil {
				return nil, nil, fmt.Errorf("cluster %s: %w", k.Name, err)
			}
			if e, err = factory.BundleEngine(b); err != nil {
				return nil, nil, fmt.Errorf("cluster %s: %w", k.Name, err)
			}
			mem.Client, mem.FiredAt = b.Clientset(), b.Manifest.FiredAt
		} else {
			client, err := o.KubeClient(k)
			if err != nil {
				return nil, nil, fmt.Errorf("cluster %s: %w", k.Name, err)
			}
			if e, err = factory.LiveEngine(client, ""); err != nil {
				return nil, nil, fmt.Errorf("cluster %s: %w", k.Name, err)
			}
			mem.Client = client
			live[k.Name] = client
		}
		if k.Prometheus != "" {
			// Replaces a bundle's recorded metrics too: a recorded cluster
			// with a live metrics server serves demos and fault tests.
			prom, err := promsrc.New(promsrc.Options{Address: k.Prometheus, Queries: k.PrometheusQueries})
			if err != nil {
				return nil, nil, fmt.Errorf("cluster %s: prometheus: %w", k.Name, err)
			}
			e.Metrics = []triage.Metrics{prom}
		}
		ms, ls, es, err := external(k, o.HTTPClient, log.With("cluster", k.Name))
		if err != nil {
			return nil, nil, err
		}
		e.Metrics, e.Logs, e.Events = append(e.Metrics, ms...), append(e.Logs, ls...), append(e.Events, es...)
		e.Playbooks, e.Timeouts, e.Logger = m, to, log.With("cluster", k.Name)
		mem.Engine = e
		members = append(members, mem)
	}
	f, err := fleet.New(cfg.DefaultCluster, members...)
	return f, live, err
}
