package kube

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

func ctrl(kind, name, uid string) []metav1.OwnerReference {
	t := true
	return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: typesUID(uid), Controller: &t}}
}

func objects() []runtime.Object {
	ts := func(m int) metav1.Time { return metav1.NewTime(time.Date(2026, 3, 14, 2, m, 0, 0, time.UTC)) }
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "checkout-7d9f-abcde", Namespace: "shop", UID: "pod-uid",
		OwnerReferences: ctrl("ReplicaSet", "checkout-7d9f", "rs2-uid")}}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "checkout-7d9f-zzzzz", Namespace: "shop"}}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop", UID: "dep-uid"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "checkout"}}}}
	rs := func(name, uid, rev, image string, m int, owner string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: typesUID(uid),
			Labels: map[string]string{"app": "checkout"}, CreationTimestamp: ts(m),
			Annotations: map[string]string{"deployment.kubernetes.io/revision": rev}, OwnerReferences: ctrl("Deployment", "checkout", owner)},
			Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}}}
	}
	ev := func(name, obj, uid, reason string, m int) *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Reason: reason, LastTimestamp: ts(m),
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: obj, UID: typesUID(uid)}}
	}
	return []runtime.Object{pod, other, dep,
		rs("checkout-7d9f", "rs2-uid", "2", "shop/checkout:1.3", 5, "dep-uid"), rs("checkout-6c8e", "rs1-uid", "1", "shop/checkout:1.2", 1, "dep-uid"),
		// A ReplicaSet matching the labels but owned by someone else must not count.
		rs("checkout-stray", "rs3-uid", "9", "x", 2, "another-deployment-uid"),
		ev("e2", "checkout-7d9f-abcde", "pod-uid", "BackOff", 9), ev("e1", "checkout-7d9f-abcde", "pod-uid", "Killing", 8),
		ev("e3", "checkout-7d9f-zzzzz", "", "Pulled", 7),
		// Same name, older pod (different UID): stale.
		ev("e4", "checkout-7d9f-abcde", "old-uid", "OOMKilling", 3),
	}
}

func TestPodAndNotFoundSuggestions(t *testing.T) {
	s := New(fake.NewClientset(objects()...), Options{})
	ctx := context.Background()
	if p, err := s.Pod(ctx, "shop", "checkout-7d9f-abcde"); err != nil || p.UID != "pod-uid" {
		t.Fatalf("Pod = %v, %v", p, err)
	}
	_, err := s.Pod(ctx, "shop", "checkout-7d9f-abcdx")
	var ke *Error
	if !errors.As(err, &ke) || !ke.NotFound {
		t.Fatalf("err = %v, want NotFound", err)
	}
	if !strings.Contains(err.Error(), "pod shop/checkout-7d9f-abcdx not found; did you mean checkout-7d9f-abcde") {
		t.Errorf("message = %q", err)
	}
}

// The fake ignores field selectors, as kubelets' stale events and some
// servers do: the source must filter by name and UID itself.
func TestEventsFilteredAndSorted(t *testing.T) {
	s := New(fake.NewClientset(objects()...), Options{})
	pod, _ := s.Pod(context.Background(), "shop", "checkout-7d9f-abcde")
	evs, err := s.Events(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Name)
	}
	if strings.Join(got, ",") != "e1,e2" {
		t.Errorf("events = %v, want e1,e2 (time order, other pods and stale UIDs dropped)", got)
	}
}

func TestWorkloadHistory(t *testing.T) {
	s := New(fake.NewClientset(objects()...), Options{})
	pod, _ := s.Pod(context.Background(), "shop", "checkout-7d9f-abcde")
	w, err := s.Workload(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	if w.Kind != "Deployment" || w.Name != "checkout" {
		t.Fatalf("workload = %s %s", w.Kind, w.Name)
	}
	if len(w.ReplicaSets) != 2 || Revision(&w.ReplicaSets[0]) != 1 || Revision(&w.ReplicaSets[1]) != 2 {
		var names []string
		for _, r := range w.ReplicaSets {
			names = append(names, r.Name)
		}
		t.Errorf("replicasets = %v, want checkout-6c8e, checkout-7d9f", names)
	}
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "shop"}}
	if w, err := s.Workload(context.Background(), bare); err != nil || w.Kind != "" {
		t.Errorf("bare pod workload = %+v, %v", w, err)
	}
}

func TestForbiddenNamesThePermission(t *testing.T) {
	cs := fake.NewClientset(objects()...)
	cs.PrependReactor("list", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", errors.New("no RBAC"))
	})
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "log" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods/log"}, "x", errors.New("no RBAC"))
		}
		return false, nil, nil
	})
	s := New(cs, Options{})
	pod, _ := s.Pod(context.Background(), "shop", "checkout-7d9f-abcde")
	_, err := s.Events(context.Background(), pod)
	if err == nil || !strings.Contains(err.Error(), "RBAC does not allow list events in namespace shop") {
		t.Errorf("events err = %v", err)
	}
	_, err = s.Logs(context.Background(), "shop", pod.Name, "app", true)
	if err == nil || !strings.Contains(err.Error(), "RBAC does not allow get pods/log in namespace shop") {
		t.Errorf("logs err = %v", err)
	}
}

func TestLogsAskForLimitBytes(t *testing.T) {
	cs := fake.NewClientset(objects()...)
	var seen *corev1.PodLogOptions
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		seen = a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		return true, &runtime.Unknown{Raw: []byte("hello\n")}, nil
	})
	s := New(cs, Options{LogLimitBytes: 1234})
	rc, err := s.Logs(context.Background(), "shop", "checkout-7d9f-abcde", "app", true)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "hello\n" {
		t.Errorf("logs = %q", data)
	}
	if seen == nil || seen.LimitBytes == nil || *seen.LimitBytes != 1234 || !seen.Previous || seen.Container != "app" {
		t.Errorf("log options = %+v", seen)
	}
}

func TestUnreachable(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
	})
	_, err := New(cs, Options{}).Pod(context.Background(), "shop", "x")
	var ke *Error
	if !errors.As(err, &ke) || !ke.Unreachable || !strings.Contains(err.Error(), "Kubernetes API unreachable") {
		t.Errorf("err = %v", err)
	}
}

func TestOwnerWorkload(t *testing.T) {
	for _, c := range []struct{ kind, name, want string }{
		{"ReplicaSet", "checkout-7d9f8b6c5", "checkout"},
		{"ReplicaSet", "checkout-worker-5c4b", "checkout-worker"},
		{"StatefulSet", "ledger", "ledger"},
		{"Job", "nightly-29178", "nightly-29178"},
		{"Node", "static", ""},
	} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: c.kind, Name: c.name}}}}
		if got := OwnerWorkload(p); got != c.want {
			t.Errorf("%s/%s: %q, want %q", c.kind, c.name, got, c.want)
		}
	}
}

// A log read that times out is blamed on the path through the kubelet,
// not on an unreachable API server: the API server answered everything
// else, and it proxies logs from the node.
func TestLogTimeoutNamesKubelet(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/log") {
			select { // a kubelet that never answers, behind the log proxy
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	defer close(release)
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = New(cs, Options{}).Logs(ctx, "shop", "p", "app", true)
	var ke *Error
	if !errors.As(err, &ke) || !ke.ViaKubelet || ke.Unreachable {
		t.Fatalf("err = %#v", err)
	}
	for _, want := range []string{"get logs", "no answer from the node's kubelet"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}
