// Package evidence is the model every triage produces and every playbook
// reads: what was observed about one pod around one OOM alert, each item
// carrying the raw lines it was read from.
//
// The model is deliberately flat and data-only. Sources fetch raw material
// (Kubernetes objects, logs, metric series, GC logs, class histograms),
// parsers in internal/jvm, internal/logscan and internal/trend turn it into
// typed findings, and internal/triage assembles those findings into one
// Evidence value. Playbooks evaluate CEL over this value (field names are the
// json tags), and reports render it, so a field added here is visible to both.
//
// Every item has an ID (stable within one Evidence, e.g. "oom/app/1" or
// "trend/jvm_old_gen_used") and Cites: the lines it came from. A finding that
// cannot point at a citation must not be produced; this is what lets the
// engine abstain instead of guessing.
package evidence
