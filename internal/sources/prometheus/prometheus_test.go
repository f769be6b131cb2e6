package prometheus

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRangeRendersQueryAndParsesMatrix(t *testing.T) {
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		if r.URL.Path != "/api/v1/query_range" {
			http.NotFound(w, r)
			return
		}
		gotQuery = r.Form.Get("query")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[
		  {"metric":{"container":"app","pod":"p"},"values":[[1773453600,"100"],[1773453615,"NaN"],[1773453630,"300"]]}]}}`))
	}))
	defer srv.Close()
	s, err := New(Options{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1773453600, 0)
	ser, err := s.Range(context.Background(), "jvm_old_gen_used", Target{Namespace: "shop", Pod: "p", Container: "app"}, start, start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(gotQuery, `namespace="shop",pod="p",container="app"`) || !strings.Contains(gotQuery, `id=~".*(Old|Tenured) Gen"`) {
		t.Errorf("query = %s", gotQuery)
	}
	if len(ser) != 1 || len(ser[0].Samples) != 2 || ser[0].Samples[1].V != 300 {
		t.Fatalf("series = %+v (NaN must be dropped)", ser)
	}
	// EncodeMatrix writes what a bundle stores; it must decode to the same samples.
	body, err := EncodeMatrix(ser)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Data struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &back); err != nil || len(back.Data.Result[0].Values) != 2 || back.Data.Result[0].Values[1][1] != "300" {
		t.Errorf("EncodeMatrix = %s (%v)", body, err)
	}
}

func TestRangeErrorsAreClear(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"garbage", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>proxy error</html>")) }, "query_range jvm_heap_used"},
		{"api error", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"parse error at char 3"}`))
		}, "parse error at char 3"},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
			}
		}, "context deadline exceeded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			s, err := New(Options{Address: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err = s.Range(ctx, "jvm_heap_used", Target{Namespace: "a", Pod: "b"}, time.Unix(0, 0), time.Unix(3600, 0))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestBadQueryTemplate(t *testing.T) {
	_, err := New(Options{Address: "http://x", Queries: map[string]string{"jvm_heap_used": "{{.Namespace"}})
	if err == nil || !strings.Contains(err.Error(), "query for signal jvm_heap_used") {
		t.Errorf("err = %v", err)
	}
}

func TestQueriesOverridePerSignal(t *testing.T) {
	defaults := len(DefaultQueries())
	cases := []struct {
		name    string
		queries map[string]string
		signal  string
		target  Target
		want    string // substring of the query sent for signal
		signals int
	}{
		{"defaults", nil, "container_restarts", Target{Namespace: "a", Pod: "b"},
			`max by (namespace,pod,container) (kube_pod_container_status_restarts_total{namespace="a",pod="b"})`, defaults},
		{"one overridden, the rest kept", map[string]string{"jvm_heap_used": `my_heap{pod="{{.Pod}}"}`}, "jvm_heap_used", Target{Pod: "b"},
			`my_heap{pod="b"}`, defaults},
		{"an extra signal", map[string]string{"jvm_code_cache": `cc{pod="{{.Pod}}"}`}, "jvm_threads_live", Target{Pod: "b"},
			`jvm_threads_live_threads{`, defaults + 1},
		{"one switched off", map[string]string{"jvm_gc_pause_seconds": ""}, "jvm_heap_used", Target{Pod: "b"},
			`jvm_memory_bytes_used{`, defaults - 1},
		{"values escaped for PromQL", nil, "jvm_threads_live", Target{Namespace: `x"}) or up{a="`, Pod: `p\`},
			`namespace="x\"}) or up{a=\"",pod="p\\"`, defaults},
		{"bundle replay asks exactly for its signals", SignalQueries([]string{"jvm_heap_used", "custom"}), "custom", Target{},
			`custom`, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				got = r.Form.Get("query")
				w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
			}))
			defer srv.Close()
			s, err := New(Options{Address: srv.URL, Queries: c.queries})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(s.Signals()); n != c.signals {
				t.Errorf("%d signals, want %d: %v", n, c.signals, s.Signals())
			}
			if _, err := s.Range(context.Background(), c.signal, c.target, time.Unix(0, 0), time.Unix(60, 0)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, c.want) {
				t.Errorf("query = %s\nwant it to contain %s", got, c.want)
			}
		})
	}
}
