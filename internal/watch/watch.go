// Package watch finds OOMKilled containers itself, for clusters that have no
// alerting wired to Slack: a pod informer notices a container whose last
// (or, for pods that do not restart, current) termination says OOMKilled
// and reports each kill once.
//
// The bot must stay lighter than what it watches, so the informer keeps
// only what detection needs: a transform turns every pod into a small Pod
// (name, namespace, uid, owner workload, OOM kills) before it enters the
// cache (see TestStrippedPodsRetainLittle for the ratio).
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/oombot/oombot/internal/sources/kube"
)

// ReasonOOMKilled is the termination reason the kubelet reports for a
// container the kernel's OOM killer ended.
const ReasonOOMKilled = "OOMKilled"

// DefaultLookback is how old a kill may be and still be news.
const DefaultLookback = 10 * time.Minute

// Kill is one OOMKilled termination of one container.
type Kill struct {
	Cluster   string
	Namespace string
	Pod       string
	Container string
	// Workload is the pod's owner (Deployment, StatefulSet, DaemonSet,
	// Job), from its owner references; empty for a bare pod. The name is
	// never guessed from the pod's name: the owner references are
	// authoritative and always there.
	Workload     string
	PodUID       string
	ExitCode     int32
	FinishedAt   time.Time
	RestartCount int32
}

// Key identifies the kill: the same container's next kill has another
// FinishedAt, a recreated pod another UID. Replicas watching the same
// cluster derive the same key, so it dedupes across them.
func (k Kill) Key() string {
	return k.PodUID + "/" + k.Container + "/" + k.FinishedAt.UTC().Format(time.RFC3339)
}

// Options configure a Watcher. Client and OnKill are required.
type Options struct {
	Client  kubernetes.Interface
	Cluster string
	// Namespaces to watch; empty watches all (a ClusterRole to list and
	// watch pods is then needed).
	Namespaces []string
	// Lookback: kills that finished longer ago than this are history, not
	// news, also when the watcher starts or a new leader takes over
	// (default 10m).
	Lookback time.Duration
	// OnKill is called once per kill, from one goroutine, in the order the
	// kills are seen. It should return quickly.
	OnKill func(ctx context.Context, k Kill)
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Watcher watches pods for OOMKilled containers.
type Watcher struct {
	o   Options
	log *slog.Logger

	mu   sync.Mutex
	seen map[string]time.Time // Kill.Key → FinishedAt
}

// New checks o and returns a Watcher.
func New(o Options) (*Watcher, error) {
	if o.Client == nil || o.OnKill == nil {
		return nil, errors.New("watch: a Kubernetes client and OnKill are required")
	}
	if o.Lookback <= 0 {
		o.Lookback = DefaultLookback
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{o: o, log: log.With("cluster", o.Cluster), seen: map[string]time.Time{}}, nil
}

// Run watches until ctx ends and returns once every goroutine it started
// has stopped. It returns an error if the pod caches never fill (the
// watcher cannot list pods: RBAC, or the API server is down).
func (w *Watcher) Run(ctx context.Context) error {
	ctx = logr.NewContext(ctx, logr.FromSlogHandler(w.log.Handler()))
	namespaces := w.o.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	kills := make(chan Kill, 64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case k := <-kills:
				w.o.OnKill(ctx, k)
			case <-ctx.Done():
				return
			}
		}
	}()
	var factories []informers.SharedInformerFactory
	defer func() {
		for _, f := range factories {
			f.Shutdown()
		}
		wg.Wait()
	}()
	var synced []cache.InformerSynced
	for _, ns := range namespaces {
		f := informers.NewSharedInformerFactoryWithOptions(w.o.Client, 0,
			informers.WithNamespace(ns), informers.WithTransform(Strip))
		inf := f.Core().V1().Pods().Informer()
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { w.observe(ctx, obj, kills) },
			UpdateFunc: func(_, obj any) { w.observe(ctx, obj, kills) },
			DeleteFunc: func(obj any) { w.forget(obj) },
		})
		if err != nil {
			return fmt.Errorf("watch %s: %w", w.o.Cluster, err)
		}
		synced = append(synced, inf.HasSynced)
		factories = append(factories, f)
		f.StartWithContext(ctx)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watch %s: pod caches did not sync", w.o.Cluster)
	}
	w.log.Info("watching pods for OOMKilled containers", "namespaces", w.o.Namespaces, "lookback", w.o.Lookback)
	<-ctx.Done()
	return nil
}

// observe reports the pod's new kills.
func (w *Watcher) observe(ctx context.Context, obj any, out chan<- Kill) {
	p, ok := obj.(*Pod)
	if !ok {
		return
	}
	for _, k := range w.kills(p) {
		select {
		case out <- k:
		case <-ctx.Done():
			return
		}
	}
}

// kills returns the pod's OOMKilled terminations not reported before and
// not older than the lookback, and remembers them.
func (w *Watcher) kills(p *Pod) []Kill {
	now := w.o.Now()
	// Kills older than the lookback are ignored, so forgetting them is
	// safe: the memory of seen kills stays bounded by what is recent.
	cutoff := now.Add(-w.o.Lookback)
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, at := range w.seen {
		if at.Before(cutoff) {
			delete(w.seen, k)
		}
	}
	var out []Kill
	for _, c := range p.Kills {
		if c.FinishedAt.Before(cutoff) {
			continue
		}
		k := Kill{Cluster: w.o.Cluster, Namespace: p.Namespace, Pod: p.Name, Container: c.Container,
			Workload: p.Workload, PodUID: p.UID, ExitCode: c.ExitCode, FinishedAt: c.FinishedAt, RestartCount: c.RestartCount}
		key := k.Key()
		if _, dup := w.seen[key]; dup {
			continue
		}
		w.seen[key] = k.FinishedAt
		out = append(out, k)
	}
	return out
}

// forget drops a deleted pod's kills from memory.
func (w *Watcher) forget(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*Pod)
	if !ok {
		return
	}
	prefix := p.UID + "/"
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := range w.seen {
		if strings.HasPrefix(k, prefix) {
			delete(w.seen, k)
		}
	}
}

// Pod is what the watcher's cache keeps of a pod: its identity, its owner
// workload and its containers' OOM kills, nothing else.
type Pod struct {
	Namespace, Name, UID, ResourceVersion string
	Workload                              string
	Kills                                 []PodKill
}

// PodKill is one OOMKilled termination recorded in a pod's status.
type PodKill struct {
	Container    string
	ExitCode     int32
	RestartCount int32
	FinishedAt   time.Time
}

// GetObjectMeta lets the informer's cache key and index a Pod
// (meta.Accessor); it is only called for keys, so building it on demand
// costs less than keeping a full ObjectMeta per pod.
func (p *Pod) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: types.UID(p.UID), ResourceVersion: p.ResourceVersion}
}

// Strip is the informer's transform: it turns a *corev1.Pod into a *Pod,
// which keeps what detection and the triage request need and drops the
// rest (spec, labels, annotations, managed fields, conditions, images,
// IPs, terminations other than OOM kills). Anything else (a Pod already
// stripped, a tombstone) passes through, so it is idempotent as client-go
// requires. The informer's typed Lister cannot be used on a cache it fed.
func Strip(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	p := &Pod{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID), ResourceVersion: pod.ResourceVersion,
		Workload: kube.OwnerWorkload(pod)}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range list {
			// A restarted container's kill is in lastState; a container
			// that is not restarted (restartPolicy Never, a Job that gave
			// up) keeps it in state.
			for _, t := range []*corev1.ContainerStateTerminated{cs.LastTerminationState.Terminated, cs.State.Terminated} {
				if t == nil || t.Reason != ReasonOOMKilled {
					continue
				}
				if n := len(p.Kills); n > 0 && p.Kills[n-1].Container == cs.Name && p.Kills[n-1].FinishedAt.Equal(t.FinishedAt.Time) {
					continue
				}
				p.Kills = append(p.Kills, PodKill{Container: cs.Name, ExitCode: t.ExitCode, RestartCount: cs.RestartCount, FinishedAt: t.FinishedAt.Time})
			}
		}
	}
	return p, nil
}
