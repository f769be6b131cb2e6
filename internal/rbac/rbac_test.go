package rbac

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/oombot/oombot/internal/fleet"
	"github.com/oombot/oombot/internal/leader"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/sources/kube"
	"github.com/oombot/oombot/internal/triage"
	"github.com/oombot/oombot/internal/watch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// An exerciser runs one real code path of the bot against a fake clientset
// whose Actions() are then checked against the rules. file names the code
// whose calls these are, so a failure says where a new call came from.
//
// To cover new code that talks to the API server, add one line here, e.g.
//
//	{"pod watcher: informer list+watch", "internal/watch/watch.go", exerciseWatcher},
//	{"leader package: campaign, renew, release", "internal/leader/leader.go", exerciseLeader},
type exerciser struct {
	name string
	file string
	run  func(ctx context.Context, t *testing.T, cs *fake.Clientset)
}

var exercisers = []exerciser{
	{"triage of a Deployment's workload (fleet → engine → kube source)", "internal/fleet/fleet.go, internal/sources/kube/kube.go", triageDeploymentWorkload},
	{"triage of a StatefulSet pod by name", "internal/sources/kube/kube.go", triageStatefulSetPod},
	{"triage of a mistyped pod (close-match suggestions)", "internal/sources/kube/kube.go", triageMissingPod},
	{"leader election round (acquire, renew, release)", "internal/leader/leader.go", leaderElectionRound},
	{"OOMKilled pod watcher (informer list+watch)", "internal/watch/watch.go", podWatcher},
}

// fixtures: a Deployment-owned pod (two ReplicaSets of history) and a
// StatefulSet-owned pod, both OOMKilled once with a previous log to read,
// and their events.
func fixtures() []runtime.Object {
	t0 := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	ctrl := func(kind, name, uid string) []metav1.OwnerReference {
		yes := true
		return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID(uid), Controller: &yes}}
	}
	oomed := func(name, ns, uid string, owner []metav1.OwnerReference) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(uid), OwnerReferences: owner},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "shop/app:1.3"}}},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", RestartCount: 1,
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.NewTime(t0)}},
			}}},
		}
	}
	rs := func(name, uid, rev string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID(uid),
			Labels:          map[string]string{"app": "checkout"},
			Annotations:     map[string]string{"deployment.kubernetes.io/revision": rev},
			OwnerReferences: ctrl("Deployment", "checkout", "dep-uid")}}
	}
	event := func(name, ns, pod, uid string) *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Reason: "BackOff",
			LastTimestamp:  metav1.NewTime(t0.Add(time.Minute)),
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod, UID: types.UID(uid)}}
	}
	return []runtime.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop", UID: "dep-uid"},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "checkout"}}}},
		rs("checkout-6c8e5d4f7", "rs1-uid", "1"), rs("checkout-7d9f8b6c5", "rs2-uid", "2"),
		oomed("checkout-7d9f8b6c5-abcde", "shop", "pod-uid", ctrl("ReplicaSet", "checkout-7d9f8b6c5", "rs2-uid")),
		event("checkout-7d9f8b6c5-abcde.1", "shop", "checkout-7d9f8b6c5-abcde", "pod-uid"),
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "ledger", Namespace: "bank", UID: "sts-uid"}},
		oomed("ledger-0", "bank", "ledger-uid", ctrl("StatefulSet", "ledger", "sts-uid")),
		event("ledger-0.1", "bank", "ledger-0", "ledger-uid"),
	}
}

// requireKubeOK fails unless every Kubernetes source of the report is ok:
// a call that errored would end its code path early and hide later calls.
func requireKubeOK(t *testing.T, rep *report.Report) {
	t.Helper()
	n := 0
	for _, s := range rep.Sources {
		if strings.HasPrefix(s.Name, "kubernetes/") {
			n++
			if s.Status != "ok" {
				t.Errorf("source %s: %s (%s): the code path did not run to the end", s.Name, s.Status, s.Error)
			}
		}
	}
	if n < 4 {
		t.Errorf("report has %d kubernetes/* sources, want pod, events, workload and logs: %+v", n, rep.Sources)
	}
}

func engine(cs *fake.Clientset) *triage.Engine {
	return &triage.Engine{Cluster: kube.New(cs, kube.Options{}), ClusterName: "kubernetes"}
}

func triageDeploymentWorkload(ctx context.Context, t *testing.T, cs *fake.Clientset) {
	f, err := fleet.New("prod", &fleet.Member{Name: "prod", Engine: engine(cs), Client: cs})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.Triage(ctx, fleet.Request{Namespace: "shop", Workload: "checkout", Alert: "OOMKilled checkout"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Target.Pod != "checkout-7d9f8b6c5-abcde" {
		t.Errorf("triaged pod %q, want the workload's OOMKilled pod", rep.Target.Pod)
	}
	requireKubeOK(t, rep)
}

func triageStatefulSetPod(ctx context.Context, t *testing.T, cs *fake.Clientset) {
	rep, err := engine(cs).Run(ctx, triage.Request{Namespace: "bank", Pod: "ledger-0"})
	if err != nil {
		t.Fatal(err)
	}
	requireKubeOK(t, rep)
}

func triageMissingPod(ctx context.Context, t *testing.T, cs *fake.Clientset) {
	_, err := engine(cs).Run(ctx, triage.Request{Namespace: "shop", Pod: "checkout-7d9f8b6c5-abcdx"})
	if err == nil || !strings.Contains(err.Error(), "did you mean checkout-7d9f8b6c5-abcde") {
		t.Fatalf("err = %v, want not found with a suggestion", err)
	}
}

// leaderElectionRound campaigns with the production lock type, waits for a
// renewal while leading, then cancels: ReleaseOnCancel hands the Lease
// back, as a graceful shutdown does.
func leaderElectionRound(ctx context.Context, t *testing.T, cs *fake.Clientset) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var renewed sync.Once
	renewals := make(chan struct{})
	cs.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		renewed.Do(func() { close(renewals) })
		return false, nil, nil
	})
	el, err := leader.New(leader.Options{Client: cs, Namespace: "oombot", Name: LeaseName, Identity: "oombot-7c9d-0",
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- el.Run(ctx, func(lctx context.Context) {
			select { // lead until the first renewal, then shut down cleanly
			case <-renewals:
			case <-lctx.Done():
			}
			cancel()
		})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cancel()
		<-done
		t.Fatal("no leadership and renewal within 30s")
	}
	lease, err := cs.CoordinationV1().Leases("oombot").Get(context.Background(), LeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A released Lease has no holder, so a follower takes over at once.
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("lease still held by %q after release", *h)
	}
}

// podWatcher runs the OOMKilled watcher until it reports the fixtures'
// recent kill: its informer lists and watches pods.
func podWatcher(ctx context.Context, t *testing.T, cs *fake.Clientset) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kills := make(chan watch.Kill, 4)
	w, err := watch.New(watch.Options{Client: cs, Cluster: "prod", Lookback: 100 * 365 * 24 * time.Hour,
		OnKill: func(_ context.Context, k watch.Kill) { kills <- k }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case k := <-kills:
		if k.Pod == "" {
			t.Errorf("kill without a pod: %+v", k)
		}
	case <-time.After(30 * time.Second):
		t.Error("the watcher reported no kill within 30s")
	}
	cancel()
	<-done
}

// callOf turns a fake clientset action into a Call.
func callOf(a k8stesting.Action) Call {
	c := Call{Verb: a.GetVerb(), Group: a.GetResource().Group, Resource: a.GetResource().Resource,
		Subresource: a.GetSubresource(), Namespace: a.GetNamespace()}
	// Get, delete and patch actions carry the name; create and update carry
	// the object (the action interfaces overlap, so match on the methods).
	switch a := a.(type) {
	case interface{ GetName() string }:
		c.Name = a.GetName()
	case interface{ GetObject() runtime.Object }:
		if m, err := metaName(a.GetObject()); err == nil {
			c.Name = m
		}
	}
	return c
}

func metaName(o runtime.Object) (string, error) {
	m, ok := o.(metav1.Object)
	if !ok {
		return "", fmt.Errorf("%T has no object meta", o)
	}
	return m.GetName(), nil
}

type recorded struct {
	call Call
	by   exerciser
}

// record runs every exerciser on its own fake clientset and returns the
// calls they made.
func record(t *testing.T) []recorded {
	t.Helper()
	var out []recorded
	for _, ex := range exercisers {
		cs := fake.NewClientset(fixtures()...)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		t.Run(ex.name, func(t *testing.T) { ex.run(ctx, t, cs) })
		cancel()
		for _, a := range cs.Actions() {
			out = append(out, recorded{callOf(a), ex})
		}
	}
	return out
}

// TestCallsMatchRules is the single-source-of-truth check: every API call
// the bot's code makes is allowed by ClusterRules (reads) or LeaseRules
// (the Lease, in one namespace only), and every granted verb is used by
// some call. A new call fails here until rbac.go grants it; a grant no
// code uses fails here until it is removed.
func TestCallsMatchRules(t *testing.T) {
	calls := record(t)
	if t.Failed() {
		t.FailNow()
	}
	for _, p := range problems(calls, ClusterRules(), LeaseRules()) {
		t.Error(p)
	}
	seen := map[string]bool{}
	for _, r := range calls {
		if s := r.call.String(); !seen[s] {
			seen[s] = true
			t.Logf("call: %s", s)
		}
	}
}

// problems checks calls against the rules both ways.
func problems(calls []recorded, cluster, lease []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range calls {
		c := r.call
		isLease := c.Group == CoordinationGroup && c.Resource == "leases"
		switch {
		case isLease && c.Namespace == "":
			out = append(out, fmt.Sprintf("%s by %q (%s): Leases must be namespaced; the Lease Role is granted in the bot's namespace only", c, r.by.name, r.by.file))
		case isLease && !Allows(lease, c):
			out = append(out, fmt.Sprintf("%s by %q (%s) is not allowed by LeaseRules: grant it in internal/rbac/rbac.go (LeaseRules) and run go generate ./internal/rbac, or remove the call", c, r.by.name, r.by.file))
		case !isLease && !Allows(cluster, c):
			out = append(out, fmt.Sprintf("%s by %q (%s) is not allowed by ClusterRules: grant it in internal/rbac/rbac.go (ClusterRules) and run go generate ./internal/rbac, or remove the call", c, r.by.name, r.by.file))
		}
	}
	for _, set := range []struct {
		name  string
		rules []rbacv1.PolicyRule
	}{{"ClusterRules", cluster}, {"LeaseRules", lease}} {
		for _, g := range Grants(set.rules) {
			used := false
			for _, r := range calls {
				if Covers(r.call, g) {
					used = true
					break
				}
			}
			if !used {
				out = append(out, fmt.Sprintf("%s grants %s but no exerciser calls it: remove it from internal/rbac/rbac.go (%s) and run go generate ./internal/rbac, or add the exerciser for the code that needs it to internal/rbac/rbac_test.go", set.name, g, set.name))
			}
		}
	}
	return out
}

// The check must be able to fail: an extra call (exec into a pod, reading a
// Secret, a Lease in another verb) and an unused grant are each reported,
// naming the call and the file to change.
func TestProblemsReportedBothWays(t *testing.T) {
	by := exerciser{name: "planted", file: "internal/planted/planted.go"}
	base := []recorded{}
	for _, g := range Grants(append(ClusterRules(), LeaseRules()...)) {
		res, sub, _ := strings.Cut(g.Resource, "/")
		ns := "shop"
		if g.Group == CoordinationGroup {
			ns = "oombot"
		}
		base = append(base, recorded{Call{Verb: g.Verb, Group: g.Group, Resource: res, Subresource: sub, Namespace: ns, Name: g.Name}, by})
	}
	// Clip: each case appends its own planted call to base.
	base = slices.Clip(base)
	if p := problems(base, ClusterRules(), LeaseRules()); len(p) != 0 {
		t.Fatalf("one call per grant should be clean, got %q", p)
	}
	for _, tc := range []struct {
		name  string
		calls []recorded
		rules []rbacv1.PolicyRule
		want  string
	}{
		{"exec", append(base, recorded{Call{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "shop", Name: "p"}, by}), ClusterRules(),
			`create pods/exec (core) p in namespace shop by "planted" (internal/planted/planted.go) is not allowed by ClusterRules: grant it in internal/rbac/rbac.go`},
		{"secret", append(base, recorded{Call{Verb: "get", Resource: "secrets", Namespace: "shop", Name: "s"}, by}), ClusterRules(),
			"get secrets (core) s in namespace shop"},
		{"watch events", append(base, recorded{Call{Verb: "watch", Resource: "events"}, by}), ClusterRules(),
			"watch events (core) cluster-wide"},
		{"lease delete", append(base, recorded{Call{Verb: "delete", Group: CoordinationGroup, Resource: "leases", Namespace: "oombot", Name: LeaseName}, by}), ClusterRules(),
			"is not allowed by LeaseRules"},
		{"other lease", append(base, recorded{Call{Verb: "update", Group: CoordinationGroup, Resource: "leases", Namespace: "oombot", Name: "kube-scheduler"}, by}), ClusterRules(),
			"update leases (coordination.k8s.io) kube-scheduler"},
		{"cluster-wide lease", append(base, recorded{Call{Verb: "create", Group: CoordinationGroup, Resource: "leases", Name: LeaseName}, by}), ClusterRules(),
			"Leases must be namespaced"},
		{"unused grant", base, append(ClusterRules(), rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list"}}),
			"ClusterRules grants list nodes (core) but no exerciser calls it: remove it from internal/rbac/rbac.go"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := problems(tc.calls, tc.rules, LeaseRules())
			if len(p) != 1 || !strings.Contains(p[0], tc.want) {
				t.Errorf("problems = %q, want one containing %q", p, tc.want)
			}
		})
	}
}
