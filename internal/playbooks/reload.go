package playbooks

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oombot/oombot/internal/evidence"
)

// DefaultReloadInterval is how often a Reloader looks at its directory when
// ReloaderOptions.Interval is not set. Kubernetes itself takes up to a
// minute to project a ConfigMap change into a volume, so polling faster
// buys little.
const DefaultReloadInterval = 5 * time.Second

// ReloaderOptions configure a Reloader.
type ReloaderOptions struct {
	// Interval between looks at the directory; DefaultReloadInterval when
	// zero or negative.
	Interval time.Duration
	// Logger receives reload outcomes; slog.Default() when nil.
	Logger *slog.Logger
	// Registerer receives the reload metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Reloader serves the playbooks of a directory and replaces them when the
// files change, without a restart: a directory of *.yaml files, or a
// Kubernetes ConfigMap mounted as a volume.
//
// Changes are found by polling a content hash of the directory's *.yaml and
// *.yml files (read through symlinks, so a ConfigMap's atomic swap of its
// ..data link is seen like any edit). A changed directory is loaded whole;
// if any file in it is invalid, the previous set stays active untouched —
// half a directory of playbooks could match differently from both the old
// and the intended set — and the errors are logged and counted until the
// files are fixed.
//
// A Reloader is safe for concurrent use: Evaluate and Current read the
// active set through an atomic pointer, so a reload never blocks or tears
// an evaluation in progress. It satisfies triage's Matcher.
type Reloader struct {
	dir      string
	interval time.Duration
	log      *slog.Logger
	metrics  reloadMetrics
	current  atomic.Pointer[Set]

	// mu serialises polls (Run and Poll may be called from different
	// goroutines) and guards hash and lastErr.
	mu      sync.Mutex
	hash    [sha256.Size]byte
	lastErr error
}

type reloadMetrics struct {
	reloads     *prometheus.CounterVec
	loaded      prometheus.Gauge
	lastSuccess prometheus.Gauge
	configError prometheus.Gauge
}

func newReloadMetrics() reloadMetrics {
	m := reloadMetrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oombot_playbooks_reloads_total",
			Help: "Playbook reloads after a change on disk, by result (success, or error: the previous set was kept). The initial load is not counted.",
		}, []string{"result"}),
		loaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oombot_playbooks_loaded",
			Help: "Number of playbooks in the active set.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oombot_playbooks_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last load (initial or reload) that applied every playbook file without error.",
		}),
		configError: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oombot_playbooks_config_error",
			Help: "1 while the playbook files on disk are invalid (the active set is an older or partial one), else 0.",
		}),
	}
	// Both results exist from the start, so rate() and alerts see a 0
	// rather than a missing series before the first failure.
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("error")
	return m
}

// register adds the metrics to reg (none when reg is nil), undoing a
// partial registration so a failed NewReloader leaves reg as it was.
func (m reloadMetrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	cs := []prometheus.Collector{m.reloads, m.loaded, m.lastSuccess, m.configError}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("registering playbook reload metrics: %w", err)
		}
	}
	return nil
}

// NewReloader loads the playbooks in dir once and returns a Reloader
// serving them; call Run to follow changes.
//
// At start there is no previous set to fall back on, so invalid files are
// logged and skipped and the valid playbooks are served (LastError reports
// the problems, and the config_error gauge is 1). Only a directory with no
// valid playbook at all is an error.
func NewReloader(dir string, opts ReloaderOptions) (*Reloader, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultReloadInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Reloader{dir: dir, interval: opts.Interval, log: opts.Logger.With("dir", dir), metrics: newReloadMetrics()}
	r.hash = hashDir(dir)
	set, err := LoadDir(dir)
	if len(set.Playbooks()) == 0 {
		if err == nil {
			err = errors.New("no playbooks")
		}
		return nil, fmt.Errorf("loading playbooks from %s: %w", dir, err)
	}
	// Registered only once the reloader will exist, so a failed start
	// leaves the registry free for a retry.
	if regErr := r.metrics.register(opts.Registerer); regErr != nil {
		return nil, regErr
	}
	r.apply(set)
	if err != nil {
		r.logLoadErrors("some playbook files are invalid; serving the valid playbooks", err)
		r.failed(err)
	} else {
		r.succeeded()
	}
	return r, nil
}

// Run polls the directory every interval and reloads it when it changed,
// until ctx is done; it then returns nil. Reload failures are logged and
// counted, never returned: the previous set keeps serving.
func (r *Reloader) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_, _ = r.Poll()
		}
	}
}

// Poll looks at the directory once, as Run does every interval, and
// reloads it if its content changed. It reports whether it did reload and
// the error of a failed reload (the previous set then stays active).
func (r *Reloader) Poll() (reloaded bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := hashDir(r.dir)
	if h == r.hash {
		return false, nil
	}
	// Record the hash before loading: if the files change again during
	// the load, the next poll sees a different hash and loads again.
	r.hash = h
	set, err := LoadDir(r.dir)
	if err != nil {
		r.metrics.reloads.WithLabelValues("error").Inc()
		r.logLoadErrors("playbook reload failed; keeping the previous playbooks", err)
		r.failedLocked(err)
		return false, err
	}
	r.apply(set)
	r.metrics.reloads.WithLabelValues("success").Inc()
	r.succeededLocked()
	r.log.Info("playbooks reloaded", "playbooks", len(set.Playbooks()), "ids", strings.Join(ids(set), ","))
	return true, nil
}

// Current returns the active set. It is never nil, and stays valid (and
// unchanged) after later reloads.
func (r *Reloader) Current() *Set { return r.current.Load() }

// Evaluate evaluates the active set; see Set.Evaluate. One call uses one
// set throughout, even if a reload happens meanwhile.
func (r *Reloader) Evaluate(ctx context.Context, ev *evidence.Evidence) []Result {
	return r.Current().Evaluate(ctx, ev)
}

// LastError returns the problems found by the most recent load, or nil if
// it applied cleanly. While it is non-nil, the files on disk are not what
// is being served.
func (r *Reloader) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

func (r *Reloader) apply(set *Set) {
	r.current.Store(set)
	r.metrics.loaded.Set(float64(len(set.playbooks)))
}

func (r *Reloader) succeeded() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.succeededLocked()
}

func (r *Reloader) succeededLocked() {
	r.lastErr = nil
	r.metrics.configError.Set(0)
	r.metrics.lastSuccess.SetToCurrentTime()
}

func (r *Reloader) failed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failedLocked(err)
}

func (r *Reloader) failedLocked(err error) {
	r.lastErr = err
	r.metrics.configError.Set(1)
}

// logLoadErrors logs one record per problem, each "file:line:col: msg", so
// log search and editors can jump to it.
func (r *Reloader) logLoadErrors(msg string, err error) {
	for _, e := range flatten(err) {
		r.log.Error(msg, "error", e.Error())
	}
}

func ids(s *Set) []string {
	out := make([]string, 0, len(s.playbooks))
	for _, pb := range s.playbooks {
		out = append(out, pb.ID())
	}
	return out
}

// hashDir hashes the names and contents of the files LoadDir would read:
// the *.yaml and *.yml entries of dir, not recursively. Contents are read
// through symlinks, so a ConfigMap volume (name.yaml -> ..data/name.yaml,
// ..data -> ..2024_01_01_00_00_00.123) changes hash when Kubernetes swaps
// ..data; its hidden ..-prefixed directories are not entered, as LoadDir
// does not enter them, so nothing is read twice. A directory or file that
// cannot be read hashes its error, so a change to or from that state is
// also a change.
func hashDir(dir string) [sha256.Size]byte {
	h := sha256.New()
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintf(h, "readdir error %v\x00", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		names = append(names, e.Name())
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(h, "%s\x00", name)
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			fmt.Fprintf(h, "open error %v\x00", err)
			continue
		}
		n, err := io.Copy(h, f)
		f.Close()
		// The length separates one file's content from the next name.
		fmt.Fprintf(h, "\x00%d\x00", n)
		if err != nil {
			fmt.Fprintf(h, "read error %v\x00", err)
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
