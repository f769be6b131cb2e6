package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/alert"
)

// amMessage is Alertmanager's webhook notification, version 4 (the only
// version Alertmanager has sent since 0.x; see its notify/webhook package):
//
//	{"version":"4","groupKey":"…","truncatedAlerts":0,"status":"firing",
//	 "receiver":"oombot","groupLabels":{…},"commonLabels":{…},
//	 "commonAnnotations":{…},"externalURL":"http://alertmanager:9093",
//	 "alerts":[{"status":"firing","labels":{…},"annotations":{…},
//	   "startsAt":"…","endsAt":"…","generatorURL":"…","fingerprint":"…"}]}
type amMessage struct {
	Version      string            `json:"version"`
	GroupKey     string            `json:"groupKey"`
	Status       string            `json:"status"`
	Receiver     string            `json:"receiver"`
	GroupLabels  map[string]string `json:"groupLabels"`
	CommonLabels map[string]string `json:"commonLabels"`
	ExternalURL  string            `json:"externalURL"`
	Alerts       []amAlert         `json:"alerts"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Alertmanager returns a handler for Alertmanager's webhook receiver:
//
//	receivers:
//	  - name: oombot
//	    webhook_configs:
//	      - url: https://oombot.example.com/webhooks/alertmanager
//	        send_resolved: true
//	        http_config:
//	          authorization:
//	            credentials_file: /etc/alertmanager/oombot-secret
//
// Every alert of the notification whose alertname, reason label or
// summary annotation says it is a memory alert (see Options.Rules and
// Options.KindLabels) becomes one alert.Alert: Source "alertmanager", State
// firing or resolved, the target from its labels (namespace, pod,
// container, cluster, deployment or statefulset by default), and
// Fingerprint "alertmanager:" + Alertmanager's fingerprint of its labels,
// the same when it fires and when it resolves. Other alerts are ignored.
func Alertmanager(o Options, onAlert OnAlert) (http.Handler, error) {
	rc, err := newReceiver(alert.SourceAlertmanager, o, onAlert)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.serve(w, r, rc.alertmanager)
	}), nil
}

func (rc *receiver) alertmanager(ctx context.Context, body []byte) (accepted, ignored int, err error) {
	var m amMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return 0, 0, fmt.Errorf("not an Alertmanager webhook notification: invalid JSON: %w", err)
	}
	if m.Version != "4" {
		return 0, 0, fmt.Errorf("webhook version %q is not supported (want \"4\", what Alertmanager sends)", m.Version)
	}
	var out []alert.Alert
	var ids []string
	for i, a := range m.Alerts {
		state := strings.ToLower(a.Status)
		if state != alert.StateFiring && state != alert.StateResolved {
			return 0, 0, fmt.Errorf("alerts[%d]: status %q is neither firing nor resolved", i, a.Status)
		}
		if a.Fingerprint == "" {
			return 0, 0, fmt.Errorf("alerts[%d]: no fingerprint", i)
		}
		texts := make([]string, 0, len(rc.kindLabels)+len(rc.kindAnnotations))
		for _, l := range rc.kindLabels {
			texts = append(texts, l+"="+a.Labels[l])
		}
		for _, n := range rc.kindAnnotations {
			texts = append(texts, a.Annotations[n])
		}
		kind := rc.kind(texts...)
		if kind == "" {
			ignored++
			continue
		}
		al := alert.Alert{
			Source:      alert.SourceAlertmanager,
			State:       state,
			Kind:        kind,
			Title:       amTitle(a),
			Fingerprint: "alertmanager:" + a.Fingerprint,
			Link:        a.GeneratorURL,
		}
		if al.Link == "" {
			al.Link = m.ExternalURL
		}
		rc.target(&al, sortedPairs(a.Labels))
		out = append(out, al)
		ids = append(ids, a.Fingerprint+"|"+state+"|"+a.StartsAt.UTC().Format(time.RFC3339Nano))
	}
	// Hand alerts over only once the whole payload is known to be valid,
	// so a 400 never follows a half-delivered notification.
	for i, al := range out {
		rc.deliver(ctx, al, "alertmanager:"+ids[i])
	}
	return len(out), ignored, nil
}

// amTitle is "alertname: summary" (either alone when the other is empty).
func amTitle(a amAlert) string {
	name, summary := a.Labels["alertname"], strings.TrimSpace(a.Annotations["summary"])
	switch {
	case name == "":
		return summary
	case summary == "":
		return name
	}
	return name + ": " + summary
}
