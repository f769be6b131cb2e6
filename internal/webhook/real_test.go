package webhook

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/realserver"
)

// TestRealAlertmanager has a real Alertmanager deliver a firing and then a
// resolved notification to the handler, authenticated with a bearer token
// from its http_config.
func TestRealAlertmanager(t *testing.T) {
	const secret = "am-to-oombot-7c1"
	g := newGot()
	h, err := Alertmanager(Options{Secret: secret, Logger: quietLogger()}, g.onAlert)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/alertmanager", h)
	srv := httptest.NewServer(mux)
	// Registered before Alertmanager starts, so it closes after
	// Alertmanager is gone (cleanups run last-in first-out).
	t.Cleanup(srv.Close)

	am := realserver.Alertmanager(t, realserver.AMOptions{Config: realserver.WebhookConfig(secret, srv.URL+"/webhooks/alertmanager")})
	labels := map[string]string{"alertname": "KubePodOOMKilled", "namespace": "edge", "pod": "api-gateway-6bqn5pfqmq-br6bl",
		"container": "gateway", "reason": "OOMKilled", "severity": "critical"}
	startsAt := time.Now().Add(-time.Minute).Truncate(time.Second)
	const generator = "http://prometheus.monitoring:9090/graph?g0.expr=kube_pod_container_status_last_terminated_reason"
	am.PostAlerts(t, realserver.Alert{Labels: labels, StartsAt: startsAt, GeneratorURL: generator,
		Annotations: map[string]string{"summary": "Container killed by the OOM killer."}})

	firing := wait(t, g, am)
	want := alert.Alert{Source: "alertmanager", State: "firing", Kind: "oomkilled",
		Title: "KubePodOOMKilled: Container killed by the OOM killer.", Namespace: "edge",
		Pod: "api-gateway-6bqn5pfqmq-br6bl", Workload: "api-gateway", Container: "gateway", Fingerprint: firing.Fingerprint, Link: generator}
	if firing.Fingerprint == "alertmanager:" || len(firing.Fingerprint) != len("alertmanager:")+16 {
		t.Errorf("fingerprint %q: want alertmanager: and Alertmanager's 16 hex digits", firing.Fingerprint)
	}
	if !equalAlerts(firing, want) {
		t.Errorf("firing alert\n%+v\nwant\n%+v", firing, want)
	}

	am.PostAlerts(t, realserver.Alert{Labels: labels, StartsAt: startsAt, EndsAt: time.Now().Add(-time.Second)})
	resolved := wait(t, g, am)
	if resolved.State != alert.StateResolved || resolved.Fingerprint != firing.Fingerprint || resolved.Pod != firing.Pod {
		t.Errorf("resolved alert %+v: want state resolved and fingerprint %s", resolved, firing.Fingerprint)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.delivery) != 2 || g.delivery[0] == g.delivery[1] {
		t.Errorf("delivery ids %q: want two different ones", g.delivery)
	}
}

func wait(t *testing.T, g *got, am *realserver.AM) alert.Alert {
	t.Helper()
	select {
	case a := <-g.ch:
		return a
	case <-time.After(15 * time.Second):
		t.Fatalf("no alert from Alertmanager within 15s\nalertmanager output:\n%s", am.Output())
		return alert.Alert{}
	}
}

func equalAlerts(a, b alert.Alert) bool {
	return a.Source == b.Source && a.State == b.State && a.Kind == b.Kind && a.Title == b.Title &&
		a.Namespace == b.Namespace && a.Pod == b.Pod && a.Container == b.Container && a.Workload == b.Workload &&
		a.Cluster == b.Cluster && a.Fingerprint == b.Fingerprint && a.Link == b.Link && len(a.Missing) == 0
}
