package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestValid(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid-*.yaml")
	if len(files) < 2 {
		t.Fatalf("want valid fixtures, got %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f, env(map[string]string{EnvDDAPIKey: "k", EnvDDAppKey: "a", EnvPostgresDSN: "postgres://x"}))
			if err != nil {
				t.Fatal(err)
			}
			if c.DefaultCluster == "" || c.Workers == 0 || c.Slack.Mode == "" {
				t.Errorf("defaults not applied: %+v", c)
			}
		})
	}
}

func TestFullValues(t *testing.T) {
	c, err := Load("testdata/valid-full.yaml", env(map[string]string{EnvBotToken: "xoxb-1", EnvSigningSecret: "s3",
		EnvDDAPIKey: "dd-api", EnvDDAppKey: "dd-app", EnvDDSite: "us5.datadoghq.com", EnvWebhookSecret: "wh",
		EnvPostgresDSN: "postgres://x", EnvPodName: "oombot-0"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DedupWindow.D(0) != 30*time.Minute || c.Timeouts.Source.D(0) != 3*time.Second || c.Workers != 8 {
		t.Errorf("durations/workers: %+v", c)
	}
	ch, ok := c.Channel("C0SRE00001")
	if !ok || !ch.Allows("anything") {
		t.Errorf("wildcard channel: %+v %v", ch, ok)
	}
	shop, _ := c.Channel("C0ALERTS01")
	if !shop.Allows("payments") || shop.Allows("kube-system") {
		t.Errorf("namespace allow-list: %+v", shop)
	}
	if c.Alerts == nil || len(c.Alerts.TitleLabels) != 3 || len(c.Alerts.Tags.Namespace) != 3 {
		t.Errorf("alert rules: %+v", c.Alerts)
	}
	dd := c.Clusters[0].Datadog
	if dd == nil || dd.APIKey != "dd-api" || dd.AppKey != "dd-app" || dd.Site != "us5.datadoghq.com" || len(dd.Metrics) != 1 {
		t.Errorf("datadog: %+v", dd)
	}
	if c.Clusters[0].Loki == nil || c.Clusters[0].Loki.Tenant != "prod" || len(c.Clusters[0].PrometheusQueries) != 1 {
		t.Errorf("loki/prometheus: %+v", c.Clusters[0])
	}
	if c.Webhooks == nil || c.Webhooks.Channel != "C0ALERTS01" || c.Webhooks.Secret != "wh" {
		t.Errorf("webhooks: %+v", c.Webhooks)
	}
	if c.Store.Driver != StorePostgres || c.Store.DSN != "postgres://x" || c.Store.Retention.D(0) != 168*time.Hour {
		t.Errorf("store: %+v", c.Store)
	}
	if le := c.LeaderElection; le == nil || le.Identity != "oombot-0" || le.Cluster != "prod-eu-1" || le.LeaseName != "oombot" || le.LeaseDuration.D(0) != 12*time.Second {
		t.Errorf("leader election: %+v", le)
	}
	if w := c.Watch; w == nil || w.Channel != "C0SRE00001" || w.Lookback.D(0) != 5*time.Minute || len(w.Namespaces) != 1 {
		t.Errorf("watch: %+v", w)
	}
	if c.Slack.BotToken != "xoxb-1" || c.Slack.SigningSecret != "s3" {
		t.Errorf("env overrides not applied")
	}
	if err := c.CheckSecrets(); err != nil {
		t.Errorf("http mode with bot token and signing secret: %v", err)
	}
}

func TestInvalid(t *testing.T) {
	want := map[string][]string{
		"invalid-unknown-key.yaml":   {"chanels", "not found"},
		"invalid-mode.yaml":          {"slack.mode", "websocket"},
		"invalid-no-namespaces.yaml": {"channels[0].namespaces"},
		"invalid-duration.yaml":      {"line 3", "fifteen minutes"},
		"invalid-clusters.yaml":      {"used twice", "defaultCluster", "channels[0].cluster", "exclusive"},
		"invalid-empty.yaml":         {"clusters: at least one", "channels: at least one"},
		"invalid-llm.yaml":           {"llm: baseURL and model"},
		"invalid-alerts.yaml":        {"alerts:", "patterns[0]"},
		"invalid-ha.yaml": {"leaderElection.namespace: required", "is a bundle; the Lease", "leaseDuration (5s) > renewDeadline (6s)",
			"store.driver must be postgres", "watch.channel", `watch.clusters[0]: "demo" is a bundle`, `watch.clusters[1]: "gone" is not`},
		"invalid-store.yaml":    {`store.driver: "mysql"`},
		"invalid-postgres.yaml": {"OOMBOT_POSTGRES_DSN"},
		"invalid-sources.yaml":  {"DD_API_KEY and DD_APP_KEY must be set", "loki.url: required", "webhooks.channel", "metricsListen"},
	}
	files, _ := filepath.Glob("testdata/invalid-*.yaml")
	if len(files) != len(want) {
		t.Fatalf("fixtures %v vs table %d", files, len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f, env(nil))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range want[filepath.Base(f)] {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestCheckSecrets(t *testing.T) {
	data, err := os.ReadFile("testdata/valid-socket.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		env  map[string]string
		want []string
	}{
		{nil, []string{EnvBotToken + " is not set", "OAuth & Permissions", EnvAppToken + " is not set", "connections:write"}},
		{map[string]string{EnvBotToken: "xoxp-user", EnvAppToken: "xapp-1"}, []string{"want xoxb-"}},
		{map[string]string{EnvBotToken: "xoxb-1", EnvAppToken: "xoxb-2"}, []string{"want xapp-"}},
		{map[string]string{EnvBotToken: "xoxb-1", EnvAppToken: "xapp-1"}, nil},
	}
	for i, c := range cases {
		cfg, err := Parse(data, env(c.env))
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.CheckSecrets()
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("case %d: %v", i, err)
			}
			continue
		}
		if err == nil {
			t.Fatalf("case %d: accepted", i)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("case %d: %q lacks %q", i, err, w)
			}
		}
	}
}

// The example the README tells users to copy must be valid.
func TestShippedExample(t *testing.T) {
	c, err := Load("../../deploy/config.example.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Channels) == 0 || len(c.Clusters) < 2 || c.Slack.Mode != ModeSocket {
		t.Errorf("example: %+v", c)
	}
}
