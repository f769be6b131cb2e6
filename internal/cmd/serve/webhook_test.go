package serve

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/realserver"
	"github.com/oombot/oombot/internal/slackserver"
)

// TestAlertmanagerWebhookToSlack: a real Alertmanager, configured with a
// webhook receiver pointing at the bot, delivers a KubePodOOMKilled alert;
// the bot posts it in the webhook channel with the diagnosis in its thread,
// and the resolution lands in that thread. A request without the secret is
// refused.
func TestAlertmanagerWebhookToSlack(t *testing.T) {
	realserver.Require(t, "alertmanager", "prometheus-alertmanager")
	const secret = "wh-4f8a2c1e9b7d"
	srv := newServer(t)
	b := startBotEnv(t, srv, botOpts{extra: "metricsListen: 127.0.0.1:0\nwebhooks: {channel: " + alertsChannel + "}\n"},
		map[string]string{"OOMBOT_WEBHOOK_SECRET": secret})

	resp, err := http.Post("http://"+b.addr+PathAlertmanager, "application/json", strings.NewReader(`{"version":"4","alerts":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated webhook: %d", resp.StatusCode)
	}

	am := realserver.Alertmanager(t, realserver.AMOptions{Config: realserver.WebhookConfig(secret, "http://"+b.addr+PathAlertmanager)})
	labels := map[string]string{"alertname": "KubePodOOMKilled", "namespace": bundleNS, "pod": bundlePod,
		"container": "gateway", "reason": "OOMKilled", "severity": "critical"}
	startsAt := time.Now().Add(-time.Minute).Truncate(time.Second)
	am.PostAlerts(t, realserver.Alert{Labels: labels, StartsAt: startsAt, Annotations: map[string]string{"summary": "Container killed by the OOM killer."}})

	var parent slackserver.Message
	waitFor(t, srv, "alert message and report in its thread", func(s *slackserver.Server) bool {
		for _, m := range s.Messages(alertsChannel) {
			if m.ThreadTS == "" && strings.Contains(m.Text, "KubePodOOMKilled") {
				parent = m
				return len(replies(s, alertsChannel, m.TS)) >= 1 && len(filesIn(s, alertsChannel, m.TS)) == 1
			}
		}
		return false
	})
	if !strings.Contains(parent.Text, "Alertmanager") {
		t.Errorf("parent message should say where the alert came from: %q", parent.Text)
	}
	if bj := blocksJSON(replies(srv, alertsChannel, parent.TS)[0]); !strings.Contains(bj, "image-decode-bomb") {
		t.Errorf("no diagnosis in the webhook alert's thread: %.300s", bj)
	}

	am.PostAlerts(t, realserver.Alert{Labels: labels, StartsAt: startsAt, EndsAt: time.Now().Add(-time.Second)})
	waitFor(t, srv, "resolution in the thread", func(s *slackserver.Server) bool {
		for _, m := range replies(s, alertsChannel, parent.TS) {
			if strings.Contains(m.Text, "Resolved") {
				return true
			}
		}
		return false
	})
	reports := 0
	for _, m := range srv.Messages(alertsChannel) {
		if strings.Contains(blocksJSON(m), "oom_rerun") {
			reports++
		}
	}
	if reports != 1 {
		t.Errorf("%d reports for one alert", reports)
	}
}
