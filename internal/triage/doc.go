// Package triage is the engine: given a target pod and the time an alert
// fired, it gathers raw material concurrently, turns it into evidence,
// matches playbooks and returns a report.
//
// # Architecture
//
// Data flows one way:
//
//		trigger → gather → evidence → match → report → render
//
//	  - Trigger: a caller (the CLI's `triage`, later Slack and webhooks) builds
//	    a Request: namespace, pod, optional container and cluster, firedAt.
//	  - Gather (this package, gather.go): the pod is read first, because
//	    everything else depends on its containers and owner. Then every source
//	    runs concurrently, each under its own deadline: events, rollout
//	    history, container logs (streamed through internal/logscan in one pass
//	    that also feeds GC lines to internal/jvm), metrics for every canonical
//	    signal, and bundle-only artifacts (class histograms, GC logs, kernel
//	    log). A source that fails or times out is recorded in the report's
//	    source list as failed or partial; the triage goes on with the rest.
//	  - Evidence (assemble.go): raw material becomes an evidence.Evidence:
//	    container terminations with exit-code meanings, JVM flags and memory
//	    budget (internal/jvm), restart history, folded OutOfMemoryError traces
//	    and Netty LEAK records, trend shapes and forecasts (internal/trend), GC
//	    summary, class-histogram growth, deploys, events and kernel OOM kills.
//	    Every item cites the raw lines it came from.
//	  - Match: a Matcher (internal/playbooks) evaluates every playbook's CEL
//	    signals over the evidence; matches carry the items that fired them.
//	  - Report (internal/report): verdict, facts, matches, next steps, source
//	    statuses. Render (internal/render) prints it for a terminal or as JSON.
//
// Live clusters and recorded bundles share every step: a bundle provides a
// fake clientset and a Prometheus API replay (internal/bundle), and the same
// Kubernetes and Prometheus sources read them.
package triage
