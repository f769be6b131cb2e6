// Package factory wires sources, playbooks and the triage engine from
// command-line settings, so each command only parses flags and renders.
package factory

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/playbooks"
	"github.com/oombot/oombot/internal/sources/kube"
	"github.com/oombot/oombot/internal/sources/prometheus"
	"github.com/oombot/oombot/internal/triage"
	builtin "github.com/oombot/oombot/playbooks"
)

// IOStreams are a command's standard streams, injected so commands are
// testable without a terminal.
type IOStreams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// System returns the process's streams.
func System() IOStreams { return IOStreams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// Playbooks loads playbooks from dir, or the built-in set when dir is "".
// Invalid playbooks are reported in warnings and skipped; only a set with no
// valid playbook at all is an error.
func Playbooks(dir string) (*playbooks.Set, []string, error) {
	var (
		set *playbooks.Set
		err error
	)
	if dir == "" {
		set, err = playbooks.LoadFS(builtin.FS, ".")
	} else {
		set, err = playbooks.LoadDir(dir)
	}
	var warnings []string
	if err != nil {
		for _, e := range unjoin(err) {
			warnings = append(warnings, "playbook rejected: "+e.Error())
		}
	}
	if set == nil || len(set.Playbooks()) == 0 {
		if err == nil {
			err = fmt.Errorf("no playbooks found in %s", dir)
		}
		return nil, warnings, fmt.Errorf("loading playbooks: %w", err)
	}
	return set, warnings, nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// BundleEngine builds an engine that replays a bundle through the same
// Kubernetes and Prometheus sources as live mode.
func BundleEngine(b *bundle.Bundle) (*triage.Engine, error) {
	prom, err := prometheus.New(prometheus.Options{
		Name:      "bundle/metrics",
		Address:   "http://bundle.invalid",
		Transport: b.PrometheusTransport(),
		Queries:   prometheus.SignalQueries(bundle.Signals),
	})
	if err != nil {
		return nil, err
	}
	var logs []triage.LogSearch
	for _, l := range b.LogStoreReplays() {
		logs = append(logs, l)
	}
	var events []triage.EventSource
	if r := b.EventsReplay(); r != nil {
		events = append(events, r)
	}
	return &triage.Engine{
		Logs:        logs,
		Events:      events,
		Cluster:     kube.New(b.Clientset(), kube.Options{}),
		ClusterName: "bundle/kubernetes",
		Metrics:     []triage.Metrics{prom},
		Artifacts:   triage.BundleArtifacts(b),
		Warnings:    append([]string(nil), b.Warnings...),
	}, nil
}

// KubeOptions select a cluster the way kubectl does.
type KubeOptions struct {
	Kubeconfig string
	Context    string
	Namespace  string
	Timeout    time.Duration
}

// Cluster connects to the cluster of the current (or chosen) kubeconfig
// context and returns the client and the effective namespace.
func Cluster(o KubeOptions) (kubernetes.Interface, string, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", "", errors.New("no kubeconfig found: set --kubeconfig or KUBECONFIG, or use --bundle DIR")
		}
		return nil, "", "", fmt.Errorf("kubeconfig: %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	cfg.Timeout = o.Timeout
	cfg.UserAgent = "oombot"
	ns := o.Namespace
	if ns == "" {
		ns, _, err = cc.Namespace()
		if err != nil || ns == "" {
			ns = "default"
		}
	}
	raw, err := cc.RawConfig()
	name := o.Context
	if err == nil && name == "" {
		name = raw.CurrentContext
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", "", fmt.Errorf("kubernetes client: %w", err)
	}
	return client, ns, name, nil
}

// LiveEngine builds an engine over a live cluster and, when promURL is set,
// a Prometheus server.
func LiveEngine(client kubernetes.Interface, promURL string) (*triage.Engine, error) {
	e := &triage.Engine{Cluster: kube.New(client, kube.Options{}), ClusterName: "kubernetes"}
	if promURL != "" {
		p, err := prometheus.New(prometheus.Options{Name: "prometheus", Address: promURL})
		if err != nil {
			return nil, err
		}
		e.Metrics = []triage.Metrics{p}
	}
	return e, nil
}

// BundleRequest is the triage request a bundle describes: its target and
// the moment its alert fired.
func BundleRequest(b *bundle.Bundle) triage.Request {
	m := b.Manifest
	return triage.Request{Cluster: m.Target.Cluster, Namespace: m.Target.Namespace, Pod: m.Target.Pod,
		Container: m.Target.Container, FiredAt: m.FiredAt, Alert: m.Alert}
}
