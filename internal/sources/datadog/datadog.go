// Package datadog reads memory trends, log search results and events from
// the Datadog API with github.com/DataDog/datadog-api-client-go/v2:
//
//   - Metrics: v1 QueryMetrics (GET /api/v1/query) for each canonical signal,
//     from a query template per signal (DefaultMetrics, overridable).
//   - Logs: v2 LogsApi.ListLogs (POST /api/v2/logs/events/search), cursor
//     paginated and byte capped, with stack traces reassembled into the
//     text the JVM printed so internal/logscan reads them unchanged.
//   - Events: v2 EventsApi.ListEvents (GET /api/v2/events): deploys and
//     monitor transitions for the workload.
//
// Keys are passed in Options (callers read DD_API_KEY / DD_APP_KEY) and go
// only into request headers: they are never logged and never appear in an
// error (errors are scrubbed of them as a second line of defence). TLS
// verification is whatever the caller's http.Client does; this package
// never turns it off.
package datadog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"text/template"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/oombot/oombot/internal/sources"
)

// Sites are the Datadog sites the client can address, DefaultSite first.
var sites = []string{
	"datadoghq.com", "datadoghq.eu", "us3.datadoghq.com", "us5.datadoghq.com",
	"ap1.datadoghq.com", "ap2.datadoghq.com", "uk1.datadoghq.com", "ddog-gov.com", "us2.ddog-gov.com",
}

// DefaultSite is the US1 site.
const DefaultSite = "datadoghq.com"

// Defaults for Options fields left zero.
const (
	DefaultMaxLogBytes = 8 << 20
	DefaultMaxLogPages = 10
	// DefaultLogPageSize is Datadog's largest page of log events.
	DefaultLogPageSize = 1000
	// eventPageSize and maxEventPages cap an event search at 500 events:
	// a workload rarely has more deploys and monitor transitions in a
	// triage window, and the events API is rate limited per org.
	eventPageSize = 100
	maxEventPages = 5
)

// Options configure a Source.
type Options struct {
	// Name is how the source appears in reports; default "datadog".
	Name string
	// Site is one of datadoghq.com (default), datadoghq.eu,
	// us3.datadoghq.com, us5.datadoghq.com, ap1.datadoghq.com,
	// ap2.datadoghq.com, uk1.datadoghq.com, ddog-gov.com, us2.ddog-gov.com.
	Site string
	// APIKey and AppKey authenticate every request. Callers read them from
	// DD_API_KEY / DD_APP_KEY; they are never logged.
	APIKey, AppKey string
	// URL overrides the site with a base URL (a proxy, or a test server).
	URL string
	// HTTPClient sends the requests; nil uses a new client with Go's
	// default transport (TLS verification on).
	HTTPClient *http.Client
	// Metrics maps a canonical signal to a v1 query template, overriding
	// DefaultMetrics for that signal. Template fields: .Namespace, .Pod,
	// .Container, .Workload, .Cluster.
	Metrics map[string]string
	// LogQuery is the log search template; default DefaultLogQuery.
	LogQuery string
	// EventQuery is the event search template; default DefaultEventQuery.
	EventQuery string
	// MaxLogBytes caps the text a log search returns (default 8 MiB); a
	// LogQuery's own MaxBytes, when smaller, wins.
	MaxLogBytes int64
	// MaxLogPages caps the pages a log search reads (default 10).
	MaxLogPages int
	// LogPageSize is the events asked for per page (default and maximum 1000).
	LogPageSize int
	Logger      *slog.Logger
}

// Source reads one Datadog organisation.
type Source struct {
	name        string
	site        string // empty when URL overrides it
	keys        map[string]datadog.APIKey
	secrets     []string
	metricsAPI  *datadogV1.MetricsApi
	logsAPI     *datadogV2.LogsApi
	eventsAPI   *datadogV2.EventsApi
	metrics     map[string]*template.Template
	logQuery    *template.Template
	eventQuery  *template.Template
	maxLogBytes int64
	maxLogPages int
	pageSize    int
	log         *slog.Logger
}

// New validates o and builds a Source. It makes no request.
func New(o Options) (*Source, error) {
	if o.APIKey == "" || o.AppKey == "" {
		var missing []string
		if o.APIKey == "" {
			missing = append(missing, "API key (DD_API_KEY)")
		}
		if o.AppKey == "" {
			missing = append(missing, "application key (DD_APP_KEY)")
		}
		return nil, fmt.Errorf("datadog: missing %s", strings.Join(missing, " and "))
	}
	if o.Name == "" {
		o.Name = "datadog"
	}
	s := &Source{
		name:        o.Name,
		keys:        map[string]datadog.APIKey{"apiKeyAuth": {Key: o.APIKey}, "appKeyAuth": {Key: o.AppKey}},
		secrets:     []string{o.APIKey, o.AppKey},
		metrics:     map[string]*template.Template{},
		maxLogBytes: o.MaxLogBytes,
		maxLogPages: o.MaxLogPages,
		pageSize:    o.LogPageSize,
		log:         o.Logger,
	}
	if s.maxLogBytes <= 0 {
		s.maxLogBytes = DefaultMaxLogBytes
	}
	if s.maxLogPages <= 0 {
		s.maxLogPages = DefaultMaxLogPages
	}
	if s.pageSize <= 0 || s.pageSize > DefaultLogPageSize {
		s.pageSize = DefaultLogPageSize
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}

	cfg := datadog.NewConfiguration()
	// The engine bounds every source with its own deadline; the client's
	// retries (sleeping out a 429's reset) would only spend it.
	cfg.RetryConfiguration.EnableRetry = false
	cfg.RetryConfiguration.BackOffBase = 2 // below 2 the client logs a warning
	cfg.UserAgent = "oombot " + cfg.UserAgent
	cfg.HTTPClient = o.HTTPClient
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("datadog: URL %q is not an http(s) base URL", o.URL)
		}
		cfg.Servers = datadog.ServerConfigurations{{URL: strings.TrimRight(o.URL, "/")}}
	} else {
		site := o.Site
		if site == "" {
			site = DefaultSite
		}
		if !validSite(site) {
			return nil, fmt.Errorf("datadog: unknown site %q (valid: %s)", site, strings.Join(sites, ", "))
		}
		s.site = site
	}
	client := datadog.NewAPIClient(cfg)
	s.metricsAPI = datadogV1.NewMetricsApi(client)
	s.logsAPI = datadogV2.NewLogsApi(client)
	s.eventsAPI = datadogV2.NewEventsApi(client)

	qs := DefaultMetrics()
	for sig, q := range o.Metrics {
		qs[sig] = q
	}
	for sig, q := range qs {
		t, err := parseTemplate(sig, q)
		if err != nil {
			return nil, fmt.Errorf("datadog: query for signal %s: %w", sig, err)
		}
		s.metrics[sig] = t
	}
	var err error
	if s.logQuery, err = parseTemplate("logs", orDefault(o.LogQuery, DefaultLogQuery)); err != nil {
		return nil, fmt.Errorf("datadog: log query: %w", err)
	}
	if s.eventQuery, err = parseTemplate("events", orDefault(o.EventQuery, DefaultEventQuery)); err != nil {
		return nil, fmt.Errorf("datadog: event query: %w", err)
	}
	return s, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func validSite(site string) bool {
	for _, v := range sites {
		if v == site {
			return true
		}
	}
	return false
}

// parseTemplate parses a query template and renders it once against a
// full target, so a misspelt field fails at startup rather than mid-triage.
func parseTemplate(name, q string) (*template.Template, error) {
	if strings.TrimSpace(q) == "" {
		return nil, errors.New("empty template")
	}
	t, err := template.New(name).Option("missingkey=error").Parse(q)
	if err != nil {
		return nil, err
	}
	probe := sources.Target{Namespace: "ns", Pod: "pod", Container: "c", Workload: "w", Cluster: "k"}
	if err := t.Execute(&bytes.Buffer{}, probe); err != nil {
		return nil, err
	}
	return t, nil
}

func render(t *template.Template, target sources.Target) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, target); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

// Name is the source's name in reports.
func (s *Source) Name() string { return s.name }

// ctx adds the keys and the site to a request context.
func (s *Source) ctx(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, datadog.ContextAPIKeys, s.keys)
	if s.site != "" {
		ctx = context.WithValue(ctx, datadog.ContextServerVariables, map[string]string{"site": s.site})
	}
	return ctx
}

// scrub removes the keys from a text that is about to leave the package.
func (s *Source) scrub(msg string) string {
	for _, k := range s.secrets {
		if k != "" {
			msg = strings.ReplaceAll(msg, k, "[REDACTED]")
		}
	}
	return msg
}
