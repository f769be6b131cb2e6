package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/bundletest"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/sources"
	"github.com/oombot/oombot/internal/sources/kube"
	"github.com/oombot/oombot/internal/sources/prometheus"
	"github.com/oombot/oombot/internal/triage"
)

// Collecting from a cluster (here: a recorded incident served through the
// same client interfaces) and triaging the new bundle gives the same
// diagnosis as triaging the original.
func TestCollectRoundTrip(t *testing.T) {
	src, err := bundle.Load("../../../examples/incidents/image-decode-bomb")
	if err != nil {
		t.Fatal(err)
	}
	prom, err := prometheus.New(prometheus.Options{Address: "http://replay.invalid", Transport: src.PrometheusTransport(), Queries: prometheus.SignalQueries(bundle.Signals)})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "incident")
	var stdout, stderr bytes.Buffer
	m := src.Manifest
	err = Collect(context.Background(), factory.IOStreams{Out: &stdout, Err: &stderr}, kube.New(src.Clientset(), kube.Options{}), Sources{Metrics: []triage.Metrics{prom}},
		Request{Cluster: "prod", Namespace: m.Target.Namespace, Pod: m.Target.Pod, Container: m.Target.Container, Out: out, Since: m.FiredAt.Sub(src.Pod.CreationTimestamp.Time) + 3600e9, Now: m.FiredAt})
	if err != nil {
		t.Fatalf("collect: %v (%s)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "bot triage --bundle "+out) {
		t.Errorf("stdout = %q", stdout.String())
	}
	got, err := bundle.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Warnings) > 0 {
		t.Errorf("collected bundle has warnings: %v", got.Warnings)
	}
	if len(got.Metrics) == 0 || len(got.Logs) == 0 || len(got.Events) != len(src.Events) {
		t.Errorf("collected metrics=%d logs=%d events=%d (source events %d)", len(got.Metrics), len(got.Logs), len(got.Events), len(src.Events))
	}
	// A live cluster cannot give GC log files, class histograms or the node's
	// kernel log, so confidence may drop; who killed it and why must not.
	a, b := bundletest.Triage(t, "../../../examples/incidents/image-decode-bomb"), bundletest.Triage(t, out)
	if a.Termination.Killer != b.Termination.Killer || len(b.Matches) == 0 || a.Matches[0].ID != b.Matches[0].ID {
		t.Errorf("diagnosis changed after collect:\n original:  %s\n collected: %s", a.Verdict, b.Verdict)
	}
	if len(b.Evidence.OOMErrors) != len(a.Evidence.OOMErrors) || len(b.Evidence.Trends) != len(a.Evidence.Trends) || len(b.Evidence.Deploys) != len(a.Evidence.Deploys) {
		t.Errorf("evidence lost in collect: ooms %d→%d trends %d→%d deploys %d→%d", len(a.Evidence.OOMErrors), len(b.Evidence.OOMErrors),
			len(a.Evidence.Trends), len(b.Evidence.Trends), len(a.Evidence.Deploys), len(b.Evidence.Deploys))
	}
}

func TestCollectMissingPod(t *testing.T) {
	src, err := bundle.Load("../../../examples/incidents/image-decode-bomb")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = Collect(context.Background(), factory.IOStreams{Out: &stdout, Err: &stderr}, kube.New(src.Clientset(), kube.Options{}), Sources{},
		Request{Namespace: src.Manifest.Target.Namespace, Pod: "ghost", Out: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("err = %v", err)
	}
}

// TestCollectLogStoresAndEvents: what a log store and an event stream
// returned is recorded (logstore/<name>.log, events/external.json) and
// replayed by the bundle engine: a live incident becomes a playbook test.
func TestCollectLogStoresAndEvents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "src")
	if err := os.CopyFS(dir, os.DirFS("../../../examples/incidents/image-decode-bomb")); err != nil {
		t.Fatal(err)
	}
	prev, err := os.ReadFile(filepath.Join(dir, "logs", "gateway.previous.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logstore"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "logstore", "datadog.log"), prev, 0o644); err != nil {
		t.Fatal(err)
	}
	src0, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	evs := []sources.Event{{Time: src0.Manifest.FiredAt.Add(-time.Hour), Kind: "deploy", Title: "Deployed api-gateway 2.14.0", Source: "datadog", ID: "42"}}
	data, _ := json.Marshal(evs)
	if err := os.MkdirAll(filepath.Join(dir, "events"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "events", "external.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := bundle.Load(dir)
	if err != nil || len(src.Warnings) > 0 {
		t.Fatalf("source bundle: %v %v", err, src.Warnings)
	}
	var logs []triage.LogSearch
	for _, l := range src.LogStoreReplays() {
		logs = append(logs, l)
	}
	out := filepath.Join(t.TempDir(), "incident")
	m := src.Manifest
	var stdout, stderr bytes.Buffer
	err = Collect(context.Background(), factory.IOStreams{Out: &stdout, Err: &stderr}, kube.New(src.Clientset(), kube.Options{}),
		Sources{Logs: logs, Events: []triage.EventSource{src.EventsReplay()}},
		Request{Cluster: "prod", Namespace: m.Target.Namespace, Pod: m.Target.Pod, Out: out, Since: 6 * time.Hour, Now: m.FiredAt})
	if err != nil {
		t.Fatalf("collect: %v (%s)", err, stderr.String())
	}
	got, err := bundle.Load(out)
	if err != nil || len(got.Warnings) > 0 {
		t.Fatalf("collected: %v %v", err, got.Warnings)
	}
	stored, err := got.ReadFile(got.LogStores["datadog"])
	if err != nil || !bytes.Equal(stored, prev) {
		t.Fatalf("log store not recorded as returned (%d vs %d bytes): %v", len(stored), len(prev), err)
	}
	e, err := factory.BundleEngine(got)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.Run(context.Background(), factory.BundleRequest(got))
	if err != nil {
		t.Fatal(err)
	}
	var deploy bool
	for _, d := range rep.Evidence.Deploys {
		deploy = deploy || d.ID == "event/datadog/42"
	}
	if !deploy {
		t.Errorf("recorded deploy event not replayed: %+v", rep.Evidence.Deploys)
	}
	found := false
	for _, s := range rep.Sources {
		found = found || (s.Name == "bundle/datadog" && s.Status == "ok")
	}
	if !found {
		t.Errorf("log store replay not used: %+v", rep.Sources)
	}
}
