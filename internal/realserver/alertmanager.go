package realserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AMOptions configure a test Alertmanager.
type AMOptions struct {
	// Config is alertmanager.yml: routes and receivers (typically a
	// webhook_configs receiver pointing at an httptest server).
	Config string
}

// AM is a running Alertmanager.
type AM struct {
	// URL is the base URL (http://127.0.0.1:PORT).
	URL string
	p   *Process
}

// Stop kills the server and waits for it; t.Cleanup calls it too.
func (a *AM) Stop() { a.p.Kill() }

// Output is what the server has printed so far.
func (a *AM) Output() string { return a.p.Output() }

// Alertmanager starts Alertmanager with o.Config. Clustering is off
// (--cluster.listen-address= empty): otherwise it binds 0.0.0.0:9094, which
// two tests, or a developer's own Alertmanager, would fight over. Debian
// names the binary prometheus-alertmanager; upstream's alertmanager is
// accepted too.
func Alertmanager(t testing.TB, o AMOptions) *AM {
	t.Helper()
	bin := Require(t, "prometheus-alertmanager", "alertmanager")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	writeFile(t, cfg, []byte(o.Config))
	p, base := start(t, "alertmanager", bin, func(addr string) []string {
		return []string{
			"--config.file=" + cfg,
			"--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr,
			"--cluster.listen-address=",
			"--log.level=warn",
		}
	})
	return &AM{URL: base, p: p}
}

// Alert is an alert as posted to Alertmanager's v2 API (postableAlert).
// Zero times are left out: Alertmanager then sets startsAt to now and
// endsAt to now plus its resolve_timeout. An endsAt in the past resolves
// the alert.
type Alert struct {
	Labels       map[string]string
	Annotations  map[string]string
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
}

// PostAlerts posts alerts to POST /api/v2/alerts, failing the test unless
// Alertmanager accepts them.
func (a *AM) PostAlerts(t testing.TB, alerts ...Alert) {
	t.Helper()
	if err := a.Post(context.Background(), alerts...); err != nil {
		t.Fatal(err)
	}
}

// Post is PostAlerts returning the error, for use outside the test's
// goroutine.
func (a *AM) Post(ctx context.Context, alerts ...Alert) error {
	type postable struct {
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations,omitempty"`
		StartsAt     string            `json:"startsAt,omitempty"`
		EndsAt       string            `json:"endsAt,omitempty"`
		GeneratorURL string            `json:"generatorURL,omitempty"`
	}
	body := make([]postable, 0, len(alerts))
	for _, al := range alerts {
		p := postable{Labels: al.Labels, Annotations: al.Annotations, GeneratorURL: al.GeneratorURL}
		if !al.StartsAt.IsZero() {
			p.StartsAt = al.StartsAt.UTC().Format(time.RFC3339Nano)
		}
		if !al.EndsAt.IsZero() {
			p.EndsAt = al.EndsAt.UTC().Format(time.RFC3339Nano)
		}
		body = append(body, p)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode alerts: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL+"/api/v2/alerts", bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("post alerts: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("post alerts to %s: %w", a.URL, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("post alerts to %s: %s: %s", a.URL, resp.Status, msg)
	}
	return nil
}

// WebhookConfig is an alertmanager.yml that sends every alert at once
// (no group wait, 1 s group interval, resolutions included) to one
// receiver with a webhook per URL, each authenticated with the bearer
// secret: the routing the webhook tests share.
func WebhookConfig(secret string, urls ...string) string {
	var b strings.Builder
	b.WriteString(`route:
  receiver: oombot
  group_by: [alertname, namespace, pod]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: oombot
    webhook_configs:
`)
	for _, u := range urls {
		fmt.Fprintf(&b, `      - url: %s
        send_resolved: true
        http_config:
          authorization:
            credentials: %s
`, u, secret)
	}
	return b.String()
}
