// Package sources holds what every source of evidence returns, so the
// engine can merge metrics, logs and events from Kubernetes, Prometheus,
// Datadog and Loki without knowing which is which. Each source lives in its
// own subpackage and returns these types.
package sources

import "time"

// Sample is one point of a series.
type Sample struct {
	T time.Time
	V float64
}

// Series is one labelled series of a canonical signal.
type Series struct {
	Signal string
	// Query is what was asked (PromQL, a Datadog query), for citations.
	Query   string
	Labels  map[string]string
	Samples []Sample
}

// Target is what a query is scoped to.
type Target struct {
	Namespace string
	Pod       string
	Container string
	// Workload is the owning Deployment/StatefulSet when known; log and
	// event searches use it to find the pod's predecessors.
	Workload string
	// Cluster is the cluster name as the source tags it, when known.
	Cluster string
}

// LogQuery asks a log store for the lines of a target in a window that
// matter to a memory triage (OutOfMemoryError traces, Netty LEAK records).
type LogQuery struct {
	Target Target
	Start  time.Time
	End    time.Time
	// MaxBytes caps what is read; the result says when it was reached.
	MaxBytes int64
}

// LogResult is the matching log content, as text in time order, with
// multi-line records (stack traces) reassembled so the scanner that reads
// pod logs can read it unchanged.
type LogResult struct {
	Text []byte
	// Lines is how many log records were returned.
	Lines int
	// Truncated is true when MaxBytes or a page limit stopped the read.
	Truncated bool
	// Query is what was asked, for citations.
	Query string
}

// Event is something that happened to the workload outside Kubernetes'
// own records: a deploy announced by CI, a monitor transition.
type Event struct {
	Time time.Time
	// Kind is "deploy", "alert" or "other".
	Kind   string
	Title  string
	Text   string
	Tags   []string
	Source string
	// ID is the source's event id, for citations.
	ID string
}
