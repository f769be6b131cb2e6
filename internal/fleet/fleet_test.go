package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func pod(name, ownerKind, owner string, restarts int32, oomAt time.Time) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop",
		OwnerReferences: []metav1.OwnerReference{{Kind: ownerKind, Name: owner}}}}
	st := corev1.ContainerStatus{Name: "app", RestartCount: restarts}
	if !oomAt.IsZero() {
		st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.NewTime(oomAt)}
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{st}
	return p
}

func TestLatestOOMPod(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	c := fake.NewClientset(
		pod("checkout-7d9f8b6c5-aaaaa", "ReplicaSet", "checkout-7d9f8b6c5", 1, t0),
		pod("checkout-7d9f8b6c5-bbbbb", "ReplicaSet", "checkout-7d9f8b6c5", 3, t0.Add(time.Hour)),
		pod("checkout-7d9f8b6c5-ccccc", "ReplicaSet", "checkout-7d9f8b6c5", 9, time.Time{}),
		// Another deployment whose name starts with ours must not match.
		pod("checkout-worker-5c4b-ddddd", "ReplicaSet", "checkout-worker-5c4b", 5, t0.Add(2*time.Hour)),
		pod("ledger-0", "StatefulSet", "ledger", 0, time.Time{}),
		pod("ledger-1", "StatefulSet", "ledger", 2, time.Time{}),
	)
	ctx := context.Background()
	for _, tc := range []struct{ workload, want string }{
		{"checkout", "checkout-7d9f8b6c5-bbbbb"}, // most recent OOM kill
		{"checkout-worker", "checkout-worker-5c4b-ddddd"},
		{"ledger", "ledger-1"}, // no OOM: most restarts
	} {
		got, err := LatestOOMPod(ctx, c, "shop", tc.workload)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.workload, got, err, tc.want)
		}
	}
	_, err := LatestOOMPod(ctx, c, "shop", "payments")
	var np *NoPodError
	if !errors.As(err, &np) {
		t.Fatalf("unknown workload: %v", err)
	}
}

func TestResolve(t *testing.T) {
	fired := time.Date(2026, 1, 17, 3, 13, 0, 0, time.UTC)
	c := fake.NewClientset(pod("api-1-abcde", "ReplicaSet", "api-1", 1, fired))
	f, err := New("eu", &Member{Name: "eu", Client: c, FiredAt: fired}, &Member{Name: "us"})
	if err != nil {
		t.Fatal(err)
	}
	r, m, err := f.Resolve(context.Background(), Request{Namespace: "shop", Workload: "api"})
	if err != nil || m.Name != "eu" || r.Pod != "api-1-abcde" || !r.FiredAt.Equal(fired) || r.Cluster != "eu" {
		t.Fatalf("resolve: %+v %v", r, err)
	}
	_, _, err = f.Resolve(context.Background(), Request{Cluster: "ap", Namespace: "shop", Pod: "x"})
	var uc *UnknownClusterError
	if !errors.As(err, &uc) || uc.Error() != `unknown cluster "ap" (configured: eu, us)` {
		t.Fatalf("unknown cluster: %v", err)
	}
	if _, err := New("nope", &Member{Name: "eu"}); err == nil {
		t.Fatal("unknown default accepted")
	}
	if _, err := New("eu", &Member{Name: "eu"}, &Member{Name: "eu"}); err == nil {
		t.Fatal("duplicate accepted")
	}
}
