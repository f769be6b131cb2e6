package serve

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/sources/datadog"
	"github.com/oombot/oombot/internal/sources/loki"
	"github.com/oombot/oombot/internal/triage"
)

// external builds a cluster's sources outside Kubernetes: Datadog
// (metrics, logs, events) and Loki (logs). Prometheus is built with the
// cluster, since a bundle cluster can take it too.
func external(k config.Cluster, hc *http.Client, log *slog.Logger) (ms []triage.Metrics, ls []triage.LogSearch, es []triage.EventSource, err error) {
	if d := k.Datadog; d != nil {
		src, err := datadog.New(datadog.Options{Site: d.Site, URL: d.URL, APIKey: d.APIKey, AppKey: d.AppKey,
			Metrics: d.Metrics, HTTPClient: hc, Logger: log})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cluster %s: datadog: %w", k.Name, err)
		}
		ms = append(ms, src)
		if !d.NoLogs {
			ls = append(ls, src)
		}
		if !d.NoEvents {
			es = append(es, src)
		}
	}
	if l := k.Loki; l != nil {
		src, err := loki.New(loki.Options{URL: l.URL, TenantID: l.Tenant, BearerToken: l.Token, Selector: l.Selector, HTTPClient: hc, Logger: log})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cluster %s: loki: %w", k.Name, err)
		}
		ls = append(ls, src)
	}
	return ms, ls, es, nil
}
