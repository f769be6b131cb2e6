// Package leader picks the one replica that does what must happen once:
// hold the Slack Socket Mode connection and run the OOMKilled watcher.
// Slack spreads Socket Mode events over every open connection instead of
// copying them to each, so two connected replicas would each see half the
// alerts; with a Kubernetes Lease only the holder connects.
//
// It wraps client-go's leaderelection with a resourcelock.LeaseLock (the
// bot's only write to Kubernetes: get, create and update on one Lease) and
// keeps campaigning for the life of the process: a replica that loses the
// Lease stops leading, then stands again, instead of exiting.
//
// Timing: client-go's followers poll the Lease every RetryPeriod, jittered
// up to 2.2×, and count the lease duration from the poll that last saw it
// renewed. A follower therefore takes over between LeaseDuration −
// RetryPeriod and LeaseDuration + 2 × 2.2 × RetryPeriod after the leader
// dies: 7 to 12.4 s with the defaults (8s/5s/1s), under the 15 s the bot
// promises (10s/7s/2s would allow up to 18.8 s). The renew deadline stays
// below the earliest takeover (LeaseDuration − 2.2 × RetryPeriod = 5.8 s),
// so a leader cut off from the API server has stopped leading, and closed
// its connection, before a follower can start. A leader that shuts down
// cleanly releases the Lease, so that takeover costs one jittered
// RetryPeriod.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Defaults for Options' timings; see the package doc for the takeover
// bound they give.
const (
	DefaultLeaseDuration = 8 * time.Second
	DefaultRenewDeadline = 5 * time.Second
	DefaultRetryPeriod   = time.Second
)

// TakeoverBound is the longest a follower can take to replace a leader
// that died without releasing the Lease, given the timings: the lease
// duration, plus up to one jittered poll for the follower to have last
// seen a renewal, plus one for it to notice the expiry.
func TakeoverBound(leaseDuration, retryPeriod time.Duration) time.Duration {
	return leaseDuration + 2*time.Duration(float64(retryPeriod)*(1+leaderelection.JitterFactor))
}

// Options configure an Elector. Client, Namespace, Name and Identity are
// required.
type Options struct {
	// Client reaches the API server that holds the Lease.
	Client kubernetes.Interface
	// Namespace and Name locate the Lease.
	Namespace, Name string
	// Identity names this replica in the Lease (the pod name).
	Identity string
	// LeaseDuration is how long followers wait after the last renewal
	// before taking over; RenewDeadline is how long the leader keeps
	// retrying a failed renewal before stepping down; RetryPeriod is the
	// pause between attempts. Zero means the defaults (8s, 5s, 1s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// KeepOnCancel leaves the Lease held when Run's context ends, as a
	// crash would. Production leaves it false: a clean shutdown releases
	// the Lease so a follower takes over at once. Tests set it to simulate
	// a leader that dies without a word.
	KeepOnCancel bool
	Logger       *slog.Logger
	// Registerer receives oombot_leader and
	// oombot_leader_transitions_total; nil keeps them unregistered.
	Registerer prometheus.Registerer
}

// Elector campaigns for the Lease and runs a function while it holds it.
type Elector struct {
	o      Options
	log    *slog.Logger
	health *leaderelection.HealthzAdaptor

	leading     prometheus.Gauge
	transitions prometheus.Counter

	mu sync.Mutex
	// isLeading is true while lead runs; lostAt is when the current lead
	// was told to stop (zero when it is not stopping).
	isLeading bool
	lostAt    time.Time
	holder    string
}

// New checks o and returns an Elector.
func New(o Options) (*Elector, error) {
	if o.Client == nil {
		return nil, errors.New("leader election: a Kubernetes client is required")
	}
	if o.Namespace == "" || o.Name == "" || o.Identity == "" {
		return nil, fmt.Errorf("leader election: namespace (%q), lease name (%q) and identity (%q) are required", o.Namespace, o.Name, o.Identity)
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = DefaultLeaseDuration
	}
	if o.RenewDeadline <= 0 {
		o.RenewDeadline = DefaultRenewDeadline
	}
	if o.RetryPeriod <= 0 {
		o.RetryPeriod = DefaultRetryPeriod
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Elector{o: o, log: log.With("lease", o.Namespace+"/"+o.Name, "identity", o.Identity),
		// A leader whose renewals have been failing for a lease duration
		// plus this long should have stepped down already; if it has not,
		// something is stuck and the kubelet should restart it.
		health: leaderelection.NewLeaderHealthzAdaptor(o.LeaseDuration),
		leading: prometheus.NewGauge(prometheus.GaugeOpts{Name: "oombot_leader",
			Help: "1 while this replica holds the leader Lease (Socket Mode connection, watcher)."}),
		transitions: prometheus.NewCounter(prometheus.CounterOpts{Name: "oombot_leader_transitions_total",
			Help: "Leader changes this replica has seen: the Lease passing to a new holder, this replica included."}),
	}
	// Validate the timings now rather than on the first campaign.
	if _, err := leaderelection.NewLeaderElector(e.config(func(context.Context) {})); err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(e.leading); err != nil {
			return nil, fmt.Errorf("leader election metrics: %w", err)
		}
		if err := o.Registerer.Register(e.transitions); err != nil {
			return nil, fmt.Errorf("leader election metrics: %w", err)
		}
	}
	return e, nil
}

func (e *Elector) config(started func(context.Context)) leaderelection.LeaderElectionConfig {
	return leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.o.Namespace, Name: e.o.Name},
			Client:     e.o.Client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.o.Identity},
		},
		LeaseDuration:   e.o.LeaseDuration,
		RenewDeadline:   e.o.RenewDeadline,
		RetryPeriod:     e.o.RetryPeriod,
		ReleaseOnCancel: !e.o.KeepOnCancel,
		Name:            e.o.Name,
		WatchDog:        e.health,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: started,
			OnStoppedLeading: func() {},
			OnNewLeader:      e.newLeader,
		},
	}
}

// newLeader runs on its own goroutine (client-go starts one per change);
// it only counts and logs.
func (e *Elector) newLeader(identity string) {
	e.mu.Lock()
	changed := identity != e.holder
	e.holder = identity
	e.mu.Unlock()
	if !changed {
		return
	}
	e.transitions.Inc()
	if identity == e.o.Identity {
		e.log.Info("this replica is the leader")
	} else {
		e.log.Info("following leader", "leader", identity)
	}
}

// campaign is one run of client-go's elector: from standing for the Lease
// to losing it (or ctx ending).
type campaign struct {
	mu       sync.Mutex
	stopping bool
	done     chan struct{} // closed when lead returns; nil if it never started
}

// Run campaigns for the Lease until ctx ends and calls lead, on its own
// goroutine, each time this replica becomes leader. lead's context ends
// when leadership is lost or ctx ends; Run waits for lead to return before
// it stands again, so two leads never overlap in one process. On ctx's
// end lead is stopped first and the Lease released after (unless
// KeepOnCancel), so the next leader never overlaps with this one either.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) error {
	// client-go logs through the context's logr logger (klog's contextual
	// logging); route it into slog instead of klog's global stderr.
	ectx, ecancel := context.WithCancel(logr.NewContext(context.WithoutCancel(ctx), logr.FromSlogHandler(e.log.Handler())))
	defer ecancel()
	for {
		c := &campaign{}
		le, err := leaderelection.NewLeaderElector(e.config(func(lctx context.Context) { e.lead(ctx, lctx, c, lead) }))
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		e.health.SetLeaderElection(le)
		runDone := make(chan struct{})
		go func() { defer close(runDone); le.Run(ectx) }()
		select {
		case <-runDone:
			// Lost the Lease (client-go cancelled lead's context when its
			// Run returned): wait for lead, then stand again.
			e.stopCampaign(c)
			if ctx.Err() != nil {
				return nil
			}
			e.log.Warn("lost the leader lease; standing again")
		case <-ctx.Done():
			// Stop leading while still holding the Lease, then let go.
			e.stopCampaign(c)
			ecancel()
			<-runDone
			e.log.Info("stopped campaigning", "released", !e.o.KeepOnCancel)
			return nil
		}
	}
}

// stopCampaign stops c's lead, if any, and waits for it to return.
func (e *Elector) stopCampaign(c *campaign) {
	c.mu.Lock()
	c.stopping = true
	done := c.done
	c.mu.Unlock()
	if done != nil {
		e.mu.Lock()
		if e.isLeading && e.lostAt.IsZero() {
			e.lostAt = time.Now()
		}
		e.mu.Unlock()
		<-done
	}
}

// lead runs on client-go's goroutine for OnStartedLeading. lctx ends when
// the Lease is lost; outer when the process stops.
func (e *Elector) lead(outer, lctx context.Context, c *campaign, lead func(context.Context)) {
	c.mu.Lock()
	if c.stopping {
		// The campaign ended before client-go got round to starting us.
		c.mu.Unlock()
		return
	}
	done := make(chan struct{})
	c.done = done
	c.mu.Unlock()
	defer close(done)

	ctx, cancel := context.WithCancel(lctx)
	defer cancel()
	stop := context.AfterFunc(outer, cancel)
	defer stop()

	start := time.Now()
	e.setLeading(true)
	e.log.Info("started leading")
	defer func() {
		e.setLeading(false)
		e.log.Info("stopped leading", "led", time.Since(start).Round(time.Millisecond))
	}()
	lead(ctx)
}

func (e *Elector) setLeading(on bool) {
	e.mu.Lock()
	e.isLeading = on
	e.lostAt = time.Time{}
	e.mu.Unlock()
	if on {
		e.leading.Set(1)
	} else {
		e.leading.Set(0)
	}
}

// Leading reports whether this replica leads right now.
func (e *Elector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.isLeading
}

// Check is the liveness check: it fails when this replica holds the Lease
// but has not renewed it for longer than a lease duration past its expiry
// (client-go's healthz adaptor: renewals stuck, a follower may lead too),
// or when leadership ended more than a lease duration ago and the leading
// work still has not stopped. Either way only a restart helps.
func (e *Elector) Check() error {
	if err := e.health.Check(&http.Request{}); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.lostAt.IsZero() && time.Since(e.lostAt) > e.o.LeaseDuration {
		return fmt.Errorf("lost the lease %s ago and still leading", time.Since(e.lostAt).Round(time.Second))
	}
	return nil
}
