package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/alert"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// got records what a handler delivered.
type got struct {
	mu       sync.Mutex
	alerts   []alert.Alert
	delivery []string
	ch       chan alert.Alert
}

func newGot() *got { return &got{ch: make(chan alert.Alert, 16)} }

func (g *got) onAlert(ctx context.Context, a alert.Alert) {
	g.mu.Lock()
	g.alerts = append(g.alerts, a)
	g.delivery = append(g.delivery, DeliveryID(ctx))
	g.mu.Unlock()
	select {
	case g.ch <- a:
	default:
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)) }

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, h http.Handler, body []byte, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPayloads(t *testing.T) {
	oom := alert.Alert{Source: "alertmanager", State: "firing", Kind: "oomkilled",
		Title: "KubePodOOMKilled: Container killed by the OOM killer.", Cluster: "prod-eu-1", Namespace: "edge",
		Pod: "api-gateway-6bqn5pfqmq-br6bl", Workload: "api-gateway", Inferred: []string{"workload"}, Container: "gateway", Fingerprint: "alertmanager:5f1d9a0c7e2b4a11",
		Link: "http://prometheus.monitoring:9090/graph?g0.expr=kube_pod_container_status_last_terminated_reason%7Breason%3D%22OOMKilled%22%7D&g0.tab=1"}
	resolved := oom
	resolved.State = "resolved"
	ddOOM := alert.Alert{Source: "datadog", State: "firing", Kind: "oomkilled", Title: "Pod OOMKilled in edge",
		Cluster: "prod-eu-1", Namespace: "edge", Pod: "api-gateway-6bqn5pfqmq-br6bl", Workload: "api-gateway", Container: "gateway",
		Fingerprint: "datadog:" + shortHash("48213377|kube_namespace:edge,pod_name:api-gateway-6bqn5pfqmq-br6bl"),
		Link:        "https://app.datadoghq.eu/monitors/48213377?group=kube_namespace%3Aedge%2Cpod_name%3Aapi-gateway-6bqn5pfqmq-br6bl"}
	ddResolved := ddOOM
	ddResolved.State = "resolved"

	cases := []struct {
		fixture  string
		status   int
		body     string // substring of the response
		want     []alert.Alert
		delivery []string
	}{
		{"alertmanager/firing-oomkilled.json", 200, `{"accepted":1,"ignored":0}`, []alert.Alert{oom},
			[]string{"alertmanager:5f1d9a0c7e2b4a11|firing|2026-01-17T03:12:43.992Z"}},
		{"alertmanager/resolved-oomkilled.json", 200, `"accepted":1`, []alert.Alert{resolved},
			[]string{"alertmanager:5f1d9a0c7e2b4a11|resolved|2026-01-17T03:12:43.992Z"}},
		{"alertmanager/mixed-group.json", 200, `{"accepted":2,"ignored":1}`, []alert.Alert{
			{Source: "alertmanager", State: "firing", Kind: "gc", Title: "JvmMemoryOldGenHigh: Old generation above 90% after GC.",
				Namespace: "shop", Workload: "orders-db-proxy", Container: "proxy", Fingerprint: "alertmanager:9e8d7c6b5a4f3e2d",
				Link: "http://prometheus:9090/graph?g0.expr=x"},
			{Source: "alertmanager", State: "firing", Kind: "memory", Title: "ContainerHighMemoryUsage",
				Namespace: "shop", Pod: "order-service-pr2bfcjt7n-qpkqc", Workload: "order-service", Container: "app",
				Fingerprint: "alertmanager:1122334455667788", Link: "http://alertmanager.monitoring:9093"},
		}, nil},
		{"alertmanager/version-3.json", 400, `webhook version \"3\" is not supported`, nil, nil},
		{"alertmanager/bad-status.json", 400, `alerts[0]: status \"pending\"`, nil, nil},
		{"datadog/triggered.json", 200, `"accepted":1`, []alert.Alert{ddOOM}, []string{"datadog:7439172846152874112"}},
		{"datadog/recovered.json", 200, `"accepted":1`, []alert.Alert{ddResolved}, []string{"datadog:7439172846152899999"}},
		{"datadog/retriggered-no-event-id.json", 200, `"accepted":1`, []alert.Alert{ddOOM},
			[]string{"datadog:48213377|kube_namespace:edge,pod_name:api-gateway-6bqn5pfqmq-br6bl|Re-Triggered|2026-01-17T03:17:43Z"}},
		{"datadog/gc-deployment.json", 200, `"accepted":1`, []alert.Alert{{Source: "datadog", State: "firing", Kind: "gc",
			Title: "JVM old gen above 90% after GC", Cluster: "shop-prod-us", Namespace: "shop", Workload: "order-service",
			Fingerprint: "datadog:" + shortHash("1201|kube_deployment:order-service,kube_namespace:shop"),
			Link:        "https://app.datadoghq.eu/monitors/48213377?group=kube_namespace%3Aedge%2Cpod_name%3Aapi-gateway-6bqn5pfqmq-br6bl"}}, nil},
		{"datadog/warn.json", 200, `{"accepted":0,"ignored":1}`, nil, nil},
		{"datadog/not-memory.json", 200, `{"accepted":0,"ignored":1}`, nil, nil},
		{"datadog/unsubstituted.json", 400, "no alertId or transition", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			g := newGot()
			newHandler := Alertmanager
			if strings.HasPrefix(c.fixture, "datadog/") {
				newHandler = Datadog
			}
			h, err := newHandler(Options{Logger: quietLogger()}, g.onAlert)
			if err != nil {
				t.Fatal(err)
			}
			rec := post(t, h, fixture(t, c.fixture))
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.body) {
				t.Errorf("response %d %s, want %d containing %s", rec.Code, rec.Body, c.status, c.body)
			}
			if !reflect.DeepEqual(g.alerts, c.want) {
				gj, _ := json.MarshalIndent(g.alerts, "", " ")
				wj, _ := json.MarshalIndent(c.want, "", " ")
				t.Errorf("alerts\n%s\nwant\n%s", gj, wj)
			}
			if c.delivery != nil && !reflect.DeepEqual(g.delivery, c.delivery) {
				t.Errorf("delivery ids %q, want %q", g.delivery, c.delivery)
			}
		})
	}
}

func TestRequestChecks(t *testing.T) {
	const secret = "s3cret-Do-Not-Log-9f2"
	body := fixture(t, "alertmanager/firing-oomkilled.json")
	big := append([]byte(`{"version":"4","alerts":[],"pad":"`), bytes.Repeat([]byte("x"), DefaultMaxBody)...)
	big = append(big, `"}`...)
	cases := []struct {
		name     string
		opts     Options
		method   string
		body     []byte
		header   []string
		status   int
		errText  string
		accepted bool
	}{
		{"bearer accepted", Options{Secret: secret}, "POST", body, []string{"Authorization", "Bearer " + secret}, 200, "", true},
		{"bearer scheme is case-insensitive", Options{Secret: secret}, "POST", body, []string{"Authorization", "bearer " + secret}, 200, "", true},
		{"no secret sent", Options{Secret: secret}, "POST", body, nil, 401, "wrong or missing secret in Authorization", false},
		{"wrong secret", Options{Secret: secret}, "POST", body, []string{"Authorization", "Bearer " + secret + "x"}, 401, "wrong or missing secret", false},
		{"secret without Bearer", Options{Secret: secret}, "POST", body, []string{"Authorization", secret}, 401, "wrong or missing secret", false},
		{"custom header", Options{Secret: secret, Header: "X-Oombot-Token"}, "POST", body, []string{"X-Oombot-Token", secret}, 200, "", true},
		{"custom header wrong", Options{Secret: secret, Header: "X-Oombot-Token"}, "POST", body, []string{"X-Oombot-Token", "nope"}, 401, "X-Oombot-Token", false},
		{"no secret configured", Options{}, "POST", body, nil, 200, "", true},
		{"GET", Options{}, "GET", nil, nil, 405, "use POST", false},
		{"too large", Options{}, "POST", big, nil, 413, "body larger than 1048576 bytes", false},
		{"smaller cap", Options{MaxBody: 100}, "POST", body, nil, 413, "body larger than 100 bytes", false},
		{"malformed JSON", Options{}, "POST", []byte(`{"version":"4","alerts":[{`), nil, 400, "invalid JSON", false},
		{"not JSON", Options{}, "POST", []byte(`<html>`), nil, 400, "not an Alertmanager webhook notification", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			c.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			g := newGot()
			h, err := Alertmanager(c.opts, g.onAlert)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(c.method, "/webhooks/alertmanager", bytes.NewReader(c.body))
			for i := 0; i+1 < len(c.header); i += 2 {
				req.Header.Set(c.header[i], c.header[i+1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Errorf("status %d %s, want %d", rec.Code, rec.Body, c.status)
			}
			if c.errText != "" {
				var e struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !strings.Contains(e.Error, c.errText) {
					t.Errorf("body %s, want an error containing %q", rec.Body, c.errText)
				}
			}
			if c.accepted != (len(g.alerts) == 1) {
				t.Errorf("delivered %d alerts, want accepted=%v", len(g.alerts), c.accepted)
			}
			if c.status == 401 && rec.Header().Get("WWW-Authenticate") == "" && c.opts.Header == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), "nope") {
				t.Errorf("a secret reached the log:\n%s", logs.String())
			}
		})
	}
}

func TestCallbackContextOutlivesRequest(t *testing.T) {
	var ctxs []context.Context
	h, err := Alertmanager(Options{Logger: quietLogger()}, func(ctx context.Context, a alert.Alert) { ctxs = append(ctxs, ctx) })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(fixture(t, "alertmanager/firing-oomkilled.json"))).WithContext(ctx)
	h.ServeHTTP(httptest.NewRecorder(), req)
	cancel()
	if len(ctxs) != 1 || ctxs[0].Err() != nil || DeliveryID(ctxs[0]) == "" {
		t.Fatalf("callback contexts %v: want one, not cancelled with the request, carrying a delivery id", ctxs)
	}
}

func TestOptions(t *testing.T) {
	if _, err := Alertmanager(Options{}, nil); err == nil {
		t.Error("nil callback accepted")
	}
	if _, err := Datadog(Options{Rules: alert.Rules{GC: []string{"("}}}, func(context.Context, alert.Alert) {}); err == nil ||
		!strings.Contains(err.Error(), "gc[0]") {
		t.Errorf("bad rule: err = %v", err)
	}
	// Narrower vocabulary: only OOMKilled alerts, and the description read.
	g := newGot()
	h, err := Alertmanager(Options{Logger: quietLogger(), Rules: alert.Rules{GC: []string{}, Memory: []string{}},
		KindAnnotations: []string{"description"}}, g.onAlert)
	if err != nil {
		t.Fatal(err)
	}
	rec := post(t, h, fixture(t, "alertmanager/mixed-group.json"))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `{"accepted":0,"ignored":3}`) {
		t.Errorf("response %d %s: with GC and memory vocabularies empty, nothing in the group is a memory alert", rec.Code, rec.Body)
	}
}

func TestSplitCamel(t *testing.T) {
	for in, want := range map[string]string{
		"KubePodOOMKilled":         "Kube Pod OOM Killed",
		"ContainerHighMemoryUsage": "Container High Memory Usage",
		"JvmMemoryOldGenHigh":      "Jvm Memory Old Gen High",
		"reason=OOMKilled":         "reason=OOM Killed",
		"plain words":              "plain words",
	} {
		if got := splitCamel(in); got != want {
			t.Errorf("splitCamel(%q) = %q, want %q", in, got, want)
		}
	}
}
