package leader

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"

	"github.com/oombot/oombot/internal/leader/leasetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Fast timings for unit tests. The Lease stores whole seconds, so the
// lease duration cannot go below 1s.
const (
	testLease = 2 * time.Second
	testRenew = time.Second
	testRetry = 250 * time.Millisecond
)

func opts(cs *leasetest.Clientset, id string) Options {
	return Options{Client: cs, Namespace: "oombot", Name: "oombot", Identity: id,
		LeaseDuration: testLease, RenewDeadline: testRenew, RetryPeriod: testRetry}
}

// replica is one Elector running in the background.
type replica struct {
	e      *Elector
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	leads  atomic.Int32 // times lead was called
}

// start runs an elector whose lead blocks until its context ends, and
// reports into live how many leads run at once across replicas.
func start(t *testing.T, o Options, live *atomic.Int32, maxLive *atomic.Int32) *replica {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{e: e, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- e.Run(ctx, func(ctx context.Context) {
			r.leads.Add(1)
			n := live.Add(1)
			for {
				m := maxLive.Load()
				if n <= m || maxLive.CompareAndSwap(m, n) {
					break
				}
			}
			<-ctx.Done()
			live.Add(-1)
		})
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *replica) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func holder(t *testing.T, cs *leasetest.Clientset) *coordinationv1.Lease {
	t.Helper()
	l, err := cs.CoordinationV1().Leases("oombot").Get(context.Background(), "oombot", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestFakeLeasesRejectStaleUpdates: the test clientset enforces
// resourceVersion like an API server; without that, the exclusivity tests
// below would prove nothing.
func TestFakeLeasesRejectStaleUpdates(t *testing.T) {
	cs := leasetest.NewClientset()
	ctx := context.Background()
	l, err := cs.CoordinationV1().Leases("ns").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := l.DeepCopy(), l.DeepCopy()
	id := "a"
	a.Spec.HolderIdentity = &id
	if _, err := cs.CoordinationV1().Leases("ns").Update(ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("first update: %v", err)
	}
	id2 := "b"
	b.Spec.HolderIdentity = &id2
	if _, err := cs.CoordinationV1().Leases("ns").Update(ctx, b, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: got %v, want Conflict", err)
	}
	if _, err := cs.CoordinationV1().Leases("ns").Create(ctx, l, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: got %v, want AlreadyExists", err)
	}
}

func TestOptionsValidated(t *testing.T) {
	cs := leasetest.NewClientset()
	for name, o := range map[string]Options{
		"no client":             {Namespace: "n", Name: "l", Identity: "i"},
		"no identity":           {Client: cs, Namespace: "n", Name: "l"},
		"no namespace":          {Client: cs, Name: "l", Identity: "i"},
		"lease <= renew":        {Client: cs, Namespace: "n", Name: "l", Identity: "i", LeaseDuration: 5 * time.Second, RenewDeadline: 5 * time.Second},
		"renew <= retry*jitter": {Client: cs, Namespace: "n", Name: "l", Identity: "i", RenewDeadline: 2 * time.Second, RetryPeriod: 2 * time.Second},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	e, err := New(Options{Client: cs, Namespace: "n", Name: "l", Identity: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if e.o.LeaseDuration != DefaultLeaseDuration || e.o.RenewDeadline != DefaultRenewDeadline || e.o.RetryPeriod != DefaultRetryPeriod {
		t.Errorf("defaults: %+v", e.o)
	}
	// The crash takeover bound with the defaults stays under the 15 s
	// promise, with room for API latency; 10s/2s would not.
	if bound := TakeoverBound(DefaultLeaseDuration, DefaultRetryPeriod); bound > 13*time.Second {
		t.Errorf("default takeover bound %s", bound)
	}
	// A leader cut off from the API server stops before the earliest
	// moment a follower may take over.
	if earliest := DefaultLeaseDuration - time.Duration(float64(DefaultRetryPeriod)*(1+leaderelection.JitterFactor)); DefaultRenewDeadline >= earliest {
		t.Errorf("renew deadline %s is not below the earliest takeover %s", DefaultRenewDeadline, earliest)
	}
	if bound := TakeoverBound(10*time.Second, 2*time.Second); bound <= 15*time.Second {
		t.Errorf("10s/2s bound %s: the defaults' reason is gone", bound)
	}
}

// TestOneLeaderAmongThree: three replicas race for one Lease; exactly one
// leads at any moment, including while the Lease changes hands twice.
func TestOneLeaderAmongThree(t *testing.T) {
	cs := leasetest.NewClientset()
	var live, maxLive atomic.Int32
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry(), prometheus.NewRegistry()}
	var rs []*replica
	for i, id := range []string{"a", "b", "c"} {
		o := opts(cs, id)
		o.Registerer = regs[i]
		rs = append(rs, start(t, o, &live, &maxLive))
	}
	leaderOf := func() *replica {
		for _, r := range rs {
			if r.e.Leading() {
				return r
			}
		}
		return nil
	}
	waitUntil(t, "a leader", 5*time.Second, func() bool { return leaderOf() != nil })
	for round := 0; round < 2; round++ {
		l := leaderOf()
		if got := testutil.ToFloat64(l.e.leading); got != 1 {
			t.Errorf("oombot_leader of the leader = %v", got)
		}
		l.stop(t) // graceful: releases
		rs = removeReplica(rs, l)
		waitUntil(t, "a new leader", 5*time.Second, func() bool { return leaderOf() != nil })
		if got := testutil.ToFloat64(l.e.leading); got != 0 {
			t.Errorf("oombot_leader of a stopped replica = %v", got)
		}
	}
	if m := maxLive.Load(); m != 1 {
		t.Errorf("%d replicas led at once", m)
	}
	// Every replica saw at least its own or another's accession.
	for i, reg := range regs {
		n, err := testutil.GatherAndCount(reg, "oombot_leader_transitions_total")
		if err != nil || n != 1 {
			t.Errorf("replica %d: transitions metric missing (%d, %v)", i, n, err)
		}
	}
}

func removeReplica(rs []*replica, x *replica) []*replica {
	var out []*replica
	for _, r := range rs {
		if r != x {
			out = append(out, r)
		}
	}
	return out
}

// TestTakeoverAfterCrashAndAfterRelease: a leader that dies without
// releasing (KeepOnCancel) is replaced once the Lease expires, within
// LeaseDuration + RetryPeriod (plus jitter); one that shuts down cleanly
// is replaced within about a RetryPeriod.
func TestTakeoverAfterCrashAndAfterRelease(t *testing.T) {
	for _, c := range []struct {
		name  string
		crash bool
		// takeover must be no sooner than min (a crashed leader's Lease is
		// honoured until it expires, counted from when the follower last
		// saw it renewed: up to a jittered retry period or two early) and
		// no later than max.
		min, max time.Duration
	}{
		{"crash", true, testLease / 2, TakeoverBound(testLease, testRetry) + 300*time.Millisecond},
		{"graceful", false, 0, 2*testRetry + 500*time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := leasetest.NewClientset()
			var live, maxLive atomic.Int32
			oa := opts(cs, "a")
			oa.KeepOnCancel = c.crash
			a := start(t, oa, &live, &maxLive)
			waitUntil(t, "a leads", 5*time.Second, a.e.Leading)
			b := start(t, opts(cs, "b"), &live, &maxLive)
			time.Sleep(3 * testRetry) // b is a follower by now
			if b.e.Leading() {
				t.Fatal("two leaders")
			}
			a.stop(t)
			stopped := time.Now()
			if c.crash {
				if h := holder(t, cs).Spec.HolderIdentity; h == nil || *h != "a" {
					t.Fatalf("a crashed leader's Lease should still name it, got %v", h)
				}
			}
			waitUntil(t, "b takes over", 10*time.Second, b.e.Leading)
			took := time.Since(stopped)
			t.Logf("%s takeover in %s", c.name, took.Round(time.Millisecond))
			if took < c.min || took > c.max {
				t.Errorf("takeover took %s, want within [%s, %s]", took, c.min, c.max)
			}
			if h := holder(t, cs).Spec.HolderIdentity; h == nil || *h != "b" {
				t.Errorf("Lease holder %v", h)
			}
		})
	}
}

// TestLostLeaseStandsAgain: renewals fail (API server unreachable); the
// leader stops leading (lead's context ends) but keeps campaigning, and
// leads again once the API server is back.
func TestLostLeaseStandsAgain(t *testing.T) {
	cs := leasetest.NewClientset()
	var live, maxLive atomic.Int32
	a := start(t, opts(cs, "a"), &live, &maxLive)
	waitUntil(t, "a leads", 5*time.Second, a.e.Leading)
	cs.FailLeases(func(string) error { return errors.New("connection refused") })
	waitUntil(t, "a steps down", testRenew+3*time.Second, func() bool { return !a.e.Leading() })
	if live.Load() != 0 {
		t.Fatal("lead still running after stepping down")
	}
	cs.FailLeases(nil)
	waitUntil(t, "a leads again", testLease+3*time.Second, a.e.Leading)
	if n := a.leads.Load(); n != 2 {
		t.Errorf("lead called %d times, want 2", n)
	}
	select {
	case err := <-a.done:
		t.Fatalf("Run returned after losing the lease: %v", err)
	default:
	}
}

// TestCheck: healthy while leading or following; unhealthy when leading
// work ignores the end of leadership for longer than a lease duration.
func TestCheck(t *testing.T) {
	cs := leasetest.NewClientset()
	e, err := New(opts(cs, "a"))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var started atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.Run(ctx, func(context.Context) {
			started.Store(true)
			<-release // ignores its context: a stuck leader
		})
	}()
	waitUntil(t, "leading", 5*time.Second, started.Load)
	if err := e.Check(); err != nil {
		t.Errorf("healthy leader: %v", err)
	}
	cs.FailLeases(func(string) error { return errors.New("connection refused") })
	waitUntil(t, "unhealthy", testRenew+testLease+5*time.Second, func() bool { return e.Check() != nil })
	if err := e.Check(); !strings.Contains(err.Error(), "lease") {
		t.Errorf("check error should say why: %v", err)
	}
	close(release)
	cs.FailLeases(nil)
	waitUntil(t, "healthy again", 5*time.Second, func() bool { return e.Check() == nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestShutdownStopsLeadBeforeRelease: on a clean stop, lead has returned
// before the Lease is released, so the next leader never overlaps.
func TestShutdownStopsLeadBeforeRelease(t *testing.T) {
	cs := leasetest.NewClientset()
	e, err := New(opts(cs, "a"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var holderAtLeadEnd string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.Run(ctx, func(lctx context.Context) {
			<-lctx.Done()
			time.Sleep(300 * time.Millisecond) // slow shutdown of the leading work
			l, err := cs.CoordinationV1().Leases("oombot").Get(context.Background(), "oombot", metav1.GetOptions{})
			mu.Lock()
			defer mu.Unlock()
			if err == nil && l.Spec.HolderIdentity != nil {
				holderAtLeadEnd = *l.Spec.HolderIdentity
			}
		})
	}()
	waitUntil(t, "leading", 5*time.Second, e.Leading)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if holderAtLeadEnd != "a" {
		t.Errorf("Lease holder when lead returned = %q: released before the leading work stopped", holderAtLeadEnd)
	}
	if l := holder(t, cs); l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
		t.Errorf("Lease not released: holder %q", *l.Spec.HolderIdentity)
	}
}
