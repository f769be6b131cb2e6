package collect

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/sources/kube"
	"github.com/oombot/oombot/internal/sources/prometheus"
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
	err = Collect(context.Background(), factory.IOStreams{Out: &stdout, Err: &stderr}, kube.New(src.Clientset(), kube.Options{}), prom,
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
	triageOf := func(b *bundle.Bundle) *report.Report {
		e, err := factory.BundleEngine(b)
		if err != nil {
			t.Fatal(err)
		}
		set, _, err := factory.Playbooks("")
		if err != nil {
			t.Fatal(err)
		}
		e.Playbooks = set
		r, err := e.Run(context.Background(), factory.BundleRequest(b))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// A live cluster cannot give GC log files, class histograms or the node's
	// kernel log, so confidence may drop; who killed it and why must not.
	a, b := triageOf(src), triageOf(got)
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
	err = Collect(context.Background(), factory.IOStreams{Out: &stdout, Err: &stderr}, kube.New(src.Clientset(), kube.Options{}), nil,
		Request{Namespace: src.Manifest.Target.Namespace, Pod: "ghost", Out: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("err = %v", err)
	}
}
