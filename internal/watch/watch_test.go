package watch

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder collects kills.
type recorder struct {
	mu    sync.Mutex
	kills []Kill
	ch    chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 100)} }

func (r *recorder) onKill(_ context.Context, k Kill) {
	r.mu.Lock()
	r.kills = append(r.kills, k)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *recorder) all() []Kill {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Kill(nil), r.kills...)
}

// wait waits for n kills in total, then a little more to catch extras.
func (r *recorder) wait(t *testing.T, n int) []Kill {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(r.all()) < n {
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("saw %d kills, want %d: %+v", len(r.all()), n, r.all())
		}
	}
	time.Sleep(200 * time.Millisecond)
	got := r.all()
	if len(got) != n {
		t.Fatalf("saw %d kills, want exactly %d: %+v", len(got), n, got)
	}
	return got
}

type podSpec struct {
	ns, name, uid string
	owner         string // ReplicaSet name
	reason        string
	finished      time.Time
	restarts      int32
	never         bool // restartPolicy Never: the kill is in state, not lastState
}

func pod(p podSpec) *corev1.Pod {
	term := &corev1.ContainerStateTerminated{Reason: p.reason, ExitCode: 137, FinishedAt: metav1.NewTime(p.finished),
		StartedAt: metav1.NewTime(p.finished.Add(-time.Hour))}
	cs := corev1.ContainerStatus{Name: "app", RestartCount: p.restarts, Image: "registry.example/app:1"}
	policy := corev1.RestartPolicyAlways
	if p.never {
		policy = corev1.RestartPolicyNever
		cs.State.Terminated = term
	} else {
		cs.LastTerminationState.Terminated = term
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(p.finished.Add(time.Second))}
	}
	po := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: p.name, UID: types.UID(p.uid),
		Labels: map[string]string{"app": "app"}},
		Spec:   corev1.PodSpec{RestartPolicy: policy, Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{cs}}}
	if p.owner != "" {
		po.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: p.owner, Controller: ptr(true)}}
	}
	return po
}

func ptr[T any](v T) *T { return &v }

// run starts a watcher on cs and returns a stop function that waits for
// Run to return.
func run(t *testing.T, o Options) func() {
	t.Helper()
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestKillsDetectedOnce(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		pod  podSpec
		want int
	}{
		{"recent kill", podSpec{ns: "shop", name: "checkout-7d9f8b6c5-x2x4q", uid: "u1", owner: "checkout-7d9f8b6c5", reason: "OOMKilled", finished: now.Add(-2 * time.Minute), restarts: 3}, 1},
		{"kill before the lookback", podSpec{ns: "shop", name: "old-7d9f8b6c5-x2x4q", uid: "u2", owner: "old-7d9f8b6c5", reason: "OOMKilled", finished: now.Add(-11 * time.Minute), restarts: 3}, 0},
		{"other reason", podSpec{ns: "shop", name: "err-7d9f8b6c5-x2x4q", uid: "u3", owner: "err-7d9f8b6c5", reason: "Error", finished: now.Add(-time.Minute), restarts: 1}, 0},
		{"completed", podSpec{ns: "shop", name: "done-7d9f8b6c5-x2x4q", uid: "u4", reason: "Completed", finished: now.Add(-time.Minute)}, 0},
		{"restartPolicy Never", podSpec{ns: "batch", name: "report-28911", uid: "u5", reason: "OOMKilled", finished: now.Add(-time.Minute), never: true}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := fake.NewClientset(pod(c.pod))
			rec := newRecorder()
			run(t, Options{Client: cs, Cluster: "prod", OnKill: rec.onKill, Lookback: 10 * time.Minute})
			// A status update that repeats the same kill is no new kill.
			time.Sleep(100 * time.Millisecond)
			p := pod(c.pod)
			p.Status.ContainerStatuses[0].Ready = true
			if _, err := cs.CoreV1().Pods(c.pod.ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			got := rec.wait(t, c.want)
			if c.want == 0 {
				return
			}
			k := got[0]
			want := Kill{Cluster: "prod", Namespace: c.pod.ns, Pod: c.pod.name, Container: "app", PodUID: c.pod.uid,
				ExitCode: 137, FinishedAt: c.pod.finished, RestartCount: c.pod.restarts}
			switch c.pod.name {
			case "checkout-7d9f8b6c5-x2x4q":
				want.Workload = "checkout"
			}
			if !k.FinishedAt.Equal(want.FinishedAt) {
				t.Errorf("finishedAt %s, want %s", k.FinishedAt, want.FinishedAt)
			}
			k.FinishedAt = want.FinishedAt
			if k != want {
				t.Errorf("kill\n got %+v\nwant %+v", k, want)
			}
		})
	}
}

// TestRestartKilledAgain: the same container killed again (new finishedAt,
// restart count up) is a second kill; a recreated pod of the same name is
// a new pod.
func TestRestartKilledAgain(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	ctx := context.Background()
	spec := podSpec{ns: "shop", name: "checkout-7d9f8b6c5-x2x4q", uid: "u1", owner: "checkout-7d9f8b6c5", reason: "OOMKilled", finished: now.Add(-3 * time.Minute), restarts: 1}
	cs := fake.NewClientset(pod(spec))
	rec := newRecorder()
	run(t, Options{Client: cs, Cluster: "prod", OnKill: rec.onKill})
	rec.wait(t, 1)

	spec.finished, spec.restarts = now.Add(-time.Minute), 2
	if _, err := cs.CoreV1().Pods("shop").UpdateStatus(ctx, pod(spec), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := rec.wait(t, 2)
	if got[1].RestartCount != 2 || !got[1].FinishedAt.Equal(spec.finished) {
		t.Errorf("second kill: %+v", got[1])
	}
	if got[0].Key() == got[1].Key() {
		t.Error("two kills share a key")
	}

	// Deleted and recreated (a StatefulSet pod keeps its name): new UID.
	if err := cs.CoreV1().Pods("shop").Delete(ctx, spec.name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	spec.uid = "u1-new"
	if _, err := cs.CoreV1().Pods("shop").Create(ctx, pod(spec), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got = rec.wait(t, 3)
	if got[2].PodUID != "u1-new" {
		t.Errorf("recreated pod's kill: %+v", got[2])
	}
}

func TestNamespaceFilter(t *testing.T) {
	now := time.Now()
	cs := fake.NewClientset(
		pod(podSpec{ns: "shop", name: "a-7d9f8b6c5-x2x4q", uid: "a", reason: "OOMKilled", finished: now.Add(-time.Minute)}),
		pod(podSpec{ns: "kube-system", name: "b-7d9f8b6c5-x2x4q", uid: "b", reason: "OOMKilled", finished: now.Add(-time.Minute)}),
		pod(podSpec{ns: "payments", name: "c-7d9f8b6c5-x2x4q", uid: "c", reason: "OOMKilled", finished: now.Add(-time.Minute)}),
	)
	rec := newRecorder()
	run(t, Options{Client: cs, Cluster: "prod", Namespaces: []string{"shop", "payments"}, OnKill: rec.onKill})
	got := rec.wait(t, 2)
	seen := map[string]bool{}
	for _, k := range got {
		seen[k.Namespace] = true
	}
	if !seen["shop"] || !seen["payments"] || seen["kube-system"] {
		t.Errorf("namespaces seen: %v", seen)
	}
}

// TestStop: after Run returns, a new kill is not reported (and goleak, in
// TestMain, checks no informer goroutine is left).
func TestStop(t *testing.T) {
	cs := fake.NewClientset()
	rec := newRecorder()
	stop := run(t, Options{Client: cs, Cluster: "prod", OnKill: rec.onKill})
	time.Sleep(100 * time.Millisecond)
	stop()
	if _, err := cs.CoreV1().Pods("shop").Create(context.Background(),
		pod(podSpec{ns: "shop", name: "late-7d9f8b6c5-x2x4q", uid: "late", reason: "OOMKilled", finished: time.Now()}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(rec.all()); n != 0 {
		t.Errorf("%d kills reported after stop", n)
	}
}

func TestStripIdempotentAndKeepsWhatDetectionNeeds(t *testing.T) {
	p := pod(podSpec{ns: "shop", name: "checkout-7d9f8b6c5-x2x4q", uid: "u1", owner: "checkout-7d9f8b6c5", reason: "OOMKilled", finished: time.Now(), restarts: 4})
	once, err := Strip(p)
	if err != nil {
		t.Fatal(err)
	}
	twice, _ := Strip(once)
	if once != twice {
		t.Error("Strip is not idempotent")
	}
	sp := once.(*Pod)
	want := &Pod{Namespace: "shop", Name: "checkout-7d9f8b6c5-x2x4q", UID: "u1", Workload: "checkout",
		Kills: []PodKill{{Container: "app", ExitCode: 137, RestartCount: 4, FinishedAt: p.Status.ContainerStatuses[0].LastTerminationState.Terminated.FinishedAt.Time}}}
	if !reflect.DeepEqual(sp, want) {
		t.Errorf("stripped\n got %+v\nwant %+v", sp, want)
	}
	key, err := cache.MetaNamespaceKeyFunc(sp)
	if err != nil || key != "shop/checkout-7d9f8b6c5-x2x4q" {
		t.Errorf("cache key %q, %v", key, err)
	}
	tomb := cache.DeletedFinalStateUnknown{Key: "a/b", Obj: sp}
	if got, err := Strip(tomb); err != nil || got != any(tomb) {
		t.Errorf("tombstones must pass: %v", err)
	}
}
