package datadog

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/oombot/oombot/internal/sources"
)

// DefaultEventQuery selects events about the workload or the pod in its
// namespace: Kubernetes rollout events the Agent forwards, and CI or
// monitor events tagged with the Kubernetes tags.
const DefaultEventQuery = `kube_namespace:{{.Namespace}}` +
	`{{if and .Workload .Pod}} (kube_deployment:{{.Workload}} OR pod_name:{{.Pod}})` +
	`{{else if .Workload}} kube_deployment:{{.Workload}}{{else if .Pod}} pod_name:{{.Pod}}{{end}}`

// Events reads the events matching the target in [start, end], oldest
// first, at most 500.
func (s *Source) Events(ctx context.Context, t sources.Target, start, end time.Time) ([]sources.Event, error) {
	query, err := render(s.eventQuery, t)
	if err != nil {
		return nil, fmt.Errorf("%s: render event query: %w", s.name, err)
	}
	p := datadogV2.NewListEventsOptionalParameters().
		WithFilterQuery(query).
		WithFilterFrom(strconv.FormatInt(start.UnixMilli(), 10)).
		WithFilterTo(strconv.FormatInt(end.UnixMilli(), 10)).
		WithSort(datadogV2.EVENTSSORT_TIMESTAMP_ASCENDING).
		WithPageLimit(eventPageSize)
	var out []sources.Event
	for page := 0; page < maxEventPages; page++ {
		resp, httpResp, err := s.eventsAPI.ListEvents(s.ctx(ctx), *p)
		if err != nil {
			return nil, s.classify(ctx, "events", "events search", httpResp, err)
		}
		for _, e := range resp.Data {
			out = append(out, s.event(e))
		}
		after := ""
		if resp.Meta != nil && resp.Meta.Page != nil {
			after = resp.Meta.Page.GetAfter()
		}
		if after == "" {
			break
		}
		if page == maxEventPages-1 {
			s.log.Warn("datadog events: page cap reached", "events", len(out))
		}
		p = p.WithPageCursor(after)
	}
	return out, nil
}

func (s *Source) event(e datadogV2.EventResponse) sources.Event {
	ev := sources.Event{Source: s.name, ID: e.GetId(), Kind: "other"}
	a, ok := e.GetAttributesOk()
	if !ok {
		return ev
	}
	ev.Text = a.GetMessage()
	ev.Tags = a.Tags
	if ts, ok := a.GetTimestampOk(); ok {
		ev.Time = ts.UTC()
	}
	inner, hasInner := a.GetAttributesOk()
	if hasInner {
		ev.Title = inner.GetTitle()
		if ev.Time.IsZero() && inner.Timestamp != nil {
			ev.Time = time.UnixMilli(inner.GetTimestamp()).UTC()
		}
	}
	ev.Kind = kindOf(ev, inner)
	return ev
}

// ciSources are source: tag values of CI/CD tools whose events announce
// deploys.
var ciSources = map[string]bool{
	"github": true, "gitlab": true, "jenkins": true, "circleci": true, "argocd": true, "argo_cd": true,
	"spinnaker": true, "travis_ci": true, "azure_devops": true, "octopus_deploy": true, "bitbucket": true,
	"buildkite": true, "teamcity": true, "harness": true, "flux": true, "codedeploy": true,
}

// kindOf classifies an event: a monitor transition is "alert"; a
// Kubernetes rollout (ScalingReplicaSet and friends) or a CI/CD event that
// speaks of a deploy is "deploy".
func kindOf(ev sources.Event, inner *datadogV2.EventAttributes) string {
	src := ""
	for _, t := range ev.Tags {
		if v, ok := strings.CutPrefix(t, "source:"); ok {
			src = strings.ToLower(v)
		}
	}
	if inner != nil {
		if inner.MonitorId.IsSet() && inner.MonitorId.Get() != nil {
			return "alert"
		}
		if typ := strings.ToLower(inner.Evt.GetType()); strings.Contains(typ, "monitor") || strings.Contains(typ, "alert") {
			return "alert"
		}
	}
	if src == "alert" || src == "monitor" {
		return "alert"
	}
	text := strings.ToLower(ev.Title + "\n" + ev.Text)
	switch {
	case src == "kubernetes" && (strings.Contains(text, "scalingreplicaset") || strings.Contains(text, "rollout") ||
		strings.Contains(text, "rolled out") || strings.Contains(text, "deployment")):
		return "deploy"
	case ciSources[src] && strings.Contains(text, "deploy"):
		return "deploy"
	case strings.Contains(text, "deployed") || strings.Contains(text, "deployment succeeded") || strings.Contains(text, "deploy finished"):
		return "deploy"
	}
	return "other"
}
