// Package loki searches Grafana Loki for a pod's log lines in an incident
// window, so the engine can find an OutOfMemoryError trace after a restart
// has rotated the pod's own previous log away.
//
// It reads /loki/api/v1/query_range with direction=forward, one page of
// Options.PageLimit entries at a time, and returns the lines as text in time
// order, ready for the scanner that reads container logs.
//
// Two facts about Loki shape the reading:
//
//   - One pod's lines come back in several streams. Loki 3 attaches
//     structured metadata such as detected_level to each entry and answers
//     one stream per distinct label set, and shippers often make level a
//     stream label. A Java stack trace — the exception line, then "\tat"
//     frames — is therefore spread over streams. Each page's streams are
//     merged by timestamp so the trace is whole again.
//   - Nothing is line-filtered. A filter such as |= "OutOfMemoryError"
//     would keep the exception line and drop its frames (which never contain
//     the word), and a broad regex that keeps frames still has to keep
//     "Caused by:", "... N more" and logger lines that give the trace its
//     time and thread; at that point it filters out little. The byte cap
//     bounds the cost instead.
package loki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/oombot/oombot/internal/sources"
)

// DefaultSelector is the LogQL stream selector used when Options.Selector
// is empty: the labels Promtail's and Grafana Alloy's Kubernetes discovery
// set by default.
const DefaultSelector = `{namespace="{{.Namespace}}",pod="{{.Pod}}"{{if .Container}},container="{{.Container}}"{{end}}}`

// Defaults for Options.
const (
	DefaultName = "loki"
	// DefaultMaxBytes matches the engine's own cap on a log search.
	DefaultMaxBytes = 8 << 20
	// DefaultPageLimit is Loki's default max_entries_limit_per_query: a
	// larger limit is refused by a default Loki.
	DefaultPageLimit = 5000
)

const (
	// maxResponseBytes bounds one query_range response read into memory.
	// A page holds at most PageLimit lines; with Loki's default 256 KiB
	// max_line_size that could be far larger, so a page this big is refused
	// with advice rather than read.
	maxResponseBytes = 64 << 20
	// maxErrorBytes bounds how much of an error body is quoted.
	maxErrorBytes  = 2 << 10
	queryRangePath = "/loki/api/v1/query_range"
)

// Options configure a Source.
type Options struct {
	// Name identifies the source in reports; default "loki".
	Name string
	// URL is Loki's base URL (the query frontend or single binary), e.g.
	// http://loki-gateway.monitoring:3100. A path prefix is kept.
	URL string
	// HTTPClient defaults to a client without a timeout: the caller's
	// context bounds every request.
	HTTPClient *http.Client
	// TenantID is sent as X-Scope-OrgID for multi-tenant Loki; optional.
	TenantID string
	// BearerToken is sent as "Authorization: Bearer"; optional. It is
	// never logged or put in an error.
	BearerToken string
	// MaxBytes caps the text returned when a LogQuery sets none; default
	// DefaultMaxBytes.
	MaxBytes int64
	// PageLimit is the number of entries asked for per request; default
	// DefaultPageLimit.
	PageLimit int
	// Selector is a text/template for the LogQL stream selector, with the
	// fields of sources.Target (.Namespace, .Pod, .Container, .Workload,
	// .Cluster) escaped for use inside a double-quoted LogQL string;
	// default DefaultSelector.
	Selector string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// LogValue keeps the bearer token out of logs that print Options.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", o.Name),
		slog.String("url", redactURL(o.URL)),
		slog.String("tenant", o.TenantID),
		slog.Bool("bearer_token", o.BearerToken != ""),
		slog.Int64("max_bytes", o.MaxBytes),
		slog.Int("page_limit", o.PageLimit),
		slog.String("selector", o.Selector),
	)
}

// Source searches one Loki. It is safe for concurrent use.
type Source struct {
	name     string
	base     *url.URL
	client   *http.Client
	tenant   string
	token    string
	maxBytes int64
	limit    int
	selector *template.Template
	custom   bool
	log      *slog.Logger
}

// New checks o and returns a Source.
func New(o Options) (*Source, error) {
	if o.URL == "" {
		return nil, errors.New("loki: URL is required")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("loki: parse URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("loki: URL %q: want http(s)://host[:port][/prefix]", redactURL(o.URL))
	}
	if o.MaxBytes < 0 || o.PageLimit < 0 {
		return nil, fmt.Errorf("loki: negative MaxBytes (%d) or PageLimit (%d)", o.MaxBytes, o.PageLimit)
	}
	s := &Source{
		name: o.Name, base: u, client: o.HTTPClient, tenant: o.TenantID, token: o.BearerToken,
		maxBytes: o.MaxBytes, limit: o.PageLimit, log: o.Logger, custom: o.Selector != "",
	}
	if s.name == "" {
		s.name = DefaultName
	}
	if s.client == nil {
		s.client = &http.Client{}
	}
	if s.maxBytes == 0 {
		s.maxBytes = DefaultMaxBytes
	}
	if s.limit == 0 {
		s.limit = DefaultPageLimit
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	sel := o.Selector
	if sel == "" {
		sel = DefaultSelector
	}
	s.selector, err = template.New("selector").Option("missingkey=error").Parse(sel)
	if err != nil {
		return nil, fmt.Errorf("loki: parse selector template: %w", err)
	}
	return s, nil
}

// Name identifies the source in reports.
func (s *Source) Name() string { return s.name }

// Query renders the LogQL stream selector for t.
func (s *Source) Query(t sources.Target) (string, error) {
	if !s.custom && (t.Namespace == "" || t.Pod == "") {
		return "", fmt.Errorf("loki: target needs a namespace and a pod (got %q/%q)", t.Namespace, t.Pod)
	}
	var b strings.Builder
	if err := s.selector.Execute(&b, sources.Target{
		Namespace: escape(t.Namespace), Pod: escape(t.Pod), Container: escape(t.Container),
		Workload: escape(t.Workload), Cluster: escape(t.Cluster),
	}); err != nil {
		return "", fmt.Errorf("loki: render selector: %w", err)
	}
	return b.String(), nil
}

// escape makes v safe inside a double-quoted LogQL string, which follows
// Go's string literal syntax.
func escape(v string) string {
	q := strconv.Quote(v)
	return q[1 : len(q)-1]
}

// SearchLogs returns the target's lines in [q.Start, q.End], oldest first,
// one per line. Loki entries that hold several lines (a shipper that joins
// multi-line records) are kept whole. It stops at q.MaxBytes (or
// Options.MaxBytes) of text and then sets Truncated; what was read so far
// is returned with any error.
func (s *Source) SearchLogs(ctx context.Context, q sources.LogQuery) (sources.LogResult, error) {
	query, err := s.Query(q.Target)
	if err != nil {
		return sources.LogResult{}, err
	}
	res := sources.LogResult{Query: query}
	if q.Start.IsZero() || q.End.IsZero() || q.End.Before(q.Start) {
		return res, fmt.Errorf("loki: bad window [%s, %s]", q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339))
	}
	maxBytes := q.MaxBytes
	if maxBytes <= 0 {
		maxBytes = s.maxBytes
	}
	// The window is read forward (Loki's paging is simplest that way) but
	// only the newest maxBytes are kept: the OutOfMemoryError trace is
	// written just before the kill, at the end of the window, so a cap must
	// drop the oldest lines, not the newest. Reading stops after maxPages.
	var kept tail
	emit := func(entries []entry) bool {
		for _, e := range entries {
			if kept.add(strings.TrimSuffix(e.line, "\n"), maxBytes) {
				res.Truncated = true
			}
		}
		return true
	}
	p := pager{start: q.Start.UnixNano(), end: q.End.UnixNano() + 1, limit: s.limit}
	pages := 0
	for {
		if err := ctx.Err(); err != nil {
			return s.finish(res, &kept), fmt.Errorf("loki: search %s: %w", query, err)
		}
		streams, err := s.queryRange(ctx, query, p.start, p.end, s.limit)
		pages++
		if err != nil {
			return s.finish(res, &kept), err
		}
		fresh, state := p.next(mergeStreams(streams))
		if !emit(fresh) || state == pageLast {
			break
		}
		if pages >= maxPages {
			res.Truncated = true
			break
		}
		if state == pageStuck {
			// More than a page of entries share timestamp p.start, so
			// asking from p.start again returns the same page. Ask for
			// that one nanosecond alone with a limit that reaches past
			// what was seen, then go on after it.
			lim := min(len(p.seen)+s.limit, max(s.limit, DefaultPageLimit))
			streams, err := s.queryRange(ctx, query, p.start, p.start+1, lim)
			pages++
			if err != nil {
				return s.finish(res, &kept), err
			}
			page := mergeStreams(streams)
			fresh, _ := p.next(page)
			res.Truncated = res.Truncated || len(page) >= lim
			if !emit(fresh) {
				break
			}
			p.start, p.seen = p.start+1, nil
			if p.start >= p.end {
				break
			}
		}
	}
	s.log.DebugContext(ctx, "loki search", "source", s.name, "query", query,
		"pages", pages, "lines", len(kept.lines), "bytes", kept.size, "truncated", res.Truncated)
	return s.finish(res, &kept), nil
}

func (s *Source) finish(res sources.LogResult, kept *tail) sources.LogResult {
	res.Lines = len(kept.lines)
	if kept.size > 0 {
		var b bytes.Buffer
		b.Grow(int(kept.size))
		for _, l := range kept.lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		res.Text = b.Bytes()
	}
	return res
}

// maxPages bounds the requests one search makes (at the default page
// limit, 200,000 lines).
const maxPages = 200

// tail keeps the newest lines whose total size (with newlines) fits a cap.
type tail struct {
	lines []string
	size  int64
}

// add appends line and drops the oldest lines over max; it reports whether
// anything was dropped.
func (t *tail) add(line string, max int64) bool {
	n := int64(len(line)) + 1
	if n > max {
		return true
	}
	t.lines = append(t.lines, line)
	t.size += n
	dropped := false
	for t.size > max {
		t.size -= int64(len(t.lines[0])) + 1
		t.lines[0] = ""
		t.lines = t.lines[1:]
		dropped = true
	}
	return dropped
}

// entry is one log line of a result stream.
type entry struct {
	ts     int64
	line   string
	stream string // the stream's labels, canonical, for ordering and dedupe
}

// pager walks a window forward a page at a time. Loki's start is
// inclusive, so the next page starts at the last timestamp seen (not one
// nanosecond after: entries sharing that timestamp may not all have fit in
// the page) and the entries already returned at that timestamp are skipped.
type pager struct {
	start, end int64 // nanoseconds, [start, end)
	limit      int
	// seen holds the entries returned at timestamp start.
	seen map[entryKey]bool
}

type entryKey struct{ stream, line string }

// pageState says what next found.
type pageState int

const (
	// pageMore: the page was full; read on from the last timestamp.
	pageMore pageState = iota
	// pageLast: the page was not full, so the window is exhausted.
	pageLast
	// pageStuck: the page was full of entries already returned, all at
	// timestamp start; reading from start again cannot make progress.
	pageStuck
)

// next takes a page's merged entries and returns the ones not returned
// before, advancing start to the last timestamp seen.
func (p *pager) next(page []entry) ([]entry, pageState) {
	var fresh []entry
	for _, e := range page {
		if e.ts < p.start || e.ts >= p.end {
			continue // Loki answered outside the window; never loop on it
		}
		k := entryKey{e.stream, e.line}
		if e.ts == p.start && p.seen[k] {
			continue
		}
		if e.ts != p.start || p.seen == nil {
			p.start, p.seen = e.ts, map[entryKey]bool{}
		}
		p.seen[k] = true
		fresh = append(fresh, e)
	}
	switch {
	case len(page) < p.limit:
		return fresh, pageLast
	case len(fresh) == 0:
		return fresh, pageStuck
	}
	return fresh, pageMore
}

// mergeStreams orders all entries of a page by timestamp. Ties keep each
// stream's own order and otherwise go by stream labels, so the result does
// not depend on the order Loki lists streams in.
func mergeStreams(streams []stream) []entry {
	n := 0
	for _, st := range streams {
		n += len(st.Values)
	}
	out := make([]entry, 0, n)
	for _, st := range streams {
		key := labelKey(st.Stream)
		for _, v := range st.Values {
			out = append(out, entry{ts: v.ts, line: v.line, stream: key})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ts != out[j].ts {
			return out[i].ts < out[j].ts
		}
		return out[i].stream < out[j].stream
	})
	return out
}

func labelKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, m[k])
	}
	return b.String()
}

// queryRange asks for one page.
func (s *Source) queryRange(ctx context.Context, query string, start, end int64, limit int) ([]stream, error) {
	u := *s.base
	u.Path = strings.TrimSuffix(u.Path, "/") + queryRangePath
	u.RawQuery = url.Values{
		"query":     {query},
		"start":     {strconv.FormatInt(start, 10)},
		"end":       {strconv.FormatInt(end, 10)},
		"limit":     {strconv.Itoa(limit)},
		"direction": {"forward"},
	}.Encode()
	where := redactURL(s.base.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("loki: build request for %s: %w", where, err)
	}
	req.Header.Set("Accept", "application/json")
	if s.tenant != "" {
		req.Header.Set("X-Scope-OrgID", s.tenant)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("loki: query %s: %w", where, ctxErr)
		}
		return nil, fmt.Errorf("loki: cannot reach %s: %w", where, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		return nil, &StatusError{URL: where, Code: resp.StatusCode, Message: errorMessage(body)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("loki: read response from %s: %w", where, ctxErr)
		}
		return nil, fmt.Errorf("loki: read response from %s: %w", where, err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("loki: response from %s exceeds %d MiB; lower PageLimit (now %d)", where, maxResponseBytes>>20, s.limit)
	}
	var r queryResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("loki: decode query_range response from %s: %w", where, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("loki: query %s: status %q: %s", where, r.Status, r.Error)
	}
	if r.Data.ResultType != "streams" {
		return nil, fmt.Errorf("loki: query %s: got %q result, want streams (is the selector a log query?)", where, r.Data.ResultType)
	}
	return r.Data.Result, nil
}

// StatusError is a non-200 answer from Loki. Loki's 4xx bodies are plain
// text naming the problem (a LogQL parse error, a limit); Message holds it.
type StatusError struct {
	URL     string
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	what := http.StatusText(e.Code)
	switch {
	case e.Code == http.StatusTooManyRequests:
		what = "rate limited (429 Too Many Requests), retry later"
	case e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden:
		what = fmt.Sprintf("%d %s: check the bearer token / tenant", e.Code, what)
	default:
		what = fmt.Sprintf("%d %s", e.Code, what)
	}
	if e.Message == "" {
		return fmt.Sprintf("loki: %s: %s", e.URL, what)
	}
	return fmt.Sprintf("loki: %s: %s: %s", e.URL, what, e.Message)
}

// errorMessage extracts Loki's message: plain text, or the Prometheus-style
// JSON {"status":"error","error":...} some proxies and versions send.
func errorMessage(body []byte) string {
	var j struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &j) == nil {
		if j.Error != "" {
			return j.Error
		}
		if j.Message != "" {
			return j.Message
		}
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(body), "?"))
}

// unwrapURLError drops *url.Error's "Get <url>:" prefix, which repeats the
// full query, and keeps the cause (connection refused, TLS, DNS).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL hides a password in URL userinfo.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}

// queryResponse is query_range's JSON for a log query:
//
//	{"status":"success","data":{"resultType":"streams","result":[
//	  {"stream":{"pod":"p"},"values":[["<unix ns>","line"], ...]}]}}
//
// A value may carry a third element (structured metadata, or parsed and
// categorized labels); it is ignored.
type queryResponse struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string   `json:"resultType"`
		Result     []stream `json:"result"`
	} `json:"data"`
}

type stream struct {
	Stream map[string]string `json:"stream"`
	Values []value           `json:"values"`
}

type value struct {
	ts   int64
	line string
}

func (v *value) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) < 2 {
		return fmt.Errorf("value has %d elements, want [timestamp, line]", len(raw))
	}
	var ts string
	if err := json.Unmarshal(raw[0], &ts); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", ts, err)
	}
	v.ts = n
	if err := json.Unmarshal(raw[1], &v.line); err != nil {
		return fmt.Errorf("line: %w", err)
	}
	return nil
}

// compile-time check against the engine's interface shape.
var _ interface {
	Name() string
	SearchLogs(context.Context, sources.LogQuery) (sources.LogResult, error)
} = (*Source)(nil)
