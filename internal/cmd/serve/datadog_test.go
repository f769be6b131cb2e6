package serve

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/ddserver"
	"github.com/oombot/oombot/internal/slackserver"
)

// TestDatadogSourceInThread: a cluster with Datadog configured (keys from
// the environment) reads its events through the real Datadog client: a CI
// deploy announced only in Datadog becomes the report's last deploy, and
// the sources line names Datadog. A Datadog that times out is named as such.
func TestDatadogSourceInThread(t *testing.T) {
	b, err := bundle.Load(filepath.Join(repoRoot(t), "examples/incidents/image-decode-bomb"))
	if err != nil {
		t.Fatal(err)
	}
	dd := ddserver.New("dd-api-key-1234", "dd-app-key-5678")
	t.Cleanup(dd.Close)
	deployAt := b.Manifest.FiredAt.Add(-20 * time.Minute).Truncate(time.Second)
	dd.AddEvents(ddserver.Event{Time: deployAt, Title: "Deployed api-gateway 2.14.0 (image-resize config)", Source: "github",
		Message: "deploy of api-gateway to prod-eu-1 finished", Tags: []string{"kube_namespace:edge", "kube_deployment:api-gateway"}})

	srv := newServer(t)
	cluster := fmt.Sprintf("  - name: prod-eu-1\n    bundle: %s\n    datadog: {url: %q}\n",
		filepath.Join(repoRoot(t), "examples/incidents/image-decode-bomb"), dd.URL)
	startBotEnv(t, srv, botOpts{cluster: cluster}, map[string]string{"DD_API_KEY": "dd-api-key-1234", "DD_APP_KEY": "dd-app-key-5678"})

	alert, _, _ := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	waitFor(t, srv, "report", func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, alert.TS)) == 1 })
	bj := blocksJSON(replies(srv, alertsChannel, alert.TS)[0])
	if !strings.Contains(bj, "datadog") {
		t.Errorf("sources line does not name Datadog: %.2000s", bj)
	}
	if !strings.Contains(bj, "event/datadog/") && !strings.Contains(bj, "Deployed api-gateway 2.14.0") {
		t.Errorf("the Datadog deploy is not the report's last deploy: %.3000s", bj)
	}
	for _, r := range dd.Requests() {
		if r.Header.Get("DD-API-KEY") != "dd-api-key-1234" {
			t.Errorf("request %s without the API key", r.Path)
		}
	}
	if len(dd.Requests()) == 0 {
		t.Fatal("Datadog was never asked")
	}
}
