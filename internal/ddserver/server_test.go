package ddserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/sources"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const apiKey, appKey = "test-api-key-0123", "test-app-key-4567"

var t0 = time.Date(2026, 1, 17, 3, 0, 0, 0, time.UTC)

func do(t *testing.T, s *Server, method, path string, q url.Values, body any, keys bool) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	u := s.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if keys {
		req.Header.Set("DD-API-KEY", apiKey)
		req.Header.Set("DD-APPLICATION-KEY", appKey)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func loaded(t *testing.T) *Server {
	t.Helper()
	s := New(apiKey, appKey)
	t.Cleanup(s.Close)
	tags := []string{"kube_namespace:edge", "pod_name:api-0", "kube_container_name:gateway"}
	s.AddSeries("jvm.heap_memory", tags, []sources.Sample{{T: t0, V: 10}, {T: t0.Add(time.Second), V: math.NaN()}, {T: t0.Add(2 * time.Second), V: 30}})
	s.AddSeries("jvm.heap_memory", []string{"kube_namespace:edge", "pod_name:api-0", "kube_container_name:sidecar"}, []sources.Sample{{T: t0, V: 1}})
	s.AddSeries("jvm.heap_memory", []string{"kube_namespace:edge", "pod_name:api-1", "kube_container_name:gateway"}, []sources.Sample{{T: t0, V: 99}})
	for i := range 25 {
		s.AddLogs(LogEvent{Timestamp: t0.Add(time.Duration(i) * time.Second), Message: fmt.Sprintf("line %02d", i), Status: "info",
			Service: "gw", Tags: []string{"kube_namespace:edge", "pod_name:api-0"},
			Attributes: map[string]any{"error": map[string]any{"stack": "java.lang.OutOfMemoryError: x\n\tat a.B.c(B.java:1)"}}})
	}
	s.AddEvents(Event{Time: t0, Title: "Events from the Deployment edge/api", Message: "ScalingReplicaSet: Scaled up", Source: "kubernetes",
		Tags: []string{"kube_namespace:edge", "kube_deployment:api"}, Status: "info", EvtType: "kubernetes_apiserver"},
		Event{Time: t0.Add(time.Minute), Title: "[Triggered] heap", Source: "alert", MonitorID: 7, Tags: []string{"kube_namespace:edge"}})
	return s
}

// keysOK reports keys of got that the documented example lacks, recursively
// (arrays compare element shapes with the example's first element).
func extraKeys(prefix string, got, doc any) []string {
	var out []string
	switch g := got.(type) {
	case map[string]any:
		d, ok := doc.(map[string]any)
		if !ok {
			return []string{prefix + " is an object, the example's is not"}
		}
		for k, v := range g {
			dv, ok := d[k]
			if !ok {
				out = append(out, prefix+"."+k)
				continue
			}
			// Free-form attribute maps hold whatever was loaded.
			if k == "attributes" && prefix == ".data[].attributes" {
				continue
			}
			out = append(out, extraKeys(prefix+"."+k, v, dv)...)
		}
	case []any:
		d, ok := doc.([]any)
		if !ok {
			return []string{prefix + " is an array, the example's is not"}
		}
		if len(d) == 0 {
			return nil
		}
		for _, e := range g {
			if _, isArr := e.([]any); isArr {
				continue // pointlist pairs
			}
			out = append(out, extraKeys(prefix+"[]", e, d[0])...)
		}
	}
	return out
}

func readFixture(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func TestResponsesFollowDocs(t *testing.T) {
	s := loaded(t)
	s.FailNext(PathEvents, 1, http.StatusTooManyRequests)
	limit := 2
	cases := []struct {
		name, fixture, method, path string
		q                           url.Values
		body                        any
		keys                        bool
		status                      int
		decode                      any
	}{
		{"query", "v1_query.json", "GET", PathQuery, url.Values{"from": {fmt.Sprint(t0.Unix() - 10)}, "to": {fmt.Sprint(t0.Unix() + 10)},
			"query": {"max:jvm.heap_memory{kube_namespace:edge} by {kube_container_name}"}}, nil, true, 200, &datadogV1.MetricsQueryResponse{}},
		{"logs", "v2_logs_search.json", "POST", PathLogsSearch, nil, map[string]any{"filter": map[string]any{"from": t0.Add(-time.Hour).Format(time.RFC3339),
			"to": t0.Add(time.Hour).Format(time.RFC3339), "query": "kube_namespace:edge"}, "page": map[string]any{"limit": limit}}, true, 200, &datadogV2.LogsListResponse{}},
		{"events 429", "error_429.json", "GET", PathEvents, nil, nil, true, 429, &datadogV2.APIErrorResponse{}},
		{"events", "v2_events_list.json", "GET", PathEvents, url.Values{"filter[from]": {fmt.Sprint(t0.Add(-time.Hour).UnixMilli())},
			"filter[to]": {fmt.Sprint(t0.Add(time.Hour).UnixMilli())}, "page[limit]": {"1"}}, nil, true, 200, &datadogV2.EventsListResponse{}},
		{"forbidden", "error_403.json", "GET", PathQuery, url.Values{"from": {"1"}, "to": {"2"}, "query": {"avg:x{*}"}}, nil, false, 403, &datadogV1.APIErrorResponse{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := do(t, s, c.method, c.path, c.q, c.body, c.keys)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			var got any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, body)
			}
			if extra := extraKeys("", got, readFixture(t, c.fixture)); len(extra) > 0 {
				t.Errorf("keys not in the documented example %s: %v", c.fixture, extra)
			}
			// The example itself decodes into the client's model without
			// leaving unparsed fields, and so does the server's answer.
			for _, b := range [][]byte{mustRead(t, c.fixture), body} {
				v := reflect.New(reflect.TypeOf(c.decode).Elem()).Interface()
				if err := json.Unmarshal(b, v); err != nil {
					t.Fatalf("decode into %T: %v", v, err)
				}
				if u := reflect.ValueOf(v).Elem().FieldByName("UnparsedObject"); u.IsValid() && !u.IsNil() {
					t.Errorf("%T left unparsed: %v", v, u.Interface())
				}
			}
		})
	}
}

func mustRead(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAuth(t *testing.T) {
	s := loaded(t)
	q := url.Values{"from": {"1"}, "to": {"2"}, "query": {"avg:x{*}"}}
	for _, h := range []map[string]string{{}, {"DD-API-KEY": apiKey}, {"DD-API-KEY": apiKey, "DD-APPLICATION-KEY": "wrong"}, {"DD-API-KEY": "wrong", "DD-APPLICATION-KEY": appKey}} {
		req, _ := http.NewRequest("GET", s.URL+PathQuery+"?"+q.Encode(), nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || strings.TrimSpace(string(b)) != `{"errors":["Forbidden"]}` {
			t.Errorf("headers %v: %d %s, want 403 Forbidden", h, resp.StatusCode, b)
		}
	}
	if status, _, _ := do(t, s, "GET", PathQuery, q, nil, true); status != 200 {
		t.Errorf("with both keys: %d", status)
	}
}

func TestMetricsQuery(t *testing.T) {
	s := loaded(t)
	type pt = [2]any
	cases := []struct {
		query string
		want  map[string][]pt // tag_set joined → points
	}{
		{"max:jvm.heap_memory{kube_namespace:edge,pod_name:api-0} by {kube_container_name}", map[string][]pt{
			"kube_container_name:gateway": {{float64(t0.UnixMilli()), 10.0}, {float64(t0.Add(time.Second).UnixMilli()), nil}, {float64(t0.Add(2 * time.Second).UnixMilli()), 30.0}},
			"kube_container_name:sidecar": {{float64(t0.UnixMilli()), 1.0}}}},
		{"sum:jvm.heap_memory{kube_namespace:edge} by {kube_container_name} / 10", map[string][]pt{
			"kube_container_name:gateway": {{float64(t0.UnixMilli()), 10.9}, {float64(t0.Add(time.Second).UnixMilli()), nil}, {float64(t0.Add(2 * time.Second).UnixMilli()), 3.0}},
			"kube_container_name:sidecar": {{float64(t0.UnixMilli()), 0.1}}}},
		{"avg:jvm.heap_memory{pod_name:api-1}", map[string][]pt{"": {{float64(t0.UnixMilli()), 99.0}}}},
		{"avg:jvm.heap_memory{pod_name:nope}", map[string][]pt{}},
	}
	for _, c := range cases {
		q := url.Values{"from": {fmt.Sprint(t0.Unix())}, "to": {fmt.Sprint(t0.Unix() + 5)}, "query": {c.query}}
		status, _, body := do(t, s, "GET", PathQuery, q, nil, true)
		if status != 200 {
			t.Fatalf("%s: %d %s", c.query, status, body)
		}
		var resp struct {
			Series []struct {
				TagSet    []string `json:"tag_set"`
				Pointlist [][2]any `json:"pointlist"`
			} `json:"series"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		got := map[string][]pt{}
		for _, ser := range resp.Series {
			got[strings.Join(ser.TagSet, ",")] = ser.Pointlist
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.query, got, c.want)
		}
	}
	if status, _, _ := do(t, s, "GET", PathQuery, url.Values{"from": {"1"}, "to": {"2"}, "query": {"jvm.heap_memory"}}, nil, true); status != 400 {
		t.Errorf("unparseable query: %d, want 400", status)
	}
}

func TestLogsCursorPagination(t *testing.T) {
	s := loaded(t)
	for _, sortOrder := range []string{"timestamp", "-timestamp"} {
		var seen []string
		cursor := ""
		pages := 0
		for {
			body := map[string]any{"filter": map[string]any{"from": t0.Format(time.RFC3339), "to": fmt.Sprint(t0.Add(time.Hour).UnixMilli()),
				"query": "kube_namespace:edge pod_name:api-0"}, "page": map[string]any{"limit": 10, "cursor": cursor}, "sort": sortOrder}
			status, _, b := do(t, s, "POST", PathLogsSearch, nil, body, true)
			if status != 200 {
				t.Fatalf("%d %s", status, b)
			}
			var resp datadogV2.LogsListResponse
			if err := json.Unmarshal(b, &resp); err != nil {
				t.Fatal(err)
			}
			pages++
			for _, l := range resp.Data {
				seen = append(seen, l.Attributes.GetMessage())
			}
			cursor = resp.GetMeta().Page.GetAfter()
			if cursor == "" {
				break
			}
		}
		if pages != 3 || len(seen) != 25 {
			t.Fatalf("sort %s: %d pages, %d events; want 3 pages, 25 events", sortOrder, pages, len(seen))
		}
		sorted := sort.StringsAreSorted(seen)
		if (sortOrder == "timestamp") != sorted {
			t.Errorf("sort %s: order %v", sortOrder, seen)
		}
	}
	bad := map[string]any{"filter": map[string]any{"query": "*"}, "page": map[string]any{"cursor": "bogus"}}
	if status, _, _ := do(t, s, "POST", PathLogsSearch, nil, bad, true); status != 400 {
		t.Errorf("bogus cursor: %d, want 400", status)
	}
	over := map[string]any{"page": map[string]any{"limit": 1001}}
	if status, _, _ := do(t, s, "POST", PathLogsSearch, nil, over, true); status != 400 {
		t.Errorf("limit 1001: %d, want 400", status)
	}
}

func TestSearchSyntax(t *testing.T) {
	d := doc{text: "java.lang.OutOfMemoryError: Java heap space", fields: map[string]string{"status": "error", "service": "gw"},
		tags: []string{"kube_namespace:edge", "pod_name:api-7f9-x", "source:kubernetes"}, attrs: map[string]any{"error": map[string]any{"kind": "OOM"}, "a.b": 3}}
	cases := map[string]bool{
		"":                        true,
		"*":                       true,
		"kube_namespace:edge":     true,
		"kube_namespace:other":    false,
		"pod_name:api-*":          true,
		"pod_name:*-x":            true,
		"status:error":            true,
		"status:info":             false,
		`"heap space"`:            true,
		"OutOfMemoryError":        true,
		"LEAK:":                   false,
		`status:error OR "LEAK:"`: true,
		`kube_namespace:edge (pod_name:nope OR kube_deployment:nope)`: false,
		`kube_namespace:edge (pod_name:nope OR source:kubernetes)`:    true,
		"-status:error":                     false,
		"NOT service:other":                 true,
		"@error.kind:OOM":                   true,
		"@a.b:3":                            true,
		"kube_namespace:edge AND status:ok": false,
	}
	for q, want := range cases {
		m, err := parseSearch(q)
		if err != nil {
			t.Errorf("%q: %v", q, err)
			continue
		}
		if got := m(d); got != want {
			t.Errorf("%q matched %v, want %v", q, got, want)
		}
	}
	for _, q := range []string{"(a", "a OR", `"open`} {
		if _, err := parseSearch(q); err == nil {
			t.Errorf("%q parsed, want error", q)
		}
	}
}

func TestFaultsAndLatencyAndRecording(t *testing.T) {
	s := loaded(t)
	s.FailNext(PathLogsSearch, 2, 500)
	for i := range 3 {
		status, _, _ := do(t, s, "POST", PathLogsSearch, nil, map[string]any{}, true)
		if want := map[bool]int{true: 500, false: 200}[i < 2]; status != want {
			t.Errorf("request %d: %d, want %d", i, status, want)
		}
	}
	s.FailNext(PathEvents, 1, 429)
	status, h, _ := do(t, s, "GET", PathEvents, nil, nil, true)
	if status != 429 || h.Get("X-RateLimit-Reset") == "" || h.Get("X-RateLimit-Limit") == "" {
		t.Errorf("429: %d %v", status, h)
	}
	s.FailNext(PathEvents, 1, 200)
	if _, _, b := do(t, s, "GET", PathEvents, nil, nil, true); json.Valid(b) {
		t.Errorf("malformed fault sent valid JSON %s", b)
	}
	s.Latency(PathQuery, 150*time.Millisecond)
	start := time.Now()
	do(t, s, "GET", PathQuery, url.Values{"from": {"1"}, "to": {"2"}, "query": {"avg:x{*}"}}, nil, true)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("latency not applied: %v", d)
	}
	reqs := s.Requests()
	if len(reqs) != 6 || reqs[5].Path != PathQuery || reqs[0].Method != "POST" || reqs[5].Header.Get("DD-API-KEY") != apiKey {
		t.Errorf("recorded %d requests: %+v", len(reqs), reqs)
	}
}

func TestParsePromMatrixAndTags(t *testing.T) {
	b, err := os.ReadFile("../../examples/incidents/image-decode-bomb/metrics/jvm_heap_used.json")
	if err != nil {
		t.Fatal(err)
	}
	ss, err := ParsePromMatrix(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || len(ss[0].Samples) < 10 || ss[0].Samples[1].T.Sub(ss[0].Samples[0].T) != 250*time.Millisecond {
		t.Fatalf("parsed %+v", ss)
	}
	got := TagsFromLabels(ss[0].Labels)
	want := []string{"kube_container_name:gateway", "kube_namespace:edge", "pod_name:api-gateway-6bqn5pfqmq-br6bl"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	if _, err := ParsePromMatrix([]byte(`{"data":{"result":[{"metric":{},"values":[[1,2]]}]}}`)); err == nil {
		t.Error("numeric sample value accepted")
	}
}
