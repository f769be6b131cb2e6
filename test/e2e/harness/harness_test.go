package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/oombot/oombot/internal/rbac"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSliceLog(t *testing.T) {
	log := []byte("one\ntwo\nthree\nfour\n")
	for _, c := range []struct {
		name        string
		data        []byte
		tail, limit int64
		want        string
	}{
		{"everything", log, -1, -1, "one\ntwo\nthree\nfour\n"},
		{"tail 2", log, 2, -1, "three\nfour\n"},
		{"tail more than there is", log, 10, -1, "one\ntwo\nthree\nfour\n"},
		{"tail 0", log, 0, -1, ""},
		{"limit cuts mid-line", log, -1, 6, "one\ntw"},
		{"tail then limit from the tail's start", log, 2, 8, "three\nfo"},
		{"last line without newline", []byte("a\nb\nc"), 2, -1, "b\nc"},
		{"empty", nil, 3, 5, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(SliceLog(c.data, c.tail, c.limit)); got != c.want {
				t.Errorf("SliceLog(tail=%d, limit=%d) = %q, want %q", c.tail, c.limit, got, c.want)
			}
		})
	}
}

// TestFakeKubelet speaks to the fake kubelet the way the API server does:
// HTTPS with the cluster CA, a client certificate, the containerLogs path
// and the query parameters LogLocation sends.
func TestFakeKubelet(t *testing.T) {
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	k, err := StartFakeKubelet(ca)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	k.SetLog("shop", "checkout-1", "app", true, []byte("start\njava.lang.OutOfMemoryError: Java heap space\n\tat a.B.c(B.java:1)\n"))
	k.SetLog("shop", "checkout-1", "app", false, []byte("started again\n"))
	kp, err := ca.Client("kube-apiserver-kubelet-client")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := kp.TLS()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}}}}
	defer client.CloseIdleConnections()
	base := fmt.Sprintf("https://127.0.0.1:%d", k.Port())
	get := func(ctx context.Context, c *http.Client, path string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return 0, "", err
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	for _, c := range []struct {
		path       string
		wantStatus int
		want       string
	}{
		{"/containerLogs/shop/checkout-1/app?previous=true", 200, "start\njava.lang.OutOfMemoryError: Java heap space\n\tat a.B.c(B.java:1)\n"},
		{"/containerLogs/shop/checkout-1/app?previous=true&tailLines=2&limitBytes=17", 200, "java.lang.OutOfMe"},
		{"/containerLogs/shop/checkout-1/app", 200, "started again\n"},
		{"/containerLogs/shop/checkout-1/sidecar?previous=true", 400, `previous terminated container "sidecar" in pod "checkout-1" not found`},
		{"/containerLogs/shop/other/app", 404, "not found"},
		{"/containerLogs/shop/checkout-1/app?tailLines=x", 400, "tailLines"},
		{"/exec/shop/checkout-1/app", 404, ""},
	} {
		code, body, err := get(context.Background(), client, c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if code != c.wantStatus || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %q, want %d containing %q", c.path, code, body, c.wantStatus, c.want)
		}
	}
	reqs := k.Requests()
	if len(reqs) != 6 {
		t.Fatalf("recorded %d log requests, want 6: %+v", len(reqs), reqs)
	}
	if r := reqs[1]; !r.Previous || r.TailLines != 2 || r.LimitBytes != 17 || r.ClientCN != "kube-apiserver-kubelet-client" || r.Status != 200 {
		t.Errorf("recorded request: %+v", r)
	}

	// Without a client certificate the handshake fails: only the API
	// server may read logs.
	anon := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	defer anon.CloseIdleConnections()
	if _, _, err := get(context.Background(), anon, "/containerLogs/shop/checkout-1/app"); err == nil {
		t.Error("a client without a certificate was served")
	}

	// Hang: the request stays open until the caller gives up.
	k.Hang("shop")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	start := time.Now()
	_, _, err = get(ctx, client, "/containerLogs/shop/checkout-1/app")
	cancel()
	if err == nil || time.Since(start) < 300*time.Millisecond {
		t.Errorf("hanging kubelet answered: %v after %s", err, time.Since(start))
	}
	k.Unhang("shop")
	if code, _, err := get(context.Background(), client, "/containerLogs/shop/checkout-1/app"); err != nil || code != 200 {
		t.Errorf("after Unhang: %d %v", code, err)
	}
}

func TestParseRBACAndWithout(t *testing.T) {
	// A rendered stream as kustomize prints it, with the rules of the
	// source of truth, so the parse is checked against what deploy/ holds.
	var stream []string
	for _, obj := range []any{
		corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: metav1.ObjectMeta{Name: "oombot", Namespace: "oombot"}},
		rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}, ObjectMeta: metav1.ObjectMeta{Name: "oombot"}, Rules: rbac.ClusterRules()},
		rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: metav1.ObjectMeta{Name: "oombot-leader-election", Namespace: "oombot"}, Rules: rbac.LeaseRules()},
	} {
		b, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, string(b))
	}
	manifests := strings.Join(stream, "---\n")
	r, err := ParseRBAC([]byte(manifests))
	if err != nil {
		t.Fatal(err)
	}
	if err := rbac.Compare(r.ClusterRules, rbac.ClusterRules()); err != nil {
		t.Errorf("cluster rules: %v", err)
	}
	if err := rbac.Compare(r.LeaseRules, rbac.LeaseRules()); err != nil {
		t.Errorf("lease rules: %v", err)
	}
	w, err := r.Without("pods/log", "get")
	if err != nil {
		t.Fatal(err)
	}
	if rbac.Allows(w.ClusterRules, rbac.Call{Verb: "get", Resource: "pods", Subresource: "log", Namespace: "x", Name: "p"}) {
		t.Error("Without left get pods/log")
	}
	if !rbac.Allows(w.ClusterRules, rbac.Call{Verb: "list", Resource: "events", Namespace: "x"}) {
		t.Error("Without removed more than one rule")
	}
	if n := len(rbac.ClusterRules()); len(r.ClusterRules) != n || len(w.ClusterRules) != n-1 {
		t.Errorf("Without modified the original or removed too much: %d, %d rules", len(r.ClusterRules), len(w.ClusterRules))
	}
	w2, err := r.Without("pods", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !rbac.Allows(w2.ClusterRules, rbac.Call{Verb: "get", Resource: "pods", Namespace: "x", Name: "p"}) ||
		rbac.Allows(w2.ClusterRules, rbac.Call{Verb: "list", Resource: "pods", Namespace: "x"}) {
		t.Errorf("Without(pods, list) should keep get and drop list: %v", w2.ClusterRules)
	}
	if _, err := r.Without("secrets", "get"); err == nil {
		t.Error("Without a rule that is not there should fail")
	}
	for _, bad := range []string{"", "kind: Role\nrules: [{apiGroups: [coordination.k8s.io], resources: [leases], verbs: [create]}]\n"} {
		if _, err := ParseRBAC([]byte(bad)); err == nil {
			t.Errorf("ParseRBAC(%q) accepted a stream without a ClusterRole", bad)
		}
	}
}

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 3, 21, 14, 20, 0, 0, time.UTC)
	anchor := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	c := Clock{First: t0, Last: t0.Add(100 * time.Second), Stretch: 120, Anchor: anchor}
	for _, tc := range []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"last sample lands on the anchor", t0.Add(100 * time.Second), anchor},
		{"inside the span: stretched", t0.Add(90 * time.Second), anchor.Add(-20 * time.Minute)},
		{"first sample", t0, anchor.Add(-200 * time.Minute)},
		{"before the span: spacing kept", t0.Add(-time.Hour), anchor.Add(-200*time.Minute - time.Hour)},
		{"after the span: spacing kept", t0.Add(130 * time.Second), anchor.Add(30 * time.Second)},
	} {
		if got := c.At(tc.in); !got.Equal(tc.want) {
			t.Errorf("%s: At(%s) = %s, want %s", tc.name, tc.in, got, tc.want)
		}
	}
	log := "Picked up JAVA_TOOL_OPTIONS: -Xmx128m\n" +
		"2026-03-21T14:21:30.471Z  INFO [main] started at 2026-03-21T14:21:30Z\n" +
		"\tat com.example.Lock.acquire(Lock.java:42)\n" +
		"2026-03-21T14:21:40Z WARN x\n"
	want := "Picked up JAVA_TOOL_OPTIONS: -Xmx128m\n" +
		"2026-11-23T11:40:56.520Z  INFO [main] started at 2026-03-21T14:21:30Z\n" +
		"\tat com.example.Lock.acquire(Lock.java:42)\n" +
		"2026-11-23T12:00:00Z WARN x\n"
	if got := string(replayLog([]byte(log), c)); got != want {
		t.Errorf("replayLog:\n%s\nwant\n%s", got, want)
	}
}
