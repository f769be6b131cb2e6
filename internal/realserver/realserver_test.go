package realserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/sources"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOpenMetrics(t *testing.T) {
	t0 := time.Unix(1768619521, 250e6)
	cases := []struct {
		name    string
		series  []sources.Series
		want    string
		wantErr string
	}{
		{
			name: "families grouped, labels sorted and escaped, samples in time order",
			series: []sources.Series{
				{Signal: "b_metric", Labels: map[string]string{"pod": "p", "id": `G1 "Old" Gen`}, Samples: []sources.Sample{{T: t0.Add(time.Second), V: 2}, {T: t0, V: 1.5}}},
				{Signal: "ignored", Labels: map[string]string{"__name__": "a_metric"}, Samples: []sources.Sample{{T: t0, V: 805306368}}},
				{Signal: "b_metric", Labels: map[string]string{"pod": "o"}, Samples: []sources.Sample{{T: t0, V: 3}}},
			},
			want: "a_metric 805306368 1768619521.25\n" +
				`b_metric{id="G1 \"Old\" Gen",pod="p"} 1.5 1768619521.25` + "\n" +
				`b_metric{id="G1 \"Old\" Gen",pod="p"} 2 1768619522.25` + "\n" +
				`b_metric{pod="o"} 3 1768619521.25` + "\n",
		},
		{
			name:    "bad metric name",
			series:  []sources.Series{{Signal: "jvm.heap"}},
			wantErr: `"jvm.heap" is not a valid metric name`,
		},
		{
			name:    "duplicate timestamp",
			series:  []sources.Series{{Signal: "m", Samples: []sources.Sample{{T: t0, V: 1}, {T: t0, V: 2}}}},
			wantErr: "two samples at",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := OpenMetrics(c.series)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// fakeTB records what Require asks of the test.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped = toString(args)
}
func (f *fakeTB) Fatal(args ...any) { f.fatal = toString(args) }
func toString(args []any) string    { b, _ := json.Marshal(args); return string(b) }

func TestRequireSkipsLocallyAndFailsInCI(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			f := &fakeTB{TB: t}
			if p := Require(f, "no-such-binary-oombot", "nor-this-one"); p != "" {
				t.Fatalf("path = %q", p)
			}
			got := f.skipped
			if ci == "true" {
				got = f.fatal
				if f.skipped != "" {
					t.Errorf("skipped in CI: %s", f.skipped)
				}
			} else if f.fatal != "" {
				t.Errorf("failed outside CI: %s", f.fatal)
			}
			if !strings.Contains(got, "no-such-binary-oombot or nor-this-one not found") || !strings.Contains(got, "apt-get install") {
				t.Errorf("message = %s", got)
			}
		})
	}
	if p := Require(t, "no-such-binary-oombot", "sh"); !strings.HasSuffix(p, "/sh") {
		t.Errorf("alternative not found: %q", p)
	}
}

// TestPrometheusServesBackfilledSamples checks the whole path: backfill
// two months before "now", start, query at a sample's exact time.
func TestPrometheusServesBackfilledSamples(t *testing.T) {
	t0 := time.Date(2026, 1, 17, 3, 12, 1, 0, time.UTC)
	prom := Prometheus(t, PromOptions{
		Series: []sources.Series{{Signal: "jvm_threads_live_threads", Labels: map[string]string{"pod": "p"},
			Samples: []sources.Sample{{T: t0, V: 7}, {T: t0.Add(250 * time.Millisecond), V: 9}}}},
		OpenMetrics: "raw_metric{a=\"b\"} 42 1768619521\n",
	})
	for _, c := range []struct{ query, at, want string }{
		{"jvm_threads_live_threads", "1768619521.25", "9"},
		{"jvm_threads_live_threads", "1768619521", "7"},
		{"raw_metric", "1768619521", "42"},
	} {
		resp, err := http.Get(prom.URL + "/api/v1/query?" + url.Values{"query": {c.query}, "time": {c.at}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &r); err != nil || len(r.Data.Result) != 1 || r.Data.Result[0].Value[1] != c.want {
			t.Errorf("%s at %s = %s (%v), want %s", c.query, c.at, body, err, c.want)
		}
	}
	prom.Stop()
	if _, err := http.Get(prom.URL + "/-/ready"); err == nil {
		t.Error("Prometheus still answers after Stop")
	}
}

func TestAlertmanagerAcceptsAlerts(t *testing.T) {
	am := Alertmanager(t, AMOptions{Config: "route:\n  receiver: none\nreceivers:\n  - name: none\n"})
	am.PostAlerts(t, Alert{Labels: map[string]string{"alertname": "KubePodOOMKilled", "pod": "p"}})
	resp, err := http.Get(am.URL + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"alertname":"KubePodOOMKilled"`) {
		t.Errorf("alerts = %s", body)
	}
}
