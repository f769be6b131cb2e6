// Package collect implements `bot collect`: record an incident bundle from a
// live cluster (and Prometheus), in the same files kubectl and curl print,
// so the incident can be triaged later, shared, or turned into a playbook test.
package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/sources"
	"github.com/oombot/oombot/internal/sources/datadog"
	"github.com/oombot/oombot/internal/sources/kube"
	"github.com/oombot/oombot/internal/sources/loki"
	"github.com/oombot/oombot/internal/sources/prometheus"
	"github.com/oombot/oombot/internal/triage"
)

// Usage is the command's help text.
const Usage = `Usage:
  bot collect POD -o DIR [-n NAMESPACE] [-c CONTAINER] [--context NAME] [--kubeconfig FILE]
              [--prometheus URL] [--datadog-site SITE] [--loki URL] [--since 6h] [--alert TEXT]

Record an incident bundle: pod.yaml, events.yaml, workload.yaml, the previous
and current logs of every container, and (with --prometheus) metrics for every
canonical signal; with --datadog-site (keys from DD_API_KEY and DD_APP_KEY)
Datadog metrics, logs and events; with --loki the pod's lines in Loki.
Triage it later with 'bot triage --bundle DIR'.
`

// UsageError marks a command-line mistake (exit status 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

type options struct {
	Pod, Namespace, Container, Context, Kubeconfig, Prometheus, Out, Alert string
	DatadogSite, DatadogURL, Loki                                          string
	Since                                                                  time.Duration
	Timeout                                                                time.Duration
}

// Run parses args and records the bundle.
func Run(ctx context.Context, io factory.IOStreams, args []string) error {
	var o options
	fs := pflag.NewFlagSet("collect", pflag.ContinueOnError)
	fs.SetOutput(nopWriter{})
	fs.StringVarP(&o.Namespace, "namespace", "n", "", "namespace of the pod (default: the kubeconfig context's)")
	fs.StringVarP(&o.Container, "container", "c", "", "container the incident is about (recorded in bundle.yaml)")
	fs.StringVar(&o.Context, "context", "", "kubeconfig context")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "path to a kubeconfig file")
	fs.StringVar(&o.Prometheus, "prometheus", "", "Prometheus base URL to record metrics from")
	fs.StringVar(&o.DatadogSite, "datadog-site", "", "record from Datadog on this site (datadoghq.com, datadoghq.eu, …); keys from DD_API_KEY, DD_APP_KEY")
	fs.StringVar(&o.DatadogURL, "datadog-url", "", "Datadog API base URL instead of a site (a proxy)")
	fs.StringVar(&o.Loki, "loki", "", "Loki base URL to record the pod's log lines from (token from LOKI_TOKEN)")
	fs.StringVarP(&o.Out, "output", "o", "", "directory to write the bundle to (required)")
	fs.StringVar(&o.Alert, "alert", "", "raw alert text to record")
	fs.DurationVar(&o.Since, "since", 6*time.Hour, "how much metric history to record")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "overall deadline")
	if err := fs.Parse(args); err != nil {
		return &UsageError{Msg: err.Error() + "\n\n" + Usage}
	}
	if fs.NArg() != 1 || o.Out == "" {
		return &UsageError{Msg: "need one pod name and -o DIR\n\n" + Usage}
	}
	o.Pod = fs.Arg(0)
	client, ns, ctxName, err := factory.Cluster(factory.KubeOptions{Kubeconfig: o.Kubeconfig, Context: o.Context, Namespace: o.Namespace})
	if err != nil {
		return err
	}
	var src Sources
	if o.Prometheus != "" {
		prom, err := prometheus.New(prometheus.Options{Address: o.Prometheus})
		if err != nil {
			return err
		}
		src.Metrics = append(src.Metrics, prom)
	}
	if o.DatadogSite != "" || o.DatadogURL != "" {
		dd, err := datadog.New(datadog.Options{Site: o.DatadogSite, URL: o.DatadogURL, APIKey: os.Getenv("DD_API_KEY"), AppKey: os.Getenv("DD_APP_KEY")})
		if err != nil {
			return err
		}
		src.Metrics, src.Logs, src.Events = append(src.Metrics, dd), append(src.Logs, dd), append(src.Events, dd)
	}
	if o.Loki != "" {
		lk, err := loki.New(loki.Options{URL: o.Loki, BearerToken: os.Getenv("LOKI_TOKEN")})
		if err != nil {
			return err
		}
		src.Logs = append(src.Logs, lk)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	return Collect(ctx, io, kube.New(client, kube.Options{}), src, Request{
		Cluster: ctxName, Namespace: ns, Pod: o.Pod, Container: o.Container, Out: o.Out, Alert: o.Alert,
		Since: o.Since, Now: time.Now(),
	})
}

// Request is what to record.
type Request struct {
	Cluster, Namespace, Pod, Container, Out, Alert string
	Since                                          time.Duration
	Now                                            time.Time
}

// Sources are the sources outside Kubernetes to record from.
type Sources struct {
	Metrics []triage.Metrics
	Logs    []triage.LogSearch
	Events  []triage.EventSource
}

// Collect records a bundle through the same sources triage uses: the
// cluster, then every metrics source (per signal, the richest answer, as
// triage would pick it), log store and event stream. Only a missing pod is
// fatal; every other failure is printed and the rest is still recorded.
func Collect(ctx context.Context, io factory.IOStreams, k *kube.Source, src Sources, req Request) error {
	pod, err := k.Pod(ctx, req.Namespace, req.Pod)
	if err != nil {
		return err
	}
	w, err := bundle.NewWriter(req.Out)
	if err != nil {
		return err
	}
	var problems []error
	note := func(err error) {
		if err != nil {
			problems = append(problems, err)
			fmt.Fprintln(io.Err, "warning:", err)
		}
	}
	note(w.WriteObject("pod.yaml", pod))

	if evs, err := k.Events(ctx, pod); err != nil {
		note(fmt.Errorf("events: %w", err))
	} else {
		objs := make([]runtime.Object, 0, len(evs))
		for i := range evs {
			objs = append(objs, &evs[i])
		}
		note(w.WriteList("events.yaml", objs))
	}

	if wl, err := k.Workload(ctx, pod); err != nil {
		note(fmt.Errorf("workload: %w", err))
	} else {
		var objs []runtime.Object
		if wl.Deployment != nil {
			objs = append(objs, wl.Deployment)
		}
		if wl.StatefulSet != nil {
			objs = append(objs, wl.StatefulSet)
		}
		for i := range wl.ReplicaSets {
			objs = append(objs, &wl.ReplicaSets[i])
		}
		if len(objs) > 0 {
			note(w.WriteList("workload.yaml", objs))
		}
	}

	for _, cs := range pod.Status.ContainerStatuses {
		for _, previous := range []bool{true, false} {
			if previous && cs.RestartCount == 0 && cs.LastTerminationState.Terminated == nil {
				continue
			}
			rc, err := k.Logs(ctx, pod.Namespace, pod.Name, cs.Name, previous)
			name := cs.Name + ".log"
			if previous {
				name = cs.Name + ".previous.log"
			}
			if err != nil {
				note(fmt.Errorf("logs/%s: %w", name, err))
				continue
			}
			_, err = w.WriteStream("logs/"+name, rc)
			rc.Close()
			note(err)
		}
	}

	container := req.Container
	if container == "" && len(pod.Spec.Containers) > 0 {
		container = pod.Spec.Containers[0].Name
	}
	t := sources.Target{Namespace: pod.Namespace, Pod: pod.Name, Container: container, Cluster: req.Cluster}
	start := req.Now.Add(-req.Since)
	for _, sig := range bundle.Signals {
		var best []prometheus.Series
		bestN := -1
		for _, m := range src.Metrics {
			ser, err := m.Range(ctx, sig, t, start, req.Now)
			if err != nil {
				note(fmt.Errorf("%s: %w", m.Name(), err))
				continue
			}
			// Any answer is worth recording; of several, keep the one the
			// engine would analyse (most samples for the focus container).
			if n := triage.FocusSamples(ser, container); hasSamples(ser) && (best == nil || n > bestN) {
				best, bestN = ser, n
			}
		}
		if len(best) == 0 {
			continue
		}
		data, err := prometheus.EncodeMatrix(best)
		if err != nil {
			note(err)
			continue
		}
		note(w.WriteFile("metrics/"+sig+".json", data))
	}
	for _, l := range src.Logs {
		res, err := l.SearchLogs(ctx, sources.LogQuery{Target: t, Start: start, End: req.Now})
		if err != nil {
			note(fmt.Errorf("%s: %w", l.Name(), err))
		}
		if len(res.Text) > 0 {
			note(w.WriteFile("logstore/"+storeName(l.Name())+".log", res.Text))
		}
	}
	var evs []sources.Event
	for _, es := range src.Events {
		got, err := es.Events(ctx, t, start, req.Now)
		if err != nil {
			note(fmt.Errorf("%s: %w", es.Name(), err))
		}
		evs = append(evs, got...)
	}
	if len(evs) > 0 {
		data, err := json.MarshalIndent(evs, "", "  ")
		if err == nil {
			err = w.WriteFile("events/external.json", data)
		}
		note(err)
	}

	desc := fmt.Sprintf("Recorded by 'bot collect' at %s from cluster context %q", req.Now.UTC().Format(time.RFC3339), req.Cluster)
	if len(src.Metrics) == 0 {
		desc += " (no metrics source given: no metrics)"
	}
	if len(problems) > 0 {
		desc += fmt.Sprintf("; %d part(s) could not be recorded: %v", len(problems), errors.Join(problems...))
	}
	if err := w.WriteManifest(bundle.Manifest{
		Target:      bundle.Target{Cluster: req.Cluster, Namespace: pod.Namespace, Pod: pod.Name, Container: req.Container},
		FiredAt:     req.Now.UTC().Truncate(time.Second),
		Alert:       req.Alert,
		Description: desc,
	}); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "bundle written to %s (%d warning(s)); triage it with: bot triage --bundle %s\n", req.Out, len(problems), req.Out)
	return nil
}

func hasSamples(ss []prometheus.Series) bool {
	for _, s := range ss {
		if len(s.Samples) > 0 {
			return true
		}
	}
	return false
}

// storeName makes a source name a file name ("bundle/loki" → "loki").
func storeName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, strings.ToLower(name))
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
