// Package webhook receives alerts pushed straight to the bot, for teams that
// do not route alerts through chat: Alertmanager's webhook receiver (the
// version 4 JSON) and Datadog's webhook integration (a JSON payload the user
// templates; see Datadog). Each handler turns a request into alert.Alert
// values for memory alerts and hands them to a callback.
//
// # The callback must not block
//
// The callback runs inside the HTTP request, before the response is sent.
// Senders time out (Datadog after 15 s) and retry, and Alertmanager holds
// the whole alert group's notification until it is answered, so the
// callback must only hand the alert over — start the triage in its own
// goroutine, as bot.HandleAlert does — and return. Its context is the
// request's without its cancellation (it lives on after the response), and
// carries a DeliveryID to dedupe the sender's retries.
//
// # Security
//
// With Options.Secret set, every request must present it (Authorization:
// Bearer <secret>, or the secret as the whole value of Options.Header); it
// is compared in constant time and never logged. Bodies over
// Options.MaxBody (1 MiB) are refused with 413, malformed JSON with 400.
package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/oombot/oombot/internal/alert"
)

// DefaultMaxBody caps a request body. An Alertmanager notification for a
// large group is tens of kilobytes; a megabyte is far beyond any real one.
const DefaultMaxBody = 1 << 20

// Options configure both receivers.
type Options struct {
	// Secret, when set, must be presented with every request.
	Secret string
	// Header carries the secret. Empty or "Authorization" expects
	// "Bearer <secret>" (Alertmanager's http_config.authorization);
	// any other name expects the secret as its whole value (a custom
	// header in Datadog's webhook integration).
	Header string
	// Rules supply the vocabulary that recognises a memory alert (its
	// OOMKilled, GC and Memory expressions) and the label or tag names
	// that carry the target (Tags). Unset lists take alert.DefaultRules,
	// as for chat messages, so one configuration serves both.
	Rules alert.Rules
	// KindLabels and KindAnnotations name the Alertmanager labels and
	// annotations whose values are matched against Rules to recognise a
	// memory alert. Labels and annotations that name pods are not read
	// by default: a pod named heap-analyzer-0 must not make its
	// CPUThrottlingHigh alert a GC alert, and descriptions usually name
	// the pod. Defaults: alertname and reason; summary.
	KindLabels      []string
	KindAnnotations []string
	// MaxBody caps the request body in bytes (default DefaultMaxBody).
	MaxBody int64
	// Logger receives one line per request outcome (default slog.Default()).
	Logger *slog.Logger
}

// OnAlert receives each recognised alert. It must return quickly: see the
// package documentation.
type OnAlert func(ctx context.Context, a alert.Alert)

type deliveryKey struct{}

// DeliveryID identifies the delivery an alert came in, for deduping the
// sender's retries: the same notification sent again has the same id.
// Alertmanager: fingerprint, status and startsAt; Datadog: the event id
// ($ID), else monitor, scope, transition and date. Empty outside a
// callback.
func DeliveryID(ctx context.Context) string {
	s, _ := ctx.Value(deliveryKey{}).(string)
	return s
}

// receiver is what both handlers share.
type receiver struct {
	source  string
	secret  []byte
	header  string
	bearer  bool
	maxBody int64
	log     *slog.Logger
	onAlert OnAlert

	kinds           []kindRule
	tags            map[string]string // lower-case label/tag name → alert field
	tagOrder        map[string]int    // its position in its Rules.Tags list
	kindLabels      []string
	kindAnnotations []string
}

type kindRule struct {
	kind string
	res  []*regexp.Regexp
}

func newReceiver(source string, o Options, onAlert OnAlert) (*receiver, error) {
	if onAlert == nil {
		return nil, errors.New("webhook: no OnAlert callback")
	}
	r := o.Rules.WithDefaults()
	if o.KindLabels == nil {
		o.KindLabels = []string{"alertname", "reason"}
	}
	if o.KindAnnotations == nil {
		o.KindAnnotations = []string{"summary"}
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	header := strings.TrimSpace(o.Header)
	if header == "" {
		header = "Authorization"
	}
	rc := &receiver{
		source: source, header: header, bearer: strings.EqualFold(header, "Authorization"),
		maxBody: o.MaxBody, log: o.Logger.With("webhook", source), onAlert: onAlert,
		tags: map[string]string{}, tagOrder: map[string]int{},
		kindLabels: o.KindLabels, kindAnnotations: o.KindAnnotations,
	}
	if o.Secret != "" {
		rc.secret = []byte(o.Secret)
	}
	for _, k := range []struct {
		kind string
		list []string
		name string
	}{{alert.KindOOMKilled, r.OOMKilled, "oomKilled"}, {alert.KindGC, r.GC, "gc"}, {alert.KindMemory, r.Memory, "memory"}} {
		kr := kindRule{kind: k.kind}
		for i, s := range k.list {
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, fmt.Errorf("webhook: alert rules %s[%d]: %w", k.name, i, err)
			}
			kr.res = append(kr.res, re)
		}
		rc.kinds = append(rc.kinds, kr)
	}
	for field, names := range map[string][]string{
		alert.FieldCluster: r.Tags.Cluster, alert.FieldNamespace: r.Tags.Namespace, alert.FieldPod: r.Tags.Pod,
		alert.FieldWorkload: r.Tags.Workload, alert.FieldContainer: r.Tags.Container,
	} {
		for i, n := range names {
			rc.tags[strings.ToLower(n)] = field
			rc.tagOrder[strings.ToLower(n)] = i
		}
	}
	return rc, nil
}

// serve runs the checks every request goes through, then decode on the
// body, and answers with what decode accepted.
func (rc *receiver) serve(w http.ResponseWriter, r *http.Request, decode func(ctx context.Context, body []byte) (accepted, ignored int, err error)) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if !rc.authorized(r) {
		// Never log what was presented: a near miss is most of a secret.
		rc.log.Warn("webhook request refused: wrong or missing secret", "remote", r.RemoteAddr, "header", rc.header)
		if rc.bearer {
			w.Header().Set("WWW-Authenticate", `Bearer realm="oombot"`)
		}
		httpError(w, http.StatusUnauthorized, "wrong or missing secret in "+rc.header)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			rc.log.Warn("webhook body too large", "remote", r.RemoteAddr, "limit", rc.maxBody)
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", rc.maxBody))
			return
		}
		httpError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	// The callback's context outlives the request: it may start a triage
	// that runs long after the sender has its 200.
	ctx := context.WithoutCancel(r.Context())
	accepted, ignored, err := decode(ctx, body)
	if err != nil {
		rc.log.Warn("webhook payload refused", "remote", r.RemoteAddr, "err", err)
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"accepted":%d,"ignored":%d}`+"\n", accepted, ignored)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(append(b, '\n'))
}

// authorized compares digests in constant time, so neither the secret's
// content nor its length shows in the timing.
func (rc *receiver) authorized(r *http.Request) bool {
	if rc.secret == nil {
		return true
	}
	got := r.Header.Get(rc.header)
	if rc.bearer {
		const prefix = "bearer "
		if len(got) < len(prefix) || !strings.EqualFold(got[:len(prefix)], prefix) {
			return false
		}
		got = strings.TrimSpace(got[len(prefix):])
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256(rc.secret)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// deliver hands one alert to the callback with its delivery id.
func (rc *receiver) deliver(ctx context.Context, a alert.Alert, delivery string) {
	rc.log.Info("webhook alert", "source", a.Source, "state", a.State, "kind", a.Kind, "fingerprint", a.Fingerprint,
		"namespace", a.Namespace, "pod", a.Pod, "workload", a.Workload, "container", a.Container)
	rc.onAlert(context.WithValue(ctx, deliveryKey{}, delivery), a)
}

// kind is the first kind whose vocabulary matches any of texts; CamelCase
// words (alert names) are also tried split, so KubePodOOMKilled reads as
// "Kube Pod OOM Killed" and ContainerHighMemoryUsage as "… High Memory
// Usage", which the chat-oriented vocabulary expects.
func (rc *receiver) kind(texts ...string) string {
	all := strings.Join(texts, "\n")
	all += "\n" + splitCamel(all)
	for _, k := range rc.kinds {
		for _, re := range k.res {
			if re.MatchString(all) {
				return k.kind
			}
		}
	}
	return ""
}

// splitCamel inserts a space at each lower→upper and acronym→word boundary.
func splitCamel(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, c := range rs {
		if i > 0 && unicode.IsUpper(c) {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte(' ')
			}
		}
		b.WriteRune(c)
	}
	return b.String()
}

// target fills a's target fields from name/value pairs (labels or tags),
// preferring, per field, the name listed first in Rules.Tags.
func (rc *receiver) target(a *alert.Alert, pairs [][2]string) {
	best := map[string]int{}
	for _, p := range pairs {
		name, val := strings.ToLower(strings.TrimSpace(p[0])), strings.TrimSpace(p[1])
		field, ok := rc.tags[name]
		if !ok || val == "" {
			continue
		}
		if prev, seen := best[field]; seen && prev <= rc.tagOrder[name] {
			continue
		}
		best[field] = rc.tagOrder[name]
		switch field {
		case alert.FieldCluster:
			a.Cluster = val
		case alert.FieldNamespace:
			a.Namespace = val
		case alert.FieldPod:
			a.Pod = val
		case alert.FieldWorkload:
			a.Workload = val
		case alert.FieldContainer:
			a.Container = val
		}
	}
	if a.Workload == "" && a.Pod != "" {
		// One triage per workload needs the workload; a generated pod
		// name gives it away (a guess, so it is marked inferred).
		if w, ok := alert.WorkloadOf(a.Pod); ok {
			a.Workload = w
			a.Inferred = append(a.Inferred, alert.FieldWorkload)
		}
	}
	if a.Namespace == "" {
		a.Missing = append(a.Missing, alert.FieldNamespace)
	}
	if a.Pod == "" && a.Workload == "" {
		a.Missing = append(a.Missing, alert.MissingTarget)
	}
}

// sortedPairs turns a label map into pairs in name order, so which of two
// equally ranked names wins never depends on map iteration.
func sortedPairs(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for k, v := range m {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
