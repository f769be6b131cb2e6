package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/alert"
)

// ddPayload is the body the recommended payload template produces. Datadog
// posts whatever JSON the user templates, substituting $VARIABLES, so this
// is a contract with testdata/datadog-payload-template.json, not a Datadog
// schema.
type ddPayload struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Message    string `json:"message"`
	AlertID    string `json:"alertId"`
	Transition string `json:"transition"`
	Status     string `json:"status"`
	Scope      string `json:"scope"`
	Tags       string `json:"tags"`
	Link       string `json:"link"`
	Date       string `json:"date"`
}

// ddTitlePrefix is the "[Triggered on {…}] " Datadog puts before a
// multi-alert monitor's name in $EVENT_TITLE.
var ddTitlePrefix = regexp.MustCompile(`^(?:\s*\[[^\[\]]*\])+\s*`)

// Datadog returns a handler for Datadog's webhook integration. Configure
// the webhook (Integrations → Webhooks) with this payload, the content of
// testdata/datadog-payload-template.json:
//
//	{
//	  "id": "$ID",
//	  "title": "$EVENT_TITLE",
//	  "message": "$EVENT_MSG",
//	  "alertId": "$ALERT_ID",
//	  "transition": "$ALERT_TRANSITION",
//	  "status": "$ALERT_STATUS",
//	  "scope": "$ALERT_SCOPE",
//	  "tags": "$TAGS",
//	  "link": "$LINK",
//	  "date": "$DATE_POSIX"
//	}
//
// and, when Options.Secret is set, a custom header carrying it, e.g.
// {"Authorization": "Bearer $OOMBOT_SECRET"} with OOMBOT_SECRET a hidden
// custom variable. Mention @webhook-<name> in monitors grouped by
// kube_namespace and pod_name (or kube_deployment), so $ALERT_SCOPE names
// the workload.
//
// Transitions Triggered and Re-Triggered are firing, Recovered is
// resolved; the others (Warn, No Data, Renotify) are ignored. The target is
// read from $ALERT_SCOPE, then from $TAGS for what the scope lacks
// (kube_namespace, pod_name, kube_container_name, kube_deployment,
// kube_cluster_name by default). Fingerprint is "datadog:" and a hash of
// the monitor id and its sorted scope, the same when the group triggers
// and when it recovers.
func Datadog(o Options, onAlert OnAlert) (http.Handler, error) {
	rc, err := newReceiver(alert.SourceDatadog, o, onAlert)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.serve(w, r, rc.datadog)
	}), nil
}

func (rc *receiver) datadog(ctx context.Context, body []byte) (accepted, ignored int, err error) {
	var p ddPayload
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&p); err != nil {
		return 0, 0, fmt.Errorf("not the oombot Datadog webhook payload: invalid JSON: %w", err)
	}
	for _, f := range []*string{&p.ID, &p.Title, &p.Message, &p.AlertID, &p.Transition, &p.Status, &p.Scope, &p.Tags, &p.Link, &p.Date} {
		*f = strings.TrimSpace(*f)
		// A variable Datadog had no value for stays as written (a test
		// notification has no scope): treat it as empty.
		if isVariable(*f) {
			*f = ""
		}
	}
	if p.AlertID == "" || p.Transition == "" {
		return 0, 0, fmt.Errorf("payload has no alertId or transition: configure the webhook with the payload template " +
			`({"alertId": "$ALERT_ID", "transition": "$ALERT_TRANSITION", …})`)
	}
	var state string
	switch strings.ToLower(p.Transition) {
	case "triggered", "re-triggered":
		state = alert.StateFiring
	case "recovered":
		state = alert.StateResolved
	default:
		rc.log.Info("datadog webhook transition ignored", "transition", p.Transition, "monitor", p.AlertID)
		return 0, 1, nil
	}
	kind := rc.kind(p.Title, p.Message, p.Status, p.Scope)
	if kind == "" {
		return 0, 1, nil
	}
	scope := ddTags(p.Scope)
	a := alert.Alert{
		Source: alert.SourceDatadog,
		State:  state,
		Kind:   kind,
		Title:  strings.TrimSpace(ddTitlePrefix.ReplaceAllString(p.Title, "")),
		Link:   p.Link,
	}
	if a.Title == "" {
		a.Title = p.Title
	}
	// Scope first: it is the group that fired; $TAGS are the monitor's and
	// the host's tags, which may name other pods.
	rc.target(&a, append(scope, ddTags(p.Tags)...))
	keys := make([]string, 0, len(scope))
	for _, kv := range scope {
		keys = append(keys, strings.ToLower(kv[0]+":"+kv[1]))
	}
	sort.Strings(keys)
	a.Fingerprint = "datadog:" + shortHash(p.AlertID+"|"+strings.Join(keys, ","))
	delivery := p.ID
	if delivery == "" {
		delivery = p.AlertID + "|" + strings.Join(keys, ",") + "|" + p.Transition + "|" + ddDate(p.Date)
	}
	rc.deliver(ctx, a, "datadog:"+delivery)
	return 1, 0, nil
}

// isVariable reports whether s is an unsubstituted $VARIABLE.
func isVariable(s string) bool {
	if len(s) < 2 || s[0] != '$' {
		return false
	}
	for _, c := range s[1:] {
		if c != '_' && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// ddTags splits "key:value, key:value" ($ALERT_SCOPE, $TAGS) into pairs at
// each tag's first colon; tags without a value are dropped.
func ddTags(s string) [][2]string {
	var out [][2]string
	for _, t := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(t), ":")
		if !ok || k == "" || v == "" {
			continue
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

// ddDate normalises $DATE_POSIX (seconds) or $DATE (milliseconds) to
// RFC 3339, so either template spelling dedupes the same way.
func ddDate(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return s
	}
	if n > 1e11 {
		return time.UnixMilli(n).UTC().Format(time.RFC3339Nano)
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}
