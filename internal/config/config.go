// Package config reads the bot's configuration: one YAML file, decoded
// strictly (an unknown or misspelt key is an error, not a silent default),
// with secrets taken from the environment so the file can live in a
// ConfigMap and the tokens in a Secret.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/oombot/oombot/internal/alert"
)

// Environment variables that override the file. Tokens belong here rather
// than in the file.
const (
	EnvBotToken      = "SLACK_BOT_TOKEN"
	EnvAppToken      = "SLACK_APP_TOKEN"
	EnvSigningSecret = "SLACK_SIGNING_SECRET"
	EnvDDAPIKey      = "DD_API_KEY"
	EnvDDAppKey      = "DD_APP_KEY"
	EnvDDSite        = "DD_SITE"
	EnvLokiToken     = "LOKI_TOKEN"
	EnvWebhookSecret = "OOMBOT_WEBHOOK_SECRET"
	// EnvPostgresDSN is the PostgreSQL connection string (store.driver:
	// postgres); it carries a password, so it never sits in the file.
	EnvPostgresDSN = "OOMBOT_POSTGRES_DSN"
	// EnvPodName and EnvPodNamespace come from the Downward API; they name
	// this replica in the Lease and say where the Lease lives.
	EnvPodName      = "POD_NAME"
	EnvPodNamespace = "POD_NAMESPACE"
)

// Store drivers.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
	StoreMemory   = "memory"
)

// Connection modes.
const (
	ModeSocket = "socket"
	ModeHTTP   = "http"
)

// Config is the whole bot configuration.
type Config struct {
	Slack    Slack     `yaml:"slack"`
	Channels []Channel `yaml:"channels"`
	Clusters []Cluster `yaml:"clusters"`
	// DefaultCluster is used when an alert or command names none; defaults
	// to the first cluster.
	DefaultCluster string `yaml:"defaultCluster"`
	// DedupWindow is how long one triage per workload answers for later
	// alerts (default 15m).
	DedupWindow Duration `yaml:"dedupWindow"`
	Timeouts    Timeouts `yaml:"timeouts"`
	// Alerts overrides how alert messages are recognised.
	Alerts    *alert.Rules `yaml:"alerts"`
	Playbooks Playbooks    `yaml:"playbooks"`
	LLM       *LLM         `yaml:"llm"`
	// Workers bounds concurrent triages (default 4).
	Workers int `yaml:"workers"`
	// MetricsListen serves /metrics, /healthz and the webhook endpoints in
	// socket mode (HTTP mode serves them on slack.listen). Empty disables it.
	MetricsListen string `yaml:"metricsListen"`
	// Webhooks receive alerts sent straight to the bot (Alertmanager's
	// webhook receiver, Datadog's webhook integration).
	Webhooks *Webhooks `yaml:"webhooks"`
	// Store is where triages, feedback and dedup keys persist.
	Store Store `yaml:"store"`
	// LeaderElection makes 2+ replicas safe: only the Lease holder
	// connects to Slack's Socket Mode and runs the watcher.
	LeaderElection *LeaderElection `yaml:"leaderElection"`
	// Watch triages OOMKilled containers the bot sees itself, for clusters
	// without alerting.
	Watch *Watch `yaml:"watch"`
}

// Store configures the history store.
type Store struct {
	// Driver is sqlite (default), postgres (required for 2+ replicas) or
	// memory (nothing survives a restart).
	Driver string `yaml:"driver"`
	// Path is the SQLite database file (default /var/lib/oombot/oombot.db).
	Path string `yaml:"path"`
	// Retention is how long triages and feedback are kept (default 720h).
	Retention Duration `yaml:"retention"`
	// DSN, from OOMBOT_POSTGRES_DSN, is the PostgreSQL connection string.
	DSN string `yaml:"-"`
}

// LeaderElection configures the Kubernetes Lease that picks the replica
// which handles Socket Mode traffic and runs the watcher.
type LeaderElection struct {
	Enabled bool `yaml:"enabled"`
	// Cluster is the configured cluster that holds the Lease (default: the
	// default cluster; it must be a live cluster, not a bundle).
	Cluster string `yaml:"cluster"`
	// Namespace of the Lease (default: POD_NAMESPACE).
	Namespace string `yaml:"namespace"`
	// LeaseName defaults to "oombot".
	LeaseName string `yaml:"leaseName"`
	// Identity of this replica (default: POD_NAME, else the hostname).
	Identity string `yaml:"identity"`
	// LeaseDuration (default 8s), RenewDeadline (5s) and RetryPeriod (1s):
	// followers poll with jitter, so a follower takes over at most about
	// LeaseDuration + 4.4×RetryPeriod (12.4s) after the leader stops
	// renewing.
	LeaseDuration Duration `yaml:"leaseDuration"`
	RenewDeadline Duration `yaml:"renewDeadline"`
	RetryPeriod   Duration `yaml:"retryPeriod"`
}

// Watch configures the built-in OOMKilled watcher.
type Watch struct {
	Enabled bool `yaml:"enabled"`
	// Channel is where the watcher posts; it must be one of channels, and
	// that channel's namespaces bound what is triaged.
	Channel string `yaml:"channel"`
	// Clusters to watch (default: every live cluster).
	Clusters []string `yaml:"clusters"`
	// Namespaces to watch (default: all the RBAC allows; set this for a
	// namespace-scoped install).
	Namespaces []string `yaml:"namespaces"`
	// Lookback: kills older than this when the watcher starts (or takes
	// over) are history, not news (default 10m).
	Lookback Duration `yaml:"lookback"`
}

// Webhooks configure /webhooks/alertmanager and /webhooks/datadog.
type Webhooks struct {
	// Channel is where alerts that arrive by webhook are posted and
	// triaged; it must be one of channels.
	Channel string `yaml:"channel"`
	// Secret, from OOMBOT_WEBHOOK_SECRET, is required as a bearer token
	// when set.
	Secret string `yaml:"-"`
}

// Datadog reads metrics, logs and events from Datadog. Keys come from
// DD_API_KEY and DD_APP_KEY; the site from site or DD_SITE.
type Datadog struct {
	// Site is datadoghq.com (default), datadoghq.eu, us3.datadoghq.com,
	// us5.datadoghq.com, ap1.datadoghq.com or ddog-gov.com.
	Site string `yaml:"site"`
	// URL overrides the site's API URL (a proxy, a test server).
	URL string `yaml:"url"`
	// Metrics overrides the query per canonical signal.
	Metrics map[string]string `yaml:"metrics"`
	// NoLogs and NoEvents switch off the log search and the event stream.
	NoLogs   bool `yaml:"noLogs"`
	NoEvents bool `yaml:"noEvents"`

	APIKey string `yaml:"-"`
	AppKey string `yaml:"-"`
}

// Loki searches logs in Grafana Loki.
type Loki struct {
	URL string `yaml:"url"`
	// Tenant is sent as X-Scope-OrgID when set.
	Tenant string `yaml:"tenant"`
	// Selector is the LogQL stream selector template.
	Selector string `yaml:"selector"`
	// Token, from LOKI_TOKEN, is sent as a bearer token when set.
	Token string `yaml:"-"`
}

// Slack configures the connection. Tokens come from the environment.
type Slack struct {
	// Mode is "socket" (default; no public URL needed) or "http".
	Mode string `yaml:"mode"`
	// Listen is the HTTP mode address (default ":8080").
	Listen string `yaml:"listen"`
	// APIURL overrides Slack's Web API root (a proxy, or a test server).
	APIURL string `yaml:"apiURL"`

	BotToken      string `yaml:"-"`
	AppToken      string `yaml:"-"`
	SigningSecret string `yaml:"-"`
}

// Channel is a channel the bot serves.
type Channel struct {
	// ID is the channel id (C0123ABC); names change, ids don't.
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Watch makes the bot reply to alert messages posted in the channel.
	Watch bool `yaml:"watch"`
	// Namespaces this channel may triage; "*" allows any. Empty allows none,
	// so a forgotten list fails closed.
	Namespaces []string `yaml:"namespaces"`
	// Cluster is the default cluster for this channel.
	Cluster string `yaml:"cluster"`
}

// Allows reports whether the channel may triage namespace ns.
func (c Channel) Allows(ns string) bool {
	for _, n := range c.Namespaces {
		if n == "*" || n == ns {
			return true
		}
	}
	return false
}

// Cluster is a Kubernetes cluster the bot can triage, by name.
type Cluster struct {
	Name string `yaml:"name"`
	// Kubeconfig and Context select a kubeconfig context; both empty means
	// in-cluster config (or $KUBECONFIG).
	Kubeconfig string `yaml:"kubeconfig"`
	Context    string `yaml:"context"`
	// Prometheus is the Prometheus API URL for metrics (optional).
	Prometheus string `yaml:"prometheus"`
	// PrometheusQueries overrides the PromQL per canonical signal.
	PrometheusQueries map[string]string `yaml:"prometheusQueries"`
	Datadog           *Datadog          `yaml:"datadog"`
	Loki              *Loki             `yaml:"loki"`
	// Bundle serves this "cluster" from a recorded incident bundle instead
	// of a live API server: for demos and tests.
	Bundle string `yaml:"bundle"`
}

// Timeouts bound each triage.
type Timeouts struct {
	// Source bounds each source (default 5s).
	Source Duration `yaml:"source"`
	// Overall bounds a whole triage (default 30s).
	Overall Duration `yaml:"overall"`
}

// Playbooks says where playbooks come from.
type Playbooks struct {
	// Dir overrides the embedded playbooks; it is watched for changes.
	Dir string `yaml:"dir"`
	// ReloadInterval is how often Dir is checked (default 10s).
	ReloadInterval Duration `yaml:"reloadInterval"`
}

// LLM enables the optional narrative. The key comes from OPENAI_API_KEY.
type LLM struct {
	BaseURL   string   `yaml:"baseURL"`
	Model     string   `yaml:"model"`
	Azure     bool     `yaml:"azure"`
	Anonymize bool     `yaml:"anonymize"`
	Timeout   Duration `yaml:"timeout"`
	MaxTokens int      `yaml:"maxTokens"`
}

// Duration is a time.Duration written as "15m" in YAML.
type Duration time.Duration

// UnmarshalYAML parses Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration like 30s or 15m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D returns d, or def when d is zero.
func (d Duration) D(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// Load reads path, applies env overrides (getenv; nil means os.Getenv) and
// validates. Every problem is reported, not just the first.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, getenv)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes data strictly and validates it.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file decodes to io.EOF: treat it as an empty config and let
	// validation say what is missing.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode: %w", err)
	}
	c.Slack.BotToken = getenv(EnvBotToken)
	c.Slack.AppToken = getenv(EnvAppToken)
	c.Slack.SigningSecret = getenv(EnvSigningSecret)
	for i := range c.Clusters {
		if d := c.Clusters[i].Datadog; d != nil {
			d.APIKey, d.AppKey = getenv(EnvDDAPIKey), getenv(EnvDDAppKey)
			if s := getenv(EnvDDSite); s != "" {
				d.Site = s
			}
		}
		if l := c.Clusters[i].Loki; l != nil {
			l.Token = getenv(EnvLokiToken)
		}
	}
	if c.Webhooks != nil {
		c.Webhooks.Secret = getenv(EnvWebhookSecret)
	}
	c.Store.DSN = getenv(EnvPostgresDSN)
	if c.Store.Driver == "" {
		c.Store.Driver = StoreSQLite
	}
	if c.Store.Driver == StoreSQLite && c.Store.Path == "" {
		c.Store.Path = "/var/lib/oombot/oombot.db"
	}
	if c.Slack.Mode == "" {
		c.Slack.Mode = ModeSocket
	}
	if c.Slack.Listen == "" {
		c.Slack.Listen = ":8080"
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	if c.DefaultCluster == "" && len(c.Clusters) > 0 {
		c.DefaultCluster = c.Clusters[0].Name
	}
	if le := c.LeaderElection; le != nil {
		if le.Namespace == "" {
			le.Namespace = getenv(EnvPodNamespace)
		}
		if le.Identity == "" {
			le.Identity = getenv(EnvPodName)
		}
		if le.Identity == "" {
			le.Identity, _ = os.Hostname()
		}
		if le.LeaseName == "" {
			le.LeaseName = "oombot"
		}
		if le.Cluster == "" {
			le.Cluster = c.DefaultCluster
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Slack.Mode {
	case ModeSocket, ModeHTTP:
	default:
		bad("slack.mode: %q is not %q or %q", c.Slack.Mode, ModeSocket, ModeHTTP)
	}
	if c.Slack.APIURL != "" && !strings.HasSuffix(c.Slack.APIURL, "/") {
		bad("slack.apiURL: must end in / (e.g. https://slack.com/api/)")
	}
	if len(c.Clusters) == 0 {
		bad("clusters: at least one cluster is needed (name plus kubeconfig context, or in-cluster)")
	}
	names := map[string]bool{}
	for i, k := range c.Clusters {
		switch {
		case k.Name == "":
			bad("clusters[%d].name: required", i)
		case names[k.Name]:
			bad("clusters[%d].name: %q is used twice", i, k.Name)
		}
		names[k.Name] = true
		if k.Bundle != "" && (k.Kubeconfig != "" || k.Context != "") {
			bad("clusters[%d]: bundle and kubeconfig/context are exclusive", i)
		}
		if d := k.Datadog; d != nil && (d.APIKey == "" || d.AppKey == "") {
			bad("clusters[%d].datadog: %s and %s must be set (Organization Settings → API Keys / Application Keys; the application key needs timeseries_query, logs_read_data and events_read)", i, EnvDDAPIKey, EnvDDAppKey)
		}
		if l := k.Loki; l != nil && l.URL == "" {
			bad("clusters[%d].loki.url: required (e.g. http://loki-gateway.monitoring:3100)", i)
		}
	}
	if c.DefaultCluster != "" && !names[c.DefaultCluster] {
		bad("defaultCluster: %q is not a configured cluster", c.DefaultCluster)
	}
	if len(c.Channels) == 0 {
		bad("channels: at least one channel is needed (id, namespaces it may triage, watch: true to answer alerts)")
	}
	ids := map[string]bool{}
	for i, ch := range c.Channels {
		switch {
		case ch.ID == "":
			bad("channels[%d].id: required (the channel id, e.g. C0123ABCDEF: channel details → About)", i)
		case ids[ch.ID]:
			bad("channels[%d].id: %q is listed twice", i, ch.ID)
		}
		ids[ch.ID] = true
		if len(ch.Namespaces) == 0 {
			bad("channels[%d].namespaces: list the namespaces this channel may triage, or \"*\"", i)
		}
		if ch.Cluster != "" && !names[ch.Cluster] {
			bad("channels[%d].cluster: %q is not a configured cluster", i, ch.Cluster)
		}
	}
	if c.Workers < 0 || c.Workers > 64 {
		bad("workers: %d is outside 1..64", c.Workers)
	}
	if c.Alerts != nil {
		if err := c.Alerts.Validate(); err != nil {
			bad("alerts: %v", err)
		}
	}
	if w := c.Webhooks; w != nil {
		if !ids[w.Channel] {
			bad("webhooks.channel: %q is not one of channels", w.Channel)
		}
		if c.Slack.Mode == ModeSocket && c.MetricsListen == "" {
			bad("webhooks: in socket mode set metricsListen (e.g. \":9090\"): the webhook endpoints are served there")
		}
	}
	switch c.Store.Driver {
	case StoreSQLite, StoreMemory:
	case StorePostgres:
		if c.Store.DSN == "" {
			bad("store: driver postgres needs %s (e.g. postgres://oombot:PASSWORD@db:5432/oombot?sslmode=require)", EnvPostgresDSN)
		}
	default:
		bad("store.driver: %q is not %q, %q or %q", c.Store.Driver, StoreSQLite, StorePostgres, StoreMemory)
	}
	if le := c.LeaderElection; le != nil && le.Enabled {
		if le.Namespace == "" {
			bad("leaderElection.namespace: required (or set %s from the Downward API)", EnvPodNamespace)
		}
		if k, ok := c.cluster(le.Cluster); !ok {
			bad("leaderElection.cluster: %q is not a configured cluster", le.Cluster)
		} else if k.Bundle != "" {
			bad("leaderElection.cluster: %q is a bundle; the Lease needs a live API server", le.Cluster)
		}
		// The defaults match internal/leader's.
		ld, rd, rp := le.LeaseDuration.D(8*time.Second), le.RenewDeadline.D(5*time.Second), le.RetryPeriod.D(time.Second)
		if ld <= rd || rd <= rp {
			bad("leaderElection: need leaseDuration (%s) > renewDeadline (%s) > retryPeriod (%s)", ld, rd, rp)
		}
		if c.Store.Driver != StorePostgres {
			bad("leaderElection: replicas must share dedup keys, so store.driver must be postgres (an SQLite file or memory is per replica)")
		}
	}
	if w := c.Watch; w != nil && w.Enabled {
		if !ids[w.Channel] {
			bad("watch.channel: %q is not one of channels", w.Channel)
		}
		for i, n := range w.Clusters {
			if k, ok := c.cluster(n); !ok {
				bad("watch.clusters[%d]: %q is not a configured cluster", i, n)
			} else if k.Bundle != "" {
				bad("watch.clusters[%d]: %q is a bundle; only live clusters can be watched", i, n)
			}
		}
	}
	if c.LLM != nil && (c.LLM.BaseURL == "" || c.LLM.Model == "") {
		bad("llm: baseURL and model are both required when llm is set")
	}
	return errors.Join(errs...)
}

func (c *Config) cluster(name string) (Cluster, bool) {
	for _, k := range c.Clusters {
		if k.Name == name {
			return k, true
		}
	}
	return Cluster{}, false
}

// Channel returns the configuration of channel id.
func (c *Config) Channel(id string) (Channel, bool) {
	for _, ch := range c.Channels {
		if ch.ID == id {
			return ch, true
		}
	}
	return Channel{}, false
}

// CheckSecrets says which tokens the chosen mode needs and lacks, and how to
// get them; serve calls it before connecting.
func (c *Config) CheckSecrets() error {
	var errs []error
	if c.Slack.BotToken == "" {
		errs = append(errs, fmt.Errorf("%s is not set: the Bot User OAuth Token (xoxb-…) from your Slack app's OAuth & Permissions page", EnvBotToken))
	} else if !strings.HasPrefix(c.Slack.BotToken, "xoxb-") {
		errs = append(errs, fmt.Errorf("%s does not look like a bot token (want xoxb-…)", EnvBotToken))
	}
	switch c.Slack.Mode {
	case ModeSocket:
		if c.Slack.AppToken == "" {
			errs = append(errs, fmt.Errorf("%s is not set: socket mode needs an App-Level Token (xapp-…) with connections:write, from Basic Information → App-Level Tokens", EnvAppToken))
		} else if !strings.HasPrefix(c.Slack.AppToken, "xapp-") {
			errs = append(errs, fmt.Errorf("%s does not look like an app-level token (want xapp-…)", EnvAppToken))
		}
	case ModeHTTP:
		if c.Slack.SigningSecret == "" {
			errs = append(errs, fmt.Errorf("%s is not set: HTTP mode verifies requests with the Signing Secret from Basic Information → App Credentials", EnvSigningSecret))
		}
	}
	return errors.Join(errs...)
}
