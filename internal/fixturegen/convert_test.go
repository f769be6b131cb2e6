package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// convertFixture converts the real run excerpt in testdata into a temp bundle.
func convertFixture(t *testing.T) (string, *Scenario) {
	t.Helper()
	cfg, err := LoadConfig("testdata/scenarios.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Scenario("image-decode-bomb")
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := Convert("testdata/run-image-decode-bomb", s, dst); err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return dst, s
}

func TestConvertPodRoundTrips(t *testing.T) {
	dst, s := convertFixture(t)
	b, err := os.ReadFile(filepath.Join(dst, "pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := sigsyaml.UnmarshalStrict(b, &pod); err != nil {
		t.Fatalf("pod.yaml does not decode as a v1 Pod: %v", err)
	}
	if pod.Kind != "Pod" || pod.APIVersion != "v1" || pod.UID == "" || pod.Namespace != s.Namespace {
		t.Errorf("metadata: kind %q apiVersion %q uid %q namespace %q", pod.Kind, pod.APIVersion, pod.UID, pod.Namespace)
	}
	if len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].Kind != "ReplicaSet" {
		t.Errorf("ownerReferences = %+v, want one ReplicaSet", pod.OwnerReferences)
	}
	c := pod.Spec.Containers[0]
	if got := c.Resources.Limits.Memory().Value(); got != 805306368 {
		t.Errorf("memory limit = %d, want 805306368", got)
	}
	if len(c.Env) != 1 || c.Env[0].Value != "-Xms64m -Xmx768m" {
		t.Errorf("env = %+v, want JAVA_TOOL_OPTIONS with the run's heap flags", c.Env)
	}
	for _, a := range c.Args {
		if strings.HasPrefix(a, "-Dgateway.") || strings.HasPrefix(a, "-Doombot.") || strings.Contains(a, "/tmp/") {
			t.Errorf("pod args leak harness detail %q", a)
		}
	}
	cs := pod.Status.ContainerStatuses[0]
	term := cs.LastTerminationState.Terminated
	if term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Fatalf("lastState.terminated = %+v, want OOMKilled/137", term)
	}
	// The killed run started at the anchor; the shift keeps the sub-second part.
	if !term.StartedAt.Time.Truncate(time.Second).Equal(s.Anchor) {
		t.Errorf("terminated.startedAt = %v, want %v", term.StartedAt.Time, s.Anchor)
	}
	if cs.State.Running == nil || cs.RestartCount != 1 || !cs.Ready {
		t.Errorf("state = %+v restartCount %d ready %v, want running, 1, true", cs.State, cs.RestartCount, cs.Ready)
	}
	if !cs.State.Running.StartedAt.After(term.FinishedAt.Time) {
		t.Errorf("restart %v is not after the kill %v", cs.State.Running.StartedAt, term.FinishedAt)
	}
}

func TestConvertEventsAndWorkloadDecode(t *testing.T) {
	dst, _ := convertFixture(t)
	var events corev1.EventList
	b, err := os.ReadFile(filepath.Join(dst, "events.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.Unmarshal(b, &events); err != nil {
		t.Fatalf("events.yaml: %v", err)
	}
	counts := map[string]int32{}
	for _, e := range events.Items {
		counts[e.Reason] = e.Count
	}
	if counts["Started"] != 2 || counts["Pulled"] != 2 {
		t.Errorf("event counts = %v, want Started and Pulled twice (first start + restart)", counts)
	}
	b, err = os.ReadFile(filepath.Join(dst, "workload.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := sigsyaml.Unmarshal(b, &list); err != nil {
		t.Fatalf("workload.yaml: %v", err)
	}
	var kinds []string
	for _, it := range list.Items {
		kinds = append(kinds, it.Kind+"@"+it.Metadata.Annotations["deployment.kubernetes.io/revision"])
	}
	if got := strings.Join(kinds, ","); got != "Deployment@2,ReplicaSet@1,ReplicaSet@2" {
		t.Errorf("workload items = %s", got)
	}
}

func TestConvertShiftsEveryTimestamp(t *testing.T) {
	dst, s := convertFixture(t)
	day := s.Anchor.Format("2006-01-02")
	for _, f := range []string{"logs/gateway.previous.log", "logs/gateway.log", "gc/gateway.log"} {
		b, err := os.ReadFile(filepath.Join(dst, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "2026-11-23") {
			t.Errorf("%s still holds the run's real date", f)
		}
		if !strings.Contains(string(b), day) {
			t.Errorf("%s holds no timestamp on %s", f, day)
		}
	}
	k, err := os.ReadFile(filepath.Join(dst, "node/kernel.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(k), "[Sat Mar 14 02:00:43 2026] Memory cgroup out of memory: Killed process 26092 (java)") {
		t.Errorf("kernel log not shifted to the anchor:\n%s", lastLine(string(k)))
	}
	var m struct {
		FiredAt string `yaml:"firedAt"`
		Target  struct{ Pod, Container string }
	}
	b, err := os.ReadFile(filepath.Join(dst, "bundle.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.FiredAt != "2026-03-14T02:01:13Z" {
		t.Errorf("firedAt = %s, want the kill (02:00:43) + 30s", m.FiredAt)
	}
}

func TestConvertMetricsShape(t *testing.T) {
	dst, s := convertFixture(t)
	entries, err := os.ReadDir(filepath.Join(dst, "metrics"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 11 {
		t.Errorf("got %d metric files, want the 11 canonical signals", len(entries))
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dst, "metrics", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Status string `json:"status"`
			Data   struct {
				ResultType string `json:"resultType"`
				Result     []struct {
					Metric map[string]string `json:"metric"`
					Values [][2]any          `json:"values"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if body.Status != "success" || body.Data.ResultType != "matrix" || len(body.Data.Result) != 1 {
			t.Fatalf("%s: status %q type %q series %d", e.Name(), body.Status, body.Data.ResultType, len(body.Data.Result))
		}
		r := body.Data.Result[0]
		if r.Metric["namespace"] != s.Namespace || r.Metric["container"] != "gateway" || r.Metric["pod"] == "" {
			t.Errorf("%s: labels %v", e.Name(), r.Metric)
		}
		prev := 0.0
		for _, v := range r.Values {
			ts, ok := v[0].(float64)
			if !ok {
				t.Fatalf("%s: timestamp %v is not a number", e.Name(), v[0])
			}
			if _, ok := v[1].(string); !ok {
				t.Fatalf("%s: value %v is not a string", e.Name(), v[1])
			}
			if ts < float64(s.Anchor.Unix()) || ts <= prev {
				t.Fatalf("%s: timestamp %v before the anchor or not increasing", e.Name(), ts)
			}
			if ms := int64(ts * 1000); ms%stepMs != 0 {
				t.Fatalf("%s: timestamp %v is off the %d ms grid", e.Name(), ts, stepMs)
			}
			prev = ts
		}
	}
}

func TestFilterOOMReportsKeepsOnlyOurCgroup(t *testing.T) {
	b, err := os.ReadFile("testdata/dmesg-two-cgroups.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	memcg := "/kubepods/burstable/pod807ee8e4-c23e-40e5-8890-743a618cdb3a/9e01dfc10123cf5ed676b11cbfb9057b615fce2b8eb6a6a743741eb44f08448b"
	got := FilterOOMReports(lines, memcg)
	text := strings.Join(got, "\n")
	if strings.Contains(text, "python3") || strings.Contains(text, "link becomes ready") {
		t.Errorf("kept another cgroup's report or noise")
	}
	if !strings.Contains(got[0], "invoked oom-killer") {
		t.Errorf("first kept line %q, want the report header", got[0])
	}
	if !strings.Contains(text, "Killed process 26092 (java)") || !strings.Contains(lastLine(text), "oom_reaper: reaped process 26092") {
		t.Errorf("our kill or its reaper line is missing")
	}
	if n := len(FilterOOMReports(lines, "/kubepods/other")); n != 0 {
		t.Errorf("unknown cgroup kept %d lines", n)
	}
}

func TestCutAfter(t *testing.T) {
	text := "[2026-03-14T02:00:01.000+0000][1.0s] a\n  detail of a\n[2026-03-14T02:00:05.000+0000][5.0s] b\n[2026-03-14T02:00:09.000+0000][9.0s] c\n"
	got := CutAfter(text, time.Date(2026, 3, 14, 2, 0, 5, 0, time.UTC))
	want := "[2026-03-14T02:00:01.000+0000][1.0s] a\n  detail of a\n[2026-03-14T02:00:05.000+0000][5.0s] b\n"
	if got != want {
		t.Errorf("CutAfter:\n got %q\nwant %q", got, want)
	}
}

func TestHistogramName(t *testing.T) {
	sh := Shifter{Offset: -2 * time.Hour}
	got, err := HistogramName("2026-11-23T11:04:59.812Z.txt", sh)
	if err != nil || got != "2026-11-23T09:04:59Z.txt" {
		t.Errorf("HistogramName = %q, %v", got, err)
	}
	if _, err := HistogramName("latest.txt", sh); err == nil {
		t.Error("a name that is not a time was accepted")
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}
