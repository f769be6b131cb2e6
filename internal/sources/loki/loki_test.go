package loki

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/sources"
)

// fakeLoki answers /loki/api/v1/query_range the way Loki does for a log
// query with direction=forward: the first `limit` entries of [start, end)
// across all streams, grouped into streams, as the documented JSON
// (https://grafana.com/docs/loki/latest/reference/loki-http-api/#query-logs-within-a-range-of-time).
// The real-Loki tests in real_test.go check the same behaviour against the
// binary; this fake covers corner cases Loki cannot be made to produce on
// demand (identical timestamps beyond a page, errors, slow answers).
type fakeLoki struct {
	entries []fakeEntry

	mu       sync.Mutex
	requests []*http.Request
}

type fakeEntry struct {
	labels map[string]string
	ts     int64
	line   string
}

func (f *fakeLoki) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.mu.Unlock()
	if r.URL.Path != "/loki/api/v1/query_range" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	start, err1 := strconv.ParseInt(q.Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("end"), 10, 64)
	limit, err3 := strconv.Atoi(q.Get("limit"))
	if err := errors.Join(err1, err2, err3); err != nil || q.Get("direction") != "forward" {
		http.Error(w, fmt.Sprintf("bad request: %v direction=%q", err, q.Get("direction")), http.StatusBadRequest)
		return
	}
	var in []fakeEntry
	for _, e := range f.entries {
		if e.ts >= start && e.ts < end {
			in = append(in, e)
		}
	}
	sort.SliceStable(in, func(i, j int) bool { return in[i].ts < in[j].ts })
	if len(in) > limit {
		in = in[:limit]
	}
	// Group by stream; list streams in reverse order of first appearance so
	// the client cannot rely on Loki's stream order.
	var keys []string
	byKey := map[string][]fakeEntry{}
	for _, e := range in {
		k := labelKey(e.labels)
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], e)
	}
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":{"resultType":"streams","result":[`)
	for i := len(keys) - 1; i >= 0; i-- {
		es := byKey[keys[i]]
		if i != len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteString(`{"stream":{`)
		first := true
		for k, v := range es[0].labels {
			if !first {
				b.WriteByte(',')
			}
			first = false
			fmt.Fprintf(&b, "%q:%q", k, v)
		}
		b.WriteString(`},"values":[`)
		for j, e := range es {
			if j > 0 {
				b.WriteByte(',')
			}
			// Every other value carries Loki 3's third element (structured
			// metadata), which the client must accept and ignore.
			if j%2 == 1 {
				fmt.Fprintf(&b, `["%d",%q,{"trace_id":"abc"}]`, e.ts, e.line)
			} else {
				fmt.Fprintf(&b, `["%d",%q]`, e.ts, e.line)
			}
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`],"stats":{}}}`)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

func (f *fakeLoki) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

var t0 = time.Date(2026, 1, 17, 3, 12, 0, 0, time.UTC)

func target() sources.Target {
	return sources.Target{Namespace: "edge", Pod: "api-gateway-1", Container: "gateway"}
}

func window() (time.Time, time.Time) { return t0.Add(-time.Minute), t0.Add(time.Hour) }

func newSource(t *testing.T, url string, o Options) *Source {
	t.Helper()
	o.URL = url
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestQuery(t *testing.T) {
	tests := []struct {
		name     string
		selector string
		target   sources.Target
		want     string
		wantErr  string
	}{
		{name: "default with container", target: target(),
			want: `{namespace="edge",pod="api-gateway-1",container="gateway"}`},
		{name: "default without container", target: sources.Target{Namespace: "edge", Pod: "p"},
			want: `{namespace="edge",pod="p"}`},
		{name: "values escaped", target: sources.Target{Namespace: `a"b`, Pod: `c\d`},
			want: `{namespace="a\"b",pod="c\\d"}`},
		{name: "custom template", selector: `{cluster="{{.Cluster}}",app="{{.Workload}}"}`,
			target: sources.Target{Cluster: "prod", Workload: "api"}, want: `{cluster="prod",app="api"}`},
		{name: "default needs pod", target: sources.Target{Namespace: "edge"}, wantErr: "needs a namespace and a pod"},
		{name: "unknown field", selector: `{x="{{.Nope}}"}`, target: target(), wantErr: "render selector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t, "http://loki:3100", Options{Selector: tt.selector})
			got, err := s.Query(tt.target)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Query = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	for _, o := range []Options{
		{},
		{URL: "loki:3100"},
		{URL: "ftp://loki"},
		{URL: "http://loki", PageLimit: -1},
		{URL: "http://loki", Selector: "{{"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", o)
		}
	}
}

// TestPagingMergesStreams pushes a Java trace split over streams the way
// Loki 3 splits it (by level), with a run of identical timestamps that
// straddles page boundaries, and reads it back 3 entries per page.
func TestPagingMergesStreams(t *testing.T) {
	info := map[string]string{"pod": "api-gateway-1", "detected_level": "info"}
	errl := map[string]string{"pod": "api-gateway-1", "detected_level": "error"}
	unk := map[string]string{"pod": "api-gateway-1", "detected_level": "unknown"}
	lines := []struct {
		labels map[string]string
		dt     time.Duration
		line   string
	}{
		{info, 0, "2026-01-17T03:12:00.000Z INFO starting"},
		{errl, time.Millisecond, "java.lang.OutOfMemoryError: Java heap space"},
		{unk, time.Millisecond + 1, "\tat a.B.c(B.java:1)"},
		{unk, time.Millisecond + 2, "\tat a.B.d(B.java:2)"},
		{unk, time.Millisecond + 3, "\tat a.B.e(B.java:3)"},
		// Four lines at one timestamp, in two streams: pages of 3 cut
		// through them, so the next page restarts at that timestamp and
		// must skip what it already returned.
		{info, 2 * time.Millisecond, "tie 1"},
		{info, 2 * time.Millisecond, "tie 2"},
		{unk, 2 * time.Millisecond, "tie 3"},
		{unk, 2 * time.Millisecond, "tie 4"},
		{info, 3 * time.Millisecond, "2026-01-17T03:12:00.003Z INFO after"},
		{info, time.Hour, "at the window end (inclusive)"},
		{info, time.Hour + 1, "after the window"},
	}
	f := &fakeLoki{}
	for _, l := range lines {
		f.entries = append(f.entries, fakeEntry{labels: l.labels, ts: t0.Add(l.dt).UnixNano(), line: l.line})
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSource(t, srv.URL, Options{PageLimit: 3, TenantID: "team-a", BearerToken: "s3cret"})
	start, end := window()
	res, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: target(), Start: start, End: end})
	if err != nil {
		t.Fatalf("SearchLogs: %v", err)
	}
	var want []string
	for _, l := range lines[:len(lines)-1] {
		want = append(want, l.line)
	}
	got := strings.Split(strings.TrimSuffix(string(res.Text), "\n"), "\n")
	// Loki does not order entries sharing a timestamp; compare the tie
	// group as a set and everything else in order.
	sort.Strings(got[5:9])
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("text:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Lines != len(want) || res.Truncated {
		t.Errorf("Lines=%d Truncated=%v, want %d false", res.Lines, res.Truncated, len(want))
	}
	if n := f.requestCount(); n < 4 {
		t.Errorf("%d requests, want paging (>= 4)", n)
	}
	if res.Query != `{namespace="edge",pod="api-gateway-1",container="gateway"}` {
		t.Errorf("Query = %q", res.Query)
	}
	r := f.requests[0]
	if r.Header.Get("X-Scope-OrgID") != "team-a" || r.Header.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("headers: %v", r.Header)
	}
	if q := r.URL.Query(); q.Get("limit") != "3" || q.Get("query") != res.Query ||
		q.Get("start") != strconv.FormatInt(start.UnixNano(), 10) {
		t.Errorf("first request %s", r.URL.RawQuery)
	}
}

// TestTieBeyondPage: more entries share one timestamp than a page holds.
// The reader asks for that nanosecond alone with a larger limit; it must
// not loop, and must say so when even that did not hold them all.
func TestTieBeyondPage(t *testing.T) {
	tests := []struct {
		name          string
		same, limit   int
		wantLines     int
		wantTruncated bool
	}{
		{name: "recovered by the tie query", same: 3, limit: 2, wantLines: 4},
		{name: "tie query full too", same: 5, limit: 2, wantLines: 5, wantTruncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLoki{}
			lb := map[string]string{"pod": "p"}
			for i := 0; i < tt.same; i++ {
				f.entries = append(f.entries, fakeEntry{labels: lb, ts: t0.UnixNano(), line: fmt.Sprintf("same %d", i)})
			}
			f.entries = append(f.entries, fakeEntry{labels: lb, ts: t0.UnixNano() + 1, line: "next"})
			srv := httptest.NewServer(f)
			defer srv.Close()
			s := newSource(t, srv.URL, Options{PageLimit: tt.limit})
			start, end := window()
			res, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: target(), Start: start, End: end})
			if err != nil {
				t.Fatalf("SearchLogs: %v", err)
			}
			if res.Truncated != tt.wantTruncated || res.Lines != tt.wantLines || !strings.HasSuffix(string(res.Text), "same 1\n"+map[bool]string{true: "same 2\nsame 3\n", false: "same 2\n"}[tt.wantTruncated]+"next\n") {
				t.Errorf("Truncated=%v Lines=%d text=%q; want %v, %d", res.Truncated, res.Lines, res.Text, tt.wantTruncated, tt.wantLines)
			}
			if n := f.requestCount(); n > 5 {
				t.Errorf("%d requests: looping on the tie", n)
			}
		})
	}
}

func TestByteCap(t *testing.T) {
	f := &fakeLoki{}
	for i := 0; i < 100; i++ {
		f.entries = append(f.entries, fakeEntry{labels: map[string]string{"pod": "p"}, ts: t0.Add(time.Duration(i) * time.Millisecond).UnixNano(), line: fmt.Sprintf("line %03d", i)})
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	start, end := window()
	tests := []struct {
		name      string
		opt, q    int64
		wantLines int
	}{
		{name: "query cap", q: 95, wantLines: 10}, // 9 bytes a line
		{name: "options cap", opt: 90, wantLines: 10},
		{name: "query cap wins", opt: 18, q: 45, wantLines: 5},
		{name: "no cap reached", q: 1 << 20, wantLines: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t, srv.URL, Options{PageLimit: 7, MaxBytes: tt.opt})
			res, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: target(), Start: start, End: end, MaxBytes: tt.q})
			if err != nil {
				t.Fatal(err)
			}
			if res.Lines != tt.wantLines || len(res.Text) != 9*tt.wantLines {
				t.Errorf("Lines=%d len=%d, want %d lines", res.Lines, len(res.Text), tt.wantLines)
			}
			if want := tt.wantLines < 100; res.Truncated != want {
				t.Errorf("Truncated=%v, want %v", res.Truncated, want)
			}
			// The newest lines are kept: the trace is at the end.
			if !strings.HasSuffix(string(res.Text), "line 098\nline 099\n") {
				t.Errorf("text ends %q", res.Text[max(0, len(res.Text)-20):])
			}
		})
	}
}

func TestErrors(t *testing.T) {
	start, end := window()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
		status  int
	}{
		{name: "LogQL parse error", status: 400, handler: func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "parse error at line 1, col 12: syntax error: unexpected }", http.StatusBadRequest)
		}, want: []string{"400 Bad Request", "parse error at line 1, col 12"}},
		{name: "rate limited", status: 429, handler: func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "too many outstanding requests", http.StatusTooManyRequests)
		}, want: []string{"rate limited", "429", "too many outstanding requests"}},
		{name: "unauthorized", status: 401, handler: func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no org id", http.StatusUnauthorized)
		}, want: []string{"401", "bearer token / tenant", "no org id"}},
		{name: "json error body", status: 500, handler: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"internal","error":"rpc error: code = Unavailable"}`))
		}, want: []string{"500 Internal Server Error", "rpc error: code = Unavailable"}},
		{name: "matrix result", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
		}, want: []string{`"matrix"`, "want streams"}},
		{name: "bad json", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"streams","result":[{"values":[["x","y"]]}]}}`))
		}, want: []string{"decode query_range response", `timestamp "x"`}},
		{name: "error status", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"status":"error","error":"boom"}`))
		}, want: []string{`status "error": boom`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			s := newSource(t, srv.URL, Options{BearerToken: "s3cret"})
			_, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: target(), Start: start, End: end})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the token: %v", err)
			}
			var se *StatusError
			if tt.status != 0 && (!errors.As(err, &se) || se.Code != tt.status) {
				t.Errorf("error %v is not a StatusError %d", err, tt.status)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s := newSource(t, url, Options{})
	start, end := window()
	_, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: target(), Start: start, End: end})
	if err == nil || !strings.Contains(err.Error(), "cannot reach "+url) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want cannot reach %s: ... refused", err, url)
	}
}

func TestContextTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s := newSource(t, srv.URL, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start, end := window()
	_, err := s.SearchLogs(ctx, sources.LogQuery{Target: target(), Start: start, End: end})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

func TestBadWindow(t *testing.T) {
	s := newSource(t, "http://127.0.0.1:1", Options{})
	for _, q := range []sources.LogQuery{
		{Target: target(), Start: t0, End: t0.Add(-time.Second)},
		{Target: target(), End: t0},
	} {
		if _, err := s.SearchLogs(context.Background(), q); err == nil || !strings.Contains(err.Error(), "bad window") {
			t.Errorf("SearchLogs(%v..%v) err = %v", q.Start, q.End, err)
		}
	}
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := Options{URL: "http://user:pw@loki:3100", BearerToken: "s3cret", TenantID: "t"}
	log.Info("config", "loki", o)
	if s := buf.String(); strings.Contains(s, "s3cret") || strings.Contains(s, ":pw@") || !strings.Contains(s, "bearer_token=true") {
		t.Errorf("logged %q", s)
	}
	s := newSource(t, "http://user:pw@127.0.0.1:1", Options{})
	start, end := window()
	_, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: target(), Start: start, End: end})
	if err == nil || strings.Contains(err.Error(), ":pw@") {
		t.Errorf("err = %v (want an error without the password)", err)
	}
}
